-- Customers known from customers files (they may not have bought yet): one row per customer_id.
with source as (
    select * from curated_customers
),

final as (
    select
        customer_id,
        min(signup_date) as signup_date
    from source
    group by customer_id
)

select * from final
