/**
 * The one schema source: every table's columns, types and meanings. It drives the casts applied to
 * model output, the schema checks before publishing, the Glue table definitions and the README's
 * table reference. Nothing else spells a column type.
 */
export type ColumnType =
  | 'VARCHAR'
  | 'DATE'
  | 'TIMESTAMP'
  | 'INTEGER'
  | 'BIGINT'
  | 'DOUBLE'
  | 'BOOLEAN'
  | 'DECIMAL(18,2)';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
}

export interface TableSpec {
  readonly name: string;
  readonly description: string;
  /** Where the table lives in the lake: curated data is partitioned by month, marts are snapshots. */
  readonly layer: 'curated' | 'quarantine' | 'mart' | 'state';
  /** The Hive partition column, carried in the path rather than inside the Parquet files. */
  readonly partition: ColumnSpec;
  /** Columns that identify a row within one partition. */
  readonly key: readonly string[];
  /** One row per customer: part of the customer_360 view. */
  readonly perCustomer: boolean;
  readonly columns: readonly ColumnSpec[];
}

const asOfDate: ColumnSpec = {
  name: 'as_of_date',
  type: 'DATE',
  description: 'Snapshot date: transactions with order_date on or before it are counted (UTC).',
};

/** Where a curated or rejected row came from: the file (by content hash and name) and its row. */
const sourceColumns: readonly ColumnSpec[] = [
  { name: 'file_id', type: 'VARCHAR', description: 'Content hash of the source file (the ingest ledger key).' },
  { name: 'source_file', type: 'VARCHAR', description: 'Name of the source file as ingested.' },
  { name: 'source_row', type: 'BIGINT', description: '1-based data row of the source file (header excluded).' },
];

const ingestedAt = (whichWins: string): ColumnSpec => ({
  name: 'ingested_at',
  type: 'TIMESTAMP',
  description: `When the file was ingested, UTC; ${whichWins}.`,
});

const ingestDate: ColumnSpec = { name: 'ingest_date', type: 'VARCHAR', description: 'UTC date of the ingest, YYYY-MM-DD.' };

const customerId: ColumnSpec = { name: 'customer_id', type: 'VARCHAR', description: 'Customer identifier from the source.' };

export const transactionsTable: TableSpec = {
  name: 'transactions',
  description:
    'Curated transactions: typed, validated rows of every ingested file. A transaction_id repeated by a later file supersedes the earlier row (see the latest_transactions view).',
  layer: 'curated',
  partition: { name: 'order_month', type: 'VARCHAR', description: 'Month of order_ts, YYYY-MM (UTC).' },
  key: ['transaction_id', 'file_id'],
  perCustomer: false,
  columns: [
    { name: 'transaction_id', type: 'VARCHAR', description: 'Transaction or order identifier from the source.' },
    customerId,
    { name: 'order_ts', type: 'TIMESTAMP', description: 'When the order was placed, UTC.' },
    { name: 'order_date', type: 'DATE', description: 'UTC calendar date of order_ts.' },
    { name: 'amount', type: 'DECIMAL(18,2)', description: 'Amount in the base currency; negative for returns.' },
    { name: 'currency', type: 'VARCHAR', description: 'ISO currency code (the base currency).' },
    { name: 'quantity', type: 'INTEGER', description: 'Units, when the source has them.' },
    { name: 'is_return', type: 'BOOLEAN', description: 'A return or refund: amount < 0 or flagged by the source.' },
    ...sourceColumns,
    ingestedAt('the later file wins a repeated transaction_id'),
  ],
};

export const customersTable: TableSpec = {
  name: 'customers',
  description: 'Customers known from customers files, whether or not they have bought (prospects have not).',
  layer: 'curated',
  partition: ingestDate,
  key: ['customer_id', 'file_id'],
  perCustomer: false,
  columns: [
    customerId,
    { name: 'signup_date', type: 'DATE', description: 'When the customer signed up, if the file says.' },
    ...sourceColumns,
    ingestedAt('files are kept side by side'),
  ],
};

