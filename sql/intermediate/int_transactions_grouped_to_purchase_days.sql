-- One row per customer and day with a non-return transaction: the purchase day of the BG/NBD
-- literature (several orders on one day are one purchase day worth the day's total). A zero-amount
-- transaction is a purchase day (as in the CDNOW data) although it is not an order; `orders` counts
-- the orders (amount > 0) so order-based rules can keep to them.
with purchases as (
    select * from stg_transactions
    where not is_return
),

final as (
    select
        customer_id,
        order_date,
        count(*) filter (where is_order) as orders,
        sum(amount) as day_total
    from purchases
    group by customer_id, order_date
)

select * from final
