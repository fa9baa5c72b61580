import { describe, expect, it } from 'vitest';
import type { CuratedFile } from '../../lambdas/core/ingest/ingest.ts';
import { orderMonthOfKey, planRebuildBatches, planWindowFiles } from '../../lambdas/core/transform-plan.ts';

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
