import { mkdir } from 'node:fs/promises';
import type { PipelineConfig } from './config.ts';
import { openDuckDb } from './duckdb.ts';
import { ingestSourceFile, type FileKindName, type IngestFileResult } from './ingest/ingest.ts';

export { fileKindFromKey, type FileKindName } from './ingest/ingest.ts';
import type { SourceFile } from './ingest/source-file.ts';
import type { Lake } from './lake.ts';
import { clvProgramModel, type ClvFitReport } from './clv-model.ts';
import { defaultSqlDir } from './sql-files.ts';
import type { CoreContext } from './context.ts';
import { runTransform, type TransformOptions, type TransformResult } from './transform.ts';

export type { IngestFileResult } from './ingest/ingest.ts';
export type { SourceFile } from './ingest/source-file.ts';
export type { TransformOptions, TransformResult } from './transform.ts';

export type PipelineEvent =
  | { readonly kind: 'file'; readonly result: IngestFileResult }
  | { readonly kind: 'step'; readonly message: string }
  | { readonly kind: 'model'; readonly name: string; readonly seconds: number };

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


/**
 * Ingests files one by one; an unreadable file is reported in its result and the others still load.
 * `customers` files list customers (customer_id, optional signup_ts) and add prospects;
 * `acquisition_costs` files give customer_id, acquisition_cost.
 */
export async function ingestFiles(
  deps: PipelineDeps,
  files: readonly SourceFile[],
  kind: FileKindName = 'transactions',
): Promise<IngestFileResult[]> {
  return withCoreContext(deps, async (ctx) => {
    const results: IngestFileResult[] = [];
    for (const file of files) {
      const result = await ingestSourceFile({ ...ctx, now: deps.now?.() ?? new Date() }, file, kind);
      deps.report?.({ kind: 'file', result });
      results.push(result);
    }
    return results;
  });
}

/** Opens DuckDB with the configured settings (spilling under the work folder) for one pipeline step. */
async function withCoreContext<T>(deps: PipelineDeps, step: (ctx: CoreContext) => Promise<T>): Promise<T> {
  await mkdir(deps.workDir, { recursive: true });
  const duck = await openDuckDb({ ...deps.config.duckdb, tempDirectory: deps.config.duckdb.tempDirectory ?? deps.workDir });
  try {
    return await step({
      lake: deps.lake,
      config: deps.config,
      connection: duck.connection,
      connect: duck.connect,
      workDir: deps.workDir,
      sqlDir: deps.sqlDir ?? defaultSqlDir,
      now: deps.now?.() ?? new Date(),
    });
  } finally {
    duck.close();
  }
}

export interface TransformReport extends TransformResult {
  /** The CLV fits and any fallback, for the run summary. */
  readonly clv?: ClvFitReport;
}

/** Computes and publishes every mart for one as_of_date (see runTransform). */
export async function transform(deps: PipelineDeps, options: TransformOptions = {}): Promise<TransformReport> {
  let clv: ClvFitReport | undefined;
  const programModels = [clvProgramModel(deps.config, (report) => (clv = report))];
  const result = await withCoreContext(deps, (ctx) =>
    runTransform(
      {
        ...ctx,
        progress: (message) => deps.report?.({ kind: 'step', message }),
        modelDone: (name, seconds) => deps.report?.({ kind: 'model', name, seconds }),
      },
      programModels,
      options,
    ),
  );
  return clv ? { ...result, clv } : result;
}
