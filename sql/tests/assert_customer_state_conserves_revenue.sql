-- Merging the batch into the previous state loses and doubles nothing: the state's totals equal the
-- previous state's plus the batch's, and customer_rfm's monetary equals the state's net revenue.
with totals as (
    select
        (select coalesce(sum(net_revenue), 0) from previous_customer_state)
            + (select coalesce(sum(net_revenue), 0) from int_batch_summed_to_customer) as expected_net,
        (select coalesce(sum(net_revenue), 0) from int_customer_state) as state_net,
        (select coalesce(sum(orders), 0) from previous_customer_state)
            + (select coalesce(sum(orders), 0) from int_batch_summed_to_customer) as expected_orders,
        (select coalesce(sum(orders), 0) from int_customer_state) as state_orders
),

rfm_mismatch as (
    select customer_rfm.customer_id
    from customer_rfm
    left join int_customer_state on customer_rfm.customer_id = int_customer_state.customer_id
    where int_customer_state.net_revenue is distinct from customer_rfm.monetary
)

select 'totals' as check_name, null as customer_id, totals.*
from totals
where expected_net <> state_net or expected_orders <> state_orders
union all by name
select 'rfm monetary' as check_name, customer_id
from rfm_mismatch