export const acquisitionCostsTable: TableSpec = {
  name: 'acquisition_costs',
  description: 'What it cost to acquire each customer, from acquisition-cost files; CLV is reported net of it.',
  layer: 'curated',
  partition: ingestDate,
  key: ['customer_id', 'file_id'],
  perCustomer: false,
  columns: [
    customerId,
    { name: 'acquisition_cost', type: 'DECIMAL(18,2)', description: 'Acquisition cost in the base currency.' },
    ...sourceColumns,
    ingestedAt('the latest file wins for a customer'),
  ],
};

export const quarantineTable: TableSpec = {
  name: 'quarantine_transactions',
  description:
    'Rejected transaction rows with their original values and the reason; nothing is dropped silently. Rejected customers-file rows are kept the same way under quarantine/customers/.',
  layer: 'quarantine',
  partition: ingestDate,
  key: ['file_id', 'source_row'],
  perCustomer: false,
  columns: [
    ...sourceColumns,
    { name: 'reason', type: 'VARCHAR', description: 'Why the row was rejected.' },
    { name: 'customer_id_raw', type: 'VARCHAR', description: 'Original customer id value.' },
    { name: 'transaction_id_raw', type: 'VARCHAR', description: 'Original transaction id value.' },
    { name: 'order_ts_raw', type: 'VARCHAR', description: 'Original timestamp value.' },
    { name: 'amount_raw', type: 'VARCHAR', description: 'Original amount value.' },
    { name: 'currency_raw', type: 'VARCHAR', description: 'Original currency value.' },
    { name: 'record_json', type: 'VARCHAR', description: 'The whole original row as JSON (every source column as text).' },
  ],
};

export const customerRfmTable: TableSpec = {
  name: 'customer_rfm',
  description: 'Recency, frequency and monetary value per customer with at least one order, scored 1-5 and segmented.',
  layer: 'mart',
  partition: asOfDate,
  key: ['customer_id'],
  perCustomer: true,
  columns: [
    customerId,
    { name: 'first_order_date', type: 'DATE', description: 'Date of the first order.' },
    { name: 'last_order_date', type: 'DATE', description: 'Date of the latest order (returns do not count).' },
    { name: 'recency_days', type: 'INTEGER', description: 'Days from last_order_date to as_of_date.' },
    { name: 'frequency', type: 'INTEGER', description: 'Number of orders (amount > 0, not returns).' },
    { name: 'monetary', type: 'DECIMAL(18,2)', description: 'Net revenue: orders plus returns.' },
    { name: 'avg_order_value', type: 'DECIMAL(18,2)', description: 'monetary / frequency.' },
    { name: 'returns', type: 'INTEGER', description: 'Number of returns.' },
    { name: 'returned_amount', type: 'DECIMAL(18,2)', description: 'Sum of returns (zero or negative).' },
    { name: 'r_score', type: 'INTEGER', description: 'Recency quintile score 1-5; 5 = most recent.' },
    { name: 'f_score', type: 'INTEGER', description: 'Frequency quintile score 1-5; 5 = most orders.' },
    { name: 'm_score', type: 'INTEGER', description: 'Monetary quintile score 1-5; 5 = highest net revenue.' },
    { name: 'rfm_cell', type: 'VARCHAR', description: "r, f and m scores concatenated, e.g. '545'." },
    { name: 'rfm_segment', type: 'VARCHAR', description: 'Segment from the R x F grid (see README).' },
  ],
};

