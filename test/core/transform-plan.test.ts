import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalLake } from '../../lambdas/adapters/local-lake.ts';
import type { CuratedFile } from '../../lambdas/core/ingest/ingest.ts';
import { lakeKeys, type Lake } from '../../lambdas/core/lake.ts';
import { curatedTransactionFiles, orderMonthOfKey, planRebuildBatches, planTransform, planWindowFiles } from '../../lambdas/core/transform-plan.ts';
import { recordRequests } from '../support/recording-lake.ts';

const file = (key: string, rows: number, minOrderDate?: string, maxOrderDate?: string): [string, CuratedFile] => [
  key,
  { key, rows, ...(minOrderDate && maxOrderDate ? { minOrderDate, maxOrderDate } : {}) },
];

const files = new Map([
  file('jan', 100, '2024-01-03', '2024-01-30'),
  file('feb', 150, '2024-02-01', '2024-02-28'),
  file('mar-a', 80, '2024-03-01', '2024-03-31'),
  file('mar-b', 40, '2024-03-05', '2024-03-20'),
  file('apr', 60, '2024-04-01', '2024-04-10'),
  file('may', 500, '2024-05-01', '2024-05-09'),
]);

describe('planRebuildBatches', () => {
  it('cuts at the end of the month where a batch reaches its size; the last batch runs to as_of_date', () => {
    // Jan 100 + Feb 150 = 250 >= 200: cut at 2024-02-29 (a leap year). Mar 120 + Apr 60 = 180 remain.
    // May is after as_of_date: in no batch.
    expect(planRebuildBatches(files, '2024-04-10', 200)).toEqual([
      { keys: ['feb', 'jan'], upTo: '2024-02-29' },
      { keys: ['apr', 'mar-a', 'mar-b'], after: '2024-02-29', upTo: '2024-04-10' },
    ]);
  });

  it('makes a batch of each month when every month reaches the size, and never cuts at as_of_date itself', () => {
    expect(planRebuildBatches(files, '2024-03-31', 100).map((b) => [b.after, b.upTo, b.keys])).toEqual([
      [undefined, '2024-01-31', ['jan']],
      ['2024-01-31', '2024-02-29', ['feb']],
      ['2024-02-29', '2024-03-31', ['mar-a', 'mar-b']],
    ]);
  });

  it('reads everything at once when batching is off, history fits one batch, or a file has no recorded dates', () => {
    const everything = [{ keys: ['apr', 'feb', 'jan', 'mar-a', 'mar-b', 'may'], upTo: '2024-04-10' }];
    expect(planRebuildBatches(files, '2024-04-10', 0)).toEqual(everything);
    expect(planRebuildBatches(files, '2024-04-10', 1_000)).toEqual(everything);
    const undated = new Map([...files, file('old', 10)]);
    expect(planRebuildBatches(undated, '2024-04-10', 100)).toEqual([{ keys: [...everything[0]!.keys, 'old'].sort(), upTo: '2024-04-10' }]);
  });

  it('puts a file spanning months in every batch its dates reach', () => {
    const spanning = new Map([
      file('jan', 300, '2024-01-01', '2024-01-31'),
      file('late', 5, '2024-01-20', '2024-02-10'),
      file('feb', 300, '2024-02-01', '2024-02-29'),
    ]);
    // Jan reaches 300: cut at 2024-01-31; `late` has orders on both sides of it (its rows count in Feb).
    expect(planRebuildBatches(spanning, '2024-02-29', 300)).toEqual([
      { keys: ['jan', 'late'], upTo: '2024-01-31' },
      { keys: ['feb', 'late'], after: '2024-01-31', upTo: '2024-02-29' },
    ]);
  });
});

