-- This run's batch of curated transactions: the latest version of each transaction_id (a later file
-- replaces an earlier row), dated after the state being extended (if any) and up to as_of_date, with
-- orders told from returns. Only the columns the models use are read.
with source as (
    select * from curated_transactions
),

run_params as (
    select as_of_date, state_as_of_date from params
),

latest_versions as (
    select *
    from source
    qualify row_number() over (
        partition by transaction_id
        order by ingested_at desc, file_id desc, source_row desc
    ) = 1
),

final as (
    select
        latest_versions.transaction_id,
        latest_versions.customer_id,
        latest_versions.order_date,
        latest_versions.amount,
        latest_versions.is_return,
        not latest_versions.is_return and latest_versions.amount > 0 as is_order
    from latest_versions
    cross join run_params
    where latest_versions.order_date <= run_params.as_of_date
        and (run_params.state_as_of_date is null or latest_versions.order_date > run_params.state_as_of_date)
)

select * from final