export const customerLifecycleTable: TableSpec = {
  name: 'customer_lifecycle',
  description: 'Lifecycle stage per customer from explicit, configurable rules (first matching rule wins).',
  layer: 'mart',
  partition: asOfDate,
  key: ['customer_id'],
  perCustomer: true,
  columns: [
    customerId,
    { name: 'lifecycle_stage', type: 'VARCHAR', description: 'prospect, new, developing, loyal, at_risk, churned or reactivated.' },
    { name: 'lifecycle_phase', type: 'VARCHAR', description: 'Literature phase: prospect, exploration, formation, stability, decline or churn.' },
    { name: 'lifecycle_phase_zh', type: 'VARCHAR', description: 'The phase as named in the Chinese CRM literature (潜在, 考察期, 形成期, 稳定期, 退化期, 流失).' },
    { name: 'rule_fired', type: 'VARCHAR', description: 'The rule that assigned the stage, with its numbers.' },
    { name: 'orders', type: 'INTEGER', description: 'Number of orders.' },
    { name: 'recency_days', type: 'INTEGER', description: 'Days since the last order; null for prospects.' },
    { name: 'tenure_days', type: 'INTEGER', description: 'Days since the first order; null for prospects.' },
    { name: 'mean_gap_days', type: 'DOUBLE', description: 'Mean days between consecutive distinct order dates; null below two.' },
    { name: 'gap_before_last_days', type: 'INTEGER', description: 'Days between the last two distinct order dates; null below two.' },
    { name: 'first_order_date', type: 'DATE', description: 'Date of the first order.' },
    { name: 'last_order_date', type: 'DATE', description: 'Date of the latest order.' },
    { name: 'previous_stage', type: 'VARCHAR', description: 'Stage in the previous published snapshot; null when none.' },
    { name: 'stage_since', type: 'DATE', description: 'Snapshot date from which the customer has been in this stage (as far as snapshots show).' },
  ],
};

export const cohortRetentionTable: TableSpec = {
  name: 'cohort_retention',
  description: 'Acquisition cohorts (month of first order) followed month by month; months after as_of_date are absent.',
  layer: 'mart',
  partition: asOfDate,
  key: ['cohort_month', 'months_since_first'],
  perCustomer: false,
  columns: [
    { name: 'cohort_month', type: 'VARCHAR', description: 'Month of the first order, YYYY-MM.' },
    { name: 'months_since_first', type: 'INTEGER', description: 'Calendar months from cohort_month to the activity month (0 = the first month).' },
    { name: 'cohort_size', type: 'INTEGER', description: 'Customers whose first order is in cohort_month.' },
    { name: 'active_customers', type: 'INTEGER', description: 'Cohort customers with at least one order in the month.' },
    { name: 'retention_rate', type: 'DOUBLE', description: 'active_customers / cohort_size.' },
    { name: 'orders', type: 'INTEGER', description: 'Orders by the cohort in the month.' },
    { name: 'revenue', type: 'DECIMAL(18,2)', description: "Net revenue (orders plus returns) of the cohort in the month, from each customer's first order on." },
    { name: 'cumulative_revenue_per_customer', type: 'DECIMAL(18,2)', description: "Running net revenue up to the month / cohort_size: the cohort's CLV curve." },
  ],
};

export const segmentSummaryTable: TableSpec = {
  name: 'segment_summary',
  description: 'Customers, net revenue and predicted CLV by rfm_segment, lifecycle_stage and value_tier.',
  layer: 'mart',
  partition: asOfDate,
  key: ['dimension', 'segment'],
  perCustomer: false,
  columns: [
    { name: 'dimension', type: 'VARCHAR', description: 'rfm_segment, lifecycle_stage or value_tier.' },
    { name: 'segment', type: 'VARCHAR', description: 'The value of the dimension.' },
    { name: 'customers', type: 'INTEGER', description: 'Customers in the segment.' },
    { name: 'customer_share', type: 'DOUBLE', description: 'Share of all customers of the dimension.' },
    { name: 'revenue', type: 'DECIMAL(18,2)', description: 'Net historical revenue of the segment.' },
    { name: 'revenue_share', type: 'DOUBLE', description: 'Share of all net revenue.' },
    { name: 'avg_revenue_per_customer', type: 'DECIMAL(18,2)', description: 'revenue / customers.' },
    { name: 'predicted_clv', type: 'DECIMAL(18,2)', description: 'Total predicted CLV of the segment (prospects: 0).' },
    { name: 'predicted_clv_share', type: 'DOUBLE', description: 'Share of all predicted CLV.' },
    { name: 'avg_predicted_clv', type: 'DECIMAL(18,2)', description: 'predicted_clv / customers.' },
  ],
};

