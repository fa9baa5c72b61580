-- customer_rfm: customer_id is unique and not null.
select customer_id, count(*) as rows_for_customer
from customer_rfm
group by customer_id
having customer_id is null or count(*) > 1
