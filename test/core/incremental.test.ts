import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateTransactions } from '../../lambdas/core/generate.ts';
import type { IngestManifest } from '../../lambdas/core/ingest/ingest.ts';
import { lakeKeys } from '../../lambdas/core/lake.ts';
import { ingestFiles, transform } from '../../lambdas/core/pipeline.ts';
import { Random } from '../../lambdas/core/random.ts';
import { openDuckDb, quoteLiteral } from '../../lambdas/core/duckdb.ts';
import { martTables, stateTables } from '../../lambdas/core/schema/tables.ts';
import { readPublishedIndex } from '../../lambdas/core/snapshots.ts';
import { orderMonthOfKey } from '../../lambdas/core/transform-plan.ts';
import { queryLake, source, tempLake } from '../support/pipeline.ts';
import { recordRequests } from '../support/recording-lake.ts';

type Env = Awaited<ReturnType<typeof tempLake>>;

async function martContents(env: Env): Promise<Record<string, unknown[]>> {
  const contents: Record<string, unknown[]> = {};
  for (const { name } of martTables) contents[name] = await queryLake(env.deps, `select * from ${name} order by all`);
  return contents;
}

/**
 * Every row of the state tables published for `asOfDate`, read from their Parquet files; of the daily
 * revenue, the days inside the current-value window (files of its first month may hold earlier days).
 */
async function stateContents(env: Env, asOfDate: string, windowMonths: number): Promise<Record<string, unknown[]>> {
  const snapshot = (await readPublishedIndex(env.lake)).snapshots[asOfDate];
  const duck = await openDuckDb();
  try {
    const contents: Record<string, unknown[]> = {};
    for (const { spec } of stateTables) {
      const paths = await env.deps.lake.fetch(snapshot!.state![spec.name]!, join(env.root, 'state-read', spec.name));
      const inWindow = spec.name === 'recent_revenue_days' ? `where order_date > date '${asOfDate}' - interval ${windowMonths} month` : '';
      const reader = await duck.connection.runAndReadAll(
        `select * from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = false) ${inWindow} order by all`,
      );
      contents[spec.name] = reader.getRowObjectsJS();
    }
    return contents;
  } finally {
    duck.close();
  }
}

/** Splits a generated CSV into files by order date at random cut dates: daily batches of varying length. */
async function splitByDate(env: Env, seed: number, batches: number): Promise<{ path: string; lastDate: string }[]> {
  const file = join(env.root, `all-${seed}.csv`);
  await generateTransactions({ customers: 600, seed, start: '2024-01-01', months: 8, out: file });
  const [header, ...lines] = (await readFile(file, 'utf8')).trim().split('\n');
  const dateOf = (line: string) => line.split(',')[2]!.slice(0, 10);
  const dates = [...new Set(lines.map(dateOf))].sort();
  const random = new Random(seed);
  const cuts = new Set<string>();
  while (cuts.size < batches - 1) cuts.add(dates[Math.floor(random.uniform() * (dates.length - 1))]!);
  const ends = [...cuts].sort().concat(dates.at(-1)!);
  let start = '';
  const files: { path: string; lastDate: string }[] = [];
  for (const [i, end] of ends.entries()) {
    const path = join(env.root, `batch-${seed}-${i}.csv`);
    const rows = lines.filter((line) => dateOf(line) > start && dateOf(line) <= end);
    await writeFile(path, [header, ...rows].join('\n'));
    files.push({ path, lastDate: end });
    start = end;
  }
  return files;
}

/**
 * A customers file and an acquisition-cost file for batch `index`: some of the batch's customers and a
 * few prospects, signup dates and costs at random, so later files move a customer's signup earlier or
 * later and replace costs.
 */
