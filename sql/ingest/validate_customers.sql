-- Types and checks one customers file's rows (view ingest_source: every column as text) into table ingest_validated.
-- Variables (getvariable): parse_iso, timestamp_formats (as for transactions).
create or replace temp table ingest_validated as
with typed as (
    select
        source_row,
        customer_id_raw,
        signup_ts_raw,
        nullif(trim(customer_id_raw), '') as customer_id,
        case
            when getvariable('parse_iso') then try_cast(trim(signup_ts_raw) as timestamptz)::timestamp
            else try_strptime(trim(signup_ts_raw), getvariable('timestamp_formats'))::timestamp
        end as signup_ts
    from ingest_source
),

checked as (
    select
        *,
        case
            when customer_id is null then 'missing customer_id'
            when nullif(trim(signup_ts_raw), '') is not null and signup_ts is null
                then 'unparseable signup_ts ''' || signup_ts_raw || ''''
        end as row_problem
    from typed
),

final as (
    select
        source_row,
        customer_id,
        cast(signup_ts as date) as signup_date,
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
