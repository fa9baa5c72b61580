-- Moves between the previous published snapshot and this one; 'none' marks customers absent from one side.
with current_stages as (
    select customer_id, lifecycle_stage from customer_lifecycle
),

previous_stages as (
    select customer_id, lifecycle_stage from previous_customer_lifecycle
),

run_params as (
    select previous_as_of_date from params
),

moves as (
    select
        coalesce(previous_stages.lifecycle_stage, 'none') as from_stage,
        coalesce(current_stages.lifecycle_stage, 'none') as to_stage
    from current_stages
    full outer join previous_stages on current_stages.customer_id = previous_stages.customer_id
),

final as (
    select
        run_params.previous_as_of_date,
        moves.from_stage,
        moves.to_stage,
        count(*) as customers
    from moves
    cross join run_params
    group by all
)

select * from final
