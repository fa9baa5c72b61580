-- RFM per customer with at least one order. Scores are quintiles of percent_rank ordered from worst
-- to best, so ties share the lower score and the best get 5. percent_rank is (customers ordered
-- before) / (customers - 1); it is counted over each measure's distinct values (a few hundred for
-- recency and frequency) instead of sorting every customer three times.
with customers as (
    select * from int_transactions_summed_to_customer
    where orders > 0
),

recency_values as (
    select recency_days, count(*) as customers_with_value
    from customers
    group by recency_days
),

frequency_values as (
    select orders, count(*) as customers_with_value
    from customers
    group by orders
),

monetary_values as (
    select net_revenue, count(*) as customers_with_value
    from customers
    group by net_revenue
),

recency_scores as (
    select
        recency_days,
        least(5, 1 + floor(5 * coalesce(
            sum(customers_with_value) over (order by recency_days desc rows between unbounded preceding and 1 preceding)
                / nullif(sum(customers_with_value) over () - 1, 0),
            0
        )))::integer as r_score
    from recency_values
),

frequency_scores as (
    select
        orders,
        least(5, 1 + floor(5 * coalesce(
            sum(customers_with_value) over (order by orders asc rows between unbounded preceding and 1 preceding)
                / nullif(sum(customers_with_value) over () - 1, 0),
            0
        )))::integer as f_score
    from frequency_values
),

monetary_scores as (
    select
        net_revenue,
        least(5, 1 + floor(5 * coalesce(
            sum(customers_with_value) over (order by net_revenue asc rows between unbounded preceding and 1 preceding)
                / nullif(sum(customers_with_value) over () - 1, 0),
            0
        )))::integer as m_score
    from monetary_values
),

scored as (
    select
        customers.*,
        recency_scores.r_score,
        frequency_scores.f_score,
        monetary_scores.m_score
    from customers
    inner join recency_scores on customers.recency_days = recency_scores.recency_days
    inner join frequency_scores on customers.orders = frequency_scores.orders
    inner join monetary_scores on customers.net_revenue = monetary_scores.net_revenue
),

final as (
    select
        customer_id,
        first_order_date,
        last_order_date,
        recency_days,
        orders as frequency,
        net_revenue as monetary,
        net_revenue / orders as avg_order_value,
        returns,
        returned_amount,
        r_score,
        f_score,
        m_score,
        r_score::varchar || f_score::varchar || m_score::varchar as rfm_cell,
        case
            when r_score = 5 and f_score >= 4 then 'champions'
            when r_score between 3 and 4 and f_score >= 4 then 'loyal'
            when r_score >= 4 and f_score between 2 and 3 then 'potential_loyalists'
            when r_score = 5 and f_score = 1 then 'new_customers'
            when r_score = 4 and f_score = 1 then 'promising'
            when r_score = 3 and f_score = 3 then 'need_attention'
            when r_score = 3 and f_score <= 2 then 'about_to_sleep'
            when r_score <= 2 and f_score between 3 and 4 then 'at_risk'
            when r_score <= 2 and f_score = 5 then 'cannot_lose'
            when r_score <= 2 and f_score <= 2 then 'hibernating'
        end as rfm_segment
    from scored
)

select * from final
