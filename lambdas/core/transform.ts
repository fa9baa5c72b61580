import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DATE, DOUBLE, INTEGER, VARCHAR, dateValue } from '@duckdb/node-api';
import type { CoreContext } from './context.ts';
import { quoteIdent, quoteLiteral, queryRows } from './duckdb.ts';
import { lakeKeys } from './lake.ts';
import { loadModels, modelsUpstreamOf, runModels, runSqlTests, type ProgramModel, type SqlModel } from './models/runner.ts';
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
  planRebuildBatches,
  planTransform,
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

function columnList(spec: TableSpec): string {
  return spec.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
}

/**
 * A query of no rows with the table's columns (and extra ones), for a view standing in for missing
 * files: a view, so a later view over real files can replace it under the same name.
 */
function noRowsOf(spec: TableSpec, extra: readonly { name: string; type: string }[] = []): string {
  const columns = [...spec.columns, ...extra].map((c) => `cast(null as ${c.type}) as ${quoteIdent(c.name)}`);
  return `select ${columns.join(', ')} where false`;
}

/** The rows of curated files `keys`, every version, as `curated_transaction_versions` (empty without files). */
async function attachCuratedFiles(ctx: TransformContext, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) {
    await ctx.connection.run(
      `create or replace view curated_transaction_versions as ${noRowsOf(transactionsTable, [transactionsTable.partition])}`,
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

/** Writes the state models to Parquet under `dir` and reads them back as the next batch's previous state. */
async function keepStateForNextBatch(ctx: TransformContext, dir: string): Promise<Record<string, string>> {
  ctx.progress('keeping the state for the next batch');
  await mkdir(dir, { recursive: true });
  const paths: Record<string, string> = {};
  for (const { spec, model, previousSource } of stateTables) {
    const path = join(dir, `${spec.name}.parquet`);
    await writeMart(ctx, spec, model, path);
    await createPreviousView(ctx, previousSource, path);
    paths[spec.name] = path;
  }
  return paths;
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
): Promise<Record<string, string>> {
  ctx.progress(`merging curated history in ${batches.length} batches`);
  await attachCuratedFiles(ctx, [...new Set(batches.flatMap((b) => b.keys))]);
  await ctx.connection.run(
    (await fromSeveralFiles(ctx))
      ? `create or replace table superseded_transaction_versions as ${supersededTransactionVersionsSql('curated_transaction_versions')}`
      : 'create or replace table superseded_transaction_versions (file_id varchar, source_row bigint)',
  );
  const stateModels = modelsUpstreamOf(models, stateTables.map((s) => s.model));
  for (const { spec, previousSource } of stateTables) await createPreviousTable(ctx, previousSource, spec, undefined);
  let state: Record<string, string> = {};
  for (const [i, batch] of batches.entries()) {
    await attachCuratedFiles(ctx, batch.keys);
    await ctx.connection.run(`create or replace view curated_transactions as
      select * from curated_transaction_versions anti join superseded_transaction_versions using (file_id, source_row)`);
    if (i === batches.length - 1) break;
    ctx.progress(`batch ${i + 1} of ${batches.length}: orders up to ${batch.upTo}`);
    await createParams(ctx, batch.upTo, undefined, batch.after);
    await runModels(ctx.connection, stateModels, [], (name) => ctx.progress(`model ${name}`));
    const earlier = Object.values(state);
    state = await keepStateForNextBatch(ctx, join(dir, String(i + 1)));
    await Promise.all(earlier.map((path) => rm(path, { force: true })));
  }
  return state;
}

async function createReferenceViews(ctx: TransformContext): Promise<void> {
  const c = ctx.connection;
  for (const [view, spec, prefix] of [
    ['curated_customers', customersTable, lakeKeys.curatedCustomers],
    ['curated_acquisition_costs', acquisitionCostsTable, lakeKeys.curatedAcquisitionCosts],
  ] as const) {
    const keys = (await ctx.lake.list(prefix)).map((o) => o.key).filter((k) => k.endsWith('.parquet'));
    const paths = await ctx.lake.fetch(keys, join(ctx.workDir, view));
    await c.run(
      paths.length > 0
        ? `create or replace view ${view} as select * from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = false)`
        : `create or replace table ${view} (${columnList(spec)})`,
    );
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
    quadrant_split_quantile double)`);
  const toDate = (d: string) => dateValue(Math.round(Date.parse(`${d}T00:00:00Z`) / 86_400_000));
  await ctx.connection.run(
    `insert into params values ($as_of_date, $previous_as_of_date, $state_as_of_date, $churn_days, $new_days, $at_risk_min_days,
      $at_risk_factor, $loyal_min_orders, $loyal_min_tenure_days, $base_currency, $clv_horizon_months,
      $current_value_months, $tier_a_share, $tier_b_share, $quadrant_split_quantile)`,
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

/** The previous snapshot's table under `source` (a view over its file), or a view of no rows with its columns. */
async function createPreviousTable(ctx: TransformContext, source: string, spec: TableSpec, key: string | undefined): Promise<void> {
  if (key === undefined) {
    await ctx.connection.run(`create or replace view ${quoteIdent(source)} as ${noRowsOf(spec)}`);
    return;
  }
  const [path] = await ctx.lake.fetch([key], join(ctx.workDir, 'previous'));
  await createPreviousView(ctx, source, path as string);
}

/** A view: the models read each previous table once or twice, which costs less than copying it in. */
async function createPreviousView(ctx: TransformContext, source: string, path: string): Promise<void> {
  await ctx.connection.run(
    `create or replace view ${quoteIdent(source)} as select * from read_parquet(${quoteLiteral(path)}, hive_partitioning = false)`,
  );
}

/** Transaction ids of this batch that already appear in merged history: a replacement the state cannot undo. */
async function replacesMergedHistory(ctx: TransformContext, plan: TransformPlan, asOfDate: string): Promise<boolean> {
  if (plan.stateAsOfDate === undefined || plan.batchKeys.length === 0) return false;
  // Rows on or before the state date are merged history; files holding only later rows add nothing here.
  const paths = await ctx.lake.fetch(Object.keys(plan.curatedFiles), join(ctx.workDir, 'curated'));
  const [row] = await queryRows(
    ctx.connection,
    `select count(*)::integer as n from (
       select distinct transaction_id from curated_transactions
       where order_date > date ${quoteLiteral(plan.stateAsOfDate)} and order_date <= date ${quoteLiteral(asOfDate)}
     ) as batch
     semi join (
       select transaction_id from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = false)
       where order_date <= date ${quoteLiteral(plan.stateAsOfDate)}
     ) as history using (transaction_id)`,
  );
  return Number(row?.n ?? 0) > 0;
}

/** Checks a mart model has exactly the columns the schema source declares. */
async function checkMartColumns(ctx: TransformContext, spec: TableSpec): Promise<void> {
  const actual = (await queryRows(ctx.connection, `select column_name from (describe ${quoteIdent(spec.name)})`)).map((r) =>
    String(r.column_name),
  );
  const declared = spec.columns.map((c) => c.name);
  const missing = declared.filter((c) => !actual.includes(c));
  const extra = actual.filter((c) => !declared.includes(c));
  if (missing.length > 0 || extra.length > 0) {
    throw new TransformError(
      `model ${spec.name} does not match its schema: ${missing.length ? `missing ${missing.join(', ')}` : ''}${
        missing.length && extra.length ? '; ' : ''
      }${extra.length ? `undeclared ${extra.join(', ')}` : ''}`,
    );
  }
}

/**
 * Writes a table cast to the schema source's types. Rows are not sorted (at a million customers a sort
 * per table costs more than the write), and ZSTD runs at level 1: as small as the default level here,
 * and faster.
 */
async function writeMart(ctx: TransformContext, spec: TableSpec, model: string, path: string): Promise<number> {
  const casts = spec.columns.map((c) => `cast(${quoteIdent(c.name)} as ${c.type}) as ${quoteIdent(c.name)}`).join(', ');
  let written: Record<string, unknown> | undefined;
  try {
    // COPY reports the rows it wrote, so a model that is a view is not computed a second time to count them.
    [written] = await queryRows(
      ctx.connection,
      `copy (select ${casts} from ${quoteIdent(model)}) to ${quoteLiteral(path)} (format parquet, compression zstd, compression_level 1)`,
    );
  } catch (error) {
    throw new TransformError(`model ${spec.name} cannot be cast to its schema: ${(error as Error).message.split('\n')[0]}`);
  }
  return Number(written?.Count ?? 0);
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
  let plan = planTransform({ files, previous, fingerprint, forceFull: options.full ?? false });
  if (plan.mode === 'incremental') {
    await createTransactionsView(ctx, plan.batchKeys);
    if (await replacesMergedHistory(ctx, plan, asOfDate)) {
      plan = { ...planTransform({ files, fingerprint, forceFull: true }), reason: 'a new file repeats transaction_ids of merged history' };
    }
  }
  const rebuildBatches =
    plan.mode === 'full' ? planRebuildBatches(files, asOfDate, ctx.config.transform.rebuildBatchTransactions) : [];
  if (rebuildBatches.length === 1) await createTransactionsView(ctx, plan.batchKeys);
  ctx.progress(`${plan.mode} run: ${plan.reason}`);
  await createReferenceViews(ctx);
  await writeRunManifest(ctx.lake, { runId, asOfDate, status: 'running', startedAt });

  const runDir = join(ctx.workDir, `run-${runId}`);
  const uploaded: string[] = [];
  let published = false;
  try {
    await mkdir(runDir, { recursive: true });
    // Nothing downstream depends on row order (outputs are unsorted, the CLV fit orders its input), and
    // not keeping it lets DuckDB build and write tables with less buffering.
    await ctx.connection.run('set preserve_insertion_order = false');
    const models = await loadModels(ctx.sqlDir, MODEL_SOURCES, programModels);
    const rebuiltState =
      rebuildBatches.length > 1 ? await mergeRebuildBatches(ctx, models, rebuildBatches, join(runDir, 'rebuild')) : undefined;
    await createParams(ctx, asOfDate, previous?.asOfDate, rebuiltState ? rebuildBatches.at(-1)?.after : plan.stateAsOfDate);
    await createPreviousTable(
      ctx,
      'previous_customer_lifecycle',
      customerLifecycleTable,
      previous?.snapshot.tables[customerLifecycleTable.name],
    );
    for (const { spec, previousSource } of stateTables) {
      if (rebuiltState) {
        await createPreviousView(ctx, previousSource, rebuiltState[spec.name] as string);
      } else {
        const key = plan.mode === 'incremental' ? previous?.snapshot.state?.[spec.name] : undefined;
        await createPreviousTable(ctx, previousSource, spec, key);
      }
    }
    await runModels(ctx.connection, models, programModels, (name) => ctx.progress(`model ${name}`));
    for (const spec of martTables) await checkMartColumns(ctx, spec);
    ctx.progress('running SQL tests');
    const sqlTests = await runSqlTests(ctx.connection, ctx.sqlDir);

    const tables: PublishedTable[] = [];
    const writeTable = async (spec: TableSpec, model: string, key: string): Promise<number> => {
      ctx.progress(`writing ${spec.name}`);
      const path = join(runDir, `${spec.name}.parquet`);
      const rows = await writeMart(ctx, spec, model, path);
      await ctx.lake.upload(path, key);
      uploaded.push(key);
      return rows;
    };
    for (const spec of martTables) {
      const key = lakeKeys.martFile(spec.name, asOfDate, runId);
      tables.push({ name: spec.name, rows: await writeTable(spec, spec.name, key), key });
    }
    const state: Record<string, string> = {};
    for (const { spec, model } of stateTables) {
      state[spec.name] = lakeKeys.stateFile(spec.name, asOfDate, runId);
      await writeTable(spec, model, state[spec.name] as string);
    }
    ctx.progress('publishing');
    const { obsolete } = await publishSnapshot(ctx.lake, asOfDate, {
      runId,
      publishedAt: new Date().toISOString(),
      tables: Object.fromEntries(tables.map((t) => [t.name, t.key])),
      state,
      curatedFiles: plan.curatedFiles,
      stateFingerprint: plan.stateFingerprint,
    });
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
    await ctx.lake.delete(uploaded).catch(() => undefined);
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
