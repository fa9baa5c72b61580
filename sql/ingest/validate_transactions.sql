-- Types and checks one source file's rows (view ingest_source: every column as text) and gives each
-- row either a typed transaction or the reason it is rejected, in view ingest_validated. The first
-- failing check wins. The checks are a table macro, so that no typed copy of the whole file is
-- stored: they run over every row as the curated rows are written, and here over the few rows whose
-- transaction_id may repeat.
-- Variables (getvariable): parse_iso (true: ISO 8601 timestamps), else timestamp_formats (strptime
-- formats), return_values, latest_allowed_ts (ingest time + tolerance), tolerance_hours, base_currency.
-- trim_text(s) is trim(s), defined by the ingest to skip the call for the usual unpadded value.

-- The rows of table `source_rows` (ingest_source's columns), typed, each with the first check it fails
-- (duplicates aside).
create or replace temp macro ingest_checks(source_rows) as table
with texts as (
    select
        source_row,
        order_ts_raw,
        amount_raw,
        quantity_raw,
        nullif(trim_text(customer_id_raw), '') as customer_id,
        nullif(trim_text(transaction_id_raw), '') as transaction_id,
        trim_text(order_ts_raw) as order_ts_text,
        trim_text(amount_raw) as amount_text,
        upper(nullif(trim_text(currency_raw), '')) as currency_code,
        trim_text(quantity_raw) as quantity_text,
        coalesce(list_contains(getvariable('return_values'), lower(trim_text(is_return_raw))), false) as is_flagged_return
    from query_table(source_rows)
),

typed as (
    select
        *,
        case
            -- A UTC offset after the date needs the (slower) time-zone-aware parse; 'Z' and no offset do
            -- not, and a trailing 'Z' is tested first as it is cheaper than looking for an offset.
            when getvariable('parse_iso') and ends_with(order_ts_text, 'Z') then try_cast(order_ts_text as timestamp)
            when getvariable('parse_iso') and (contains(order_ts_raw, '+') or contains(substr(order_ts_text, 11), '-'))
                then try_cast(order_ts_text as timestamptz)::timestamp
            when getvariable('parse_iso') then try_cast(order_ts_text as timestamp)
            else try_strptime(order_ts_text, getvariable('timestamp_formats'))::timestamp
        end as order_ts,
        try_cast(amount_text as decimal(18, 2)) as parsed_amount,
        try_cast(quantity_text as integer) as quantity
    from texts
)

select
    source_row,
    customer_id,
    transaction_id,
    order_ts,
    -- A flagged return is stored negative so every sum nets it, whatever sign the source used.
    case when is_flagged_return then -abs(parsed_amount) else parsed_amount end as amount,
    coalesce(currency_code, getvariable('base_currency')) as currency,
    quantity,
    is_flagged_return or parsed_amount < 0 as is_return,
    case
        when customer_id is null then 'missing customer_id'
        when transaction_id is null then 'missing transaction_id'
        when nullif(order_ts_text, '') is null then 'missing order_ts'
        when order_ts is null then 'unparseable order_ts ''' || order_ts_raw || ''''
        when nullif(amount_text, '') is null then 'missing amount'
        when parsed_amount is null then 'non-numeric amount ''' || amount_raw || ''''
        when order_ts > getvariable('latest_allowed_ts')
            then 'order_ts ' || strftime(order_ts, '%Y-%m-%d %H:%M:%S')
                || ' is in the future (more than ' || getvariable('tolerance_hours') || ' h after ingest)'
        when currency_code is not null and currency_code <> getvariable('base_currency')
            then 'currency ' || currency_code || ' is not the base currency ' || getvariable('base_currency')
                || ' and no FX rate is configured'
        when nullif(quantity_text, '') is not null and quantity is null
            then 'non-integer quantity ''' || quantity_raw || ''''
    end as row_problem
from typed;

-- Duplicates are judged among rows that pass every other check, so a bad first copy does not push a
-- good second copy into quarantine. An id can only repeat where its 64-bit hash does, and finding
-- repeated hashes by sorting them is much cheaper than grouping every row by its id: only the rows
-- whose hash repeats are checked and grouped by the id itself. The ids are hashed as ingest_checks
-- derives transaction_id from transaction_id_raw.
create or replace temp table ingest_repeat_candidates as
with id_hashes as (
    select hash(nullif(trim_text(transaction_id_raw), '')) as id_hash from ingest_source
),

repeated_hashes as (
    select id_hash
    from (select id_hash, lag(id_hash) over (order by id_hash) as previous_hash from id_hashes)
    where id_hash = previous_hash
)

select *
from ingest_source
where hash(nullif(trim_text(transaction_id_raw), '')) in (select id_hash from repeated_hashes);

create or replace temp table ingest_repeated_ids as
select transaction_id, min(source_row) as first_valid_row
from ingest_checks('ingest_repeat_candidates')
where row_problem is null
group by transaction_id
having count(*) > 1;

-- Original values are not carried: the quarantine looks up the few rejected rows in ingest_source.
create or replace temp view ingest_validated as
select
    checked.* exclude (row_problem),
    cast(order_ts as date) as order_date,
    strftime(order_ts, '%Y-%m') as order_month,
    coalesce(
        row_problem,
        case when source_row > first_valid_row
            then 'duplicate transaction_id within file (first at row ' || first_valid_row || ')'
        end
    ) as reason
from ingest_checks('ingest_source') as checked
left join ingest_repeated_ids using (transaction_id);
