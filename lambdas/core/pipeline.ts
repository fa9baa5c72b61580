import { mkdir } from 'node:fs/promises';
import type { PipelineConfig } from './config.ts';
import { openDuckDb } from './duckdb.ts';
import { ingestCustomersFile, ingestTransactionFile, type IngestFileResult } from './ingest/ingest.ts';
import type { SourceFile } from './ingest/source-file.ts';
import type { Lake } from './lake.ts';
import type { ProgramModel } from './models/runner.ts';
import { defaultSqlDir } from './sql-files.ts';
import { runTransform, type TransformOptions, type TransformResult } from './transform.ts';

export type { IngestFileResult } from './ingest/ingest.ts';
export type { SourceFile } from './ingest/source-file.ts';
export type { TransformOptions, TransformResult } from './transform.ts';

export type PipelineEvent =
  | { readonly kind: 'file'; readonly result: IngestFileResult }
  | { readonly kind: 'step'; readonly message: string };

/** What the pipeline needs from its host (CLI or Lambda): built once, passed in. */
export interface PipelineDeps {
  readonly lake: Lake;
  readonly config: PipelineConfig;
  /** Local scratch folder (Lambda: under /tmp). */
  readonly workDir: string;
  /** The sql/ folder; defaults to the repository's. Lambda bundles pass the copy beside the handler. */
  readonly sqlDir?: string;
  readonly report?: (event: PipelineEvent) => void;
  /** Clock, injectable for tests. */
  readonly now?: () => Date;
}

/** TypeScript models that run among the SQL models (the CLV fit); empty until one is registered. */
const programModels: readonly ProgramModel[] = [];

/**
 * Ingests files one by one; an unreadable file is reported in its result and the others still load.
 * `customers` files list customers (customer_id, optional signup_ts) and add prospects.
 */
export async function ingestFiles(
  deps: PipelineDeps,
  files: readonly SourceFile[],
  kind: 'transactions' | 'customers' = 'transactions',
): Promise<IngestFileResult[]> {
  const ingestOne = kind === 'customers' ? ingestCustomersFile : ingestTransactionFile;
  await mkdir(deps.workDir, { recursive: true });
  const duck = await openDuckDb({ ...deps.config.duckdb, tempDirectory: deps.config.duckdb.tempDirectory ?? deps.workDir });
  try {
    const results: IngestFileResult[] = [];
    for (const file of files) {
      const result = await ingestOne(
        {
          lake: deps.lake,
          config: deps.config,
          connection: duck.connection,
          workDir: deps.workDir,
          sqlDir: deps.sqlDir ?? defaultSqlDir,
          now: deps.now?.() ?? new Date(),
        },
        file,
      );
      deps.report?.({ kind: 'file', result });
      results.push(result);
    }
    return results;
  } finally {
    duck.close();
  }
}

/** Computes and publishes every mart for one as_of_date (see runTransform). */
export async function transform(deps: PipelineDeps, options: TransformOptions = {}): Promise<TransformResult> {
  await mkdir(deps.workDir, { recursive: true });
  const duck = await openDuckDb({ ...deps.config.duckdb, tempDirectory: deps.config.duckdb.tempDirectory ?? deps.workDir });
  try {
    return await runTransform(
      {
        lake: deps.lake,
        config: deps.config,
        connection: duck.connection,
        workDir: deps.workDir,
        sqlDir: deps.sqlDir ?? defaultSqlDir,
        now: deps.now?.() ?? new Date(),
        progress: (message) => deps.report?.({ kind: 'step', message }),
      },
      programModels,
      options,
    );
  } finally {
    duck.close();
  }
}