export const lifecycleTransitionsTable: TableSpec = {
  name: 'lifecycle_transitions',
  description: 'Customers by stage in the previous published snapshot (from_stage) and in this one (to_stage).',
  layer: 'mart',
  partition: asOfDate,
  key: ['from_stage', 'to_stage'],
  perCustomer: false,
  columns: [
    { name: 'previous_as_of_date', type: 'DATE', description: 'as_of_date of the previous snapshot; null for the first.' },
    { name: 'from_stage', type: 'VARCHAR', description: "Stage in the previous snapshot; 'none' for customers not in it." },
    { name: 'to_stage', type: 'VARCHAR', description: 'Stage in this snapshot.' },
    { name: 'customers', type: 'INTEGER', description: 'Customers making this move (from_stage = to_stage: stayed).' },
  ],
};

export const customerClvTable: TableSpec = {
  name: 'customer_clv',
  description:
    'Customer lifetime value per customer with at least one order: the BG/NBD summary (in days), probability alive, expected purchases and spend, predicted CLV, Pareto value tier and value quadrant.',
  layer: 'mart',
  partition: asOfDate,
  key: ['customer_id'],
  perCustomer: true,
  columns: [
    customerId,
    { name: 'repeat_purchase_days', type: 'INTEGER', description: 'x: purchase days after the first (orders on one day are one purchase day).' },
    { name: 't_x_days', type: 'INTEGER', description: 't_x: days from the first to the last purchase day.' },
    { name: 't_days', type: 'INTEGER', description: 'T: days from the first purchase day to as_of_date.' },
    { name: 'repeat_avg_value', type: 'DECIMAL(18,2)', description: 'Mean order total of the repeat purchase days (0 without repeats).' },
    { name: 'historical_revenue', type: 'DECIMAL(18,2)', description: 'Net revenue to date (orders plus returns).' },
    { name: 'current_value', type: 'DECIMAL(18,2)', description: 'Net revenue in the last clv.currentValueMonths months (12): current value in the value matrix.' },
    { name: 'p_alive', type: 'DOUBLE', description: 'Probability the customer is still active (BG/NBD); null under the run-rate fallback.' },
    { name: 'expected_purchases', type: 'DOUBLE', description: 'Expected purchase days over the horizon.' },
    { name: 'expected_avg_order_value', type: 'DECIMAL(18,2)', description: 'Expected value per future purchase day (Gamma-Gamma conditional mean, or the fallback).' },
    { name: 'predicted_clv', type: 'DECIMAL(18,2)', description: 'Margin x expected value x discounted expected purchases, month by month over the horizon.' },
    { name: 'acquisition_cost', type: 'DECIMAL(18,2)', description: 'Acquisition cost when an acquisition-cost file gives it.' },
    { name: 'clv_net_of_acquisition', type: 'DECIMAL(18,2)', description: 'predicted_clv minus acquisition_cost; null when the cost is unknown.' },
    { name: 'clv_method', type: 'VARCHAR', description: 'bgnbd_gamma_gamma, or a fallback: bgnbd_historical_spend, historical_run_rate (see README).' },
    { name: 'value_tier', type: 'VARCHAR', description: 'A: the customers making the top 80 % of predicted CLV; B: the next 15 %; C: the rest (equal CLVs share a tier).' },
    { name: 'value_quadrant', type: 'VARCHAR', description: 'current x potential value, each split at its median: e.g. high_current_low_potential.' },
    { name: 'horizon_months', type: 'INTEGER', description: 'Months of future purchases counted in predicted_clv.' },
  ],
};

