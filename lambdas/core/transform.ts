import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { DATE, DOUBLE, INTEGER, VARCHAR, dateValue } from '@duckdb/node-api';
import type { CoreContext } from './context.ts';
import { firstLine, noRowsOf, quoteIdent, quoteLiteral, queryRows } from './duckdb.ts';
import { lakeKeys, type Lake } from './lake.ts';
import {
  loadModels,
  ModelRunError,
  modelsUpstreamOf,
  relationsSqlTestsRead,
  runModels,
  runSqlTests,
  type ProgramModel,
  type SqlModel,
} from './models/runner.ts';
import type { CuratedFile } from './ingest/ingest.ts';
import {
  acquisitionCostsTable,
  customerLifecycleTable,
  customersTable,
  martTables,
  stateTables,
  transactionsTable,
  type TableSpec,
} from './schema/tables.ts';
import { latestTransactionVersionsSql, supersededTransactionVersionsSql } from './transaction-versions.ts';
import {
  curatedTransactionFiles,
  missingStateFiles,
  planRebuildBatches,
  planTransform,
  planWindowFiles,
  stateFingerprint,
  type RebuildBatch,
  type TransformPlan,
} from './transform-plan.ts';
import {
  previousSnapshot,
  publishSnapshot,
  readPublishedIndex,
  writeRunManifest,
} from './snapshots.ts';

export interface TransformContext extends CoreContext {
  readonly progress: (message: string) => void;
  /** Each model's own wall time as it finishes (for logs and the bench's stages). */
  readonly modelDone?: (name: string, seconds: number) => void;
}

export interface TransformOptions {
  /** YYYY-MM-DD; default: the latest order_date in the lake. */
  readonly asOfDate?: string;
  readonly runId?: string;
  /** Rebuild the state from every curated file instead of merging new data into the previous state. */
  readonly full?: boolean;
  /** Called after the pointer is switched, before obsolete files are removed (e.g. Glue partitions). */
  readonly onPublished?: (published: TransformResult) => Promise<void>;
}

export interface PublishedTable {
  readonly name: string;
  readonly rows: number;
  readonly key: string;
}

export interface TransformResult {
  readonly runId: string;
  readonly asOfDate: string;
  readonly previousAsOfDate?: string;
  readonly tables: readonly PublishedTable[];
  readonly sqlTests: number;
  /** full: every curated file read; incremental: only data after the previous snapshot merged into its state. */
  readonly mode: 'full' | 'incremental';
  readonly modeReason: string;
  /** Curated files read by this run. */
  readonly filesRead: number;
  /** A full rebuild merged in batches (config transform.rebuildBatchTransactions): how many. */
  readonly rebuildBatches?: number;
}

export class TransformError extends Error {
  override readonly name = 'TransformError';
}

