import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles, transform } from '../../lambdas/core/pipeline.ts';
import { queryLake, source, tempLake } from '../support/pipeline.ts';
import { hasSharedData, sharedDataDir } from '../support/shared-data.ts';

const MASTER = 'cdnow/CDNOW_master.txt';

interface RawRow {
  customer: string;
  date: string; // YYYYMMDD
  dollars: number;
}

const monthIndex = (yyyymmdd: string) => Number(yyyymmdd.slice(0, 4)) * 12 + Number(yyyymmdd.slice(4, 6)) - 1;
const monthLabel = (index: number) => `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;

/** Cohort figures computed straight from the raw rows in JS, independently of the SQL models. */
function expectedCohorts(rows: readonly RawRow[]) {
  const firstOrderMonth = new Map<string, number>();
  for (const r of rows) {
    if (r.dollars <= 0) continue;
    const m = monthIndex(r.date);
    const seen = firstOrderMonth.get(r.customer);
    if (seen === undefined || m < seen) firstOrderMonth.set(r.customer, m);
  }
  const cells = new Map<string, { active: Set<string>; orders: number; revenueCents: number }>();
  const sizes = new Map<number, number>();
  for (const m of firstOrderMonth.values()) sizes.set(m, (sizes.get(m) ?? 0) + 1);
  for (const r of rows) {
    const cohort = firstOrderMonth.get(r.customer);
    if (cohort === undefined) continue;
    const key = `${monthLabel(cohort)}/${monthIndex(r.date) - cohort}`;
    const cell = cells.get(key) ?? { active: new Set<string>(), orders: 0, revenueCents: 0 };
    if (r.dollars > 0) {
      cell.active.add(r.customer);
      cell.orders += 1;
    }
    cell.revenueCents += Math.round(r.dollars * 100);
    cells.set(key, cell);
  }
  return { sizes, cells };
}

describe.runIf(hasSharedData(MASTER))('cohort_retention on CDNOW (../shared/data/cdnow/CDNOW_master.txt)', () => {
  let env: Awaited<ReturnType<typeof tempLake>>;
  let raw: RawRow[];

  beforeAll(async () => {
    const text = await readFile(join(sharedDataDir, MASTER), 'utf8');
    raw = text
      .split(/\r?\n/)
      .slice(1)
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [customer, date, , dollars] = line.trim().split(/\s+/);
        return { customer: customer as string, date: date as string, dollars: Number(dollars) };
      });
    env = await tempLake({ input: { timestampFormats: ['%Y%m%d'] } });
    const csv = join(env.root, 'cdnow.csv');
    await writeFile(
      csv,
      ['customer_id,transaction_id,order_ts,amount', ...raw.map((r, i) => `${r.customer},${i + 1},${r.date},${r.dollars}`)].join('\n'),
    );
    const [result] = await ingestFiles(env.deps, [source(csv)]);
    expect(result).toMatchObject({ rowsRead: 69_659, rowsCurated: 69_659, rowsQuarantined: 0 });
    await transform(env.deps);
  });
  afterAll(() => env.cleanup());

  it('defaults as_of_date to the last order date and covers every observable month', async () => {
    const [row] = await queryLake(
      env.deps,
      "select strftime(max(as_of_date), '%Y-%m-%d') as as_of, count(*)::integer as cells, count(distinct cohort_month)::integer as cohorts from cohort_retention",
    );
    // Every cohort is followed from its month to 1998-06 inclusive, zero-activity months included.
    const { sizes } = expectedCohorts(raw);
    const lastMonth = monthIndex('19980630');
    const expectedCells = [...sizes.keys()].reduce((n, cohort) => n + (lastMonth - cohort + 1), 0);
    expect(row).toEqual({ as_of: '1998-06-30', cells: expectedCells, cohorts: sizes.size });
  });

  it('matches counts computed independently from the raw rows for several cohorts and months', async () => {
    const { sizes, cells } = expectedCohorts(raw);
    const rows = await queryLake(
      env.deps,
      'select cohort_month, months_since_first, cohort_size, active_customers, orders, revenue, retention_rate from cohort_retention',
    );
    const byCell = new Map(rows.map((r) => [`${r.cohort_month}/${r.months_since_first}`, r]));
    for (const [cohort, month] of [
      ['1997-01', 0],
      ['1997-01', 1],
      ['1997-01', 6],
      ['1997-02', 3],
      ['1997-03', 0],
      ['1997-03', 12],
      ['1997-03', 15],
    ] as const) {
      const expected = cells.get(`${cohort}/${month}`)!;
      const size = sizes.get(monthIndex(`${cohort.replace('-', '')}01`))!;
      const actual = byCell.get(`${cohort}/${month}`);
      expect(actual, `${cohort} +${month}`).toEqual({
        cohort_month: cohort,
        months_since_first: month,
        cohort_size: size,
        active_customers: expected.active.size,
        orders: expected.orders,
        revenue: expected.revenueCents / 100,
        retention_rate: expected.active.size / size,
      });
    }
    // Every customer with a paid order is in exactly one cohort (a few have only $0 rows).
    const [{ customers } = {}] = await queryLake(env.deps, 'select count(*)::integer as customers from customer_rfm');
    expect([...sizes.values()].reduce((a, b) => a + b, 0)).toBe(customers);
  });

  it('accumulates revenue per customer into the cohort CLV curve', async () => {
    const { sizes, cells } = expectedCohorts(raw);
    const [row] = await queryLake(
      env.deps,
      "select cumulative_revenue_per_customer as c from cohort_retention where cohort_month = '1997-02' and months_since_first = 16",
    );
    let cents = 0;
    for (let m = 0; m <= 16; m += 1) cents += cells.get(`1997-02/${m}`)?.revenueCents ?? 0;
    const size = sizes.get(monthIndex('19970201'))!;
    expect(row?.c).toBeCloseTo(cents / 100 / size, 2);
  });
});
