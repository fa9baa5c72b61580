import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from './duckdb.ts';
import { lakeKeys, type Lake } from './lake.ts';
import { martTables, quarantineTable, transactionsTable } from './schema/tables.ts';
import { publishedDates, readPublishedIndex } from './snapshots.ts';
import { latestTransactionVersionsSql } from './transaction-versions.ts';

export interface LakeViews {
  /** View names created, for help text. */
  readonly views: readonly string[];
  readonly latestAsOfDate?: string;
}

/**
 * Creates, over the published state of a lake: `<table>` = the latest snapshot of every mart,
 * `<table>_history` = all published snapshots (filter on as_of_date), `transactions` = current
 * curated rows (later files replace repeated transaction_ids), `transactions_all` = every curated
 * version, and `quarantine_transactions`.
 */
export async function createLakeViews(connection: DuckDBConnection, lake: Lake, workDir: string): Promise<LakeViews> {
  const index = await readPublishedIndex(lake);
  const dates = publishedDates(index);
  const views: string[] = [];
  for (const spec of martTables) {
    const files: { date: string; path: string }[] = [];
    for (const date of dates) {
      const key = index.snapshots[date]?.tables[spec.name];
      if (key === undefined) continue;
      const [path] = await lake.fetch([key], join(workDir, 'marts', date));
      files.push({ date, path: path as string });
    }
    const perDate = files.map(
      (f) =>
        `select *, date ${quoteLiteral(f.date)} as as_of_date from read_parquet(${quoteLiteral(f.path)}, hive_partitioning = false)`,
    );
    const empty = `select ${spec.columns.map((c) => `null::${c.type} as ${quoteIdent(c.name)}`).join(', ')}, null::date as as_of_date where false`;
    const history = perDate.length > 0 ? perDate.join(' union all by name ') : empty;
    const latest = perDate.at(-1) ?? empty;
    await connection.run(`create or replace view ${quoteIdent(`${spec.name}_history`)} as ${history}`);
    await connection.run(`create or replace view ${quoteIdent(spec.name)} as ${latest}`);
    views.push(spec.name, `${spec.name}_history`);
  }

  const curatedKeys = (await lake.list(lakeKeys.curatedTransactions)).map((o) => o.key).filter((k) => k.endsWith('.parquet'));
  if (curatedKeys.length > 0) {
    const paths = await lake.fetch(curatedKeys, join(workDir, 'curated'));
    await connection.run(`create or replace view transactions_all as
      select * from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = true,
        hive_types = {'${transactionsTable.partition.name}': ${transactionsTable.partition.type}})`);
  } else {
    await connection.run(
      `create or replace view transactions_all as select ${transactionsTable.columns
        .map((c) => `null::${c.type} as ${quoteIdent(c.name)}`)
        .join(', ')}, null::varchar as order_month where false`,
    );
  }
  await connection.run(`create or replace view transactions as ${latestTransactionVersionsSql('transactions_all')}`);
  views.push('transactions', 'transactions_all');

  const quarantineKeys = (await lake.list('quarantine/transactions/')).map((o) => o.key).filter((k) => k.endsWith('.parquet'));
  const quarantinePaths = await lake.fetch(quarantineKeys, join(workDir, 'quarantine'));
  await connection.run(
    quarantinePaths.length > 0
      ? `create or replace view ${quarantineTable.name} as select * from read_parquet([${quarantinePaths
          .map(quoteLiteral)
          .join(', ')}], hive_partitioning = true, hive_types = {'ingest_date': VARCHAR})`
      : `create or replace view ${quarantineTable.name} as select ${quarantineTable.columns
          .map((c) => `null::${c.type} as ${quoteIdent(c.name)}`)
          .join(', ')}, null::varchar as ingest_date where false`,
  );
  views.push(quarantineTable.name);
  return { views, ...(dates.length > 0 ? { latestAsOfDate: dates.at(-1) } : {}) };
}
