-- RFM per customer with at least one order. Scores are quintiles of percent_rank ordered from worst
-- to best, so ties share the lower score and the best get 5. The windows sort only the measures and
-- the id, then join back: sorting whole customer rows three times costs seconds at a million.
with customers as (
    select * from int_transactions_summed_to_customer
    where orders > 0
),

scores as (
    select
        customer_id,
        least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc)))::integer as r_score,
        least(5, 1 + floor(5 * percent_rank() over (order by orders asc)))::integer as f_score,
        least(5, 1 + floor(5 * percent_rank() over (order by net_revenue asc)))::integer as m_score
    from customers
),

scored as (
    select
        customers.*,
        scores.r_score,
        scores.f_score,
        scores.m_score
    from customers
    inner join scores on customers.customer_id = scores.customer_id
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
