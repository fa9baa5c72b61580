-- Acquisition cost per customer from this run's new acquisition-cost files (every file on a full
-- rebuild): the latest row for a customer, as int_customer_acquisition_costs orders them.
with source as (
    select * from curated_acquisition_costs
),

final as (
    select customer_id, acquisition_cost, ingested_at, file_id, source_row
    from source
    qualify row_number() over (partition by customer_id order by ingested_at desc, file_id desc, source_row desc) = 1
)

select * from final
