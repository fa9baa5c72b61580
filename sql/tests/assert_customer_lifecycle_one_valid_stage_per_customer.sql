-- customer_lifecycle: one row per customer, an accepted stage with its phase.
select customer_id, lifecycle_stage, lifecycle_phase, count(*) over (partition by customer_id) as rows_for_customer
from customer_lifecycle
qualify customer_id is null
    or count(*) over (partition by customer_id) > 1
    or lifecycle_stage is null
    or lifecycle_phase is null
    or lifecycle_stage not in ('prospect', 'new', 'developing', 'loyal', 'at_risk', 'churned', 'reactivated')
