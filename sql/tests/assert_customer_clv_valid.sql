-- customer_clv: one row per customer, the BG/NBD summary consistent (0 <= t_x <= T, x = 0 exactly
-- when t_x = 0), probabilities in [0, 1], no negative prediction, accepted tiers, quadrants, methods.
with repeated_customers as (
    select customer_id from customer_clv group by customer_id having count(*) > 1
)

select *
from customer_clv
where customer_id in (select customer_id from repeated_customers)
    or customer_id is null
    or t_x_days < 0
    or t_x_days > t_days
    or (repeat_purchase_days = 0) <> (t_x_days = 0)
    or p_alive not between 0 and 1
    or expected_purchases < 0
    or predicted_clv < 0
    or value_tier not in ('A', 'B', 'C')
    or value_quadrant not in (
        'low_current_low_potential', 'low_current_high_potential',
        'high_current_low_potential', 'high_current_high_potential'
    )
    or clv_method not in ('bgnbd_gamma_gamma', 'bgnbd_historical_spend', 'historical_run_rate')
