-- Predicted customer lifetime value with the model summary behind it, the Pareto value tier and the
-- current x potential value quadrant.
-- clv_predictions holds every modelled customer's summary (int_purchase_days_summarized_to_customer)
-- with the forecast beside it.
with predictions as (
    select * from clv_predictions
),

costs as (
    select * from int_customer_acquisition_costs
),

run_params as (
    select * from params
),

valued as (
    select
        predictions.* replace (
            -- Money is rounded to cents here so every sum over it downstream is exact and repeatable.
            cast(predictions.expected_avg_order_value as decimal(18, 2)) as expected_avg_order_value,
            cast(predictions.predicted_clv as decimal(18, 2)) as predicted_clv
        ),
        costs.acquisition_cost,
        cast(predictions.predicted_clv as decimal(18, 2)) - costs.acquisition_cost as clv_net_of_acquisition
    from predictions
    left join costs on predictions.customer_id = costs.customer_id
),

-- Pareto: a customer is tier A while the customers with a higher predicted CLV hold less than
-- tier_a_share of the total, B while less than tier_a_share + tier_b_share; customers with the same
-- CLV share a tier. The running sum runs over the distinct CLV values, not over every customer (a sort
-- of a million customers costs over half a second).
clv_values as (
    select predicted_clv, sum(greatest(predicted_clv, 0)) as value_total
    from valued
    group by predicted_clv
),

clv_ranked_above as (
    select
        predicted_clv,
        coalesce(
            sum(value_total) over (order by predicted_clv desc rows between unbounded preceding and 1 preceding),
            0
        ) as clv_ranked_above
    from clv_values
    where predicted_clv is not null
),

clv_total as (
    select sum(value_total) as total_positive_clv from clv_values
),

ranked as (
    select
        valued.*,
        clv_ranked_above.clv_ranked_above / nullif(clv_total.total_positive_clv, 0) as share_before
    from valued
    left join clv_ranked_above on valued.predicted_clv = clv_ranked_above.predicted_clv
    cross join clv_total
),

-- The split value is the discrete quantile (SQL's percentile_disc): the smallest value whose
-- cumulative share of customers reaches the split quantile. Customers are counted per distinct value
-- and the running count runs over the distinct values only: a grouping and a sort that DuckDB can
-- spill, where quantile or list aggregates hold every value in memory (they ran out at 10M customers
-- under a 1 GB limit) and a window over every customer costs about a second each at a million.
value_counts as (
    select 'current' as measure, current_value as value, count(*) as customers
    from valued
    group by current_value
    union all
    select 'potential' as measure, predicted_clv as value, count(*) as customers
    from valued
    group by predicted_clv
),

running_counts as (
    select
        measure,
        value,
        sum(customers) over (partition by measure order by value rows between unbounded preceding and current row)
            as customers_up_to_value
    from value_counts
    where value is not null
),

customer_total as (
    select count(*) as customers from valued
),

splits as (
    select
        min(running_counts.value) filter (where running_counts.measure = 'current') as current_split_value,
        min(running_counts.value) filter (where running_counts.measure = 'potential') as potential_split_value
    from running_counts
    cross join customer_total
    cross join run_params
    where running_counts.customers_up_to_value / customer_total.customers >= run_params.quadrant_split_quantile
),

final as (
    select
        ranked.customer_id,
        ranked.repeat_purchase_days,
        ranked.t_x_days,
        ranked.t_days,
        ranked.repeat_avg_value,
        ranked.historical_revenue,
        ranked.current_value,
        ranked.p_alive,
        ranked.expected_purchases,
        ranked.expected_avg_order_value,
        ranked.predicted_clv,
        ranked.acquisition_cost,
        ranked.clv_net_of_acquisition,
        ranked.clv_method,
        case
            when coalesce(ranked.share_before, 1) < run_params.tier_a_share then 'A'
            when coalesce(ranked.share_before, 1) < run_params.tier_a_share + run_params.tier_b_share then 'B'
            else 'C'
        end as value_tier,
        (case when ranked.current_value > splits.current_split_value then 'high' else 'low' end)
            || '_current_'
            || (case when ranked.predicted_clv > splits.potential_split_value then 'high' else 'low' end)
            || '_potential' as value_quadrant,
        run_params.clv_horizon_months as horizon_months
    from ranked
    cross join splits
    cross join run_params
)

select * from final
