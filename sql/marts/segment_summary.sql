-- Customers and net revenue by RFM segment and by lifecycle stage, with shares of the whole.
with rfm as (
    select * from customer_rfm
),

lifecycle as (
    select * from customer_lifecycle
),

revenue as (
    select customer_id, net_revenue from int_transactions_summed_to_customer
),

members as (
    select 'rfm_segment' as dimension, rfm_segment as segment, customer_id, monetary as revenue
    from rfm
    union all
    select 'lifecycle_stage' as dimension, lifecycle.lifecycle_stage as segment, lifecycle.customer_id,
        coalesce(revenue.net_revenue, 0) as revenue
    from lifecycle
    left join revenue on lifecycle.customer_id = revenue.customer_id
),

grouped as (
    select dimension, segment, count(*) as customers, sum(revenue) as revenue
    from members
    group by dimension, segment
),

final as (
    select
        dimension,
        segment,
        customers,
        customers / sum(customers) over (partition by dimension) as customer_share,
        revenue,
        revenue / nullif(sum(revenue) over (partition by dimension), 0) as revenue_share,
        revenue / customers as avg_revenue_per_customer
    from grouped
)

select * from final
