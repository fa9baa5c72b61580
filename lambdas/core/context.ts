import type { DuckDBConnection } from '@duckdb/node-api';
import type { PipelineConfig } from './config.ts';
import type { Lake } from './lake.ts';

/** What every pipeline step works with: the lake, the config, an open DuckDB and local folders. */
export interface CoreContext {
  readonly lake: Lake;
  readonly config: PipelineConfig;
  readonly connection: DuckDBConnection;
  /** Another connection to the database of `connection`, for work that runs beside it. */
  readonly connect: () => Promise<DuckDBConnection>;
  readonly workDir: string;
  readonly sqlDir: string;
  readonly now: Date;
}
