-- customer_lifecycle: one row per customer, an accepted stage with its phase.
with repeated_customers as (
    select customer_id from customer_lifecycle group by customer_id having count(*) > 1
)

select customer_id, lifecycle_stage, lifecycle_phase
from customer_lifecycle
where customer_id is null
    or customer_id in (select customer_id from repeated_customers)
    or lifecycle_stage is null
    or lifecycle_phase is null
    or lifecycle_stage not in ('prospect', 'new', 'developing', 'loyal', 'at_risk', 'churned', 'reactivated')
