-- Types and checks one source file's rows (view ingest_source: every column as text) and gives each
-- row either a typed transaction or the reason it is rejected. The first failing check wins.
-- Parameters: $parse_iso (true: ISO 8601 timestamps), else $timestamp_formats (strptime formats), $return_values,
-- $latest_allowed_ts (ingest time + tolerance), $tolerance_hours, $base_currency.
with typed as (
    select
        source_row,
        customer_id_raw,
        transaction_id_raw,
        order_ts_raw,
        amount_raw,
        currency_raw,
        quantity_raw,
        is_return_raw,
        nullif(trim(customer_id_raw), '') as customer_id,
        nullif(trim(transaction_id_raw), '') as transaction_id,
        case
            -- A UTC offset after the date needs the (slower) time-zone-aware parse; 'Z' and no offset do not.
            when $parse_iso and (contains(order_ts_raw, '+') or contains(substr(trim(order_ts_raw), 11), '-'))
                then try_cast(trim(order_ts_raw) as timestamptz)::timestamp
            when $parse_iso then try_cast(trim(order_ts_raw) as timestamp)
            else try_strptime(trim(order_ts_raw), $timestamp_formats)::timestamp
        end as order_ts,
        try_cast(trim(amount_raw) as decimal(18, 2)) as parsed_amount,
        upper(nullif(trim(currency_raw), '')) as currency_code,
        try_cast(trim(quantity_raw) as integer) as quantity,
        coalesce(list_contains($return_values, lower(trim(is_return_raw))), false) as is_flagged_return
    from ingest_source
),

checked as (
    select
        *,
        case
            when customer_id is null then 'missing customer_id'
            when transaction_id is null then 'missing transaction_id'
            when nullif(trim(order_ts_raw), '') is null then 'missing order_ts'
            when order_ts is null then 'unparseable order_ts ''' || order_ts_raw || ''''
            when nullif(trim(amount_raw), '') is null then 'missing amount'
            when parsed_amount is null then 'non-numeric amount ''' || amount_raw || ''''
            when order_ts > $latest_allowed_ts
                then 'order_ts ' || strftime(order_ts, '%Y-%m-%d %H:%M:%S')
                    || ' is in the future (more than ' || $tolerance_hours || ' h after ingest)'
            when currency_code is not null and currency_code <> $base_currency
                then 'currency ' || currency_code || ' is not the base currency ' || $base_currency
                    || ' and no FX rate is configured'
            when nullif(trim(quantity_raw), '') is not null and quantity is null
                then 'non-integer quantity ''' || quantity_raw || ''''
        end as row_problem
    from typed
),

-- Duplicates are judged among rows that pass every other check, so a bad first copy does not
-- push a good second copy into quarantine. Only repeated ids are collected (a grouping, cheaper than
-- a window over every row).
repeated_ids as (
    select transaction_id, min(source_row) as first_valid_row
    from checked
    where row_problem is null
    group by transaction_id
    having count(*) > 1
),

ranked as (
    select
        checked.*,
        repeated_ids.first_valid_row
    from checked
    left join repeated_ids
        on checked.transaction_id = repeated_ids.transaction_id
        and checked.row_problem is null
),

-- Original values are not carried: the quarantine looks up the few rejected rows in ingest_source.
final as (
    select
        source_row,
        customer_id,
        transaction_id,
        order_ts,
        cast(order_ts as date) as order_date,
        strftime(order_ts, '%Y-%m') as order_month,
        -- A flagged return is stored negative so every sum nets it, whatever sign the source used.
        case when is_flagged_return then -abs(parsed_amount) else parsed_amount end as amount,
        coalesce(currency_code, $base_currency) as currency,
        quantity,
        is_flagged_return or parsed_amount < 0 as is_return,
        coalesce(
            row_problem,
            case when source_row > first_valid_row
                then 'duplicate transaction_id within file (first at row ' || first_valid_row || ')'
            end
        ) as reason
    from ranked
)

select * from final
