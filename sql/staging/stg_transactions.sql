-- materialized: view
-- This run's batch of curated transactions (the source already holds only the latest version of
-- each transaction_id: lambdas/core/transaction-versions.ts), dated after the state being extended
-- (if any) and up to as_of_date, with orders told from returns. Only the columns the models use are
-- kept. A view: one model reads it (int_transactions_grouped_to_customer_days), so the batch is
-- scanned once and never copied.
with source as (
    select * from curated_transactions
),

run_params as (
    select as_of_date, state_as_of_date from params
),

final as (
    select
        source.customer_id,
        source.order_date,
        source.amount,
        source.is_return,
        not source.is_return and source.amount > 0 as is_order
    from source
    cross join run_params
    where source.order_date <= run_params.as_of_date
        and (run_params.state_as_of_date is null or source.order_date > run_params.state_as_of_date)
)

select * from final
