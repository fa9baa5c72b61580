-- Scores are 1-5, the cell matches them, and every scored customer falls in exactly one grid segment.
select customer_id, r_score, f_score, m_score, rfm_cell, rfm_segment
from customer_rfm
where r_score not between 1 and 5
    or f_score not between 1 and 5
    or m_score not between 1 and 5
    or rfm_cell <> r_score::varchar || f_score::varchar || m_score::varchar
    or rfm_segment is null
    or rfm_segment not in (
        'champions', 'loyal', 'potential_loyalists', 'new_customers', 'promising',
        'need_attention', 'about_to_sleep', 'at_risk', 'cannot_lose', 'hibernating'
    )
