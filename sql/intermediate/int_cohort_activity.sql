-- Cohort activity (cohort month x months since the first order): the previous snapshot's activity
-- plus this batch's. A customer counts as active in a month once: in the batch only for months
-- after the month of their last order in the previous state. Revenue counts transactions from the
-- customer's first order on.
with previous as (
    select * from previous_cohort_activity
),

previous_last_orders as (
    select customer_id, last_order_date from previous_customer_state
),

first_orders as (
    select customer_id, first_order_date, date_trunc('month', first_order_date) as cohort_start
    from int_customer_state
    where first_order_date is not null
),

days as (
    select * from int_transactions_grouped_to_customer_days
),

batch_customer_months as (
    select
        first_orders.cohort_start,
        date_trunc('month', days.order_date) as activity_month,
        days.customer_id,
        sum(days.orders)::bigint as orders,
        sum(days.net_amount) as revenue
    from days
    inner join first_orders on days.customer_id = first_orders.customer_id
    where days.order_date >= first_orders.first_order_date
    group by all
),

batch_activity as (
    select
        batch_customer_months.cohort_start,
        datediff('month', batch_customer_months.cohort_start, batch_customer_months.activity_month) as months_since_first,
        count(*) filter (
            where batch_customer_months.orders > 0
                and (
                    previous_last_orders.last_order_date is null
                    or batch_customer_months.activity_month > date_trunc('month', previous_last_orders.last_order_date)
                )
        ) as active_customers,
        sum(batch_customer_months.orders) as orders,
        sum(batch_customer_months.revenue) as revenue
    from batch_customer_months
    left join previous_last_orders on batch_customer_months.customer_id = previous_last_orders.customer_id
    group by all
),

final as (
    select
        coalesce(batch_activity.cohort_start, previous.cohort_start) as cohort_start,
        coalesce(batch_activity.months_since_first, previous.months_since_first) as months_since_first,
        coalesce(previous.active_customers, 0) + coalesce(batch_activity.active_customers, 0) as active_customers,
        coalesce(previous.orders, 0) + coalesce(batch_activity.orders, 0) as orders,
        coalesce(previous.revenue, 0) + coalesce(batch_activity.revenue, 0) as revenue
    from previous
    full outer join batch_activity
        on previous.cohort_start = batch_activity.cohort_start
        and previous.months_since_first = batch_activity.months_since_first
)

select * from final
