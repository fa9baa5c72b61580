-- Acquisition cost per customer from acquisition-cost files (the latest file wins for a customer).
with source as (
    select * from curated_acquisition_costs
),

final as (
    select customer_id, acquisition_cost
    from source
    qualify row_number() over (partition by customer_id order by ingested_at desc, source_row desc) = 1
)

select * from final
