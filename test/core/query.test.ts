import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDuckDb } from '../../lambdas/core/duckdb.ts';
import { ingestFiles, transform } from '../../lambdas/core/pipeline.ts';
import { queryLake } from '../../lambdas/core/query.ts';
import { readPublishedIndex } from '../../lambdas/core/snapshots.ts';
import { queryLake as queryRowsOf, source, tempLake } from '../support/pipeline.ts';
import { recordRequests } from '../support/recording-lake.ts';

type Env = Awaited<ReturnType<typeof tempLake>>;

describe('queryLake', () => {
  let env: Env | undefined;
  afterEach(async () => {
    await env?.cleanup();
    env = undefined;
  });

  it('fetches only the files of the views a query reads', async () => {
    env = await tempLake();
    const file = join(env.root, 'sales.csv');
    // Three customers; c3's order is the one row of March, so the curated lake has two month files.
    await writeFile(
      file,
      'customer_id,transaction_id,order_ts,amount\nc1,t1,2024-02-01,10\nc2,t2,2024-02-03,20\nc1,t3,2024-02-10,5\nc3,t4,2024-03-01,7\n',
    );
    await ingestFiles(env.deps, [source(file)]);
    const first = await transform(env.deps, { asOfDate: '2024-03-05' });
    const second = await transform(env.deps, { asOfDate: '2024-03-12' });
    const index = await readPublishedIndex(env.lake);
    const rfmKey = (date: string) => index.snapshots[date]!.tables.customer_rfm!;

    const requests = recordRequests(env.lake);
    const duck = await openDuckDb();
    try {
      // What a query over S3 would download.
      const run = async (sql: string) => {
        requests.fetched.length = 0;
        const reader = await queryLake(duck.connection, env!.lake, join(env!.root, 'query'), sql);
        return { rows: reader.getRowObjectsJS(), fetched: [...requests.fetched] };
      };

      const latest = await run('select count(*)::integer as customers from customer_rfm');
      expect(latest).toEqual({ rows: [{ customers: 3 }], fetched: [rfmKey(second.asOfDate)] });

      const history = await run('select count(distinct as_of_date)::integer as dates from customer_rfm_history');
      expect(history).toEqual({ rows: [{ dates: 2 }], fetched: [rfmKey(first.asOfDate), rfmKey(second.asOfDate)] });

      // `transactions` reads `transactions_all`: the two curated month files, no mart.
      const transactions = await run('select sum(amount)::integer as total from transactions');
      expect(transactions.rows).toEqual([{ total: 42 }]);
      expect(transactions.fetched).toHaveLength(2);
      expect(transactions.fetched.every((key) => key.startsWith('curated/transactions/order_month=2024-0'))).toBe(true);

      // A CTE of a view's name is the query's own: nothing is fetched.
      expect(await run('with customer_clv as (select 1 as one) select one from customer_clv')).toEqual({ rows: [{ one: 1 }], fetched: [] });

      // A later statement may read what an earlier one creates; the lake view it reads is still created.
      const statements = await run(
        'create temp table stages as select lifecycle_stage from customer_lifecycle; select count(*)::integer as customers from stages',
      );
      expect(statements).toEqual({ rows: [{ customers: 3 }], fetched: [index.snapshots[second.asOfDate]!.tables.customer_lifecycle!] });
      await expect(run('select * from no_such_table')).rejects.toThrow(/Table with name no_such_table does not exist/);
    } finally {
      duck.close();
    }
  });

  it('pivots the latest retention into cohort_matrix, NULL where a month is not observable yet', async () => {
    env = await tempLake();
    const file = join(env.root, 'sales.csv');
    // January cohort: c1 and c2; c1 comes back in February. February cohort: c3. As of 2024-02-29,
    // January's month 1 is 1 of 2 customers, and February's month 1 (March) is not observable.
    await writeFile(file, 'customer_id,transaction_id,order_ts,amount\nc1,t1,2024-01-05,10\nc2,t2,2024-01-20,20\nc1,t3,2024-02-10,5\nc3,t4,2024-02-03,7\n');
    await ingestFiles(env.deps, [source(file)]);
    const empty = await queryRowsOf(env.deps, 'select count(*)::integer as cohorts from cohort_matrix');
    expect(empty).toEqual([{ cohorts: 0 }]);
    await transform(env.deps, { asOfDate: '2024-02-29' });
    const rows = await queryRowsOf(
      env.deps,
      "select cohort_month, strftime(as_of_date, '%Y-%m-%d') as as_of, cohort_size, month_00, month_01, month_24 from cohort_matrix order by 1",
    );
    expect(rows).toEqual([
      { cohort_month: '2024-01', as_of: '2024-02-29', cohort_size: 2, month_00: 1, month_01: 0.5, month_24: null },
      { cohort_month: '2024-02', as_of: '2024-02-29', cohort_size: 1, month_00: 1, month_01: null, month_24: null },
    ]);
  });
});
