/**
 * Athena has no local equivalent, so client-athena is mocked (aws-sdk-client-mock): these tests pin
 * the request shapes, the polling, and the handling of FAILED / CANCELLED / timed-out queries. The
 * views' SQL is run on DuckDB, whose syntax for these statements (CREATE OR REPLACE VIEW, FULL OUTER
 * JOIN, DATE literals, CASE, window functions) is the same as Athena's Trino.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecutionState,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AthenaQueryError,
  AthenaQueryTimeoutError,
  cohortMatrixViewSql,
  customer360ViewSql,
  ensureAthenaViews,
  latestTransactionsViewSql,
  runAthenaQuery,
} from '../../lambdas/adapters/athena.ts';
import { cohortMatrixMonths } from '../../lambdas/core/bi-views.ts';
import { queryRows } from '../../lambdas/core/duckdb.ts';
import { customer360Columns } from '../../lambdas/core/exports.ts';
import { allTables, martTables } from '../../lambdas/core/schema/tables.ts';
import { openCatalogOnDuckDb } from '../support/athena-duckdb.ts';

const athena = mockClient(AthenaClient);
const client = new AthenaClient({ region: 'eu-west-1' });

/** A clock that advances only when the code under test sleeps. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

function execution(state: QueryExecutionState, extra: Record<string, unknown> = {}) {
  return { QueryExecution: { QueryExecutionId: 'q-1', Status: { State: state }, ...extra } };
}

beforeEach(() => {
  athena.reset();
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
});

describe('runAthenaQuery', () => {
  it('starts the query in the workgroup, polls with growing waits and returns the result location', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(
        execution('SUCCEEDED', {
          ResultConfiguration: { OutputLocation: 's3://results/athena/q-1.csv' },
          Statistics: { DataScannedInBytes: 4096 },
        }),
      );
    const time = fakeTime();

    const result = await runAthenaQuery(
      client,
      { sql: 'SELECT 1 WHERE x = ?', workGroup: 'lifecycle-lake', database: 'lifecycle_lake', executionParameters: ["'a'"] },
      { initialDelayMs: 100, maxDelayMs: 300, sleep: time.sleep, now: time.now },
    );

    expect(result).toEqual({ queryExecutionId: 'q-1', outputLocation: 's3://results/athena/q-1.csv', dataScannedBytes: 4096 });
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input).toEqual({
      QueryString: 'SELECT 1 WHERE x = ?',
      WorkGroup: 'lifecycle-lake',
      QueryExecutionContext: { Database: 'lifecycle_lake' },
      ExecutionParameters: ["'a'"],
    });
    expect(athena.commandCalls(GetQueryExecutionCommand).map((c) => c.args[0].input)).toEqual(
      Array.from({ length: 5 }, () => ({ QueryExecutionId: 'q-1' })),
    );
    // 100, doubled to 200, then capped at 300.
    expect(time.sleeps).toEqual([100, 200, 300, 300]);
  });

  it('sends neither database context nor parameters when the query has none', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', { ResultConfiguration: { OutputLocation: 's3://r/q-1.txt' } }));
    await runAthenaQuery(client, { sql: 'SHOW TABLES', workGroup: 'wg' }, { sleep: fakeTime().sleep });
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input).toEqual({ QueryString: 'SHOW TABLES', WorkGroup: 'wg' });
  });

  it('throws AthenaQueryError with Athena’s reason when the query fails', async () => {
    athena.on(GetQueryExecutionCommand).resolves(
      execution('FAILED', {
        Status: {
          State: 'FAILED',
          StateChangeReason: 'generic reason',
          AthenaError: { ErrorMessage: "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved" },
        },
      }),
    );
    const error = await runAthenaQuery(client, { sql: 'SELECT nope', workGroup: 'wg' }, { sleep: fakeTime().sleep }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({ state: 'FAILED', queryExecutionId: 'q-1' });
    expect((error as Error).message).toBe("Athena query q-1 failed: COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved");
  });

  it('throws AthenaQueryError when the query is cancelled', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('CANCELLED', { Status: { State: 'CANCELLED', StateChangeReason: 'Query cancelled by user' } }));
    const error = await runAthenaQuery(client, { sql: 'SELECT 1', workGroup: 'wg' }, { sleep: fakeTime().sleep }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({ state: 'CANCELLED', message: 'Athena query q-1 cancelled: Query cancelled by user' });
  });

  it('stops a query still running at the timeout and throws AthenaQueryTimeoutError', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});
    const time = fakeTime();

    const error = await runAthenaQuery(
      client,
      { sql: 'SELECT slow', workGroup: 'wg' },
      { timeoutMs: 1_000, initialDelayMs: 300, maxDelayMs: 600, sleep: time.sleep, now: time.now },
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AthenaQueryTimeoutError);
    expect((error as Error).message).toBe('Athena query q-1 did not finish within 1000 ms and was stopped');
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([{ QueryExecutionId: 'q-1' }]);
    // Waits never run past the deadline: 300 + 600, then the 100 ms left.
    expect(time.sleeps).toEqual([300, 600, 100]);
  });

  it('fails clearly when a succeeded query reports no output location', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    await expect(runAthenaQuery(client, { sql: 'SELECT 1', workGroup: 'wg' }, { sleep: fakeTime().sleep })).rejects.toThrow(
      'succeeded without an output location',
    );
  });
});

describe('ensureAthenaViews', () => {
  it('creates or replaces the three views in order, in the database, for the snapshot date', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', { ResultConfiguration: { OutputLocation: 's3://r/q.txt' } }));
    const views = await ensureAthenaViews(
      client,
      { workGroup: 'lifecycle-lake', database: 'lifecycle_lake', snapshotDate: '2024-05-01' },
      { sleep: fakeTime().sleep },
    );
    expect(views).toEqual(['customer_360', 'cohort_matrix', 'latest_transactions']);
    const inputs = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => [i.WorkGroup, i.QueryExecutionContext?.Database])).toEqual(Array(3).fill(['lifecycle-lake', 'lifecycle_lake']));
    expect(inputs.map((i) => i.QueryString)).toEqual([
      customer360ViewSql('lifecycle_lake', '2024-05-01'),
      cohortMatrixViewSql('lifecycle_lake', '2024-05-01'),
      latestTransactionsViewSql('lifecycle_lake'),
    ]);
  });

  it('stops at the first view Athena rejects', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('SUCCEEDED', { ResultConfiguration: { OutputLocation: 's3://r/q.txt' } }))
      .resolves(execution('FAILED', { Status: { State: 'FAILED', StateChangeReason: 'TABLE_NOT_FOUND' } }));
    await expect(
      ensureAthenaViews(client, { workGroup: 'wg', database: 'lifecycle_lake', snapshotDate: '2024-05-01' }, { sleep: fakeTime().sleep }),
    ).rejects.toThrow('TABLE_NOT_FOUND');
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(2);
  });

  it('refuses a snapshot date that is not a date before sending anything', async () => {
    await expect(
      ensureAthenaViews(client, { workGroup: 'wg', database: 'lifecycle_lake', snapshotDate: "2024-05-01' OR 1=1" }),
    ).rejects.toThrow('is not YYYY-MM-DD');
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});

describe('view SQL, run on DuckDB', () => {
  let duck: Awaited<ReturnType<typeof openCatalogOnDuckDb>>;
  const run = (sql: string) => duck.connection.run(sql);

  beforeAll(async () => {
    duck = await openCatalogOnDuckDb('lifecycle_lake', allTables);
    // Two snapshots; the view must show 2024-05-01 only. c3 is a prospect (lifecycle only), c2 has no lifecycle row.
    await run(`INSERT INTO customer_rfm (customer_id, first_order_date, recency_days, rfm_segment, as_of_date) VALUES
      ('c1', DATE '2023-11-15', 10, 'champions', DATE '2024-05-01'),
      ('c2', DATE '2024-02-03', 50, 'at_risk', DATE '2024-05-01'),
      ('c1', DATE '2023-11-15', 99, 'hibernating', DATE '2024-04-01')`);
    await run(`INSERT INTO customer_lifecycle (customer_id, lifecycle_stage, recency_days, first_order_date, as_of_date) VALUES
      ('c1', 'loyal', 11, DATE '2023-11-15', DATE '2024-05-01'),
      ('c3', 'prospect', NULL, NULL, DATE '2024-05-01'),
      ('c9', 'churned', 400, DATE '2020-01-01', DATE '2024-04-01')`);
    await run(`INSERT INTO customer_clv (customer_id, value_tier, predicted_clv, as_of_date) VALUES
      ('c2', 'A', 123.45, DATE '2024-05-01')`);
    await run(`INSERT INTO cohort_retention (cohort_month, months_since_first, cohort_size, retention_rate, as_of_date) VALUES
      ('2024-01', 0, 10, 1.0, DATE '2024-05-01'),
      ('2024-01', 1, 10, 0.4, DATE '2024-05-01'),
      ('2024-01', 24, 10, 0.1, DATE '2024-05-01'),
      ('2024-02', 0, 5, 1.0, DATE '2024-05-01'),
      ('2024-01', 1, 10, 0.9, DATE '2024-04-01')`);
    await run(`INSERT INTO transactions (transaction_id, customer_id, amount, ingested_at, file_id, source_row, order_month) VALUES
      ('t1', 'c1', 10.00, TIMESTAMP '2024-01-01 00:00:00', 'f1', 1, '2024-01'),
      ('t1', 'c1', 12.00, TIMESTAMP '2024-02-01 00:00:00', 'f2', 1, '2024-01'),
      ('t2', 'c2', 20.00, TIMESTAMP '2024-02-01 00:00:00', 'f2', 2, '2024-02'),
      ('t2', 'c2', 21.00, TIMESTAMP '2024-02-01 00:00:00', 'f3', 1, '2024-02')`);
    await run(customer360ViewSql('lifecycle_lake', '2024-05-01'));
    await run(cohortMatrixViewSql('lifecycle_lake', '2024-05-01'));
    await run(latestTransactionsViewSql('lifecycle_lake'));
  });

  afterAll(() => duck.close());

  it('customer_360 has one row per customer of the snapshot, every mart joined, shared columns kept apart', async () => {
    const rows = await queryRows(
      duck.connection,
      `SELECT customer_id, CAST(as_of_date AS VARCHAR) AS as_of_date, cohort_month, rfm_segment, recency_days,
              lifecycle_stage, customer_lifecycle_recency_days, value_tier, CAST(predicted_clv AS VARCHAR) AS predicted_clv
       FROM customer_360 ORDER BY customer_id`,
    );
    expect(rows).toEqual([
      {
        customer_id: 'c1', as_of_date: '2024-05-01', cohort_month: '2023-11', rfm_segment: 'champions', recency_days: 10,
        lifecycle_stage: 'loyal', customer_lifecycle_recency_days: 11, value_tier: null, predicted_clv: null,
      },
      {
        customer_id: 'c2', as_of_date: '2024-05-01', cohort_month: '2024-02', rfm_segment: 'at_risk', recency_days: 50,
        lifecycle_stage: null, customer_lifecycle_recency_days: null, value_tier: 'A', predicted_clv: '123.45',
      },
      {
        customer_id: 'c3', as_of_date: '2024-05-01', cohort_month: null, rfm_segment: null, recency_days: null,
        lifecycle_stage: 'prospect', customer_lifecycle_recency_days: null, value_tier: null, predicted_clv: null,
      },
    ]);
  });

  it('customer_360 exposes exactly the columns the exports validate against', async () => {
    const described = await queryRows(duck.connection, 'DESCRIBE customer_360');
    expect(described.map((r) => r.column_name)).toEqual(customer360Columns(martTables).map((c) => c.name));
  });

  it('cohort_matrix pivots retention by month since the first order, NULL where not observed', async () => {
    const rows = await queryRows(
      duck.connection,
      'SELECT cohort_month, cohort_size, month_00, month_01, month_02, month_24 FROM cohort_matrix ORDER BY cohort_month',
    );
    expect(rows).toEqual([
      { cohort_month: '2024-01', cohort_size: 10, month_00: 1, month_01: 0.4, month_02: null, month_24: 0.1 },
      { cohort_month: '2024-02', cohort_size: 5, month_00: 1, month_01: null, month_02: null, month_24: null },
    ]);
    const described = await queryRows(duck.connection, 'DESCRIBE cohort_matrix');
    expect(described).toHaveLength(3 + cohortMatrixMonths + 1);
  });

  it('latest_transactions keeps the latest version of each transaction (later ingest, then higher file id)', async () => {
    const rows = await queryRows(
      duck.connection,
      'SELECT transaction_id, file_id, CAST(amount AS VARCHAR) AS amount, order_month FROM latest_transactions ORDER BY transaction_id',
    );
    expect(rows).toEqual([
      { transaction_id: 't1', file_id: 'f2', amount: '12.00', order_month: '2024-01' },
      { transaction_id: 't2', file_id: 'f3', amount: '21.00', order_month: '2024-02' },
    ]);
  });
});
