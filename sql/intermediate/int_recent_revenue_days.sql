-- materialized: view
-- Net revenue per customer and day inside the current-value window (the last current_value_months
-- months up to as_of_date): the previous window's days plus this batch's, trimmed to the new window.
-- The batch's days all come after the previous state's, so no customer and day is in both.
with previous as (
    select customer_id, order_date, net_amount from previous_recent_revenue_days
),

batch as (
    select customer_id, order_date, net_amount from int_transactions_grouped_to_customer_days
),

run_params as (
    select as_of_date, current_value_months from params
),

combined as (
    select * from previous
    union all
    select * from batch
),

final as (
    select combined.customer_id, combined.order_date, combined.net_amount
    from combined
    cross join run_params
    where combined.order_date > run_params.as_of_date - to_months(run_params.current_value_months)
)

select * from final
