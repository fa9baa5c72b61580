-- The days this run adds to the recent-revenue state: net revenue per customer and day of the batch,
-- for the days inside the current-value window. The state keeps the days of earlier runs in files
-- by order month, so the next runs can subtract the days that leave the window without reading or
-- rewriting the whole window.
with batch as (
    select customer_id, order_date, net_amount from int_transactions_grouped_to_customer_days
),

run_params as (
    select current_value_after from params
),

final as (
    select batch.customer_id, batch.order_date, batch.net_amount
    from batch
    cross join run_params
    where batch.order_date > run_params.current_value_after
)

select * from final
