-- Per-customer aggregates of this run's batch (all transactions on a full rebuild, the ones after the
-- previous snapshot on an incremental run), in the shape of the customer state; current_value holds
-- the batch's net revenue inside the current-value window.
-- Not materialized: read twice, DuckDB would otherwise copy the whole table first (about 1.2 s at
-- 9M customer-days).
with days as not materialized (
    select * from int_transactions_grouped_to_customer_days
),

run_params as (
    select current_value_after from params
),

by_customer as (
    select
        customer_id,
        sum(orders)::bigint as orders,
        sum(returns)::bigint as returns,
        sum(net_amount) as net_revenue,
        coalesce(sum(returned_amount), 0) as returned_amount,
        min(order_date) filter (where orders > 0) as first_order_date,
        max(order_date) filter (where orders > 0) as last_order_date,
        count(*) filter (where orders > 0) as order_days,
        count(*) filter (where purchases > 0) as purchase_days,
        min(order_date) filter (where purchases > 0) as first_purchase_date,
        max(order_date) filter (where purchases > 0) as last_purchase_date,
        arg_min(purchase_total, order_date) filter (where purchases > 0) as first_purchase_day_total,
        coalesce(sum(purchase_total), 0) as purchase_day_total_sum,
        coalesce(sum(net_amount) filter (where order_date > run_params.current_value_after), 0) as current_value
    from days
    cross join run_params
    group by customer_id
),

-- The order day before the last, in a second pass: a top-2 aggregate keeps its state outside what
-- DuckDB can spill, and ran out of memory at 50M transactions under a 1 GB limit.
last_order_days as (
    select customer_id, last_order_date from by_customer
),

previous_order_days as (
    select days.customer_id, max(days.order_date) as previous_order_date
    from days
    inner join last_order_days on days.customer_id = last_order_days.customer_id
    where days.orders > 0 and days.order_date < last_order_days.last_order_date
    group by days.customer_id
),

final as (
    select
        by_customer.customer_id,
        by_customer.orders,
        by_customer.returns,
        by_customer.net_revenue,
        by_customer.returned_amount,
        by_customer.first_order_date,
        by_customer.last_order_date,
        by_customer.order_days,
        previous_order_days.previous_order_date,
        by_customer.purchase_days,
        by_customer.first_purchase_date,
        by_customer.last_purchase_date,
        by_customer.first_purchase_day_total,
        by_customer.purchase_day_total_sum,
        by_customer.current_value
    from by_customer
    left join previous_order_days on by_customer.customer_id = previous_order_days.customer_id
)

select * from final
