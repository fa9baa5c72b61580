-- Per-customer aggregates of this run's batch (all transactions on a full rebuild, the ones after the
-- previous snapshot on an incremental run), in the shape of the customer state.
with days as (
    select * from int_transactions_grouped_to_customer_days
),

final as (
    select
        customer_id,
        sum(orders)::bigint as orders,
        sum(returns)::bigint as returns,
        sum(net_amount) as net_revenue,
        coalesce(sum(returned_amount), 0) as returned_amount,
        min(order_date) filter (where orders > 0) as first_order_date,
        max(order_date) filter (where orders > 0) as last_order_date,
        count(*) filter (where orders > 0) as order_days,
        (max(order_date, 2) filter (where orders > 0))[2] as previous_order_date,
        count(*) filter (where purchases > 0) as purchase_days,
        min(order_date) filter (where purchases > 0) as first_purchase_date,
        max(order_date) filter (where purchases > 0) as last_purchase_date,
        arg_min(purchase_total, order_date) filter (where purchases > 0) as first_purchase_day_total,
        coalesce(sum(purchase_total), 0) as purchase_day_total_sum
    from days
    group by customer_id
)

select * from final
