-- Moves between the previous published snapshot and this one; 'none' marks customers absent from one side.
-- customer_lifecycle carries each customer's stage in the previous snapshot (previous_stage), so the
-- moves of this snapshot's customers are counted from it alone. The previous snapshot's customers
-- absent from this one are, per stage, its count less the customers matched to it: customer_id is
-- unique on both sides (SQL tests), so no second join of the two million-row tables is needed.
with current_stages as (
    select previous_stage, lifecycle_stage from customer_lifecycle
),

previous_stages as (
    select lifecycle_stage from previous_customer_lifecycle
),

run_params as (
    select previous_as_of_date from params
),

current_moves as (
    select
        coalesce(previous_stage, 'none') as from_stage,
        lifecycle_stage as to_stage,
        count(*) as customers
    from current_stages
    group by all
),

previous_counts as (
    select lifecycle_stage as from_stage, count(*) as customers
    from previous_stages
    group by all
),

matched_counts as (
    select from_stage, sum(customers) as customers
    from current_moves
    where from_stage <> 'none'
    group by all
),

departures as (
    select
        previous_counts.from_stage,
        'none' as to_stage,
        previous_counts.customers - coalesce(matched_counts.customers, 0) as customers
    from previous_counts
    left join matched_counts on previous_counts.from_stage = matched_counts.from_stage
    where previous_counts.customers > coalesce(matched_counts.customers, 0)
),

final as (
    select run_params.previous_as_of_date, moves.from_stage, moves.to_stage, moves.customers
    from (
        select * from current_moves
        union all
        select * from departures
    ) as moves
    cross join run_params
)

select * from final
