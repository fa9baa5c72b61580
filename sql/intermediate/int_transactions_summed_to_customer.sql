-- Everything the per-customer marts share: order counts, dates, net revenue, returns and gaps.
with transactions as (
    select * from stg_transactions
),

order_days as (
    select
        customer_id,
        order_date,
        order_date - lag(order_date) over (partition by customer_id order by order_date) as gap_days
    from int_transactions_grouped_to_purchase_days
    where orders > 0
),

run_params as (
    select as_of_date from params
),

by_customer as (
    select
        customer_id,
        count(*) filter (where is_order) as orders,
        count(*) filter (where is_return) as returns,
        sum(amount) as net_revenue,
        coalesce(sum(amount) filter (where is_return), 0) as returned_amount,
        min(order_date) filter (where is_order) as first_order_date,
        max(order_date) filter (where is_order) as last_order_date
    from transactions
    group by customer_id
),

by_order_day as (
    select
        customer_id,
        count(*) as order_days,
        arg_max(gap_days, order_date) as gap_before_last_days
    from order_days
    group by customer_id
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
        coalesce(by_order_day.order_days, 0) as order_days,
        by_order_day.gap_before_last_days,
        -- The mean of consecutive gaps telescopes to (last - first) / (days - 1).
        case when by_order_day.order_days >= 2
            then (by_customer.last_order_date - by_customer.first_order_date) / (by_order_day.order_days - 1)
        end as mean_gap_days,
        run_params.as_of_date - by_customer.last_order_date as recency_days,
        run_params.as_of_date - by_customer.first_order_date as tenure_days
    from by_customer
    left join by_order_day on by_customer.customer_id = by_order_day.customer_id
    cross join run_params
)

select * from final
