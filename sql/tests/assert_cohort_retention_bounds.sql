-- Active customers never exceed the cohort, retention is a share, month 0 retains everyone,
-- and no month lies after as_of_date.
select cohort_retention.*
from cohort_retention
cross join params
where active_customers > cohort_size
    or retention_rate not between 0 and 1
    or months_since_first < 0
    or (months_since_first = 0 and active_customers <> cohort_size)
    or (strptime(cohort_month, '%Y-%m') + to_months(months_since_first))::date > params.as_of_date