async function referenceFilesFor(env: Env, seed: number, index: number, batchPath: string): Promise<{ customers: string; costs: string }> {
  const random = new Random(seed * 100 + index);
  const lines = (await readFile(batchPath, 'utf8')).trim().split('\n').slice(1);
  const buyers = [...new Set(lines.map((line) => line.split(',')[0]!))];
  const pick = (n: number) => Array.from({ length: n }, () => buyers[Math.floor(random.uniform() * buyers.length)]!);
  const prospects = Array.from({ length: 4 }, () => `P${Math.floor(random.uniform() * 12)}`);
  const day = () => `2023-${String(1 + Math.floor(random.uniform() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random.uniform() * 28)).padStart(2, '0')}`;
  const customers = join(env.root, `customers-${seed}-${index}.csv`);
  await writeFile(customers, ['customer_id,signup_ts', ...[...pick(15), ...prospects].map((id) => `${id},${day()}`)].join('\n'));
  const costs = join(env.root, `costs-${seed}-${index}.csv`);
  const cost = () => (1 + Math.floor(random.uniform() * 5000) / 100).toFixed(2);
  await writeFile(costs, ['customer_id,acquisition_cost', ...[...pick(10), ...prospects.slice(0, 2)].map((id) => `${id},${cost()}`)].join('\n'));
  return { customers, costs };
}

