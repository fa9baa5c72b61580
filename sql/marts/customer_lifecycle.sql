-- Lifecycle stage per customer: the first matching rule wins (README: "Lifecycle rules").
with buyers as (
    select * from int_transactions_summed_to_customer
    where orders > 0
),

known_customers as (
    select * from int_customer_signups
),

previous as (
    select customer_id, lifecycle_stage, stage_since from previous_customer_lifecycle
),

run_params as (
    select * from params
),

prospects as (
    select known_customers.customer_id
    from known_customers
    anti join buyers on known_customers.customer_id = buyers.customer_id
),

population as (
    select
        customer_id, orders, recency_days, tenure_days, mean_gap_days, gap_before_last_days,
        first_order_date, last_order_date, false as is_prospect
    from buyers
    union all by name
    select customer_id, 0 as orders, true as is_prospect
    from prospects
),

staged as (
    select
        population.*,
        previous.lifecycle_stage as previous_stage,
        previous.stage_since as previous_stage_since,
        greatest(run_params.at_risk_min_days, run_params.at_risk_factor * population.mean_gap_days) as at_risk_threshold_days,
        case
            when is_prospect then 'prospect'
            when recency_days > run_params.churn_days then 'churned'
            when orders >= 2 and gap_before_last_days > run_params.churn_days and recency_days <= run_params.new_days
                then 'reactivated'
            when orders = 1 and recency_days <= run_params.new_days then 'new'
            when orders = 1 and recency_days > run_params.new_days then 'at_risk'
            when orders >= 2 and recency_days > greatest(run_params.at_risk_min_days, run_params.at_risk_factor * mean_gap_days)
                then 'at_risk'
            when orders >= run_params.loyal_min_orders and tenure_days >= run_params.loyal_min_tenure_days then 'loyal'
            else 'developing'
        end as lifecycle_stage,
        run_params.churn_days,
        run_params.new_days,
        run_params.loyal_min_orders,
        run_params.loyal_min_tenure_days,
        run_params.as_of_date
    from population
    cross join run_params
    -- Joined here, before the explanations are formatted, so the join carries narrow rows.
    left join previous on population.customer_id = previous.customer_id
),

explained as (
    select
        *,
        case lifecycle_stage
            when 'prospect' then 'prospect: listed in a customers file, no orders'
            when 'churned' then format('churned: recency {} d > churn_days {}', recency_days, churn_days)
            when 'reactivated' then format('reactivated: gap before last order {} d > churn_days {}, recency {} d <= new_days {}',
                gap_before_last_days, churn_days, recency_days, new_days)
            when 'new' then format('new: 1 order, recency {} d <= new_days {}', recency_days, new_days)
            when 'at_risk' then case when orders = 1
                then format('at_risk: 1 order, recency {} d > new_days {}', recency_days, new_days)
                else format('at_risk: recency {} d > {} d (max of at_risk_min_days and at_risk_factor x mean gap)',
                    recency_days, round(at_risk_threshold_days, 1))
            end
            when 'loyal' then format('loyal: {} orders >= {}, tenure {} d >= {}', orders, loyal_min_orders, tenure_days, loyal_min_tenure_days)
            else format('developing: {} orders, tenure {} d, recency {} d within rhythm', orders, tenure_days, recency_days)
        end as rule_fired
    from staged
),

final as (
    select
        explained.customer_id,
        explained.lifecycle_stage,
        case explained.lifecycle_stage
            when 'prospect' then 'prospect'
            when 'new' then 'exploration'
            when 'developing' then 'formation'
            when 'reactivated' then 'formation'
            when 'loyal' then 'stability'
            when 'at_risk' then 'decline'
            when 'churned' then 'churn'
        end as lifecycle_phase,
        case explained.lifecycle_stage
            when 'prospect' then '潜在'
            when 'new' then '考察期'
            when 'developing' then '形成期'
            when 'reactivated' then '形成期'
            when 'loyal' then '稳定期'
            when 'at_risk' then '退化期'
            when 'churned' then '流失'
        end as lifecycle_phase_zh,
        explained.rule_fired,
        explained.orders,
        explained.recency_days,
        explained.tenure_days,
        explained.mean_gap_days,
        explained.gap_before_last_days,
        explained.first_order_date,
        explained.last_order_date,
        explained.previous_stage,
        case
            when explained.previous_stage = explained.lifecycle_stage then explained.previous_stage_since
            else explained.as_of_date
        end as stage_since
    from explained
)

select * from final
