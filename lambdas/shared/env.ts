import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig, type PipelineConfig } from '../core/config.ts';
import type { DuckDbSettings } from '../core/duckdb.ts';

export class MissingEnvironmentError extends Error {
  override readonly name = 'MissingEnvironmentError';
}

type EnvValues<Required extends string, Optional extends string> = { readonly [K in Required]: string } & {
  readonly [K in Optional]: string | undefined;
};

/**
 * Reads a Lambda's settings once, at cold start: every required variable must be set and non-empty,
 * and the error names all that are missing, so a misdeployed function says what to fix on first use.
 */
export function readEnv<const Required extends string, const Optional extends string = never>(
  names: { readonly required: readonly Required[]; readonly optional?: readonly Optional[] },
  env: NodeJS.ProcessEnv = process.env,
): EnvValues<Required, Optional> {
  const missing = names.required.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new MissingEnvironmentError(`missing environment variable(s): ${missing.join(', ')}`);
  }
  const values: Record<string, string | undefined> = {};
  for (const name of [...names.required, ...(names.optional ?? [])]) values[name] = env[name] || undefined;
  return values as EnvValues<Required, Optional>;
}

/** Share of the function's memory given to DuckDB: the process (Node, buffers, Parquet writers) needs the rest. */
export const DUCKDB_MEMORY_SHARE = 0.7;

/**
 * DuckDB settings for the function this code runs in: memory_limit from the configured memory size,
 * a thread per CPU the function sees (Lambda shows 2 up to 3,008 MB with less than two cores of CPU
 * time; one thread there was not better: README "Settings"), spill files under the temp directory
 * (/tmp on Lambda). Outside Lambda the memory size is unknown and DuckDB keeps its own default.
 */
export function lambdaDuckDbSettings(env: NodeJS.ProcessEnv = process.env): DuckDbSettings {
  const memoryMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return {
    ...(Number.isFinite(memoryMb) && memoryMb > 0 ? { memoryLimit: `${Math.floor(memoryMb * DUCKDB_MEMORY_SHARE)}MB` } : {}),
    threads: availableParallelism(),
    tempDirectory: join(tmpdir(), 'lifecycle-lake-duckdb'),
  };
}

/** What both pipeline Lambdas read from their environment, as plain typed values. */
export interface PipelineSettings {
  readonly lakeBucket: string;
  /** Key prefix of the lake inside the bucket: '' for the bucket root, else ending with '/'. */
  readonly lakePrefix: string;
  /**
   * PIPELINE_CONFIG, validated, with DuckDB sized for this function: its memory limit is the function's
   * DUCKDB_MEMORY_LIMIT when set, else the config's, else 70 % of the function's memory.
   */
  readonly config: PipelineConfig;
  /** Scratch folder under /tmp (the only writable place on Lambda). */
  readonly workDir: string;
  /** SQL_DIR, else the sql/ folder the bundle ships beside the handler on Lambda; the repository's when neither. */
  readonly sqlDir: string | undefined;
}

export function readPipelineSettings(env: NodeJS.ProcessEnv = process.env): PipelineSettings {
  const values = readEnv(
    { required: ['LAKE_BUCKET', 'PIPELINE_CONFIG'], optional: ['LAKE_PREFIX', 'SQL_DIR', 'LAMBDA_TASK_ROOT', 'DUCKDB_MEMORY_LIMIT'] },
    env,
  );
  let raw: unknown;
  try {
    raw = JSON.parse(values.PIPELINE_CONFIG);
  } catch (error) {
    throw new ConfigError(`PIPELINE_CONFIG is not valid JSON: ${(error as Error).message}`);
  }
  const config = parseConfig(raw, 'PIPELINE_CONFIG');
  const sized = lambdaDuckDbSettings(env);
  const prefix = (values.LAKE_PREFIX ?? '').replace(/^\/+|\/+$/g, '');
  return {
    lakeBucket: values.LAKE_BUCKET,
    lakePrefix: prefix === '' ? '' : `${prefix}/`,
    config: {
      ...config,
      duckdb: {
        // The function's own limit (lambda.<function>.duckdbMemoryLimit), then the pipeline's, then 70 %.
        memoryLimit: values.DUCKDB_MEMORY_LIMIT ?? config.duckdb.memoryLimit ?? sized.memoryLimit,
        threads: config.duckdb.threads ?? sized.threads,
        tempDirectory: config.duckdb.tempDirectory ?? sized.tempDirectory,
      },
    },
    workDir: join(tmpdir(), 'lifecycle-lake'),
    sqlDir: values.SQL_DIR ?? (values.LAMBDA_TASK_ROOT === undefined ? undefined : join(values.LAMBDA_TASK_ROOT, 'sql')),
  };
}