export const clvModelParamsTable: TableSpec = {
  name: 'clv_model_params',
  description: 'Fitted parameters of the CLV models (bgnbd, gamma_gamma) with fit diagnostics, or why a model was not fitted.',
  layer: 'mart',
  partition: asOfDate,
  key: ['model', 'parameter'],
  perCustomer: false,
  columns: [
    { name: 'model', type: 'VARCHAR', description: 'bgnbd or gamma_gamma.' },
    { name: 'parameter', type: 'VARCHAR', description: "r, alpha, a, b (bgnbd); p, q, gamma, frequency_monetary_correlation (gamma_gamma); 'not_fitted' when the model could not be fitted." },
    { name: 'value', type: 'DOUBLE', description: 'The estimate (alpha in days, gamma in the base currency).' },
    { name: 'log_likelihood', type: 'DOUBLE', description: 'Log-likelihood of the fit, summed over customers, without penalty.' },
    { name: 'customers', type: 'INTEGER', description: 'Customers the model was fitted on.' },
    { name: 'converged', type: 'BOOLEAN', description: 'The optimiser met its tolerance at an interior point.' },
    { name: 'iterations', type: 'INTEGER', description: 'Optimiser iterations.' },
    { name: 'time_unit', type: 'VARCHAR', description: "Unit of the time-scaled parameters: 'day'." },
    { name: 'note', type: 'VARCHAR', description: 'Why a model was not fitted, or a diagnostic.' },
  ],
};

/** Every mart a transform publishes, in publication order. */
export const martTables: readonly TableSpec[] = [
  customerRfmTable,
  customerLifecycleTable,
  customerClvTable,
  clvModelParamsTable,
  cohortRetentionTable,
  segmentSummaryTable,
  lifecycleTransitionsTable,
];

/**
 * The running state a transform carries to the next one, so a daily run merges only new data:
 * per-customer aggregates, recent daily revenue for the current-value window, and cohort activity.
 * Published with each snapshot under state/; not catalogued for BI.
 */
export const customerStateTable: TableSpec = {
  name: 'customer_state',
  description: 'Per-customer aggregates of every transaction up to as_of_date, merged run by run.',
  layer: 'state',
  partition: asOfDate,
  key: ['customer_id'],
  perCustomer: true,
  columns: [
    customerId,
    { name: 'orders', type: 'BIGINT', description: 'Orders (amount > 0, not returns).' },
    { name: 'returns', type: 'BIGINT', description: 'Returns.' },
    { name: 'net_revenue', type: 'DECIMAL(18,2)', description: 'Sum of all amounts.' },
    { name: 'returned_amount', type: 'DECIMAL(18,2)', description: 'Sum of return amounts.' },
    { name: 'first_order_date', type: 'DATE', description: 'First order date.' },
    { name: 'last_order_date', type: 'DATE', description: 'Last order date.' },
    { name: 'order_days', type: 'BIGINT', description: 'Distinct order dates.' },
    { name: 'previous_order_date', type: 'DATE', description: 'The distinct order date before last_order_date.' },
    { name: 'purchase_days', type: 'BIGINT', description: 'Distinct dates with a non-return transaction.' },
    { name: 'first_purchase_date', type: 'DATE', description: 'First purchase day.' },
    { name: 'last_purchase_date', type: 'DATE', description: 'Last purchase day.' },
    { name: 'first_purchase_day_total', type: 'DECIMAL(18,2)', description: 'Total of the first purchase day.' },
    { name: 'purchase_day_total_sum', type: 'DECIMAL(18,2)', description: 'Sum of all purchase-day totals.' },
    {
      name: 'current_value',
      type: 'DECIMAL(18,2)',
      description: 'Net revenue in the clv.currentValueMonths months up to as_of_date (the current-value window).',
    },
  ],
};

