-- One row per customer and day with at least one order: the unit of the lifecycle gaps and of the
-- BG/NBD model (several orders on one day are one purchase day worth the day's total).
with orders as (
    select * from stg_transactions
    where is_order
),

days as (
    select
        customer_id,
        order_date,
        count(*) as orders,
        sum(amount) as order_total
    from orders
    group by customer_id, order_date
),

final as (
    select
        customer_id,
        order_date,
        orders,
        order_total,
        row_number() over (partition by customer_id order by order_date) as day_number,
        order_date - lag(order_date) over (partition by customer_id order by order_date) as gap_days
    from days
)

select * from final
