/**
 * One measurement in a fresh process, so its peak RSS belongs to it alone (bench/run.ts starts it):
 *
 *   node --import tsx bench/measure.ts '<MeasureRequest as JSON>'
 *
 * `ingest` ingests one file into a lake and `transform` transforms the lake, as the ingest and
 * transform Lambdas do (a pipeline run is one of each, in two processes, so each has its own peak
 * RSS); the transform's stages are timed from the steps the pipeline reports. `baseline` is the least
 * a hand-written job would do: one DuckDB read_csv + GROUP BY customer_id computing recency, frequency
 * and monetary. `lakeWrite` is the least a pipeline keeping the curated lake does: the CSV loaded
 * typed and written as month-partitioned curated Parquet, no checks. Writes the measurement as JSON to
 * `request.result`; timers start after modules load.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { LocalLake } from '../lambdas/adapters/local-lake.ts';
import { loadConfigFile } from '../lambdas/core/config.ts';
import { constantText, openDuckDb, queryRows, quoteLiteral } from '../lambdas/core/duckdb.ts';
import { ingestFiles, transform, type PipelineDeps } from '../lambdas/core/pipeline.ts';
import { transactionsTable } from '../lambdas/core/schema/tables.ts';
import { transformStages, type ModelTime, type StagedSteps, type TimedStep } from './stages.ts';

interface LakeRequest {
  readonly lake: string;
  readonly result: string;
  readonly workDir: string;
  /** A pipeline config JSON (e.g. one setting duckdb.memoryLimit); defaults when absent. */
  readonly config?: string;
}

export type MeasureRequest =
  | (LakeRequest & { readonly kind: 'ingest'; readonly input: string })
  | (LakeRequest & { readonly kind: 'transform' })
  | (CsvRequest & { readonly kind: 'baseline' })
  | (CsvRequest & { readonly kind: 'lakeWrite' });

/** A reference measurement over the sample CSV, with no lake. */
interface CsvRequest {
  readonly input: string;
  readonly result: string;
  readonly workDir: string;
}

/** What every measurement records. */
interface Measured {
  readonly seconds: number;
  /** process.resourceUsage().maxRSS, converted from KiB. */
  readonly maxRssBytes: number;
  readonly loadAverage1mAtStart: number;
}

/** What pipeline steps record besides time: memory and disk. */
interface PipelineMeasured extends Measured {
  /** Largest V8 heap plus external (Buffer, ArrayBuffer) memory, sampled every 250 ms and at each step. */
  readonly peakJsBytes: number;
  /** Largest size seen (sampled every 250 ms) of DuckDB's spill folder and of the whole work folder. */
  readonly peakSpillBytes: number;
  readonly peakWorkDirBytes: number;
  readonly memoryLimit?: string;
}

export interface IngestMeasurement extends PipelineMeasured {
  readonly kind: 'ingest';
  readonly rowsRead: number;
  readonly rowsCurated: number;
}

export interface TransformMeasurement extends PipelineMeasured, StagedSteps {
  readonly kind: 'transform';
  readonly mode: 'full' | 'incremental';
  readonly modeReason: string;
  readonly filesRead: number;
  /** What the lake holds afterwards: curated transactions and the published marts and state. */
  readonly lakeBytes: { readonly curated: number; readonly marts: number; readonly state: number };
}

export interface BaselineMeasurement extends Measured {
  readonly kind: 'baseline';
  /** Customers in the result: a check that it did the whole job. */
  readonly customers: number;
}

/** The reference: the CSV written as the curated lake, with no checks. */
export interface LakeWriteMeasurement extends Measured {
  readonly kind: 'lakeWrite';
  readonly rowsWritten: number;
}

export type Measurement = IngestMeasurement | TransformMeasurement | BaselineMeasurement | LakeWriteMeasurement;

