-- The per-customer summary of the BG/NBD and Gamma-Gamma literature, in days: x = repeat purchase
-- days, t_x = last - first purchase day, T = as_of_date - first purchase day, and the mean value of the
-- repeat days (the first day excluded; 0 when x = 0). Also the inputs of the fallbacks and the value matrix.
-- Every customer with a purchase day is modelled, including those whose only purchases are zero-amount.
with purchase_days as (
    select
        *,
        row_number() over (partition by customer_id order by order_date) as day_number
    from int_transactions_grouped_to_purchase_days
),

customers as (
    select * from int_transactions_summed_to_customer
),

transactions as (
    select * from stg_transactions
),

run_params as (
    select as_of_date, current_value_months from params
),

by_customer as (
    select
        customer_id,
        count(*) - 1 as repeat_purchase_days,
        max(order_date) - min(order_date) as t_x_days,
        min(order_date) as first_purchase_date,
        coalesce(avg(day_total) filter (where day_number > 1), 0) as repeat_avg_value,
        avg(day_total) as avg_day_value
    from purchase_days
    group by customer_id
),

recent_revenue as (
    select transactions.customer_id, sum(transactions.amount) as current_value
    from transactions
    cross join run_params
    where transactions.order_date > run_params.as_of_date - to_months(run_params.current_value_months)
    group by transactions.customer_id
),

final as (
    select
        customers.customer_id,
        by_customer.repeat_purchase_days,
        by_customer.t_x_days,
        run_params.as_of_date - by_customer.first_purchase_date as t_days,
        by_customer.repeat_avg_value,
        by_customer.avg_day_value,
        customers.net_revenue as historical_revenue,
        coalesce(recent_revenue.current_value, 0) as current_value
    from customers
    inner join by_customer on customers.customer_id = by_customer.customer_id
    left join recent_revenue on customers.customer_id = recent_revenue.customer_id
    cross join run_params
)

select * from final
