import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

export interface DuckDbSettings {
  /** e.g. "4GB"; DuckDB's default when absent. */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /** Spill folder; a folder under the OS temp directory when absent. */
  readonly tempDirectory?: string;
}

/**
 * The one place DuckDB is configured. Home, extension and temp folders go under the temp directory so
 * the same code runs where only /tmp is writable (Lambda), and no extension is ever downloaded.
 */
export async function openDuckDb(settings: DuckDbSettings = {}): Promise<{
  connection: DuckDBConnection;
  /** Another connection to the same database, set up as `connection` is; closed by `close` at the latest. */
  connect: () => Promise<DuckDBConnection>;
  close: () => void;
}> {
  const base = settings.tempDirectory ?? join(tmpdir(), 'lifecycle-lake-duckdb');
  await mkdir(base, { recursive: true });
  const config: Record<string, string> = {
    home_directory: base,
    extension_directory: join(base, 'extensions'),
    temp_directory: join(base, 'spill'),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'true',
  };
  if (settings.memoryLimit) config.memory_limit = settings.memoryLimit;
  if (settings.threads) config.threads = String(settings.threads);
  const instance = await DuckDBInstance.create(':memory:', config);
  const connect = async () => {
    const connection = await instance.connect();
    // Day counts and order months are UTC by contract; the setting (per connection) needs icu, loaded after start-up.
    await connection.run("SET TimeZone = 'UTC'");
    return connection;
  };
  const connection = await connect();
  return {
    connection,
    connect,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Quotes an identifier for DuckDB SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A query of no rows with these columns, for a view standing in for files that do not exist (yet): a
 * view, so a later view over real files can replace it under the same name.
 */
export function noRowsOf(columns: readonly { readonly name: string; readonly type: string }[]): string {
  return `select ${columns.map((c) => `cast(null as ${c.type}) as ${quoteIdent(c.name)}`).join(', ')} where false`;
}

/** Quotes a string literal; only for values DuckDB cannot take as parameters (file paths in COPY/read_*, view definitions). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A text constant as a one-value ENUM, for a column that holds the same text on every row it writes.
 * Parquet stores it as the same UTF-8 string column a VARCHAR gives, but the writer skips hashing the
 * value on every row: per constant column, about a tenth of the time a 10M-row curated write takes.
 */
export function constantText(value: string): string {
  const literal = quoteLiteral(value);
  return `cast(${literal} as enum(${literal}))`;
}

/** The first line of an error's message: DuckDB puts its context (the query, a caret) on the lines after. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** Rows as JS values: DECIMAL and DOUBLE as number, DATE/TIMESTAMP as Date, BIGINT as bigint (cast counts to INTEGER). */
export async function queryRows(
  connection: DuckDBConnection,
  sql: string,
  params?: Record<string, DuckDBValue>,
): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql, params);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}
