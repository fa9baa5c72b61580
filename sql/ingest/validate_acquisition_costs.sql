-- Types and checks one acquisition-cost file (view ingest_source: every column as text) into table ingest_validated.
create or replace temp table ingest_validated as
with typed as (
    select
        source_row,
        customer_id_raw,
        acquisition_cost_raw,
        nullif(trim(customer_id_raw), '') as customer_id,
        try_cast(trim(acquisition_cost_raw) as decimal(18, 2)) as acquisition_cost
    from ingest_source
),

checked as (
    select
        *,
        case
            when customer_id is null then 'missing customer_id'
            when nullif(trim(acquisition_cost_raw), '') is null then 'missing acquisition_cost'
            when acquisition_cost is null then 'non-numeric acquisition_cost ''' || acquisition_cost_raw || ''''
            when acquisition_cost < 0 then 'negative acquisition_cost ''' || acquisition_cost_raw || ''''
        end as row_problem
    from typed
),

final as (
    select
        source_row,
        customer_id,
        acquisition_cost,
        coalesce(
            row_problem,
            case when source_row > min(source_row) over (partition by customer_id, row_problem is null)
                then 'duplicate customer_id within file (first at row '
                    || min(source_row) over (partition by customer_id, row_problem is null) || ')'
            end
        ) as reason
    from checked
)

select * from final;