export const recentRevenueDaysTable: TableSpec = {
  name: 'recent_revenue_days',
  description:
    'Net revenue per customer and day, kept for the days that will leave the current-value window: each run ' +
    'adds its days inside the window as files by order month, and a snapshot lists the files of the months its window still covers.',
  layer: 'state',
  partition: asOfDate,
  key: ['customer_id', 'order_date'],
  perCustomer: false,
  columns: [
    customerId,
    { name: 'order_date', type: 'DATE', description: 'Day.' },
    { name: 'net_amount', type: 'DECIMAL(18,2)', description: 'Net amount of the day.' },
  ],
};

export const cohortActivityTable: TableSpec = {
  name: 'cohort_activity',
  description: 'Per cohort and month since the first order: active customers, orders and net revenue.',
  layer: 'state',
  partition: asOfDate,
  key: ['cohort_start', 'months_since_first'],
  perCustomer: false,
  columns: [
    { name: 'cohort_start', type: 'DATE', description: 'First day of the cohort month.' },
    { name: 'months_since_first', type: 'BIGINT', description: 'Calendar months from the cohort month.' },
    { name: 'active_customers', type: 'BIGINT', description: 'Cohort customers with an order that month.' },
    { name: 'orders', type: 'BIGINT', description: 'Orders that month.' },
    { name: 'revenue', type: 'DECIMAL(18,2)', description: 'Net amount that month, from each customer\'s first order on.' },
  ],
};

export const customerSignupsTable: TableSpec = {
  name: 'customer_signups',
  description: 'Customers known from the customers files merged so far, each with the earliest signup date they give.',
  layer: 'state',
  partition: asOfDate,
  key: ['customer_id'],
  perCustomer: false,
  columns: [customerId, { name: 'signup_date', type: 'DATE', description: 'Earliest signup date given, if any.' }],
};

export const customerAcquisitionCostsTable: TableSpec = {
  name: 'customer_acquisition_costs',
  description: 'Each customer\'s acquisition cost from the latest row of the acquisition-cost files merged so far.',
  layer: 'state',
  partition: asOfDate,
  key: ['customer_id'],
  perCustomer: false,
  columns: [
    customerId,
    { name: 'acquisition_cost', type: 'DECIMAL(18,2)', description: 'Acquisition cost in the base currency.' },
    ingestedAt('the latest file wins'),
    { name: 'file_id', type: 'VARCHAR', description: 'The file the cost comes from (the higher id wins between files ingested at once).' },
    { name: 'source_row', type: 'BIGINT', description: 'Its row in that file (the later row wins within a file).' },
  ],
};

export interface StateTable {
  readonly spec: TableSpec;
  readonly model: string;
  /** The source the models read the previous snapshot's table as. */
  readonly previousSource: string;
  /**
   * The model gives only the rows this run adds, written as files by order month; a snapshot lists
   * the files of every run whose months it still needs. Without it, each run writes the whole table.
   */
  readonly appendedByOrderMonth?: boolean;
}

/** State tables: the model that computes each, and the source its previous version is read as. */
export const stateTables: readonly StateTable[] = [
  { spec: customerStateTable, model: 'int_customer_state', previousSource: 'previous_customer_state' },
  {
    spec: recentRevenueDaysTable,
    model: 'int_recent_revenue_days',
    previousSource: 'previous_recent_revenue_days',
    appendedByOrderMonth: true,
  },
  { spec: cohortActivityTable, model: 'int_cohort_activity', previousSource: 'previous_cohort_activity' },
  { spec: customerSignupsTable, model: 'int_customer_signups', previousSource: 'previous_customer_signups' },
  {
    spec: customerAcquisitionCostsTable,
    model: 'int_customer_acquisition_costs',
    previousSource: 'previous_customer_acquisition_costs',
  },
];

export const allTables: readonly TableSpec[] = [
  transactionsTable,
  customersTable,
  acquisitionCostsTable,
  quarantineTable,
  ...martTables,
];

export function tableSpec(name: string): TableSpec {
  const spec = allTables.find((t) => t.name === name);
  if (!spec) throw new Error(`unknown table ${name}`);
  return spec;
}
