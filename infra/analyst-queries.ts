/**
 * Saved queries for the analyst questions the README walks through, stored as Athena named queries in
 * the workgroup (Athena console → Saved queries). They run against the Glue database as default
 * database, through the views the transform keeps current (customer_360, cohort_matrix,
 * latest_transactions) or the latest partition of a mart.
 */
export interface AnalystQuery {
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

export const analystQueries: readonly AnalystQuery[] = [
  {
    name: 'segments-latest',
    description: 'Customers, revenue and shares by RFM segment, lifecycle stage and value tier in the latest snapshot',
    sql: `SELECT dimension, segment, customers, customer_share, revenue, revenue_share, avg_revenue_per_customer
FROM segment_summary
WHERE as_of_date = (SELECT max(as_of_date) FROM segment_summary)
ORDER BY dimension, revenue DESC`,
  },
  {
    name: 'at-risk-high-value',
    description: 'At-risk customers with the highest predicted CLV: who to win back first',
    sql: `SELECT customer_id, rfm_segment, value_tier, predicted_clv, monetary, recency_days, last_order_date
FROM customer_360
WHERE lifecycle_stage = 'at_risk'
ORDER BY predicted_clv DESC
LIMIT 100`,
  },
  {
    name: 'value-matrix',
    description: 'Customers and predicted CLV by value quadrant (current x potential value) and value tier',
    sql: `SELECT value_quadrant, value_tier, count(*) AS customers, sum(predicted_clv) AS predicted_clv, sum(current_value) AS current_value
FROM customer_360
WHERE value_quadrant IS NOT NULL
GROUP BY value_quadrant, value_tier
ORDER BY value_quadrant, value_tier`,
  },
  {
    name: 'lifecycle-stage-mix',
    description: 'How many customers are in each lifecycle stage (and literature phase) now',
    sql: `SELECT lifecycle_stage, lifecycle_phase, count(*) AS customers
FROM customer_360
GROUP BY lifecycle_stage, lifecycle_phase
ORDER BY customers DESC`,
  },
  {
    name: 'lifecycle-transitions-latest',
    description: 'Customers moving between lifecycle stages since the previous snapshot',
    sql: `SELECT from_stage, to_stage, customers
FROM lifecycle_transitions
WHERE as_of_date = (SELECT max(as_of_date) FROM lifecycle_transitions)
ORDER BY customers DESC`,
  },
  {
    name: 'cohort-retention-matrix',
    description: 'Retention by acquisition month and months since the first order',
    sql: `SELECT *
FROM cohort_matrix
ORDER BY cohort_month`,
  },
  {
    name: 'cohort-clv-curve',
    description: 'Cumulative net revenue per customer of each cohort, month by month (the cohort CLV curve)',
    sql: `SELECT cohort_month, months_since_first, cohort_size, cumulative_revenue_per_customer
FROM cohort_retention
WHERE as_of_date = (SELECT max(as_of_date) FROM cohort_retention)
ORDER BY cohort_month, months_since_first`,
  },
  {
    name: 'monthly-revenue',
    description: 'Orders and net revenue per month from the current version of every transaction',
    sql: `SELECT order_month,
       count_if(NOT is_return AND amount > 0) AS orders,
       count(DISTINCT customer_id) AS customers,
       sum(amount) AS net_revenue
FROM latest_transactions
GROUP BY order_month
ORDER BY order_month`,
  },
  {
    name: 'quarantine-reasons',
    description: 'Rejected input rows by reason and file over the last 30 days',
    sql: `SELECT ingest_date, source_file, reason, count(*) AS rows_rejected
FROM quarantine_transactions
WHERE ingest_date >= CAST(current_date - INTERVAL '30' DAY AS varchar)
GROUP BY ingest_date, source_file, reason
ORDER BY ingest_date DESC, rows_rejected DESC`,
  },
];