describe('planWindowFiles', () => {
  const key = (month: string, run: string) => `state/recent_revenue_days/as_of_date=x/run_id=${run}/order_month=${month}/part_0.parquet`;
  const keys = ['2023-11', '2023-12', '2024-01', '2024-02', '2024-03', '2024-04'].map((month) => key(month, 'r1'));

  it('keeps the months a window can still reach and reads those its days left since the state date', () => {
    // Window of 3 months as of 2024-04-15 starts after 2024-01-15: days from January on are kept.
    // The state's window (as of 2024-02-10) started after 2023-11-10: November to January can hold days that left.
    const plan = planWindowFiles(keys, 3, '2024-04-15', '2024-02-10');
    expect(plan.keep.map(orderMonthOfKey)).toEqual(['2024-01', '2024-02', '2024-03', '2024-04']);
    expect(plan.read.map(orderMonthOfKey)).toEqual(['2023-11', '2023-12', '2024-01']);
  });

  it('reads only the edge month on a daily run, across a year end and a clamped month end', () => {
    // 2024-02-29 minus 12 months is 2023-02-28; the day before's window started after 2023-02-28 too.
    const daily = planWindowFiles([key('2023-02', 'a'), key('2023-03', 'b'), key('2024-02', 'c')], 12, '2024-02-29', '2024-02-28');
    expect(daily.read.map(orderMonthOfKey)).toEqual(['2023-02']);
    expect(daily.keep.map(orderMonthOfKey)).toEqual(['2023-02', '2023-03', '2024-02']);
    // A one-month window as of 2025-01-01 starts after 2024-12-01; the state's (2024-12-31) after 2024-11-30.
    const newYear = planWindowFiles([key('2024-11', 'a'), key('2024-12', 'b'), key('2025-01', 'c')], 1, '2025-01-01', '2024-12-31');
    expect(newYear.keep.map(orderMonthOfKey)).toEqual(['2024-12', '2025-01']);
    expect(newYear.read.map(orderMonthOfKey)).toEqual(['2024-11', '2024-12']);
  });

  it('reads nothing without a state, and names a key without an order month', () => {
    expect(planWindowFiles(keys, 12, '2024-04-15').read).toEqual([]);
    expect(() => orderMonthOfKey('state/customer_state/x.parquet')).toThrow(/no order_month=YYYY-MM folder/);
  });
});

