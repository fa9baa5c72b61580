import {
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import { cohortMatrixSelect, cohortMatrixView, customer360Select } from '../core/bi-views.ts';
import { assertAthenaDatabaseName, customer360View, quoteAthenaIdentifier as q, type AthenaStatement } from '../core/exports.ts';
import { cohortRetentionTable, martTables, transactionsTable, type TableSpec } from '../core/schema/tables.ts';

/** Runs SQL in an Athena workgroup through client-athena and keeps the BI views in step with the marts. */

export class AthenaQueryError extends Error {
  override readonly name = 'AthenaQueryError';
  constructor(
    message: string,
    readonly queryExecutionId: string,
    readonly state: 'FAILED' | 'CANCELLED',
  ) {
    super(message);
  }
}

export class AthenaQueryTimeoutError extends Error {
  override readonly name = 'AthenaQueryTimeoutError';
  constructor(
    message: string,
    readonly queryExecutionId: string,
  ) {
    super(message);
  }
}

export interface AthenaQuery extends AthenaStatement {
  readonly workGroup: string;
  /** Default database for unqualified table names. */
  readonly database?: string;
}

export interface AthenaPolling {
  /** Give up (and stop the query) after this long; default 5 minutes. */
  readonly timeoutMs?: number;
  /** First wait between status checks; doubled after each check up to maxDelayMs. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface AthenaQueryResult {
  readonly queryExecutionId: string;
  /** s3:// URL of the result: the CSV (with a header row) for a SELECT. */
  readonly outputLocation: string;
  readonly dataScannedBytes: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function failureReason(execution: QueryExecution | undefined): string {
  const status = execution?.Status;
  return status?.AthenaError?.ErrorMessage ?? status?.StateChangeReason ?? 'no reason given';
}

/**
 * Starts a query and polls until it finishes, waiting longer between checks the longer it runs
 * (Athena limits GetQueryExecution calls per account). FAILED and CANCELLED queries throw
 * AthenaQueryError with Athena's reason; a query still running at the timeout is stopped, so it
 * does not keep scanning (and billing), and AthenaQueryTimeoutError is thrown.
 */
export async function runAthenaQuery(client: AthenaClient, query: AthenaQuery, polling: AthenaPolling = {}): Promise<AthenaQueryResult> {
  const { timeoutMs = 300_000, initialDelayMs = 250, maxDelayMs = 5_000, sleep = defaultSleep, now = Date.now } = polling;
  const started = now();
  const start = await client.send(
    new StartQueryExecutionCommand({
      QueryString: query.sql,
      WorkGroup: query.workGroup,
      ...(query.database === undefined ? {} : { QueryExecutionContext: { Database: query.database } }),
      ...(query.executionParameters === undefined ? {} : { ExecutionParameters: [...query.executionParameters] }),
    }),
  );
  const id = start.QueryExecutionId;
  if (!id) throw new Error(`Athena returned no query execution id in workgroup ${query.workGroup}`);

  let delay = initialDelayMs;
  for (;;) {
    const { QueryExecution: execution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = execution?.Status?.State;
    if (state === 'SUCCEEDED') {
      const outputLocation = execution?.ResultConfiguration?.OutputLocation;
      if (!outputLocation) throw new Error(`Athena query ${id} succeeded without an output location`);
      return { queryExecutionId: id, outputLocation, dataScannedBytes: execution?.Statistics?.DataScannedInBytes ?? 0 };
    }
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new AthenaQueryError(`Athena query ${id} ${state.toLowerCase()}: ${failureReason(execution)}`, id, state);
    }
    const remaining = timeoutMs - (now() - started);
    if (remaining <= 0) {
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
      throw new AthenaQueryTimeoutError(`Athena query ${id} did not finish within ${timeoutMs} ms and was stopped`, id);
    }
    await sleep(Math.min(delay, remaining));
    delay = Math.min(delay * 2, maxDelayMs);
  }
}

/**
 * customer_360 (customer360Select). The snapshot date is written into the view as a literal when the
 * view is (re)created after a publish, so Athena prunes to that one partition of each mart instead
 * of scanning every snapshot to find the latest, and the view switches to a new snapshot in one
 * statement, only after all of its partitions are in place.
 */
export function customer360ViewSql(database: string, snapshotDate: string, tables: readonly TableSpec[] = martTables): string {
  assertAthenaDatabaseName(database);
  const snapshotOf = (table: TableSpec) =>
    `(SELECT * FROM ${q(database)}.${q(table.name)} WHERE ${q('as_of_date')} = DATE '${snapshotDate}') AS ${q(table.name)}`;
  return `CREATE OR REPLACE VIEW ${q(customer360View)} AS\n${customer360Select(snapshotDate, snapshotOf, tables)}`;
}

/** cohort_matrix (cohortMatrixSelect) over the Glue table of cohort_retention. */
export function cohortMatrixViewSql(database: string, snapshotDate: string): string {
  assertAthenaDatabaseName(database);
  return `CREATE OR REPLACE VIEW ${q(cohortMatrixView)} AS\n${cohortMatrixSelect(snapshotDate, `${q(database)}.${q(cohortRetentionTable.name)}`)}`;
}

export const latestTransactionsView = 'latest_transactions';

/**
 * latest_transactions: the current version of each transaction_id (a later file replaces an earlier
 * row), with the same tie-break as lambdas/core/transaction-versions.ts.
 */
export function latestTransactionsViewSql(database: string): string {
  assertAthenaDatabaseName(database);
  const columns = [...transactionsTable.columns.map((c) => c.name), transactionsTable.partition.name].map(q);
  return [
    `CREATE OR REPLACE VIEW ${q(latestTransactionsView)} AS`,
    `SELECT ${columns.join(', ')}`,
    'FROM (',
    `  SELECT *, row_number() OVER (PARTITION BY ${q('transaction_id')} ORDER BY ${q('ingested_at')} DESC, ${q('file_id')} DESC, ${q('source_row')} DESC) AS ${q('version_rank')}`,
    `  FROM ${q(database)}.${q(transactionsTable.name)}`,
    ')',
    `WHERE ${q('version_rank')} = 1`,
  ].join('\n');
}

export interface AthenaViewsTarget {
  readonly workGroup: string;
  readonly database: string;
  /** The latest published as_of_date (the greatest date in _manifests/published.json). */
  readonly snapshotDate: string;
}

/**
 * Creates or replaces the BI views (customer_360, cohort_matrix, latest_transactions) for the latest
 * published snapshot, in `database` (the query's default database, which is where Athena puts an
 * unqualified view name). Call it after the snapshot's Glue partitions are published.
 */
export async function ensureAthenaViews(client: AthenaClient, target: AthenaViewsTarget, polling: AthenaPolling = {}): Promise<string[]> {
  const views: [string, string][] = [
    [customer360View, customer360ViewSql(target.database, target.snapshotDate)],
    [cohortMatrixView, cohortMatrixViewSql(target.database, target.snapshotDate)],
    [latestTransactionsView, latestTransactionsViewSql(target.database)],
  ];
  for (const [, sql] of views) {
    await runAthenaQuery(client, { sql, workGroup: target.workGroup, database: target.database }, polling);
  }
  return views.map(([name]) => name);
}
