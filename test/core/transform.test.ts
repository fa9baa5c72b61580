import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalLake } from '../../lambdas/adapters/local-lake.ts';
import { generateTransactions } from '../../lambdas/core/generate.ts';
import { lakeKeys } from '../../lambdas/core/lake.ts';
import { ingestFiles, transform } from '../../lambdas/core/pipeline.ts';
import { defaultSqlDir } from '../../lambdas/core/sql-files.ts';
import { martTables, stateTables } from '../../lambdas/core/schema/tables.ts';
import { readPublishedIndex } from '../../lambdas/core/snapshots.ts';
import { fixturesDir, queryLake, source, tempLake } from '../support/pipeline.ts';

const handWorked = join(fixturesDir, 'hand-worked', 'transactions.csv');
const MART_TABLES = martTables.map((t) => t.name);

async function martContents(deps: Parameters<typeof queryLake>[0]): Promise<Record<string, unknown[]>> {
  const contents: Record<string, unknown[]> = {};
  for (const table of MART_TABLES) contents[table] = await queryLake(deps, `select * from ${table} order by all`);
  return contents;
}

/** A copy of the SQL models under `root` whose cohort_retention selects `replacement` for its cohort_size column. */
async function sqlDirWithCohortSize(root: string, replacement: string): Promise<string> {
  const sqlDir = join(root, 'sql');
  await cp(defaultSqlDir, sqlDir, { recursive: true });
  const model = join(sqlDir, 'marts', 'cohort_retention.sql');
  await writeFile(model, (await readFile(model, 'utf8')).replace('observable_months.cohort_size,', replacement));
  return sqlDir;
}