async function folderBytes(folder: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(folder, { recursive: true, withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    // Spill files come and go while the folder is walked.
    total += await stat(join(entry.parentPath, entry.name)).then((s) => s.size, () => 0);
  }
  return total;
}

/**
 * Samples folder sizes and JS memory until stopped, keeping the largest of each. The event loop is
 * free while DuckDB works (queries run on its own threads), so samples keep coming during queries.
 */
function samplePeaks(folders: readonly string[]): { sampleJs: () => void; stop: () => Promise<{ folders: number[]; js: number }> } {
  const peaks = { folders: folders.map(() => 0), js: 0 };
  const sampleJs = () => {
    const memory = process.memoryUsage();
    peaks.js = Math.max(peaks.js, memory.heapUsed + memory.external);
  };
  const sampleFolders = () =>
    Promise.all(folders.map(folderBytes)).then((sizes) =>
      sizes.forEach((size, i) => (peaks.folders[i] = Math.max(peaks.folders[i]!, size))),
    );
  let sampling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sampleJs();
    sampling = sampling.then(sampleFolders);
  }, 250);
  return {
    sampleJs,
    stop: async () => {
      clearInterval(timer);
      await sampling;
      await sampleFolders();
      sampleJs();
      return peaks;
    },
  };
}

const maxRssBytes = () => process.resourceUsage().maxRSS * 1024;

/** Runs one pipeline step with deps for `request`, timing it and sampling memory and disk. */
async function measureStep<T>(
  request: LakeRequest,
  step: (deps: PipelineDeps) => Promise<T>,
): Promise<{ value: T; start: number; end: number; measured: PipelineMeasured }> {
  const config = await loadConfigFile(request.config);
  // openDuckDb spills into <temp directory>/spill; the pipeline's temp directory is the work folder unless configured.
  const spillDir = join(config.duckdb.tempDirectory ?? request.workDir, 'spill');
  const loadAverage1mAtStart = os.loadavg()[0]!;
  const sampler = samplePeaks([spillDir, request.workDir]);
  const deps: PipelineDeps = {
    lake: new LocalLake(request.lake),
    config,
    workDir: request.workDir,
    report: () => sampler.sampleJs(),
  };
  const start = performance.now();
  const value = await step(deps);
  const end = performance.now();
  const peaks = await sampler.stop();
  return {
    value,
    start,
    end,
    measured: {
      seconds: (end - start) / 1000,
      maxRssBytes: maxRssBytes(),
      loadAverage1mAtStart,
      peakJsBytes: peaks.js,
      peakSpillBytes: peaks.folders[0]!,
      peakWorkDirBytes: peaks.folders[1]!,
      ...(config.duckdb.memoryLimit ? { memoryLimit: config.duckdb.memoryLimit } : {}),
    },
  };
}

async function measureIngest(request: Extract<MeasureRequest, { kind: 'ingest' }>): Promise<IngestMeasurement> {
  const { value: results, measured } = await measureStep(request, (deps) =>
    ingestFiles(deps, [{ name: request.input, path: request.input }]),
  );
  const [ingested] = results;
  if (ingested?.status !== 'ingested') throw new Error(`ingest of ${request.input} ended ${ingested?.status}: ${ingested?.error ?? ''}`);
  return { kind: 'ingest', ...measured, rowsRead: ingested.rowsRead, rowsCurated: ingested.rowsCurated };
}

async function measureTransform(request: Extract<MeasureRequest, { kind: 'transform' }>): Promise<TransformMeasurement> {
  const steps: TimedStep[] = [];
  const models: ModelTime[] = [];
  const { value: result, start, end, measured } = await measureStep(request, (deps) =>
    transform({
      ...deps,
      report: (event) => {
        if (event.kind === 'step') steps.push({ message: event.message, at: performance.now() });
        if (event.kind === 'model') models.push({ name: event.name, seconds: event.seconds });
        deps.report?.(event);
      },
    }),
  );
  return {
    kind: 'transform',
    ...measured,
    ...transformStages(steps, models, { start, end }),
    mode: result.mode,
    modeReason: result.modeReason,
    filesRead: result.filesRead,
    lakeBytes: {
      curated: await folderBytes(join(request.lake, 'curated')),
      marts: await folderBytes(join(request.lake, 'marts')),
      state: await folderBytes(join(request.lake, 'state')),
    },
  };
}

