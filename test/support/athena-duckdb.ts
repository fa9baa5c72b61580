import { openDuckDb } from '../../lambdas/core/duckdb.ts';
import type { TableSpec } from '../../lambdas/core/schema/tables.ts';

/**
 * The Glue database as empty DuckDB tables (schema `database`, every column plus the partition
 * column), the current schema set to it. Athena SQL built from the same schema source (views, saved
 * queries) can then be checked on DuckDB, whose SQL for those statements matches Athena's Trino.
 */
export async function openCatalogOnDuckDb(database: string, tables: readonly TableSpec[]) {
  const duck = await openDuckDb();
  await duck.connection.run(`CREATE SCHEMA "${database}"`);
  await duck.connection.run(`USE "${database}"`);
  for (const table of tables) {
    const columns = [...table.columns, table.partition].map((c) => `"${c.name}" ${c.type}`);
    await duck.connection.run(`CREATE TABLE "${table.name}" (${columns.join(', ')})`);
  }
  return duck;
}