describe('transform', () => {
  let env: Awaited<ReturnType<typeof tempLake>> | undefined;
  afterEach(async () => {
    await env?.cleanup();
    env = undefined;
  });

  it('publishes finite CLV when a short history leaves the dropout barely identified (huge fitted a and b)', async () => {
    env = await tempLake();
    const all = join(env.root, 'all.csv');
    await generateTransactions({ customers: 2000, seed: 3, start: '2024-01-01', months: 3, out: all });
    const [header, ...lines] = (await readFile(all, 'utf8')).trim().split('\n');
    const firstWeeks = lines.filter((line) => line.split(',')[2]!.slice(0, 10) <= '2024-02-11');
    const short = join(env.root, 'first-weeks.csv');
    await writeFile(short, [header, ...firstWeeks].join('\n'));
    await ingestFiles(env.deps, [source(short)]);
    await transform(env.deps, { asOfDate: '2024-02-11' });

    // 41 days say little about dropout: the fit runs off to a huge a (and b), where the forecast's
    // series overflowed and every CLV came out NaN, failing the run.
    const [a] = await queryLake(env.deps, "select value from clv_model_params where model = 'bgnbd' and parameter = 'a'");
    expect(a?.value).toBeGreaterThan(100);
    const customers = new Set(firstWeeks.map((line) => line.split(',')[0])).size;
    const [clv] = await queryLake(
      env.deps,
      `select count(*)::integer as customers,
              count(*) filter (where clv_method = 'bgnbd_gamma_gamma' and isfinite(expected_purchases)
                               and expected_purchases >= 0 and predicted_clv >= 0)::integer as forecast
       from customer_clv`,
    );
    expect(clv).toEqual({ customers, forecast: customers });
  });

  it('gives identical marts when run twice for the same date, and replaces that date\'s snapshot', async () => {
    env = await tempLake();
    await ingestFiles(env.deps, [source(handWorked)]);
    const first = await transform(env.deps, { asOfDate: '2024-12-31' });
    const firstMarts = await martContents(env.deps);
    const second = await transform(env.deps, { asOfDate: '2024-12-31' });
    expect(second.runId).not.toBe(first.runId);
    expect(await martContents(env.deps)).toEqual(firstMarts);

    const index = await readPublishedIndex(env.lake);
    expect(Object.keys(index.snapshots)).toEqual(['2024-12-31']);
    expect(index.snapshots['2024-12-31']?.runId).toBe(second.runId);
    // The replaced run's files stay one more generation (queries in flight may still read them) ...
    const martKeys = async () => (await env!.lake.list('marts/')).map((o) => o.key);
    expect(await martKeys()).toHaveLength(2 * MART_TABLES.length);
    const firstRunFiles = [...(await env.lake.list('marts/')), ...(await env.lake.list('state/'))]
      .map((o) => o.key)
      .filter((key) => key.includes(`run_id=${first.runId}/`));
    expect(firstRunFiles.length).toBeGreaterThanOrEqual(MART_TABLES.length + stateTables.length);
    expect(index.snapshots['2024-12-31']?.superseded?.toSorted()).toEqual(firstRunFiles.toSorted());
    // ... and go when the date is replaced again.
    const third = await transform(env.deps, { asOfDate: '2024-12-31' });
    const remaining = await martKeys();
    expect(remaining).toHaveLength(2 * MART_TABLES.length);
    expect(remaining.some((k) => k.includes(`run_id=${first.runId}/`))).toBe(false);
    expect(remaining.filter((k) => k.includes(`run_id=${third.runId}/`))).toHaveLength(MART_TABLES.length);
    expect((await env.lake.list('state/')).some((o) => o.key.includes(`run_id=${first.runId}/`))).toBe(false);
  });

  it('gives identical marts on a generated dataset large enough for parallel aggregation and the CLV fit', async () => {
    env = await tempLake();
    const file = join(env.root, 'generated.csv');
    await generateTransactions({ customers: 3000, seed: 7, start: '2023-01-01', months: 18, out: file });
    await ingestFiles(env.deps, [source(file)]);
    await transform(env.deps);
    const first = await martContents(env.deps);
    await transform(env.deps);
    expect(await martContents(env.deps)).toEqual(first);
    expect(first.clv_model_params?.length).toBeGreaterThan(2);
  });

  it('scores RFM as quintiles of percent_rank over all customers with orders, ties sharing a score', async () => {
    env = await tempLake();
    const file = join(env.root, 'generated.csv');
    await generateTransactions({ customers: 3000, seed: 11, start: '2023-01-01', months: 18, out: file });
    await ingestFiles(env.deps, [source(file)]);
    await transform(env.deps);
    // Independently, in JS: percent_rank = customers strictly worse / (customers - 1), quintile = min(5, 1 + floor(5 × it)).
    const rows = await queryLake(env.deps, 'select customer_id, recency_days, frequency, monetary, r_score, f_score, m_score from customer_rfm');
    const quintile = (worseThan: (value: number) => number, value: number) =>
      Math.min(5, 1 + Math.floor((5 * worseThan(value)) / (rows.length - 1)));
    const worse = (values: number[]) => {
      const sorted = values.toSorted((a, b) => a - b);
      return (value: number) => sorted.findIndex((v) => v >= value);
    };
    const longerAgo = worse(rows.map((r) => -Number(r.recency_days)));
    const fewerOrders = worse(rows.map((r) => Number(r.frequency)));
    const lessRevenue = worse(rows.map((r) => Number(r.monetary)));
    const mismatches = rows.filter(
      (r) =>
        r.r_score !== quintile(longerAgo, -Number(r.recency_days)) ||
        r.f_score !== quintile(fewerOrders, Number(r.frequency)) ||
        r.m_score !== quintile(lessRevenue, Number(r.monetary)),
    );
    expect(rows.length).toBeGreaterThan(2500);
    expect(new Set(rows.map((r) => r.f_score)).size).toBeGreaterThan(2);
    expect(mismatches).toEqual([]);
  });

  it('splits the value quadrants at the discrete quantile and ranks Pareto tiers by predicted CLV', async () => {
    env = await tempLake({ clv: { quadrantSplitQuantile: 0.3 } });
    const file = join(env.root, 'generated.csv');
    await generateTransactions({ customers: 2000, seed: 5, start: '2023-01-01', months: 18, out: file });
    await ingestFiles(env.deps, [source(file)]);
    await transform(env.deps);
    // Independently: the split is the smallest value whose cume_dist reaches 0.3 (SQL's percentile_disc),
    // and a customer's tier follows the share of positive CLV held by the customers with a higher CLV
    // (the running total through the customer's CLV, less that of the customers sharing it).
    const [check] = await queryLake(
      env.deps,
      `with current_split as (
         select min(current_value) as v from (
           select current_value, cume_dist() over (order by current_value) as c from customer_clv) where c >= 0.3),
       potential_split as (
         select min(predicted_clv) as v from (
           select predicted_clv, cume_dist() over (order by predicted_clv) as c from customer_clv) where c >= 0.3),
       expected as (
         select customer_id,
           (case when current_value > (select v from current_split) then 'high' else 'low' end) || '_current_' ||
           (case when predicted_clv > (select v from potential_split) then 'high' else 'low' end) || '_potential' as quadrant,
           case
             when (sum(greatest(predicted_clv, 0)) over (order by predicted_clv desc)
                    - sum(greatest(predicted_clv, 0)) over (partition by predicted_clv)) / sum(greatest(predicted_clv, 0)) over () < 0.8 then 'A'
             when (sum(greatest(predicted_clv, 0)) over (order by predicted_clv desc)
                    - sum(greatest(predicted_clv, 0)) over (partition by predicted_clv)) / sum(greatest(predicted_clv, 0)) over () < 0.95 then 'B'
             else 'C'
           end as tier
         from customer_clv)
       select count(*)::integer as customers,
              count(*) filter (where e.quadrant <> c.value_quadrant or e.tier <> c.value_tier)::integer as mismatches,
              count(distinct c.value_quadrant)::integer as quadrants,
              count(distinct c.value_tier)::integer as tiers
       from customer_clv c join expected e using (customer_id)`,
    );
    expect(check?.customers).toBeGreaterThan(1500);
    expect(check?.quadrants).toBe(4);
    expect(check?.tiers).toBe(3);
    expect(check?.mismatches).toBe(0);
  });

  it('gives customers with the same predicted CLV the same value tier', async () => {
    // c1 and c2 have identical histories, so the same CLV: half of the positive total each. With tier A
    // at 40 %, ranking c2 after c1 would put c2 in B; as ties, neither has a higher CLV above it.
    env = await tempLake({ clv: { tierAShare: 0.4 } });
    const file = join(env.root, 'ties.csv');
    await writeFile(
      file,
      'customer_id,transaction_id,order_ts,amount\n' +
        'c1,t1,2024-01-10,100\nc1,t2,2024-03-10,100\nc2,t3,2024-01-10,100\nc2,t4,2024-03-10,100\nc3,t5,2024-02-01,50\n',
    );
    await ingestFiles(env.deps, [source(file)]);
    await transform(env.deps, { asOfDate: '2024-04-30' });
    const rows = await queryLake(env.deps, 'select customer_id, predicted_clv > 0 as positive, value_tier from customer_clv order by customer_id');
    expect(rows).toEqual([
      { customer_id: 'c1', positive: true, value_tier: 'A' },
      { customer_id: 'c2', positive: true, value_tier: 'A' },
      { customer_id: 'c3', positive: false, value_tier: 'C' },
    ]);
  });

  it('counts lifecycle moves between snapshots: arrivals and departures as none', async () => {
    // Default rules (new 90 d, at_risk 1 order after 90 d or max(30, 2 x mean gap), churn 365, loyal 4 orders).
    // 2024-06-30: a (1 order, R 29) new, b (R 20) new, d (R 181, 1 order) at_risk.
    // A corrected file restates b's order t2 as d's and adds e. 2024-10-31: a R 152 -> at_risk; b has no
    // orders left -> none; d 2 orders, R 143 <= max(30, 2 x 161), gap 161 <= 365 -> developing; e R 30 -> new.
    env = await tempLake();
    const first = join(env.root, 'first.csv');
    const corrected = join(env.root, 'corrected.csv');
    await writeFile(first, 'customer_id,transaction_id,order_ts,amount\na,t1,2024-06-01,10\nb,t2,2024-06-10,20\nd,t3,2024-01-01,30\n');
    await writeFile(corrected, 'customer_id,transaction_id,order_ts,amount\nd,t2,2024-06-10,20\ne,t4,2024-10-01,40\n');
    const transitions = () =>
      queryLake(
        env!.deps,
        "select strftime(previous_as_of_date, '%Y-%m-%d') as previous, from_stage, to_stage, customers from lifecycle_transitions order by all",
      );
    await ingestFiles(env.deps, [source(first)]);
    await transform(env.deps, { asOfDate: '2024-06-30' });
    expect(await transitions()).toEqual([
      { previous: null, from_stage: 'none', to_stage: 'at_risk', customers: 1 },
      { previous: null, from_stage: 'none', to_stage: 'new', customers: 2 },
    ]);
    await ingestFiles(env.deps, [source(corrected)]);
    await transform(env.deps, { asOfDate: '2024-10-31' });
    expect(await transitions()).toEqual([
      { previous: '2024-06-30', from_stage: 'at_risk', to_stage: 'developing', customers: 1 },
      { previous: '2024-06-30', from_stage: 'new', to_stage: 'at_risk', customers: 1 },
      { previous: '2024-06-30', from_stage: 'new', to_stage: 'none', customers: 1 },
      { previous: '2024-06-30', from_stage: 'none', to_stage: 'new', customers: 1 },
    ]);
  });

  it('defaults as_of_date to the latest order date and keeps earlier dates', async () => {
    env = await tempLake();
    await ingestFiles(env.deps, [source(handWorked)]);
    await transform(env.deps, { asOfDate: '2024-11-30' });
    const latest = await transform(env.deps);
    expect(latest.asOfDate).toBe('2024-12-30');
    expect(latest.previousAsOfDate).toBe('2024-11-30');
    expect(Object.keys((await readPublishedIndex(env.lake)).snapshots).sort()).toEqual(['2024-11-30', '2024-12-30']);
    // Orders after 2024-11-30 are invisible to that snapshot: C8 had one order by then (2024-11-01 ... 11-20 = 3).
    const [c8] = await queryLake(
      env.deps,
      "select frequency from customer_rfm_history where customer_id = 'C8' and as_of_date = date '2024-11-30'",
    );
    expect(c8).toEqual({ frequency: 3 });
  });

  it('blocks publication when a SQL test fails, names the test, and leaves the published snapshot in place', async () => {
    env = await tempLake();
    await ingestFiles(env.deps, [source(handWorked)]);
    const published = await transform(env.deps, { asOfDate: '2024-12-31' });
    const before = await martContents(env.deps);

    const sqlDir = join(env.root, 'sql');
    await cp(defaultSqlDir, sqlDir, { recursive: true });
    await writeFile(
      join(sqlDir, 'tests', 'assert_no_customer_spends_over_100.sql'),
      'select customer_id, monetary from customer_rfm where monetary > 100',
    );
    await expect(transform({ ...env.deps, sqlDir }, { asOfDate: '2024-12-31' })).rejects.toThrow(
      /assert_no_customer_spends_over_100 \(1 failing rows, e\.g\. \[\{"customer_id":"C7","monetary":200\}\]\)/,
    );

    const index = await readPublishedIndex(env.lake);
    expect(index.snapshots['2024-12-31']?.runId).toBe(published.runId);
    expect(await martContents(env.deps)).toEqual(before);
    const runs = (await env.lake.list(lakeKeys.runManifests)).map((o) => o.key);
    const statuses = await Promise.all(runs.map(async (k) => JSON.parse((await env!.lake.getText(k))!).status));
    expect(statuses.sort()).toEqual(['failed', 'published']);
    expect((await env.lake.list('marts/')).every((o) => o.key.includes(published.runId))).toBe(true);
  });

  it('rejects a model whose output does not match the schema source', async () => {
    env = await tempLake();
    await ingestFiles(env.deps, [source(handWorked)]);
    const sqlDir = await sqlDirWithCohortSize(env.root, '');
    await expect(transform({ ...env.deps, sqlDir })).rejects.toThrow(
      'model cohort_retention does not match its schema: missing cohort_size',
    );
  });

  it('names a mart model that fails while it is computed, and publishes nothing', async () => {
    env = await tempLake();
    await ingestFiles(env.deps, [source(handWorked)]);
    const sqlDir = await sqlDirWithCohortSize(
      env.root,
      "observable_months.cohort_size + error('cohort size unknown')::integer as cohort_size,",
    );
    const failure = transform({ ...env.deps, sqlDir });
    await expect(failure).rejects.toThrow(/model cohort_retention failed: Invalid Input Error: cohort size unknown$/);
    await expect(failure).rejects.not.toThrow(/cast/);
    expect(await env.lake.list('marts/')).toEqual([]);
  });

  it('names a state model that fails while it is written, and publishes no mart or state', async () => {
    env = await tempLake();
    await ingestFiles(env.deps, [source(handWorked)]);
    const sqlDir = join(env.root, 'sql');
    await cp(defaultSqlDir, sqlDir, { recursive: true });
    const model = join(sqlDir, 'intermediate', 'int_customer_state.sql');
    const orders = 'coalesce(previous.orders, 0) + coalesce(batch.orders, 0) as orders,';
    const stateSql = await readFile(model, 'utf8');
    expect(stateSql).toContain(orders);
    await writeFile(model, stateSql.replace(orders, orders.replace(' as orders', " + error('orders unknown')::integer as orders")));

    const failure = transform({ ...env.deps, sqlDir });
    await expect(failure).rejects.toThrow(/model int_customer_state failed: Invalid Input Error: orders unknown$/);
    expect(await env.lake.list('marts/')).toEqual([]);
    expect(await env.lake.list('state/')).toEqual([]);
  });

  it('uploads each mart and the merged state as soon as it is written, while later models run', async () => {
    env = await tempLake();
    await ingestFiles(env.deps, [source(handWorked)]);
    const events: string[] = [];
    const uploadedKeys: string[] = [];
    class RecordingLake extends LocalLake {
      override async upload(localPath: string, key: string): Promise<void> {
        events.push(`upload ${key.split('/')[1]}`);
        uploadedKeys.push(key);
        await super.upload(localPath, key);
      }
    }
    const report = (event: { kind: string; message?: string }) => void (event.kind === 'step' && events.push(event.message!));
    await transform({ ...env.deps, lake: new RecordingLake(env.lake.location), report });

    const at = (event: string) => {
      expect(events).toContain(event);
      return events.indexOf(event);
    };
    expect(at('upload customer_rfm')).toBeLessThan(at('model segment_summary'));
    expect(at('upload customer_state')).toBeLessThan(at('model customer_rfm'));
    for (const table of MART_TABLES) expect(at(`upload ${table}`)).toBeLessThan(at('running SQL tests'));
    expect(new Set(uploadedKeys).size).toBe(uploadedKeys.length);
  });

  it('fails a run whose upload fails, and deletes its other uploads only once they have landed', async () => {
    env = await tempLake();
    await ingestFiles(env.deps, [source(handWorked)]);
    let uploadsStarted = 0;
    class FailingLake extends LocalLake {
      override async upload(localPath: string, key: string): Promise<void> {
        if (key.startsWith('marts/customer_rfm/')) throw new Error('connection reset');
        // The other uploads take their bytes at once, as a stream to S3 does, and land after the failure
        // is known (and after the run folder is gone): deleting before they land would leave them.
        const inFlight = join(env!.root, `in-flight-${uploadsStarted++}`);
        await writeFile(inFlight, await readFile(localPath));
        await sleep(200);
        await super.upload(inFlight, key);
      }
    }
    await expect(transform({ ...env.deps, lake: new FailingLake(env.lake.location) })).rejects.toThrow(/connection reset/);
    // Any upload still in flight when the run gave up would land within this.
    await sleep(400);
    expect(await env.lake.list('marts/')).toEqual([]);
    expect(await env.lake.list('state/')).toEqual([]);
    expect((await readPublishedIndex(env.lake)).snapshots).toEqual({});
  });

  it('fails clearly when the lake has no curated data', async () => {
    env = await tempLake();
    await expect(transform(env.deps)).rejects.toThrow(/no curated transactions in .*: ingest transaction files first/);
  });
});