/** Sources the models read, set up before they run. */
export const MODEL_SOURCES = [
  'curated_transactions',
  'curated_customers',
  'curated_acquisition_costs',
  'params',
  'previous_customer_lifecycle',
  ...stateTables.map((s) => s.previousSource),
] as const;

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** Sortable and unique: the time the run started, then a random suffix. */
export function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomUUID().slice(0, 8)}`;
}

/** The rows of curated files `keys`, every version, as `curated_transaction_versions` (empty without files). */
async function attachCuratedFiles(ctx: TransformContext, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) {
    await ctx.connection.run(
      `create or replace view curated_transaction_versions as ${noRowsOf([...transactionsTable.columns, transactionsTable.partition])}`,
    );
    return;
  }
  ctx.progress(`reading ${keys.length} curated file(s)`);
  const paths = await ctx.lake.fetch(keys, join(ctx.workDir, 'curated'));
  await ctx.connection.run(`create or replace view curated_transaction_versions as
    select * from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = true,
      hive_types = {'${transactionsTable.partition.name}': ${transactionsTable.partition.type}})`);
}

async function fromSeveralFiles(ctx: TransformContext): Promise<boolean> {
  const [row] = await queryRows(ctx.connection, 'select count(distinct file_id)::integer as files from curated_transaction_versions');
  return Number(row?.files ?? 0) > 1;
}

/**
 * `curated_transactions`: the batch files' rows, the latest version of each transaction_id. Ingest
 * keeps one row per id in a file, so a batch from one ingested file (a daily run, a single upload) is
 * read as it is, without the search for repeated ids.
 */
async function createTransactionsView(ctx: TransformContext, keys: readonly string[]): Promise<void> {
  await attachCuratedFiles(ctx, keys);
  await ctx.connection.run(
    `create or replace view curated_transactions as ${
      (await fromSeveralFiles(ctx))
        ? latestTransactionVersionsSql('curated_transaction_versions')
        : 'select * from curated_transaction_versions'
    }`,
  );
}

/** A file of a state table: its lake key, and where this run wrote it when it has yet to be uploaded. */
interface StateFile {
  readonly key: string;
  readonly written?: string;
}

/** State table name → its files. */
type StateFiles = Readonly<Record<string, readonly StateFile[]>>;

/**
 * The state tables of the snapshot a run extends, as the previous_* sources the models read. Of a
 * table appended by order month only the files that can hold days leaving the current-value window
 * are read (planWindowFiles); the models pick those days by date.
 */
async function createPreviousStateViews(
  ctx: TransformContext,
  state: StateFiles,
  asOfDate: string,
  stateAsOfDate: string | undefined,
): Promise<void> {
  for (const table of stateTables) {
    const files = state[table.spec.name] ?? [];
    const needed = table.appendedByOrderMonth
      ? new Set(planWindowFiles(files.map((f) => f.key), ctx.config.clv.currentValueMonths, asOfDate, stateAsOfDate).read)
      : new Set(files.map((f) => f.key));
    const read = files.filter((f) => needed.has(f.key));
    const written = read.flatMap((f) => (f.written === undefined ? [] : [f.written]));
    const fetched = await ctx.lake.fetch(
      read.filter((f) => f.written === undefined).map((f) => f.key),
      join(ctx.workDir, 'previous', table.spec.name),
    );
    await createViewOfFiles(ctx, table.previousSource, table.spec, [...written, ...fetched]);
  }
}

/** Where a whole state table's file goes under a run's (or a rebuild batch's) state folder. */
function wholeStatePath(dir: string, spec: TableSpec): string {
  return join(dir, spec.name, `${spec.name}.parquet`);
}

/**
 * The rows of a table's Parquet files, or no rows with its columns when there are none; like every
 * lake read, not taking key=value folders as columns.
 */
function readFilesOf(spec: TableSpec, paths: readonly string[]): string {
  return paths.length === 0
    ? noRowsOf(spec.columns)
    : `select * from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = false)`;
}

/** A state table's files this run wrote, and a query reading its rows back from them. */
interface WrittenState {
  readonly spec: TableSpec;
  readonly files: readonly Required<StateFile>[];
  readonly readBack: string;
}

/**
 * Computes a state table's model straight into its files under `dir`, as marts are, each with the
 * lake key it gets under `keyFolder(table)`: a whole table into one file, a table appended by order
 * month into a file per month named after `part` (so the parts of one run never share a name). The
 * tables are read a few times or not at all in the run, and held in memory they would hold a row per
 * customer (or customer-day) until the end. Undefined for a model that is no state table.
 */
async function writeStateModel(
  ctx: TransformContext,
  model: SqlModel,
  dir: string,
  keyFolder: (table: string) => string,
  part: string,
): Promise<WrittenState | undefined> {
  const table = stateTables.find((t) => t.model === model.name);
  if (table === undefined) return undefined;
  const { spec } = table;
  const tableDir = join(dir, spec.name);
  await mkdir(tableDir, { recursive: true });
  if (!table.appendedByOrderMonth) {
    const path = wholeStatePath(dir, spec);
    await writeModelCast(ctx, spec, model, path);
    return { spec, files: [{ key: `${keyFolder(spec.name)}${spec.name}.parquet`, written: path }], readBack: readFilesOf(spec, [path]) };
  }
  let written: Record<string, unknown>[];
  try {
    written = await queryRows(
      ctx.connection,
      `copy (select ${castsTo(spec)}, strftime(order_date, '%Y-%m') as order_month from (${model.sql}))
       to ${quoteLiteral(tableDir)} (format parquet, ${OUTPUT_PARQUET}, partition_by (order_month),
       filename_pattern ${quoteLiteral(`${part}_{i}`)}, return_stats)`,
    );
  } catch (error) {
    throw new ModelRunError(`model ${model.name} failed: ${firstLine(error)}`);
  }
  const files = written
    .map((file) => {
      const path = String(file.filename);
      return { key: `${keyFolder(spec.name)}${relative(tableDir, path).split(sep).join('/')}`, written: path };
    })
    .toSorted((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return { spec, files, readBack: readFilesOf(spec, files.map((f) => f.written)) };
}

/**
 * A full rebuild in batches (planRebuildBatches): each batch but the last is merged into the state as
 * a daily run merges new data, the state going to Parquet under `dir` between batches, so no step
 * holds more than one batch of transactions. Leaves the last batch as `curated_transactions` and
 * returns the state it extends. A transaction_id repeated across files counts once, in its latest
 * version, whichever batch that falls in.
 */
async function mergeRebuildBatches(
  ctx: TransformContext,
  models: readonly SqlModel[],
  batches: readonly RebuildBatch[],
  dir: string,
  keyFolder: (table: string) => string,
): Promise<StateFiles> {
  ctx.progress(`merging curated history in ${batches.length} batches`);
  await attachCuratedFiles(ctx, [...new Set(batches.flatMap((b) => b.keys))]);
  await ctx.connection.run(
    (await fromSeveralFiles(ctx))
      ? `create or replace table superseded_transaction_versions as ${supersededTransactionVersionsSql('curated_transaction_versions')}`
      : 'create or replace table superseded_transaction_versions (file_id varchar, source_row bigint)',
  );
  const stateModels = modelsUpstreamOf(models, stateTables.map((s) => s.model));
  let state: StateFiles = {};
  for (const [i, batch] of batches.entries()) {
    await attachCuratedFiles(ctx, batch.keys);
    await ctx.connection.run(`create or replace view curated_transactions as
      select * from curated_transaction_versions anti join superseded_transaction_versions using (file_id, source_row)`);
    if (i === batches.length - 1) break;
    ctx.progress(`batch ${i + 1} of ${batches.length}: orders up to ${batch.upTo}`);
    await createPreviousStateViews(ctx, state, batch.upTo, batch.after);
    await createParams(ctx, batch.upTo, undefined, batch.after);
    const batchDir = join(dir, String(i + 1));
    const added: Record<string, readonly StateFile[]> = {};
    await runModels(ctx.connection, stateModels, [], {
      onModel: (name) => ctx.progress(`model ${name}`),
      ...(ctx.modelDone ? { onModelDone: ctx.modelDone } : {}),
      keep: stateTables.map((s) => s.model),
      writeModel: async (model, connection) => {
        const written = await writeStateModel({ ...ctx, connection }, model, batchDir, keyFolder, `batch${i + 1}`);
        if (written === undefined) return undefined;
        added[written.spec.name] = written.files;
        return written.readBack;
      },
    });
    // Whole tables replace the earlier batch's; files appended by month add to them.
    const replaced = stateTables.filter((t) => !t.appendedByOrderMonth).flatMap((t) => state[t.spec.name] ?? []);
    state = Object.fromEntries(
      stateTables.map(({ spec, appendedByOrderMonth }) => [
        spec.name,
        [...(appendedByOrderMonth ? (state[spec.name] ?? []) : []), ...(added[spec.name] ?? [])],
      ]),
    );
    await Promise.all(replaced.map((file) => file.written && rm(file.written, { force: true })));
  }
  return state;
}

const REFERENCE_TABLES = [
  ['curated_customers', customersTable, lakeKeys.curatedCustomers],
  ['curated_acquisition_costs', acquisitionCostsTable, lakeKeys.curatedAcquisitionCosts],
] as const;

/** The curated customers and acquisition-cost files in the lake. */
async function referenceFileKeys(lake: Lake): Promise<string[]> {
  const listed = await Promise.all(REFERENCE_TABLES.map(([, , prefix]) => lake.list(prefix)));
  return listed.flat().map((o) => o.key).filter((key) => key.endsWith('.parquet'));
}

/** `curated_customers` and `curated_acquisition_costs` over those of `keys` under their folders. */
async function createReferenceViews(ctx: TransformContext, keys: readonly string[]): Promise<void> {
  for (const [view, spec, prefix] of REFERENCE_TABLES) {
    const paths = await ctx.lake.fetch(keys.filter((key) => key.startsWith(prefix)), join(ctx.workDir, view));
    await createViewOfFiles(ctx, view, spec, paths);
  }
}

function resolveAsOfDate(files: ReadonlyMap<string, CuratedFile>, requested: string | undefined): string {
  if (requested !== undefined) {
    if (!DATE_PATTERN.test(requested) || Number.isNaN(Date.parse(`${requested}T00:00:00Z`))) {
      throw new TransformError(`as_of_date ${requested} is not a date in YYYY-MM-DD form`);
    }
    return requested;
  }
  const latest = [...files.values()].map((f) => f.maxOrderDate ?? '').sort().at(-1);
  if (!latest) throw new TransformError('curated transactions hold no rows: nothing to compute');
  return latest;
}

async function createParams(
  ctx: TransformContext,
  asOfDate: string,
  previousAsOfDate: string | undefined,
  stateAsOfDate: string | undefined,
): Promise<void> {
  const { lifecycle, clv } = ctx.config;
  await ctx.connection.run(`create or replace table params (
    as_of_date date, previous_as_of_date date, state_as_of_date date, churn_days integer, new_days integer, at_risk_min_days integer,
    at_risk_factor double, loyal_min_orders integer, loyal_min_tenure_days integer, base_currency varchar,
    clv_horizon_months integer, current_value_months integer, tier_a_share double, tier_b_share double,
    quadrant_split_quantile double, current_value_after date, state_current_value_after date)`);
  const toDate = (d: string) => dateValue(Math.round(Date.parse(`${d}T00:00:00Z`) / 86_400_000));
  await ctx.connection.run(
    `insert into params values ($as_of_date, $previous_as_of_date, $state_as_of_date, $churn_days, $new_days, $at_risk_min_days,
      $at_risk_factor, $loyal_min_orders, $loyal_min_tenure_days, $base_currency, $clv_horizon_months,
      $current_value_months, $tier_a_share, $tier_b_share, $quadrant_split_quantile,
      cast($as_of_date::date - to_months($current_value_months) as date),
      cast($state_as_of_date::date - to_months($current_value_months) as date))`,
    {
      as_of_date: toDate(asOfDate),
      previous_as_of_date: previousAsOfDate === undefined ? null : toDate(previousAsOfDate),
      state_as_of_date: stateAsOfDate === undefined ? null : toDate(stateAsOfDate),
      churn_days: lifecycle.churnDays,
      new_days: lifecycle.newDays,
      at_risk_min_days: lifecycle.atRiskMinDays,
      at_risk_factor: lifecycle.atRiskFactor,
      loyal_min_orders: lifecycle.loyalMinOrders,
      loyal_min_tenure_days: lifecycle.loyalMinTenureDays,
      base_currency: ctx.config.baseCurrency,
      clv_horizon_months: clv.horizonMonths,
      current_value_months: clv.currentValueMonths,
      tier_a_share: clv.tierAShare,
      tier_b_share: clv.tierBShare,
      quadrant_split_quantile: clv.quadrantSplitQuantile,
    },
    {
      as_of_date: DATE,
      previous_as_of_date: DATE,
      state_as_of_date: DATE,
      churn_days: INTEGER,
      new_days: INTEGER,
      at_risk_min_days: INTEGER,
      at_risk_factor: DOUBLE,
      loyal_min_orders: INTEGER,
      loyal_min_tenure_days: INTEGER,
      base_currency: VARCHAR,
      clv_horizon_months: INTEGER,
      current_value_months: INTEGER,
      tier_a_share: DOUBLE,
      tier_b_share: DOUBLE,
      quadrant_split_quantile: DOUBLE,
    },
  );
}

/** The previous snapshot's table under `source`: a view over its file, or of no rows without one. */
async function createPreviousTable(ctx: TransformContext, source: string, spec: TableSpec, key: string | undefined): Promise<void> {
  const paths = key === undefined ? [] : await ctx.lake.fetch([key], join(ctx.workDir, 'previous'));
  await createViewOfFiles(ctx, source, spec, paths);
}

/**
 * A view over Parquet files, or of no rows with the table's columns when there are none. A view: the
 * models read each previous table once or twice, which costs less than copying it in.
 */
async function createViewOfFiles(ctx: TransformContext, view: string, spec: TableSpec, paths: readonly string[]): Promise<void> {
  await ctx.connection.run(`create or replace view ${quoteIdent(view)} as ${readFilesOf(spec, paths)}`);
}

/**
 * Transaction ids of this batch that already appear in merged history: a replacement the state cannot
 * undo. Of the merged files only those that can hold a batch id are read: files with orders on or
 * before the state date (later rows are not merged history) whose recorded transaction_id bounds
 * enclose one of the batch's ids. Ids that grow with time (order numbers) rule out every older file
 * without a download; files without recorded bounds are always read.
 */
async function replacesMergedHistory(
  ctx: TransformContext,
  plan: TransformPlan,
  files: ReadonlyMap<string, CuratedFile>,
  asOfDate: string,
): Promise<boolean> {
  const stateAsOfDate = plan.stateAsOfDate;
  if (stateAsOfDate === undefined || plan.batchKeys.length === 0) return false;
  const history = Object.keys(plan.curatedFiles)
    .map((key) => files.get(key))
    .filter((file): file is CuratedFile => file !== undefined && (file.minOrderDate ?? '') <= stateAsOfDate);
  if (history.length === 0) return false;
  const c = ctx.connection;
  await c.run(`create or replace temp table batch_transaction_ids as
    select distinct transaction_id from curated_transactions
    where order_date > date ${quoteLiteral(stateAsOfDate)} and order_date <= date ${quoteLiteral(asOfDate)}`);
  const toRead = new Set<string>();
  const bounds: string[] = [];
  for (const { key, transactionIdsFrom: from, transactionIdsTo: to } of history) {
    if (from === undefined || to === undefined) toRead.add(key);
    else bounds.push(`(${quoteLiteral(key)}, ${quoteLiteral(from)}, ${quoteLiteral(to)})`);
  }
  if (bounds.length > 0) {
    // For each file, the smallest batch id at or above its lower bound; the file can hold a batch id
    // only when that id is within its upper bound. VARCHAR comparison is byte order, as the bounds are.
    const rows = await queryRows(
      c,
      `select bounds.file_key from (values ${bounds.join(', ')}) as bounds(file_key, ids_from, ids_to)
       asof join batch_transaction_ids on batch_transaction_ids.transaction_id >= bounds.ids_from
       where batch_transaction_ids.transaction_id <= bounds.ids_to`,
    );
    for (const row of rows) toRead.add(String(row.file_key));
  }
  if (toRead.size === 0) return false;
  const paths = await ctx.lake.fetch([...toRead].sort(), join(ctx.workDir, 'curated'));
  const [row] = await queryRows(
    c,
    `select count(*)::integer as n from batch_transaction_ids
     semi join (
       select transaction_id from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = false)
       where order_date <= date ${quoteLiteral(stateAsOfDate)}
     ) as history using (transaction_id)`,
  );
  return Number(row?.n ?? 0) > 0;
}

/** Checks a mart model's query has exactly the columns the schema source declares. */
async function checkMartColumns(ctx: TransformContext, spec: TableSpec, sql: string): Promise<void> {
  const actual = (await queryRows(ctx.connection, `select column_name from (describe (${sql}))`)).map((r) =>
    String(r.column_name),
  );
  const declared = spec.columns.map((c) => c.name);
  const missing = declared.filter((c) => !actual.includes(c));
  const extra = actual.filter((c) => !declared.includes(c));
  if (missing.length > 0 || extra.length > 0) {
    throw new ModelRunError(
      `model ${spec.name} does not match its schema: ${missing.length ? `missing ${missing.join(', ')}` : ''}${
        missing.length && extra.length ? '; ' : ''
      }${extra.length ? `undeclared ${extra.join(', ')}` : ''}`,
    );
  }
}

/** Marts and state: ZSTD at level 1, as small as the default level for these tables and faster to write. */
const OUTPUT_PARQUET = 'compression zstd, compression_level 1';

/** The table's columns, each cast to the type its schema source declares. */
function castsTo(spec: TableSpec): string {
  return spec.columns.map((c) => `cast(${quoteIdent(c.name)} as ${c.type}) as ${quoteIdent(c.name)}`).join(', ');
}

/**
 * Writes a relation (a model's name or its query in parentheses) cast to the schema source's types and
 * returns the rows written. Rows are not sorted: at a million customers a sort per table costs more
 * than the write.
 */
async function writeCast(ctx: TransformContext, spec: TableSpec, relation: string, path: string): Promise<number> {
  // COPY reports the rows it wrote, so a model that is a view is not computed a second time to count them.
  const [written] = await queryRows(
    ctx.connection,
    `copy (select ${castsTo(spec)} from ${relation}) to ${quoteLiteral(path)} (format parquet, ${OUTPUT_PARQUET})`,
  );
  return Number(written?.Count ?? 0);
}

/**
 * Computes a model straight into its file, cast to `spec`. Its query runs inside the write, so a
 * failure is the model's own or its cast to the schema's types; DuckDB's message says which.
 */
async function writeModelCast(ctx: TransformContext, spec: TableSpec, model: SqlModel, path: string): Promise<number> {
  try {
    return await writeCast(ctx, spec, `(${model.sql})`, path);
  } catch (error) {
    throw new ModelRunError(`model ${model.name} failed: ${firstLine(error)}`);
  }
}

/** Computes a mart model into its file once its columns are checked against the schema source. */
async function writeMartModel(ctx: TransformContext, spec: TableSpec, model: SqlModel, path: string): Promise<number> {
  await checkMartColumns(ctx, spec, model.sql);
  return writeModelCast(ctx, spec, model, path);
}

/**
 * Uploads started as a run's files are written, so that they overlap the models still to run (on S3 a
 * large run's marts and state are gigabytes). Each key is uploaded once; `finished` reports the first
 * failure; `discard` (a failed run) waits for every upload to land, then deletes them all.
 */
function backgroundUploads(lake: Lake) {
  const pending = new Map<string, Promise<void>>();
  return {
    start(path: string, key: string): void {
      if (pending.has(key)) return;
      const upload = lake.upload(path, key);
      // Observed by finished() or discard(); until then a failure must not count as unhandled.
      upload.catch(() => undefined);
      pending.set(key, upload);
    },
    finished: async (): Promise<void> => {
      await Promise.all(pending.values());
    },
    discard: async (): Promise<void> => {
      await Promise.allSettled(pending.values());
      await lake.delete([...pending.keys()]);
    },
  };
}

/**
 * Computes every mart for one as_of_date and publishes it atomically: files go under a fresh run
 * folder, SQL tests run, and only then the publication pointer moves. A failure leaves the
 * published state as it was and marks the run failed.
 */
export async function runTransform(
  ctx: TransformContext,
  programModels: readonly ProgramModel[],
  options: TransformOptions = {},
): Promise<TransformResult> {
  const runId = options.runId ?? newRunId(ctx.now);
  const startedAt = ctx.now.toISOString();
  const files = await curatedTransactionFiles(ctx.lake);
  if (files.size === 0) {
    throw new TransformError(`no curated transactions in ${ctx.lake.location}: ingest transaction files first`);
  }
  const asOfDate = resolveAsOfDate(files, options.asOfDate);
  const index = await readPublishedIndex(ctx.lake);
  const previous = previousSnapshot(index, asOfDate);
  const fingerprint = await stateFingerprint(ctx.sqlDir, ctx.config);
  const forceFull = options.full ?? false;
  const missingState = forceFull ? [] : await missingStateFiles(ctx.lake, previous?.snapshot);
  const referenceFiles = await referenceFileKeys(ctx.lake);
  let plan = planTransform({ files, referenceFiles, previous, fingerprint, forceFull, missingState });
  if (plan.mode === 'incremental') {
    await createTransactionsView(ctx, plan.batchKeys);
    if (await replacesMergedHistory(ctx, plan, files, asOfDate)) {
      plan = {
        ...planTransform({ files, referenceFiles, fingerprint, forceFull: true }),
        reason: 'a new file repeats transaction_ids of merged history',
      };
    }
  }
  const rebuildBatches =
    plan.mode === 'full' ? planRebuildBatches(files, asOfDate, ctx.config.transform.rebuildBatchTransactions) : [];
  if (rebuildBatches.length === 1) await createTransactionsView(ctx, plan.batchKeys);
  ctx.progress(`${plan.mode} run: ${plan.reason}`);
  await createReferenceViews(ctx, plan.referenceBatchKeys);
  await writeRunManifest(ctx.lake, { runId, asOfDate, status: 'running', startedAt });

  const runDir = join(ctx.workDir, `run-${runId}`);
  const uploads = backgroundUploads(ctx.lake);
  let published = false;
  try {
    await mkdir(runDir, { recursive: true });
    // Nothing downstream depends on row order (outputs are unsorted, the CLV fit orders its input), and
    // not keeping it lets DuckDB build and write tables with less buffering.
    await ctx.connection.run('set preserve_insertion_order = false');
    const models = await loadModels(ctx.sqlDir, MODEL_SOURCES, programModels);
    const stateKeyFolder = (table: string) => lakeKeys.stateFolder(table, asOfDate, runId);
    const rebuiltState =
      rebuildBatches.length > 1
        ? await mergeRebuildBatches(ctx, models, rebuildBatches, join(runDir, 'rebuild'), stateKeyFolder)
        : undefined;
    const stateAsOfDate = rebuiltState ? rebuildBatches.at(-1)?.after : plan.stateAsOfDate;
    const previousState: StateFiles =
      rebuiltState ??
      (plan.mode === 'incremental'
        ? Object.fromEntries(Object.entries(previous?.snapshot.state ?? {}).map(([name, keys]) => [name, keys.map((key) => ({ key }))]))
        : {});
    await createParams(ctx, asOfDate, previous?.asOfDate, stateAsOfDate);
    await createPreviousTable(
      ctx,
      'previous_customer_lifecycle',
      customerLifecycleTable,
      previous?.snapshot.tables[customerLifecycleTable.name],
    );
    await createPreviousStateViews(ctx, previousState, asOfDate, stateAsOfDate);
    // Marts and whole state tables are written as they are computed (the SQL tests and later models
    // read the files back) and uploaded while the run goes on: nothing is published before the tests
    // pass and the pointer moves, and a failed run deletes what it uploaded.
    const stateDir = join(runDir, 'state');
    const martSpecs = new Map(martTables.map((spec) => [spec.name, spec]));
    const writtenMarts = new Map<string, { key: string; rows: number }>();
    const addedState: Record<string, readonly StateFile[]> = {};
    await runModels(ctx.connection, models, programModels, {
      onModel: (name) => ctx.progress(`model ${name}`),
      ...(ctx.modelDone ? { onModelDone: ctx.modelDone } : {}),
      keep: [...martTables.map((t) => t.name), ...stateTables.map((s) => s.model), ...(await relationsSqlTestsRead(ctx.sqlDir))],
      connect: ctx.connect,
      writeModel: async (model, connection) => {
        const spec = martSpecs.get(model.name);
        if (spec === undefined) {
          const state = await writeStateModel({ ...ctx, connection }, model, stateDir, stateKeyFolder, 'run');
          if (state === undefined) return undefined;
          addedState[state.spec.name] = state.files;
          for (const { written, key } of state.files) uploads.start(written, key);
          return state.readBack;
        }
        const path = join(runDir, `${spec.name}.parquet`);
        const key = lakeKeys.martFile(spec.name, asOfDate, runId);
        writtenMarts.set(spec.name, { key, rows: await writeMartModel({ ...ctx, connection }, spec, model, path) });
        uploads.start(path, key);
        return readFilesOf(spec, [path]);
      },
    });
    ctx.progress('running SQL tests');
    const sqlTests = await runSqlTests(ctx.connection, ctx.sqlDir);

    const tables: PublishedTable[] = martTables.map((spec) => {
      const written = writtenMarts.get(spec.name);
      if (written === undefined) throw new TransformError(`no model wrote the mart ${spec.name}`);
      return { name: spec.name, rows: written.rows, key: written.key };
    });
    const state: Record<string, string[]> = {};
    for (const { spec, appendedByOrderMonth } of stateTables) {
      let files = addedState[spec.name] ?? [];
      if (appendedByOrderMonth) {
        const all = [...(previousState[spec.name] ?? []), ...files];
        const kept = new Set(planWindowFiles(all.map((f) => f.key), ctx.config.clv.currentValueMonths, asOfDate).keep);
        files = all.filter((f) => kept.has(f.key));
      }
      for (const { key, written } of files) {
        if (written !== undefined) uploads.start(written, key);
      }
      state[spec.name] = files.map((f) => f.key);
    }
    ctx.progress('finishing uploads');
    await uploads.finished();
    ctx.progress('publishing');
    const { obsolete } = await publishSnapshot(
      ctx.lake,
      asOfDate,
      {
        runId,
        publishedAt: new Date().toISOString(),
        tables: Object.fromEntries(tables.map((t) => [t.name, t.key])),
        state,
        curatedFiles: plan.curatedFiles,
        referenceFiles: plan.referenceFiles,
        stateFingerprint: plan.stateFingerprint,
      },
      ctx.config.transform.stateSnapshots,
    );
    published = true;
    const result: TransformResult = {
      runId,
      asOfDate,
      ...(previous ? { previousAsOfDate: previous.asOfDate } : {}),
      tables,
      sqlTests,
      mode: plan.mode,
      modeReason: plan.reason,
      filesRead: plan.batchKeys.length,
      ...(rebuildBatches.length > 1 ? { rebuildBatches: rebuildBatches.length } : {}),
    };
    await writeRunManifest(ctx.lake, {
      runId,
      asOfDate,
      status: 'published',
      startedAt,
      finishedAt: new Date().toISOString(),
      tables: Object.fromEntries(tables.map((t) => [t.name, { key: t.key, rows: t.rows }])),
    });
    await options.onPublished?.(result);
    await ctx.lake.delete(obsolete);
    return result;
  } catch (error) {
    const message = (error as Error).message;
    if (published) {
      throw new TransformError(`run ${runId} for ${asOfDate} was published, then a follow-up step failed: ${message}`);
    }
    await uploads.discard().catch(() => undefined);
    await writeRunManifest(ctx.lake, {
      runId,
      asOfDate,
      status: 'failed',
      startedAt,
      finishedAt: new Date().toISOString(),
      error: message,
    }).catch(() => undefined);
    throw error instanceof TransformError ? error : new TransformError(`transform for ${asOfDate} (run ${runId}) failed: ${message}`);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}
