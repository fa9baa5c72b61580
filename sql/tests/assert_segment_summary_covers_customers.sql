-- Each dimension of segment_summary counts every customer of its source table exactly once.
with expected as (
    select 'rfm_segment' as dimension, count(*) as customers from customer_rfm
    union all
    select 'lifecycle_stage' as dimension, count(*) as customers from customer_lifecycle
    union all
    select 'value_tier' as dimension, count(*) as customers from customer_clv
),

actual as (
    select dimension, sum(customers) as customers
    from segment_summary
    group by dimension
)

select expected.dimension, expected.customers as expected_customers, actual.customers as summarised_customers
from expected
left join actual on expected.dimension = actual.dimension
where actual.customers is distinct from expected.customers