describe('incremental transforms', () => {
  let env: Env | undefined;
  afterEach(async () => {
    await env?.cleanup();
    env = undefined;
  });

  it.each([11, 23, 37])('give exactly the marts of a full rebuild for random daily batches (seed %i)', async (seed) => {
    // A two-month current-value window over eight months of data: days leave the window between runs.
    env = await tempLake({ clv: { minCustomers: 20, currentValueMonths: 2 } });
    const batches = await splitByDate(env, seed, 6);
    const modes: string[] = [];
    for (const [index, batch] of batches.entries()) {
      await ingestFiles(env.deps, [source(batch.path)]);
      const { customers, costs } = await referenceFilesFor(env, seed, index, batch.path);
      await ingestFiles(env.deps, [source(customers)], 'customers');
      await ingestFiles(env.deps, [source(costs)], 'acquisition_costs');
      const result = await transform(env.deps, { asOfDate: batch.lastDate });
      modes.push(result.mode);
    }
    expect(modes).toEqual(['full', 'incremental', 'incremental', 'incremental', 'incremental', 'incremental']);
    const lastDate = batches.at(-1)!.lastDate;
    const incremental = await martContents(env);
    const incrementalState = await stateContents(env, lastDate, 2);
    const rebuilt = await transform(env.deps, { asOfDate: lastDate, full: true });
    expect(rebuilt.mode).toBe('full');
    const full = await martContents(env);
    for (const { name } of martTables) expect(incremental[name], name).toEqual(full[name]);
    // The state the next day merges into is the same too, so the equality carries over to later runs.
    const fullState = await stateContents(env, lastDate, 2);
    for (const { spec } of stateTables) {
      expect(incrementalState[spec.name]!.length, spec.name).toBeGreaterThan(0);
      expect(incrementalState[spec.name], spec.name).toEqual(fullState[spec.name]);
    }
  });

  it('reads only the files with data after the previous snapshot', async () => {
    env = await tempLake();
    const batches = await splitByDate(env, 5, 3);
    for (const batch of batches.slice(0, 2)) {
      await ingestFiles(env.deps, [source(batch.path)]);
      await transform(env.deps, { asOfDate: batch.lastDate });
    }
    await ingestFiles(env.deps, [source(batches[2]!.path)]);
    const last = await transform(env.deps, { asOfDate: batches[2]!.lastDate });
    const [{ files } = {}] = await queryLake(env.deps, 'select count(distinct file_id)::integer as files from transactions_all');
    expect(files).toBe(3);
    expect(last).toMatchObject({ mode: 'incremental' });
    // The third batch spans one or more order months; each is one curated file of that batch.
    const [{ months } = {}] = await queryLake(
      env.deps,
      `select count(distinct order_month)::integer as months from transactions_all
       where order_date > date '${batches[1]!.lastDate}'`,
    );
    expect(last.filesRead).toBe(months);
  });

  it('rebuilds in full when a new file holds orders dated before the state, or repeats merged transaction ids', async () => {
    env = await tempLake();
    const first = join(env.root, 'first.csv');
    await writeFile(first, 'customer_id,transaction_id,order_ts,amount\nc1,t1,2024-03-01,10\nc2,t2,2024-03-05,20\n');
    await ingestFiles(env.deps, [source(first)]);
    expect((await transform(env.deps)).mode).toBe('full');

    const late = join(env.root, 'late.csv');
    await writeFile(late, 'customer_id,transaction_id,order_ts,amount\nc3,t3,2024-03-02,5\nc1,t4,2024-03-09,7\n');
    await ingestFiles(env.deps, [source(late)]);
    const afterLate = await transform(env.deps);
    expect(afterLate).toMatchObject({ mode: 'full', asOfDate: '2024-03-09' });
    expect(afterLate.modeReason).toMatch(/has orders on or before 2024-03-05/);

    const replacing = join(env.root, 'replacing.csv');
    await writeFile(replacing, 'customer_id,transaction_id,order_ts,amount\nc2,t2,2024-03-12,25\n');
    await ingestFiles(env.deps, [source(replacing)]);
    const afterReplace = await transform(env.deps);
    expect(afterReplace).toMatchObject({ mode: 'full', modeReason: 'a new file repeats transaction_ids of merged history' });
    const [c2] = await queryLake(env.deps, "select monetary, frequency from customer_rfm where customer_id = 'c2'");
    expect(c2).toEqual({ monetary: 25, frequency: 1 });
  });

  it('reads only the customers and acquisition-cost files not merged yet, and rebuilds when a merged one is gone', async () => {
    env = await tempLake();
    const isReference = (key: string) => key.startsWith(lakeKeys.curatedCustomers) || key.startsWith(lakeKeys.curatedAcquisitionCosts);
    const { deps, lake } = env;
    // Which customers and acquisition-cost files a run asks the lake for (on S3 each is a download).
    const requests = recordRequests(lake);
    const ingestDay = async (day: number, transactions: string[], customers: string[], costs: string[]): Promise<string[]> => {
      const before = new Set((await lake.list('curated/')).map((o) => o.key));
      const write = async (name: string, header: string, rows: string[]) => {
        const path = join(env!.root, `${name}-${day}.csv`);
        await writeFile(path, [header, ...rows].join('\n'));
        return source(path);
      };
      await ingestFiles(deps, [await write('tx', 'customer_id,transaction_id,order_ts,amount', transactions)]);
      if (customers.length > 0) await ingestFiles(deps, [await write('customers', 'customer_id,signup_ts', customers)], 'customers');
      if (costs.length > 0) await ingestFiles(deps, [await write('costs', 'customer_id,acquisition_cost', costs)], 'acquisition_costs');
      return (await lake.list('curated/')).map((o) => o.key).filter((key) => isReference(key) && !before.has(key)).sort();
    };
    const prospects = async () =>
      (await queryLake(deps, "select customer_id from customer_lifecycle where lifecycle_stage = 'prospect' order by 1")).map((r) => r.customer_id);
    const cost = async (customer: string) =>
      (await queryLake(deps, `select acquisition_cost from customer_clv where customer_id = '${customer}'`))[0]?.acquisition_cost;

    const first = await ingestDay(1, ['c1,t1,2024-03-01,10'], ['c1,2024-01-05', 'p1,2024-02-01'], ['c1,30.00']);
    expect(first).toHaveLength(2);
    expect((await transform(deps)).mode).toBe('full');

    const second = await ingestDay(2, ['c2,t2,2024-03-02,5'], ['p2,2024-02-10'], ['c1,12.50']);
    requests.fetched.length = 0;
    expect((await transform(deps)).mode).toBe('incremental');
    expect(requests.fetched.filter(isReference).sort()).toEqual(second);
    // p1 from the first day's file, p2 from the second; c1's cost from the later file.
    expect(await prospects()).toEqual(['p1', 'p2']);
    expect(await cost('c1')).toBe(12.5);

    await lake.delete(second.filter((key) => key.startsWith(lakeKeys.curatedAcquisitionCosts)));
    await ingestDay(3, ['c1,t3,2024-03-03,8'], [], []);
    const afterDelete = await transform(deps);
    expect(afterDelete).toMatchObject({ mode: 'full', modeReason: 'customers or acquisition-cost files merged earlier are gone' });
    expect(await cost('c1')).toBe(30);
  });

  it('checks new ids only against the merged files whose recorded transaction_id bounds enclose one', async () => {
    env = await tempLake();
    const { deps, lake } = env;
    // Which curated files a run asks the lake for (on S3 each is a download).
    const requests = recordRequests(lake);
    const ingest = async (name: string, rows: string[]) => {
      const path = join(env!.root, `${name}.csv`);
      await writeFile(path, ['customer_id,transaction_id,order_ts,amount', ...rows].join('\n'));
      const [result] = await ingestFiles(deps, [source(path)]);
      const manifest = JSON.parse((await lake.getText(lakeKeys.ingestManifest(result!.fileId)))!) as IngestManifest;
      return manifest.curatedFiles;
    };
    const runFetching = async () => {
      requests.fetched.length = 0;
      const result = await transform(deps);
      const fetched = requests.fetched.filter((key) => key.startsWith(lakeKeys.curatedTransactions));
      return { mode: result.mode, fetched: fetched.sort() };
    };

    const [february, march] = await ingest('history', [
      'c1,o-0001,2024-02-10,10',
      'c2,o-0004,2024-02-20,20',
      'c1,o-0002,2024-03-01,30',
      'c3,o-0005,2024-03-05,40',
    ]);
    expect(february).toMatchObject({ transactionIdsFrom: 'o-0001', transactionIdsTo: 'o-0004' });
    expect(march).toMatchObject({ transactionIdsFrom: 'o-0002', transactionIdsTo: 'o-0005' });
    expect((await transform(deps)).mode).toBe('full');

    // Later than every merged id: no merged file is read, only the new one.
    const [day1] = await ingest('day1', ['c2,o-0006,2024-03-06,7']);
    expect(await runFetching()).toEqual({ mode: 'incremental', fetched: [day1!.key] });

    // 'o-00015' sorts between o-0001 and o-0004 (February's bounds) but before o-0002 (March's).
    const [day2] = await ingest('day2', ['c3,o-00015,2024-03-07,8']);
    expect(await runFetching()).toEqual({ mode: 'incremental', fetched: [day2!.key, february!.key].sort() });

    // Manifests from before the bounds were recorded: every merged file is read.
    for (const { key } of await lake.list(lakeKeys.ingestManifests)) {
      const manifest = JSON.parse((await lake.getText(key))!) as IngestManifest;
      const curatedFiles = manifest.curatedFiles.map(({ transactionIdsFrom, transactionIdsTo, ...rest }) => rest);
      await lake.putText(key, JSON.stringify({ ...manifest, curatedFiles }));
    }
    const [day3] = await ingest('day3', ['c1,o-0007,2024-03-08,9']);
    expect(await runFetching()).toEqual({
      mode: 'incremental',
      fetched: [day3!.key, february!.key, march!.key, day1!.key, day2!.key].sort(),
    });
    const [c1] = await queryLake(deps, "select frequency, monetary from customer_rfm where customer_id = 'c1'");
    expect(c1).toEqual({ frequency: 3, monetary: 49 });
  });

  it('moves current value with its window, sharing the recent days between snapshots, and re-runs delete none in use', async () => {
    env = await tempLake({ clv: { currentValueMonths: 2 } });
    const header = 'customer_id,transaction_id,order_ts,amount';
    const runOn = async (name: string, rows: string[], asOfDate: string) => {
      const path = join(env!.root, `${name}.csv`);
      await writeFile(path, [header, ...rows].join('\n'));
      await ingestFiles(env!.deps, [source(path)]);
      return transform(env!.deps, { asOfDate });
    };
    const currentValues = async () =>
      Object.fromEntries(
        (await queryLake(env!.deps, 'select customer_id, current_value from customer_clv order by customer_id')).map((r) => [
          r.customer_id,
          r.current_value,
        ]),
      );
    const recentDayFiles = async (asOfDate: string) =>
      (await readPublishedIndex(env!.lake)).snapshots[asOfDate]!.state!.recent_revenue_days!;

    // As of 2024-03-05 the window holds the days after 2024-01-05.
    const first = await runOn('first', ['c1,t1,2024-01-10,10', 'c1,t2,2024-02-10,20', 'c1,t3,2024-03-05,30', 'c2,t4,2024-03-01,5'], '2024-03-05');
    expect(await currentValues()).toEqual({ c1: 60, c2: 5 });
    // As of 2024-03-25 (after 2024-01-25): January 10 leaves, the new days come in.
    const second = await runOn('second', ['c1,t5,2024-03-20,7', 'c2,t6,2024-03-25,1'], '2024-03-25');
    expect(second.mode).toBe('incremental');
    expect(await currentValues()).toEqual({ c1: 57, c2: 6 });
    const firstFiles = await recentDayFiles('2024-03-05');
    expect(firstFiles.map(orderMonthOfKey)).toEqual(['2024-01', '2024-02', '2024-03']);
    // The daily run wrote its own days only; the first run's files are listed again, not copied.
    expect(await recentDayFiles('2024-03-25')).toEqual([...firstFiles, expect.stringContaining(`run_id=${second.runId}/order_month=2024-03/`)]);
    // As of 2024-04-12 (after 2024-02-12): February 10 leaves; January's file is no longer listed.
    await runOn('third', ['c1,t7,2024-04-02,3'], '2024-04-12');
    expect(await currentValues()).toEqual({ c1: 40, c2: 6 });
    expect((await recentDayFiles('2024-04-12')).map(orderMonthOfKey)).toEqual(['2024-02', '2024-03', '2024-03', '2024-04']);

    // Replacing 2024-03-05 twice makes its first run's files obsolete: all go but the recent days that
    // the 2024-03-25 snapshot still lists.
    await transform(env.deps, { asOfDate: '2024-03-05' });
    await transform(env.deps, { asOfDate: '2024-03-05' });
    const firstRunKeys = (await env.lake.list('')).map((o) => o.key).filter((key) => key.includes(`run_id=${first.runId}/`));
    expect(firstRunKeys.filter((key) => !key.startsWith('_manifests/'))).toEqual(firstFiles);
    const rerun = await transform(env.deps, { asOfDate: '2024-04-12' });
    expect(rerun.mode).toBe('incremental');
    expect(await currentValues()).toEqual({ c1: 40, c2: 6 });
  });

  it('rebuilds in full when files of the previous state are gone, instead of failing every later run', async () => {
    env = await tempLake();
    const batches = await splitByDate(env, 7, 3);
    await ingestFiles(env.deps, [source(batches[0]!.path)]);
    const first = await transform(env.deps, { asOfDate: batches[0]!.lastDate });
    const state = (await readPublishedIndex(env.lake)).snapshots[first.asOfDate]!.state!;
    const lost = state[stateTables[0]!.spec.name]![0]!;
    await env.lake.delete([lost]);

    await ingestFiles(env.deps, [source(batches[1]!.path)]);
    const next = await transform(env.deps, { asOfDate: batches[1]!.lastDate });
    expect(next).toMatchObject({ mode: 'full', modeReason: `state files of the ${first.asOfDate} snapshot are gone: ${lost}` });
    // The rebuilt state is whole again: the next day's run merges into it.
    await ingestFiles(env.deps, [source(batches[2]!.path)]);
    const after = await transform(env.deps, { asOfDate: batches[2]!.lastDate });
    expect(after.mode).toBe('incremental');
  });

  it('keeps the state of the latest transform.stateSnapshots dates only; older dates keep their marts', async () => {
    env = await tempLake({ transform: { stateSnapshots: 2 } });
    const batches = await splitByDate(env, 13, 5);
    const dates: string[] = [];
    for (const batch of batches.slice(0, 4)) {
      await ingestFiles(env.deps, [source(batch.path)]);
      dates.push((await transform(env.deps, { asOfDate: batch.lastDate })).asOfDate);
    }
    const index = await readPublishedIndex(env.lake);
    expect(Object.keys(index.snapshots).sort()).toEqual(dates);
    const kept = dates.slice(-2);
    expect(dates.filter((date) => index.snapshots[date]!.state !== undefined)).toEqual(kept);
    expect(dates.filter((date) => index.snapshots[date]!.curatedFiles !== undefined)).toEqual(kept);
    // The lake holds exactly the state files the kept snapshots list; every date's marts stay.
    const listed = new Set(kept.flatMap((date) => Object.values(index.snapshots[date]!.state!).flat()));
    expect((await env.lake.list('state/')).map((o) => o.key)).toEqual([...listed].sort());
    const marts = new Set((await env.lake.list('marts/')).map((o) => o.key));
    for (const date of dates) {
      for (const key of Object.values(index.snapshots[date]!.tables)) expect(marts.has(key), key).toBe(true);
    }
    expect(await queryLake(env.deps, `select count(distinct as_of_date)::integer as dates from customer_rfm_history`)).toEqual([{ dates: 4 }]);

    // Re-running the older kept date finds no state before it and rebuilds; the next day merges again.
    expect(await transform(env.deps, { asOfDate: dates[2] })).toMatchObject({ mode: 'full', modeReason: 'no earlier snapshot with state' });
    await ingestFiles(env.deps, [source(batches[4]!.path)]);
    expect((await transform(env.deps, { asOfDate: batches[4]!.lastDate })).mode).toBe('incremental');
  });

  it('rebuilds in full when the models or state settings change', async () => {
    env = await tempLake();
    const batches = await splitByDate(env, 3, 2);
    await ingestFiles(env.deps, [source(batches[0]!.path)]);
    await transform(env.deps, { asOfDate: batches[0]!.lastDate });
    await ingestFiles(env.deps, [source(batches[1]!.path)]);
    const changed = await transform(
      { ...env.deps, config: { ...env.deps.config, clv: { ...env.deps.config.clv, currentValueMonths: 6 } } },
      { asOfDate: batches[1]!.lastDate },
    );
    expect(changed).toMatchObject({ mode: 'full', modeReason: 'models or settings changed since the state was built' });
  });

  it('merge a batched full rebuild into exactly the state and marts of a rebuild reading everything at once', async () => {
    // A two-month current-value window: days leave it between batches.
    env = await tempLake({ clv: { minCustomers: 20, currentValueMonths: 2 } });
    const batches = await splitByDate(env, 41, 3);
    for (const batch of batches) await ingestFiles(env.deps, [source(batch.path)]);
    // A later file corrects two early transactions: one moves to the last month, one changes amount.
    // The batched rebuild must count each once, in its corrected version, in whichever batch it falls.
    const [, first, second] = (await readFile(batches[0]!.path, 'utf8')).trim().split('\n');
    const [c1, t1] = first!.split(',');
    const [c2, t2, ts2] = second!.split(',');
    const lastDate = batches.at(-1)!.lastDate;
    const corrections = join(env.root, 'corrections.csv');
    await writeFile(corrections, `customer_id,transaction_id,order_ts,amount\n${c1},${t1},${lastDate},1234.56\n${c2},${t2},${ts2},0.5\n`);
    await ingestFiles(env.deps, [source(corrections)]);

    const everything = { ...env.deps, config: { ...env.deps.config, transform: { ...env.deps.config.transform, rebuildBatchTransactions: 0 } } };
    const atOnce = await transform(everything, { asOfDate: lastDate, full: true });
    expect(atOnce.rebuildBatches).toBeUndefined();
    const expectedMarts = await martContents(env);
    const expectedState = await stateContents(env, lastDate, 2);

    const batched = { ...env.deps, config: { ...env.deps.config, transform: { ...env.deps.config.transform, rebuildBatchTransactions: 300 } } };
    const result = await transform(batched, { asOfDate: lastDate, full: true });
    expect(result.rebuildBatches).toBeGreaterThanOrEqual(4);
    for (const { name } of martTables) expect((await martContents(env))[name], name).toEqual(expectedMarts[name]);
    expect(await stateContents(env, lastDate, 2)).toEqual(expectedState);
    const [moved] = await queryLake(env.deps, `select count(*)::integer as n from transactions where transaction_id = '${t1}'`);
    expect(moved).toEqual({ n: 1 });
  });
});
