import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb } from '../../lambdas/core/duckdb.ts';
import { customer360Columns, ExportRequestError } from '../../lambdas/core/exports.ts';
import { exportFromLake, NoSnapshotError } from '../../lambdas/core/lake-export.ts';
import { ingestFiles, transform } from '../../lambdas/core/pipeline.ts';
import { martTables } from '../../lambdas/core/schema/tables.ts';
import { fixturesDir, queryLake, source, tempLake } from '../support/pipeline.ts';

type Env = Awaited<ReturnType<typeof tempLake>>;

const exportedAt = new Date('2025-06-01T08:00:00Z');

/** Runs an export on its own DuckDB, as the CLI does. */
async function exportOf(env: Env, request: unknown, now = exportedAt) {
  const duck = await openDuckDb();
  try {
    return await exportFromLake(duck.connection, env.lake, join(env.root, 'export-work'), request, now);
  } finally {
    duck.close();
  }
}

const exportKeys = async (env: Env, name: string) => (await env.lake.list(`exports/${name}/`)).map((o) => o.key);

// The hand-worked fixture as of 2024-12-31: stages, segments and first orders derived by hand in
// hand-worked.test.ts and test/fixtures/hand-worked/transactions.csv (P1 is a prospect: customers file only).
describe('exportFromLake on the hand-worked lake', () => {
  let env: Env;

  beforeAll(async () => {
    env = await tempLake({ input: { columns: { is_return: 'is_return' } } }, new Date('2025-06-01T00:00:00Z'));
    const dir = join(fixturesDir, 'hand-worked');
    await ingestFiles(env.deps, [source(join(dir, 'customers.csv'))], 'customers');
    await ingestFiles(env.deps, [source(join(dir, 'transactions.csv'))]);
    await transform(env.deps, { asOfDate: '2024-12-31' });
  });
  afterAll(() => env.cleanup());

  it('writes the customers matching every filter (any of its values) as CSV under exports/<name>/<date>/<run>/', async () => {
    // at_risk or developing: C4 (first order 2024-08), C5 (2024-10), C6 (2024-07), C8 (2024-11), C11 (2024-12);
    // of those, first ordering in October or November 2024: C5 and C8.
    const result = await exportOf(env, {
      name: 'winback',
      filters: { lifecycle_stage: ['at_risk', 'developing'], cohort_month: ['2024-11', '2024-10'] },
      columns: ['customer_id', 'lifecycle_stage', 'rfm_segment', 'cohort_month'],
    });
    expect(result).toMatchObject({ rows: 2, asOfDate: '2024-12-31' });
    expect(result.key).toMatch(/^exports\/winback\/2025-06-01\/20250601T080000Z-[0-9a-f]{8}\/winback\.csv$/);
    expect(result.location).toBe(`${env.lake.location}/${result.key}`);
    const csv = await readFile(result.location, 'utf8');
    expect(csv).toBe(
      'customer_id,lifecycle_stage,rfm_segment,cohort_month\n' + 'C5,at_risk,at_risk,2024-10\n' + 'C8,developing,champions,2024-11\n',
    );
    expect(result.bytes).toBe(Buffer.byteLength(csv));
  });

  it('exports everyone with the default columns when no filter is given, prospects included', async () => {
    const result = await exportOf(env, { name: 'everyone' });
    const [header, ...lines] = (await readFile(result.location, 'utf8')).trimEnd().split('\n');
    expect(header).toBe('customer_id,rfm_segment,lifecycle_stage,value_tier,cohort_month');
    expect(lines.map((line) => line.split(',')[0])).toEqual(['C1', 'C11', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9', 'P1']);
    // A prospect is in customer_lifecycle only: no RFM segment, value tier or cohort.
    expect(lines.find((line) => line.startsWith('P1,'))).toBe('P1,,prospect,,');
    expect(result.rows).toBe(11);
  });

  it('writes each run to a folder of its own, leaving earlier exports in place', async () => {
    const request = { name: 'loyal', filters: { rfm_segment: ['loyal'] }, columns: ['customer_id'] };
    const first = await exportOf(env, request);
    const second = await exportOf(env, request, new Date('2025-06-01T09:30:00Z'));
    expect(second.key).not.toBe(first.key);
    expect(await exportKeys(env, 'loyal')).toEqual([first.key, second.key]);
    expect(await readFile(second.location, 'utf8')).toBe('customer_id\nC7\n');
  });

  it('refuses an invalid request naming each bad field, and writes nothing', async () => {
    const refused = exportOf(env, { name: 'bad', filters: { value_tier: ['Z'] }, columns: ['customer_id', 'no_such_column'] });
    await expect(refused).rejects.toThrow(ExportRequestError);
    await expect(refused).rejects.toThrow(/filters\.value_tier\.0: .*; columns\.1: /);
    expect(await exportKeys(env, 'bad')).toEqual([]);
  });

  it('serves customer_360 to local queries with the columns the exports validate against', async () => {
    const described = await queryLake(env.deps, 'describe customer_360');
    expect(described.map((row) => row.column_name)).toEqual(customer360Columns(martTables).map((c) => c.name));
    const rows = await queryLake(
      env.deps,
      "select customer_id, rfm_segment, lifecycle_stage, cohort_month, strftime(as_of_date, '%Y-%m-%d') as as_of from customer_360 where customer_id in ('C6', 'P1') order by 1",
    );
    expect(rows).toEqual([
      { customer_id: 'C6', rfm_segment: 'at_risk', lifecycle_stage: 'developing', cohort_month: '2024-07', as_of: '2024-12-31' },
      { customer_id: 'P1', rfm_segment: null, lifecycle_stage: 'prospect', cohort_month: null, as_of: '2024-12-31' },
    ]);
  });
});

describe('exportFromLake without a published snapshot', () => {
  it('says to run the transform first', async () => {
    const env = await tempLake();
    try {
      await expect(exportOf(env, { name: 'early' })).rejects.toThrow(NoSnapshotError);
      await expect(exportOf(env, { name: 'early' })).rejects.toThrow(`no published snapshot in ${env.lake.location}: run transform first`);
      expect(await queryLake(env.deps, 'select count(*)::integer as n from customer_360')).toEqual([{ n: 0 }]);
    } finally {
      await env.cleanup();
    }
  });
});