describe('curatedTransactionFiles', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A local lake whose manifest reads are recorded. */
  async function recordingLake(): Promise<{ lake: Lake; manifestReads: () => string[]; forget: () => void }> {
    dir = await mkdtemp(join(tmpdir(), 'catalogue-'));
    const lake = new LocalLake(dir);
    const requests = recordRequests(lake);
    return {
      lake,
      manifestReads: () => requests.read.filter((key) => key.startsWith(lakeKeys.ingestManifests)),
      forget: () => (requests.read.length = 0),
    };
  }

  const curated = (id: string, month: string): CuratedFile => ({
    key: `curated/transactions/order_month=${month}/${id}_0.parquet`,
    rows: 10,
    minOrderDate: `${month}-01`,
    maxOrderDate: `${month}-28`,
  });

  /** An ingest manifest as ingest writes it, with the fields the transform reads. */
  async function writeManifest(lake: Lake, id: string, fields: Record<string, unknown>): Promise<void> {
    await lake.putText(lakeKeys.ingestManifest(id), JSON.stringify({ fileId: id, kind: 'transactions', curatedFiles: [], ...fields }));
  }

  it('reads each ingested manifest once: a later run reads only the manifests written since', async () => {
    const { lake, manifestReads, forget } = await recordingLake();
    await writeManifest(lake, 'a', { status: 'ingested', curatedFiles: [curated('a', '2024-01'), curated('a', '2024-02')] });
    await writeManifest(lake, 'b', { status: 'ingested', curatedFiles: [curated('b', '2024-02')] });
    await writeManifest(lake, 'c', { status: 'ingested', kind: 'customers', curatedFiles: [{ key: 'curated/customers/x.parquet', rows: 3 }] });
    await writeManifest(lake, 'd', { status: 'failed' });

    expect([...(await curatedTransactionFiles(lake)).keys()]).toEqual([
      curated('a', '2024-01').key,
      curated('a', '2024-02').key,
      curated('b', '2024-02').key,
    ]);
    expect(manifestReads()).toHaveLength(4);

    forget();
    await writeManifest(lake, 'e', { status: 'ingested', curatedFiles: [curated('e', '2024-03')] });
    const files = await curatedTransactionFiles(lake);
    // The new manifest and the failed one (a later upload may ingest that file); not a, b or c.
    expect(manifestReads().sort()).toEqual([lakeKeys.ingestManifest('d'), lakeKeys.ingestManifest('e')]);
    expect(files.get(curated('e', '2024-03').key)).toEqual(curated('e', '2024-03'));
    expect(files.get(curated('a', '2024-01').key)).toEqual(curated('a', '2024-01'));
    expect(files.size).toBe(4);
  });

  it('forgets a catalogued manifest that is gone and reads again one whose size changed', async () => {
    const { lake, manifestReads, forget } = await recordingLake();
    await writeManifest(lake, 'a', { status: 'ingested', curatedFiles: [curated('a', '2024-01')] });
    await writeManifest(lake, 'b', { status: 'ingested', curatedFiles: [curated('b', '2024-02')] });
    await curatedTransactionFiles(lake);

    await lake.delete([lakeKeys.ingestManifest('a')]);
    await writeManifest(lake, 'b', { status: 'ingested', curatedFiles: [curated('b', '2024-02'), curated('b', '2024-03')] });
    forget();
    expect([...(await curatedTransactionFiles(lake)).keys()]).toEqual([curated('b', '2024-02').key, curated('b', '2024-03').key]);
    expect(manifestReads()).toEqual([lakeKeys.ingestManifest('b')]);
  });
});

describe('planTransform with customers and acquisition-cost files', () => {
  const jan = file('jan', 100, '2024-01-03', '2024-01-30');
  const feb = file('feb', 150, '2024-02-01', '2024-02-28');
  const snapshot = (referenceFiles?: string[]) => ({
    asOfDate: '2024-01-31',
    snapshot: {
      runId: 'r1',
      publishedAt: '2024-02-01T00:00:00Z',
      tables: {},
      state: { customer_state: ['state/customer_state/x.parquet'] },
      curatedFiles: { jan: '2024-01-30' },
      stateFingerprint: 'f',
      ...(referenceFiles ? { referenceFiles } : {}),
    },
  });
  const plan = (previous: ReturnType<typeof snapshot>, referenceFiles: string[]) =>
    planTransform({ files: new Map([jan, feb]), referenceFiles, previous, fingerprint: 'f', forceFull: false });

  it('reads only the reference files the state has not merged, and accounts for all of them', () => {
    const result = plan(snapshot(['curated/customers/a.parquet']), ['curated/customers/a.parquet', 'curated/acquisition_costs/b.parquet']);
    expect(result).toMatchObject({
      mode: 'incremental',
      batchKeys: ['feb'],
      referenceBatchKeys: ['curated/acquisition_costs/b.parquet'],
      referenceFiles: ['curated/acquisition_costs/b.parquet', 'curated/customers/a.parquet'],
    });
  });

  it('rebuilds in full when a merged reference file is gone, or the state predates the reference state', () => {
    expect(plan(snapshot(['curated/customers/a.parquet']), [])).toMatchObject({
      mode: 'full',
      reason: 'customers or acquisition-cost files merged earlier are gone',
      referenceBatchKeys: [],
    });
    expect(plan(snapshot(), ['curated/customers/a.parquet'])).toMatchObject({
      mode: 'full',
      reason: 'the state predates the customers and acquisition-cost state',
      referenceBatchKeys: ['curated/customers/a.parquet'],
    });
  });
});
