import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DATE, DOUBLE, INTEGER, VARCHAR, dateValue, type DuckDBConnection } from '@duckdb/node-api';
import type { PipelineConfig } from './config.ts';
import { quoteIdent, quoteLiteral, queryRows } from './duckdb.ts';
import { lakeKeys, type Lake } from './lake.ts';
import { loadModels, runModels, runSqlTests, type ProgramModel } from './models/runner.ts';
import {
  acquisitionCostsTable,
  customerLifecycleTable,
  customersTable,
  martTables,
  transactionsTable,
  type TableSpec,
} from './schema/tables.ts';
import {
  previousSnapshot,
  publishSnapshot,
  readPublishedIndex,
  writeRunManifest,
  type PublishedSnapshot,
} from './snapshots.ts';

export interface TransformContext {
  readonly lake: Lake;
  readonly config: PipelineConfig;
  readonly connection: DuckDBConnection;
  readonly workDir: string;
  readonly sqlDir: string;
  readonly now: Date;
  readonly progress: (message: string) => void;
}

export interface TransformOptions {
  /** YYYY-MM-DD; default: the latest order_date in the lake. */
  readonly asOfDate?: string;
  readonly runId?: string;
  /** Called after the pointer is switched, before superseded files are removed (e.g. Glue partitions). */
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
] as const;

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** Sortable and unique: the time the run started, then a random suffix. */
export function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomUUID().slice(0, 8)}`;
}

function columnList(spec: TableSpec): string {
  return spec.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
}

async function createCuratedViews(ctx: TransformContext): Promise<void> {
  const c = ctx.connection;
  const transactionKeys = (await ctx.lake.list(lakeKeys.curatedTransactions))
    .map((o) => o.key)
    .filter((k) => k.endsWith('.parquet'));
  if (transactionKeys.length === 0) {
    throw new TransformError(`no curated transactions in ${ctx.lake.location}: ingest transaction files first`);
  }
  ctx.progress(`reading ${transactionKeys.length} curated file(s)`);
  const paths = await ctx.lake.fetch(transactionKeys, join(ctx.workDir, 'curated'));
  await c.run(`create or replace view curated_transactions as
    select * from read_parquet([${paths.map(quoteLiteral).join(', ')}], hive_partitioning = true,
      hive_types = {'${transactionsTable.partition.name}': ${transactionsTable.partition.type}})`);

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

async function resolveAsOfDate(ctx: TransformContext, requested: string | undefined): Promise<string> {
  if (requested !== undefined) {
    if (!DATE_PATTERN.test(requested) || Number.isNaN(Date.parse(`${requested}T00:00:00Z`))) {
      throw new TransformError(`as_of_date ${requested} is not a date in YYYY-MM-DD form`);
    }
    return requested;
  }
  const [row] = await queryRows(ctx.connection, `select strftime(max(order_date), '%Y-%m-%d') as d from curated_transactions`);
  if (!row?.d) throw new TransformError('curated transactions hold no rows: nothing to compute');
  return String(row.d);
}

async function createParams(ctx: TransformContext, asOfDate: string, previousAsOfDate: string | undefined): Promise<void> {
  const { lifecycle, clv } = ctx.config;
  await ctx.connection.run(`create or replace table params (
    as_of_date date, previous_as_of_date date, churn_days integer, new_days integer, at_risk_min_days integer,
    at_risk_factor double, loyal_min_orders integer, loyal_min_tenure_days integer, base_currency varchar,
    clv_horizon_months integer, current_value_months integer, tier_a_share double, tier_b_share double,
    quadrant_split_quantile double)`);
  const toDate = (d: string) => dateValue(Math.round(Date.parse(`${d}T00:00:00Z`) / 86_400_000));
  await ctx.connection.run(
    `insert into params values ($as_of_date, $previous_as_of_date, $churn_days, $new_days, $at_risk_min_days,
      $at_risk_factor, $loyal_min_orders, $loyal_min_tenure_days, $base_currency, $clv_horizon_months,
      $current_value_months, $tier_a_share, $tier_b_share, $quadrant_split_quantile)`,
    {
      as_of_date: toDate(asOfDate),
      previous_as_of_date: previousAsOfDate === undefined ? null : toDate(previousAsOfDate),
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

async function createPreviousLifecycle(
  ctx: TransformContext,
  previous: PublishedSnapshot | undefined,
): Promise<void> {
  const key = previous?.tables[customerLifecycleTable.name];
  if (key === undefined) {
    await ctx.connection.run(`create or replace table previous_customer_lifecycle (${columnList(customerLifecycleTable)})`);
    return;
  }
  const [path] = await ctx.lake.fetch([key], join(ctx.workDir, 'previous'));
  await ctx.connection.run(
    `create or replace table previous_customer_lifecycle as select * from read_parquet(${quoteLiteral(path as string)}, hive_partitioning = false)`,
  );
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

/** Writes a mart cast to the schema source's types, in key order so reruns give identical files. */
async function writeMart(ctx: TransformContext, spec: TableSpec, path: string): Promise<number> {
  const casts = spec.columns.map((c) => `cast(${quoteIdent(c.name)} as ${c.type}) as ${quoteIdent(c.name)}`).join(', ');
  const order = spec.key.map(quoteIdent).join(', ');
  try {
    await ctx.connection.run(
      `copy (select ${casts} from ${quoteIdent(spec.name)} order by ${order}) to ${quoteLiteral(path)} (format parquet, compression zstd)`,
    );
  } catch (error) {
    throw new TransformError(`model ${spec.name} cannot be cast to its schema: ${(error as Error).message.split('\n')[0]}`);
  }
  const [row] = await queryRows(ctx.connection, `select count(*)::integer as n from ${quoteIdent(spec.name)}`);
  return Number(row?.n ?? 0);
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
  await createCuratedViews(ctx);
  const asOfDate = await resolveAsOfDate(ctx, options.asOfDate);
  const index = await readPublishedIndex(ctx.lake);
  const previous = previousSnapshot(index, asOfDate);
  await writeRunManifest(ctx.lake, { runId, asOfDate, status: 'running', startedAt });

  const runDir = join(ctx.workDir, `run-${runId}`);
  const uploaded: string[] = [];
  let published = false;
  try {
    await mkdir(runDir, { recursive: true });
    await createParams(ctx, asOfDate, previous?.asOfDate);
    await createPreviousLifecycle(ctx, previous?.snapshot);
    const models = await loadModels(ctx.sqlDir, MODEL_SOURCES, programModels);
    await runModels(ctx.connection, models, programModels, (name) => ctx.progress(`model ${name}`));
    for (const spec of martTables) await checkMartColumns(ctx, spec);
    const sqlTests = await runSqlTests(ctx.connection, ctx.sqlDir);

    const tables: PublishedTable[] = [];
    for (const spec of martTables) {
      const path = join(runDir, `${spec.name}.parquet`);
      const rows = await writeMart(ctx, spec, path);
      const key = lakeKeys.martFile(spec.name, asOfDate, runId);
      await ctx.lake.upload(path, key);
      uploaded.push(key);
      tables.push({ name: spec.name, rows, key });
    }
    ctx.progress('publishing');
    const replaced = await publishSnapshot(ctx.lake, asOfDate, {
      runId,
      publishedAt: new Date().toISOString(),
      tables: Object.fromEntries(tables.map((t) => [t.name, t.key])),
    });
    published = true;
    const result: TransformResult = {
      runId,
      asOfDate,
      ...(previous ? { previousAsOfDate: previous.asOfDate } : {}),
      tables,
      sqlTests,
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
    if (replaced && replaced.runId !== runId) await ctx.lake.delete(Object.values(replaced.tables));
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
