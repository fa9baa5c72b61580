-- Customers known from customers files: the previous state's and this run's new files', one row per
-- customer with the earliest signup date any gave, so a run reads only new customers files.
with merged as (
    select customer_id, signup_date from previous_customer_signups
    union all
    select customer_id, signup_date from stg_customers
),

final as (
    select customer_id, min(signup_date) as signup_date
    from merged
    group by customer_id
)

select * from final
