-- The per-customer summary of the BG/NBD and Gamma-Gamma literature, in days: x = repeat purchase
-- days, t_x = last - first purchase day, T = as_of_date - first purchase day, and the mean value of the
-- repeat days (the first day excluded; 0 when x = 0). Also the inputs of the fallbacks and the value
-- matrix. Every customer with a purchase day is modelled, including those whose only purchases are
-- zero-amount.
with customer_state as (
    select * from int_customer_state
    where purchase_days > 0
),

recent_days as (
    select * from int_recent_revenue_days
),

run_params as (
    select as_of_date from params
),

recent_revenue as (
    select customer_id, sum(net_amount) as current_value
    from recent_days
    group by customer_id
),

final as (
    select
        customer_state.customer_id,
        customer_state.purchase_days - 1 as repeat_purchase_days,
        customer_state.last_purchase_date - customer_state.first_purchase_date as t_x_days,
        run_params.as_of_date - customer_state.first_purchase_date as t_days,
        case when customer_state.purchase_days > 1
            then (customer_state.purchase_day_total_sum - customer_state.first_purchase_day_total)
                / (customer_state.purchase_days - 1)
            else 0
        end as repeat_avg_value,
        customer_state.purchase_day_total_sum / customer_state.purchase_days as avg_day_value,
        customer_state.net_revenue as historical_revenue,
        coalesce(recent_revenue.current_value, 0) as current_value
    from customer_state
    left join recent_revenue on customer_state.customer_id = recent_revenue.customer_id
    cross join run_params
)

select * from final