async function measureBaseline(request: Extract<MeasureRequest, { kind: 'baseline' }>): Promise<BaselineMeasurement> {
  const loadAverage1mAtStart = os.loadavg()[0]!;
  const start = performance.now();
  // Same engine settings as the pipeline's (openDuckDb defaults), so the ratio compares work, not tuning.
  const duck = await openDuckDb({ tempDirectory: request.workDir });
  try {
    await duck.connection.run(`
      create table rfm as
      with per_customer as (
        select customer_id,
               count(*) filter (where amount > 0) as frequency,
               sum(amount) as monetary,
               max(order_ts) filter (where amount > 0) as last_order_ts
        from read_csv(${quoteLiteral(request.input)}, header = true, columns = {
          'customer_id': 'VARCHAR', 'transaction_id': 'VARCHAR', 'order_ts': 'TIMESTAMP',
          'amount': 'DECIMAL(18,2)', 'quantity': 'INTEGER'})
        group by customer_id)
      select customer_id, frequency, monetary,
             date_diff('day', last_order_ts::date, (max(last_order_ts) over ())::date + 1) as recency_days
      from per_customer`);
    const [counted] = await queryRows(duck.connection, 'select count(*)::integer as customers from rfm');
    const seconds = (performance.now() - start) / 1000;
    return { kind: 'baseline', seconds, maxRssBytes: maxRssBytes(), customers: Number(counted!.customers), loadAverage1mAtStart };
  } finally {
    duck.close();
  }
}

/** How the lake-write reference fills each curated column from the typed CSV (table `typed`). */
const CURATED_FROM_TYPED: Readonly<Record<string, string>> = {
  transaction_id: 'transaction_id',
  customer_id: 'customer_id',
  order_ts: 'order_ts',
  order_date: 'order_ts::date',
  amount: 'amount',
  quantity: 'quantity',
  is_return: 'amount < 0',
  source_row: 'rowid + 1',
  ingested_at: 'now()::timestamp',
};

/** Curated columns that hold one value per file, written as ingest writes its constants. */
const CURATED_CONSTANTS: Readonly<Record<string, string>> = {
  currency: constantText('USD'),
  file_id: constantText('reference'),
  source_file: constantText('reference.csv'),
};

/**
 * The least any pipeline keeping DESIGN's curated lake does: load the CSV typed, then write it as
 * month-partitioned Parquet with the curated columns (the same compression as ingest), no checks.
 */
async function measureLakeWrite(request: Extract<MeasureRequest, { kind: 'lakeWrite' }>): Promise<LakeWriteMeasurement> {
  const loadAverage1mAtStart = os.loadavg()[0]!;
  const start = performance.now();
  const duck = await openDuckDb({ tempDirectory: request.workDir });
  try {
    await duck.connection.run(`create table typed as select * from read_csv(${quoteLiteral(request.input)}, header = true,
      columns = {'customer_id': 'VARCHAR', 'transaction_id': 'VARCHAR', 'order_ts': 'TIMESTAMP', 'amount': 'DECIMAL(18,2)', 'quantity': 'INTEGER'})`);
    const columns = transactionsTable.columns.map((column) => {
      const constant = CURATED_CONSTANTS[column.name];
      if (constant !== undefined) return `${constant} as ${column.name}`;
      const expression = CURATED_FROM_TYPED[column.name];
      if (expression === undefined) throw new Error(`the lake-write reference does not fill curated column ${column.name}`);
      return `cast(${expression} as ${column.type}) as ${column.name}`;
    });
    const [written] = await queryRows(
      duck.connection,
      `copy (select ${columns.join(', ')}, strftime(order_ts, '%Y-%m') as ${transactionsTable.partition.name} from typed)
       to ${quoteLiteral(join(request.workDir, 'curated'))}
       (format parquet, compression zstd, compression_level 1, partition_by (${transactionsTable.partition.name}))`,
    );
    const seconds = (performance.now() - start) / 1000;
    return { kind: 'lakeWrite', seconds, maxRssBytes: maxRssBytes(), rowsWritten: Number(written!.Count), loadAverage1mAtStart };
  } finally {
    duck.close();
  }
}

const request = JSON.parse(process.argv[2] ?? 'null') as MeasureRequest | null;
const kinds = ['ingest', 'transform', 'baseline', 'lakeWrite'];
if (request === null || !kinds.includes(request.kind)) {
  console.error('usage: measure.ts \'{"kind":"ingest"|"transform"|"baseline"|"lakeWrite","result":…,"workDir":…,"lake":…,"input":…}\'');
  process.exit(2);
}
const measurement: Measurement =
  request.kind === 'ingest'
    ? await measureIngest(request)
    : request.kind === 'transform'
      ? await measureTransform(request)
      : request.kind === 'baseline'
        ? await measureBaseline(request)
        : await measureLakeWrite(request);
await writeFile(request.result, JSON.stringify(measurement));
