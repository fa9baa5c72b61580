-- After replacement by later files, each transaction_id appears once.
select transaction_id, count(*) as versions
from stg_transactions
group by transaction_id
having count(*) > 1
