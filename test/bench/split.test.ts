import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { splitByOrderDate } from '../../bench/split.ts';
import { median } from '../../bench/report.ts';

const HEADER = 'customer_id,transaction_id,order_ts,amount,quantity';
// Ten rows on four UTC days: 2024-01-01 ×4, 01-02 ×3, 01-03 ×1, 01-04 ×2. T9 is 23:30 on 01-03 at
// UTC−02:00, i.e. 01:30 on 01-04 in UTC; T6's amount keeps its trailing zero as text.
const ROWS = [
  'C1,T1,2024-01-01T08:00:00Z,10.00,1',
  'C2,T2,2024-01-01T09:00:00Z,11.00,1',
  'C3,T3,2024-01-01T10:00:00Z,12.00,1',
  'C1,T4,2024-01-01T11:00:00Z,13.00,1',
  'C2,T5,2024-01-02T08:00:00Z,14.00,1',
  'C3,T6,2024-01-02T09:00:00Z,15.50,2',
  'C1,T7,2024-01-02T10:00:00Z,16.00,1',
  'C2,T8,2024-01-03T08:00:00Z,17.00,1',
  'C3,T9,2024-01-03T23:30:00-02:00,18.00,1',
  'C1,T10,2024-01-04T08:00:00Z,19.00,1',
];

describe('splitByOrderDate', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function sample(): Promise<{ path: string; fingerprint: string }> {
    dir = await mkdtemp(join(tmpdir(), 'split-'));
    const path = join(dir, 'sample.csv');
    await writeFile(path, `${[HEADER, ...ROWS].join('\n')}\n`);
    return { path, fingerprint: 'f1' };
  }

  const lines = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n');

  it('cuts at the latest UTC day from which the share of rows is reached, keeping every value as text', async () => {
    const source = await sample();
    // From 01-04: 2 rows (20 %); from 01-03: 3 rows (30 %): the cut for 30 % is 2024-01-03.
    const split = await splitByOrderDate(source, 0.3, dir!);
    expect(split).toMatchObject({ cutDate: '2024-01-03', historyRows: 7, newRows: 3 });
    expect(split.newPath).toBe(join(dir!, 'sample-from-2024-01-03.csv'));
    expect(await lines(split.historyPath)).toEqual([HEADER, ...ROWS.slice(0, 7)]);
    expect(await lines(split.newPath)).toEqual([HEADER, ...ROWS.slice(7)]);

    // 20 %: from 01-04 there are 2 rows only because T9 is counted on its UTC day.
    const narrow = await splitByOrderDate(source, 0.2, dir!);
    expect(narrow).toMatchObject({ cutDate: '2024-01-04', historyRows: 8, newRows: 2 });
    expect(await lines(narrow.newPath)).toEqual([HEADER, ROWS[8], ROWS[9]]);

    // From 01-02: 6 rows, the first day reaching 31 %.
    const wider = await splitByOrderDate(source, 0.31, dir!);
    expect(wider).toMatchObject({ cutDate: '2024-01-02', historyRows: 4, newRows: 6 });
  });

  it('reuses a split of the same sample and share, and redoes it when the sample changes', async () => {
    const source = await sample();
    const first = await splitByOrderDate(source, 0.3, dir!);
    const written = (await stat(first.newPath)).mtimeMs;
    expect(await splitByOrderDate(source, 0.3, dir!)).toMatchObject(first);
    expect((await stat(first.newPath)).mtimeMs).toBe(written);

    await writeFile(source.path, `${[HEADER, ...ROWS.slice(0, 9)].join('\n')}\n`);
    const redone = await splitByOrderDate({ ...source, fingerprint: 'f2' }, 0.3, dir!);
    // Without T10, 01-04 holds T9 only (1 of 9 rows); from 01-03, 2 rows (22 %); from 01-02, 5 rows.
    expect(redone).toMatchObject({ cutDate: '2024-01-02', historyRows: 4, newRows: 5 });
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
