import { join } from 'node:path';
import type { DuckDBConnection, DuckDBResultReader } from '@duckdb/node-api';
import { cohortMatrixColumns, cohortMatrixSelect, cohortMatrixView, customer360Select } from './bi-views.ts';
import { noRowsOf, quoteIdent, quoteLiteral } from './duckdb.ts';
import { customer360Columns, customer360View } from './exports.ts';
import { lakeKeys, type Lake } from './lake.ts';
import { cohortRetentionTable, martTables, quarantineTable, transactionsTable, type TableSpec } from './schema/tables.ts';
import { latestPublishedDate, publishedDates, readPublishedIndex } from './snapshots.ts';
import { latestTransactionVersionsSql } from './transaction-versions.ts';

/**
 * The views a query over the published lake can read, by name, each creating its view (and fetching
 * its files) once: `<mart>` = the latest snapshot of every mart, `<mart>_history` = all published
 * snapshots (filter on as_of_date), `customer_360` = one row per customer of the latest snapshot with
 * every per-customer mart's columns and `cohort_matrix` = the latest retention as a cohort × month
 * triangle (the same views as in Athena), `transactions` = current curated rows
 * (later files replace repeated transaction_ids), `transactions_all` = every curated version, and
 * `quarantine_transactions`.
 */
function lakeViews(connection: DuckDBConnection, lake: Lake, workDir: string): Map<string, () => Promise<void>> {
  const index = readPublishedIndex(lake);
  const martFiles = async (spec: TableSpec, dates: readonly string[]): Promise<string> => {
    const snapshots = (await index).snapshots;
    const perDate: string[] = [];
    for (const date of dates) {
      const key = snapshots[date]?.tables[spec.name];
      if (key === undefined) continue;
      const [path] = await lake.fetch([key], join(workDir, 'marts', date));
      perDate.push(
        `select *, date ${quoteLiteral(date)} as as_of_date from read_parquet(${quoteLiteral(path as string)}, hive_partitioning = false)`,
      );
    }
    return perDate.length > 0 ? perDate.join(' union all by name ') : noRowsOf([...spec.columns, spec.partition]);
  };
  const filesUnder = async (prefix: string, folder: string): Promise<string[]> => {
    const keys = (await lake.list(prefix)).map((o) => o.key).filter((k) => k.endsWith('.parquet'));
    return lake.fetch(keys, join(workDir, folder));
  };
  const builders = new Map<string, () => Promise<void>>();
  const view = (name: string, query: () => Promise<string>): void => {
    builders.set(name, async () => {
      await connection.run(`create or replace view ${quoteIdent(name)} as ${await query()}`);
    });
  };

  for (const spec of martTables) {
    view(spec.name, async () => martFiles(spec, publishedDates(await index).slice(-1)));
    view(`${spec.name}_history`, async () => martFiles(spec, publishedDates(await index)));
  }
  view(customer360View, async () => {
    const latest = latestPublishedDate(await index);
    if (latest === undefined) return noRowsOf(customer360Columns(martTables));
    const perCustomer = martTables.filter((t) => t.perCustomer);
    for (const table of perCustomer) await ensureView(builders, table.name);
    return customer360Select(latest, (table) => quoteIdent(table.name), martTables);
  });
  view(cohortMatrixView, async () => {
    const latest = latestPublishedDate(await index);
    if (latest === undefined) return noRowsOf(cohortMatrixColumns());
    await ensureView(builders, cohortRetentionTable.name);
    return cohortMatrixSelect(latest, quoteIdent(cohortRetentionTable.name));
  });
  const partition = transactionsTable.partition;
  view('transactions_all', async () => {
    const paths = await filesUnder(lakeKeys.curatedTransactions, 'curated');
    return paths.length > 0
      ? `select * from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = true,
          hive_types = {'${partition.name}': ${partition.type}})`
      : noRowsOf([...transactionsTable.columns, partition]);
  });
  view('transactions', async () => {
    await ensureView(builders, 'transactions_all');
    return latestTransactionVersionsSql('transactions_all');
  });
  view(quarantineTable.name, async () => {
    const paths = await filesUnder('quarantine/transactions/', 'quarantine');
    return paths.length > 0
      ? `select * from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = true, hive_types = {'ingest_date': VARCHAR})`
      : noRowsOf([...quarantineTable.columns, quarantineTable.partition]);
  });
  return builders;
}

/** Creates the view `name` once: a builder runs the first time only, later calls wait for that run. */
async function ensureView(builders: Map<string, () => Promise<void>>, name: string): Promise<void> {
  const build = builders.get(name);
  if (build === undefined) return;
  const created = build();
  builders.set(name, () => created);
  await created;
}

/** The relation a DuckDB binder error says is missing, lower-cased as DuckDB resolves it. */
function missingRelation(error: unknown): string | undefined {
  return /Table with name "?([^\s"!]+)"? does not exist/.exec(String((error as Error)?.message ?? error))?.[1]?.toLowerCase();
}

/**
 * Creates the lake views `sql` reads (see lakeViews), and only those: each statement is bound first,
 * and every lake view the binder reports missing is created. On a lake in S3 a query of the latest
 * snapshot then downloads that snapshot, not every date's marts, the curated history and the quarantine.
 */
export async function createLakeViewsFor(connection: DuckDBConnection, lake: Lake, workDir: string, sql: string): Promise<void> {
  const builders = lakeViews(connection, lake, workDir);
  const statements = await connection.extractStatements(sql);
  for (let index = 0; index < statements.count; index += 1) {
    for (;;) {
      let missing: string | undefined;
      try {
        (await statements.prepare(index)).destroySync();
        break;
      } catch (error) {
        missing = missingRelation(error);
      }
      // Anything else (a table an earlier statement creates, a typo) is DuckDB's to report when the SQL runs.
      if (missing === undefined || !builders.has(missing) || (await isRelation(connection, missing))) break;
      await ensureView(builders, missing);
    }
  }
}

/** Runs SQL over the published lake, creating the lake views it reads first (createLakeViewsFor). */
export async function queryLake(connection: DuckDBConnection, lake: Lake, workDir: string, sql: string): Promise<DuckDBResultReader> {
  await createLakeViewsFor(connection, lake, workDir, sql);
  return connection.runAndReadAll(sql);
}

async function isRelation(connection: DuckDBConnection, name: string): Promise<boolean> {
  const reader = await connection.runAndReadAll(`select 1 from information_schema.tables where lower(table_name) = $name`, { name });
  return reader.currentRowCount > 0;
}
