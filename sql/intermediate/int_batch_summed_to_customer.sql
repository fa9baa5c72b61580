-- Per-customer aggregates of this run's batch of transactions (all of them on a full rebuild, the
-- ones after the previous snapshot on an incremental run), in the shape of the customer state.
with transactions as (
    select * from stg_transactions
),

purchase_days as (
    select * from int_transactions_grouped_to_purchase_days
),

by_transactions as (
    select
        customer_id,
        count(*) filter (where is_order) as orders,
        count(*) filter (where is_return) as returns,
        sum(amount) as net_revenue,
        coalesce(sum(amount) filter (where is_return), 0) as returned_amount
    from transactions
    group by customer_id
),

by_order_days as (
    select
        customer_id,
        count(*) as order_days,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        max(order_date, 2)[2] as previous_order_date
    from purchase_days
    where orders > 0
    group by customer_id
),

by_purchase_days as (
    select
        customer_id,
        count(*) as purchase_days,
        min(order_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        arg_min(day_total, order_date) as first_purchase_day_total,
        sum(day_total) as purchase_day_total_sum
    from purchase_days
    group by customer_id
),

final as (
    select
        by_transactions.customer_id,
        by_transactions.orders,
        by_transactions.returns,
        by_transactions.net_revenue,
        by_transactions.returned_amount,
        by_order_days.first_order_date,
        by_order_days.last_order_date,
        coalesce(by_order_days.order_days, 0) as order_days,
        by_order_days.previous_order_date,
        coalesce(by_purchase_days.purchase_days, 0) as purchase_days,
        by_purchase_days.first_purchase_date,
        by_purchase_days.last_purchase_date,
        by_purchase_days.first_purchase_day_total,
        coalesce(by_purchase_days.purchase_day_total_sum, 0) as purchase_day_total_sum
    from by_transactions
    left join by_order_days on by_transactions.customer_id = by_order_days.customer_id
    left join by_purchase_days on by_transactions.customer_id = by_purchase_days.customer_id
)

select * from final
