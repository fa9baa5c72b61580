-- Acquisition cohorts by month of first order, followed calendar month by calendar month up to
-- as_of_date's month. Observable months without activity are rows of zeros; later months are absent.
with transactions as (
    select * from stg_transactions
),

customers as (
    select * from int_transactions_summed_to_customer
    where orders > 0
),

run_params as (
    select as_of_date from params
),

cohort_members as (
    select customer_id, date_trunc('month', first_order_date) as cohort_start
    from customers
),

cohort_sizes as (
    select cohort_start, count(*) as cohort_size
    from cohort_members
    group by cohort_start
),

observable_months as (
    select cohort_sizes.cohort_start, cohort_sizes.cohort_size, months.range as months_since_first
    from cohort_sizes
    cross join run_params
    cross join range(0, datediff('month', cohort_sizes.cohort_start, run_params.as_of_date) + 1) as months
),

activity as (
    select
        cohort_members.cohort_start,
        datediff('month', cohort_members.cohort_start, date_trunc('month', transactions.order_date)) as months_since_first,
        count(distinct transactions.customer_id) filter (where transactions.is_order) as active_customers,
        count(*) filter (where transactions.is_order) as orders,
        sum(transactions.amount) as revenue
    from transactions
    inner join cohort_members on transactions.customer_id = cohort_members.customer_id
    group by all
),

final as (
    select
        strftime(observable_months.cohort_start, '%Y-%m') as cohort_month,
        observable_months.months_since_first,
        observable_months.cohort_size,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.active_customers, 0) / observable_months.cohort_size as retention_rate,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.revenue, 0) as revenue,
        sum(coalesce(activity.revenue, 0)) over (
            partition by observable_months.cohort_start order by observable_months.months_since_first
        ) / observable_months.cohort_size as cumulative_revenue_per_customer
    from observable_months
    left join activity
        on observable_months.cohort_start = activity.cohort_start
        and observable_months.months_since_first = activity.months_since_first
)

select * from final
