-- One row per customer and day of this run's batch: the day's orders, returns, net amount and
-- purchases. A purchase day of the BG/NBD literature is a day with a non-return transaction (several
-- orders on one day are one purchase day worth the day's total); a zero-amount transaction makes a
-- purchase day (as in the CDNOW data) although it is not an order. The models after this one read
-- these days, not the transactions, so the batch is grouped once.
with transactions as (
    select * from stg_transactions
),

final as (
    select
        customer_id,
        order_date,
        count(*) filter (where is_order) as orders,
        count(*) filter (where is_return) as returns,
        sum(amount) as net_amount,
        sum(amount) filter (where is_return) as returned_amount,
        -- Purchases are what is not a return: derived from the aggregates above, as each aggregate
        -- over every transaction costs time at millions of customer-days.
        count(*) - count(*) filter (where is_return) as purchases,
        case when count(*) > count(*) filter (where is_return)
            then sum(amount) - coalesce(sum(amount) filter (where is_return), 0)
        end as purchase_total
    from transactions
    group by customer_id, order_date
)

select * from final
