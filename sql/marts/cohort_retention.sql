-- Acquisition cohorts by month of first order, followed calendar month by calendar month up to
-- as_of_date's month. Observable months without activity are rows of zeros; later months are absent.
with customer_state as (
    select * from int_customer_state
    where first_order_date is not null
),

activity as (
    select * from int_cohort_activity
),

run_params as (
    select as_of_date from params
),

cohort_sizes as (
    select date_trunc('month', first_order_date) as cohort_start, count(*) as cohort_size
    from customer_state
    group by all
),

observable_months as (
    select cohort_sizes.cohort_start, cohort_sizes.cohort_size, months.range as months_since_first
    from cohort_sizes
    cross join run_params
    cross join range(0, datediff('month', cohort_sizes.cohort_start, run_params.as_of_date) + 1) as months
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
