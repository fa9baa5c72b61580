-- Net revenue in customer_rfm equals the sum of the customer's transactions (nothing lost or doubled).
with by_customer as (
    select customer_id, sum(amount) as net_amount
    from stg_transactions
    group by customer_id
)

select customer_rfm.customer_id, customer_rfm.monetary, by_customer.net_amount
from customer_rfm
left join by_customer on customer_rfm.customer_id = by_customer.customer_id
where by_customer.net_amount is null or customer_rfm.monetary <> by_customer.net_amount
