-- Customers, net revenue and predicted CLV by RFM segment, lifecycle stage and value tier, with shares
-- of the whole.
with rfm as (
    select * from customer_rfm
),

lifecycle as (
    select * from customer_lifecycle
),

clv as (
    select * from customer_clv
),

revenue as (
    select customer_id, net_revenue from int_transactions_summed_to_customer
),

members as (
    select 'rfm_segment' as dimension, rfm_segment as segment, customer_id
    from rfm
    union all
    select 'lifecycle_stage' as dimension, lifecycle_stage as segment, customer_id
    from lifecycle
    union all
    select 'value_tier' as dimension, value_tier as segment, customer_id
    from clv
),

grouped as (
    select
        members.dimension,
        members.segment,
        count(*) as customers,
        coalesce(sum(revenue.net_revenue), 0) as revenue,
        coalesce(sum(clv.predicted_clv), 0) as predicted_clv
    from members
    left join revenue on members.customer_id = revenue.customer_id
    left join clv on members.customer_id = clv.customer_id
    group by members.dimension, members.segment
),

final as (
    select
        dimension,
        segment,
        customers,
        customers / sum(customers) over (partition by dimension) as customer_share,
        revenue,
        revenue / nullif(sum(revenue) over (partition by dimension), 0) as revenue_share,
        revenue / customers as avg_revenue_per_customer,
        predicted_clv,
        predicted_clv / nullif(sum(predicted_clv) over (partition by dimension), 0) as predicted_clv_share,
        predicted_clv / customers as avg_predicted_clv
    from grouped
)

select * from final
