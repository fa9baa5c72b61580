-- materialized: view
-- This run's batch of curated transactions: the latest version of each transaction_id (a later file
-- replaces an earlier row), dated after the state being extended (if any) and up to as_of_date, with
-- orders told from returns. Only the columns the models use are kept. A view: one model reads it
-- (int_transactions_grouped_to_customer_days), so the batch is scanned once and never copied.
with source as (
    select * from curated_transactions
),

run_params as (
    select as_of_date, state_as_of_date, batch_source_files from params
),

-- Ingest keeps one row per transaction_id in a file, so only ids found in several files of the batch
-- can have versions to choose from; a batch from one file (a daily run, a single upload) has none.
repeated_ids as (
    select source.transaction_id
    from source
    cross join run_params
    where run_params.batch_source_files > 1
    group by source.transaction_id
    having count(*) > 1
),

single_versions as (
    select source.*
    from source
    left join repeated_ids on source.transaction_id = repeated_ids.transaction_id
    where repeated_ids.transaction_id is null
),

latest_of_repeated as (
    select source.*
    from source
    inner join repeated_ids on source.transaction_id = repeated_ids.transaction_id
    qualify row_number() over (
        partition by source.transaction_id
        order by source.ingested_at desc, source.file_id desc, source.source_row desc
    ) = 1
),

latest_versions as (
    select * from single_versions
    union all
    select * from latest_of_repeated
),

final as (
    select
        latest_versions.customer_id,
        latest_versions.order_date,
        latest_versions.amount,
        latest_versions.is_return,
        not latest_versions.is_return and latest_versions.amount > 0 as is_order
    from latest_versions
    cross join run_params
    where latest_versions.order_date <= run_params.as_of_date
        and (run_params.state_as_of_date is null or latest_versions.order_date > run_params.state_as_of_date)
)

select * from final
