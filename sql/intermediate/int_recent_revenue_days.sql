-- Net revenue per customer and day inside the current-value window (the last current_value_months
-- months up to as_of_date): the previous window's days plus this batch's, trimmed to the new window.
with previous as (
    select customer_id, order_date, net_amount from previous_recent_revenue_days
),

batch as (
    select customer_id, order_date, sum(amount) as net_amount
    from stg_transactions
    group by customer_id, order_date
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
    select combined.customer_id, combined.order_date, sum(combined.net_amount) as net_amount
    from combined
    cross join run_params
    where combined.order_date > run_params.as_of_date - to_months(run_params.current_value_months)
    group by combined.customer_id, combined.order_date
)

select * from final
