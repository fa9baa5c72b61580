-- The customer state as of as_of_date: the previous snapshot's state merged with this run's batch.
-- The batch holds only transactions after the previous state's date, so sums add, first dates come
-- from the earlier side and last dates from the later one. A full rebuild merges into an empty state.
-- current_value (net revenue inside the current-value window) moves with the window: the batch's
-- days inside it are added and the previous state's days that fell out of it are subtracted.
with previous as (
    select * from previous_customer_state
),

batch as (
    select * from int_batch_summed_to_customer
),

run_params as (
    select current_value_after, state_current_value_after from params
),

-- The previous window was (state_current_value_after, state date], this one is
-- (current_value_after, as_of_date]: the days in between left it.
left_window as (
    select previous_recent_revenue_days.customer_id, sum(previous_recent_revenue_days.net_amount) as net_amount
    from previous_recent_revenue_days
    cross join run_params
    where previous_recent_revenue_days.order_date > run_params.state_current_value_after
        and previous_recent_revenue_days.order_date <= run_params.current_value_after
    group by previous_recent_revenue_days.customer_id
),

final as (
    select
        coalesce(batch.customer_id, previous.customer_id) as customer_id,
        coalesce(previous.orders, 0) + coalesce(batch.orders, 0) as orders,
        coalesce(previous.returns, 0) + coalesce(batch.returns, 0) as returns,
        coalesce(previous.net_revenue, 0) + coalesce(batch.net_revenue, 0) as net_revenue,
        coalesce(previous.returned_amount, 0) + coalesce(batch.returned_amount, 0) as returned_amount,
        coalesce(previous.first_order_date, batch.first_order_date) as first_order_date,
        coalesce(batch.last_order_date, previous.last_order_date) as last_order_date,
        coalesce(previous.order_days, 0) + coalesce(batch.order_days, 0) as order_days,
        case
            when batch.order_days >= 2 then batch.previous_order_date
            when batch.order_days = 1 then previous.last_order_date
            else previous.previous_order_date
        end as previous_order_date,
        coalesce(previous.purchase_days, 0) + coalesce(batch.purchase_days, 0) as purchase_days,
        coalesce(previous.first_purchase_date, batch.first_purchase_date) as first_purchase_date,
        coalesce(batch.last_purchase_date, previous.last_purchase_date) as last_purchase_date,
        coalesce(previous.first_purchase_day_total, batch.first_purchase_day_total) as first_purchase_day_total,
        coalesce(previous.purchase_day_total_sum, 0) + coalesce(batch.purchase_day_total_sum, 0) as purchase_day_total_sum,
        coalesce(previous.current_value, 0) - coalesce(left_window.net_amount, 0) + coalesce(batch.current_value, 0)
            as current_value
    from previous
    full outer join batch on previous.customer_id = batch.customer_id
    left join left_window on previous.customer_id = left_window.customer_id
)

select * from final
