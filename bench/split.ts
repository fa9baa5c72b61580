/**
 * Splits a transactions CSV by order date into history and the latest few days, for the incremental
 * measurement: the history file seeds a lake, the later one is the "new data" of the next run.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { openDuckDb, queryRows, quoteLiteral } from '../lambdas/core/duckdb.ts';

export interface SplitFiles {
  /** Rows ordered before `cutDate` (UTC). */
  readonly historyPath: string;
  /** Rows ordered on or after `cutDate`. */
  readonly newPath: string;
  readonly cutDate: string;
  readonly historyRows: number;
  readonly newRows: number;
}

/**
 * Cuts at the latest date from which at least `newShare` of the rows are on or after it, writing
 * `<stem>-before-<date>.csv` and `<stem>-from-<date>.csv` beside the sample. Reused while the sample
 * (same fingerprint) and the share are unchanged.
 */
export async function splitByOrderDate(
  sample: { readonly path: string; readonly fingerprint: string },
  newShare: number,
  workDir: string,
): Promise<SplitFiles> {
  const stem = sample.path.replace(/\.csv$/, '');
  const metaPath = `${stem}-split-${newShare}.json`;
  try {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as SplitFiles & { fingerprint: string; bytes: number };
    const bytes = (await stat(meta.historyPath)).size + (await stat(meta.newPath)).size;
    if (meta.fingerprint === sample.fingerprint && bytes === meta.bytes) {
      console.error(`reusing ${meta.historyPath} and ${meta.newPath}`);
      return meta;
    }
  } catch {
    // No usable split: make it below.
  }
  console.error(`splitting ${sample.path} by order date (${newShare * 100} % new)`);
  const duck = await openDuckDb({ tempDirectory: workDir });
  try {
    const c = duck.connection;
    // Text columns, so the files keep the sample's values exactly; the date is the UTC day (openDuckDb sets UTC).
    await c.run(`create table sample as
      select *, cast(order_ts as timestamptz)::date as order_date_for_split
      from read_csv(${quoteLiteral(sample.path)}, header = true, all_varchar = true)`);
    const [cut] = await queryRows(
      c,
      `with per_day as (select order_date_for_split as day, count(*) as n from sample group by day),
       from_day as (select day, sum(n) over (order by day desc) as rows_from_day, sum(n) over () as total from per_day)
       select strftime(max(day), '%Y-%m-%d') as cut_date from from_day where rows_from_day >= ${newShare} * total`,
    );
    const cutDate = String(cut!.cut_date);
    const historyPath = `${stem}-before-${cutDate}.csv`;
    const newPath = `${stem}-from-${cutDate}.csv`;
    for (const [path, condition] of [
      [historyPath, '<'],
      [newPath, '>='],
    ] as const) {
      await c.run(`copy (select * exclude (order_date_for_split) from sample
        where order_date_for_split ${condition} date ${quoteLiteral(cutDate)} order by rowid)
        to ${quoteLiteral(path)} (format csv, header true)`);
    }
    const [counts] = await queryRows(
      c,
      `select count(*) filter (where order_date_for_split < date ${quoteLiteral(cutDate)})::integer as history_rows,
              count(*) filter (where order_date_for_split >= date ${quoteLiteral(cutDate)})::integer as new_rows
       from sample`,
    );
    const split: SplitFiles = {
      historyPath,
      newPath,
      cutDate,
      historyRows: Number(counts!.history_rows),
      newRows: Number(counts!.new_rows),
    };
    const bytes = (await stat(historyPath)).size + (await stat(newPath)).size;
    await writeFile(metaPath, JSON.stringify({ ...split, fingerprint: sample.fingerprint, bytes }, null, 2));
    return split;
  } finally {
    duck.close();
  }
}
