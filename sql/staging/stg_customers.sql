-- Customers in this run's new customers files (every file on a full rebuild), who may not have
-- bought yet: one row per customer_id with the earliest signup date given.
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
