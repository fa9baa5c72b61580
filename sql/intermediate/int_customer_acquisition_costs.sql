-- Acquisition cost per customer: the latest of the previous state's row and this run's (the latest
-- file wins, then the higher file id, then the later row), so a run reads only new cost files.
with merged as (
    select customer_id, acquisition_cost, ingested_at, file_id, source_row from previous_customer_acquisition_costs
    union all
    select customer_id, acquisition_cost, ingested_at, file_id, source_row from stg_acquisition_costs
),

final as (
    select customer_id, acquisition_cost, ingested_at, file_id, source_row
    from merged
    qualify row_number() over (partition by customer_id order by ingested_at desc, file_id desc, source_row desc) = 1
)

select * from final
