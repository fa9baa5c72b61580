import { mkdir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  BOOLEAN,
  LIST,
  TIMESTAMP,
  VARCHAR,
  listValue,
  timestampValue,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { PipelineConfig } from '../config.ts';
import type { CoreContext } from '../context.ts';
import { constantText, firstLine, quoteIdent, quoteLiteral, queryRows } from '../duckdb.ts';
import { lakeKeys } from '../lake.ts';
import { readSqlFile } from '../sql-files.ts';
import { acquisitionCostsTable, customersTable, quarantineTable, transactionsTable, type TableSpec } from '../schema/tables.ts';
import {
  UnreadableFileError,
  checkReadable,
  contentHash,
  formatFromName,
  type SourceFile,
  type SourceFormat,
} from './source-file.ts';

export interface IngestFileResult {
  readonly source: string;
  readonly fileId: string;
  readonly status: 'ingested' | 'skipped' | 'failed';
  readonly rowsRead: number;
  readonly rowsCurated: number;
  readonly rowsQuarantined: number;
  /** Rejected rows by reason (reasons quoting a value are grouped by their leading words). */
  readonly reasons: Record<string, number>;
  /** For status 'failed': the file and why it could not be read. */
  readonly error?: string;
}

/** A curated file and the order dates it spans (transactions), so transforms can plan from manifests. */
export interface CuratedFile {
  readonly key: string;
  readonly rows: number;
  readonly minOrderDate?: string;
  readonly maxOrderDate?: string;
  /**
   * Bounds of its transaction_ids in byte order, as the Parquet writer's statistics give them (long ids
   * are cut to a shorter bound), so a transform can tell without reading the file that it holds none
   * of a batch's ids. Absent in manifests written before they were recorded.
   */
  readonly transactionIdsFrom?: string;
  readonly transactionIdsTo?: string;
}

export interface IngestManifest extends IngestFileResult {
  readonly kind: FileKind['kind'];
  readonly contentSha256: string;
  readonly format: SourceFormat | 'unknown';
  readonly ingestedAt: string;
  readonly curatedFiles: readonly CuratedFile[];
  readonly quarantineKey?: string;
}

export type IngestContext = CoreContext;

/** What differs between the two kinds of input file; everything else is one code path. */
interface FileKind {
  readonly kind: 'transactions' | 'customers' | 'acquisition_costs';
  readonly curated: TableSpec;
  readonly curatedPrefix: string;
  /** Canonical column → source column name, per the config; undefined = not in the source. */
  readonly mapping: (config: PipelineConfig) => Readonly<Record<string, string | undefined>>;
  /** Every canonical column of the kind, mapped or not. */
  readonly canonical: readonly string[];
  readonly required: readonly string[];
  readonly validateSql: string;
  /** Quarantine column → the ingest_source column holding that original value, where the kind has one. */
  readonly quarantineRaw: Readonly<Record<string, string>>;
  /** Curated files are split by this partition column (a lake folder level), or written whole. */
  readonly partitionedBy?: string;
}

const TRANSACTIONS: FileKind = {
  kind: 'transactions',
  curated: transactionsTable,
  curatedPrefix: lakeKeys.curatedTransactions,
  mapping: (config) => config.input.columns,
  canonical: ['customer_id', 'transaction_id', 'order_ts', 'amount', 'currency', 'quantity', 'is_return'],
  required: ['customer_id', 'transaction_id', 'order_ts', 'amount'],
  validateSql: 'ingest/validate_transactions.sql',
  quarantineRaw: {
    customer_id_raw: 'customer_id_raw',
    transaction_id_raw: 'transaction_id_raw',
    order_ts_raw: 'order_ts_raw',
    amount_raw: 'amount_raw',
    currency_raw: 'currency_raw',
  },
  partitionedBy: transactionsTable.partition.name,
};

const CUSTOMERS: FileKind = {
  kind: 'customers',
  curated: customersTable,
  curatedPrefix: lakeKeys.curatedCustomers,
  mapping: (config) => config.input.customerColumns,
  canonical: ['customer_id', 'signup_ts'],
  required: ['customer_id'],
  validateSql: 'ingest/validate_customers.sql',
  quarantineRaw: { customer_id_raw: 'customer_id_raw' },
};

const ACQUISITION_COSTS: FileKind = {
  kind: 'acquisition_costs',
  curated: acquisitionCostsTable,
  curatedPrefix: lakeKeys.curatedAcquisitionCosts,
  mapping: (config) => config.input.acquisitionCostColumns,
  canonical: ['customer_id', 'acquisition_cost'],
  required: ['customer_id', 'acquisition_cost'],
  validateSql: 'ingest/validate_acquisition_costs.sql',
  quarantineRaw: { customer_id_raw: 'customer_id_raw', amount_raw: 'acquisition_cost_raw' },
};

export type FileKindName = FileKind['kind'];

/**
 * The kind of an uploaded file from its key: a `customers/` or `acquisition_costs/` folder anywhere
 * in the path marks those kinds (e.g. raw/customers/crm-export.csv); everything else is transactions.
 */
export function fileKindFromKey(key: string): FileKindName {
  const folders = key.split('/').slice(0, -1);
  if (folders.includes('customers')) return 'customers';
  if (folders.includes('acquisition_costs')) return 'acquisition_costs';
  return 'transactions';
}

const FILE_KINDS: Readonly<Record<FileKindName, FileKind>> = {
  transactions: TRANSACTIONS,
  customers: CUSTOMERS,
  acquisition_costs: ACQUISITION_COSTS,
};

/** Quarantine columns every kind fills; the others stay null. */
const RAW_QUARANTINE_COLUMNS = ['customer_id_raw', 'transaction_id_raw', 'order_ts_raw', 'amount_raw', 'currency_raw'];

/** The ledger key: a content hash, so a renamed copy of a file is still the same file. */
function fileIdOf(sha256: string): string {
  return sha256.slice(0, 32);
}

/**
 * Ingests one transaction file: every row lands in curated (typed) or in quarantine (original values
 * and a reason), rows_read = rows_curated + rows_quarantined, and a manifest records the outcome.
 * Content already ingested is skipped. A file that cannot be read is reported as failed, not thrown.
 */
/**
 * Ingests one file of a kind: transactions; customers (customer_id, optional signup_ts), who may be
 * prospects; or acquisition costs (customer_id, acquisition_cost).
 */
export function ingestSourceFile(ctx: IngestContext, file: SourceFile, kind: FileKindName): Promise<IngestFileResult> {
  return ingestFile(ctx, file, FILE_KINDS[kind]);
}

async function ingestFile(ctx: IngestContext, file: SourceFile, kind: FileKind): Promise<IngestFileResult> {
  const sha256 = await contentHash(file.path);
  const fileId = fileIdOf(sha256);
  const previous = await ctx.lake.getText(lakeKeys.ingestManifest(fileId));
  if (previous !== undefined) {
    const manifest = JSON.parse(previous) as IngestManifest;
    if (manifest.status === 'ingested') {
      return { ...counts(manifest), source: file.name, fileId, status: 'skipped' };
    }
  }
  const format = ctx.config.input.format === 'auto' ? formatFromName(file.name) : ctx.config.input.format;
  const ingestedAt = ctx.now.toISOString();
  const base = { source: file.name, fileId, kind: kind.kind, contentSha256: sha256, ingestedAt };
  try {
    if (!format) {
      throw new UnreadableFileError(
        `${file.name}: unknown file type; expected .csv, .tsv, .txt, .jsonl, .ndjson, .json or .parquet (optionally .gz), or set input.format`,
      );
    }
    await checkReadable(file, format);
    const outcome = await loadAndSplit(ctx, file, format, kind, fileId, ingestedAt);
    const manifest: IngestManifest = { ...base, format, status: 'ingested', ...outcome };
    await ctx.lake.putText(lakeKeys.ingestManifest(fileId), JSON.stringify(manifest, null, 2));
    return resultOf(manifest);
  } catch (error) {
    if (!(error instanceof UnreadableFileError)) throw error;
    const manifest: IngestManifest = {
      ...base,
      format: format ?? 'unknown',
      status: 'failed',
      rowsRead: 0,
      rowsCurated: 0,
      rowsQuarantined: 0,
      reasons: {},
      error: error.message,
      curatedFiles: [],
    };
    await ctx.lake.putText(lakeKeys.ingestManifest(fileId), JSON.stringify(manifest, null, 2));
    return resultOf(manifest);
  }
}

function counts(m: IngestFileResult) {
  return { rowsRead: m.rowsRead, rowsCurated: m.rowsCurated, rowsQuarantined: m.rowsQuarantined, reasons: m.reasons };
}

function resultOf(m: IngestManifest): IngestFileResult {
  return { source: m.source, fileId: m.fileId, status: m.status, ...counts(m), ...(m.error ? { error: m.error } : {}) };
}

/**
 * Drops the previous file's temp tables and views, each as what it is: the same name can be a view for
 * one format or kind and a table for another, and DROP VIEW fails on a table.
 */
async function dropIngestObjects(c: DuckDBConnection): Promise<void> {
  const objects = await queryRows(
    c,
    `select 'view' as type, view_name as name from duckdb_views() where temporary and starts_with(view_name, 'ingest_')
     union all
     select 'table', table_name from duckdb_tables() where temporary and starts_with(table_name, 'ingest_')
     order by type desc`,
  );
  for (const { type, name } of objects) await c.run(`drop ${String(type)} if exists ${quoteIdent(String(name))}`);
}

/** Loads the file as text columns into `ingest_rows` (source_row, record_json, every source column). */
async function loadRows(ctx: IngestContext, file: SourceFile, format: SourceFormat): Promise<void> {
  const c = ctx.connection;
  const path = quoteLiteral(file.path);
  await dropIngestObjects(c);
  try {
    if (format === 'csv') {
      const delimiter = ctx.config.input.csvDelimiter ? `, delim = ${quoteLiteral(ctx.config.input.csvDelimiter)}` : '';
      await c.run(`create temp table ingest_parsed as select * from read_csv(${path}, header = true, all_varchar = true,
        store_rejects = true, rejects_table = 'ingest_rejects', rejects_scan = 'ingest_reject_scans'${delimiter})`);
      // Rejected CSV lines (wrong column count, bad encoding) are absent from ingest_parsed. A kept row
      // with parsed index k follows every rejected row i (1-based, in file order) whose count of kept
      // rows before it, r_i - i, is at most k; adding those gives its data row in the file.
      await c.run(`create temp table ingest_rejected as
        select line - 1 as source_row, any_value(csv_line) as csv_line, string_agg(distinct error_type, ', ') as errors
        from ingest_rejects group by line`);
      const [{ rejected = 0 } = {}] = await queryRows(c, 'select count(*)::integer as rejected from ingest_rejected');
      await c.run(`create temp table ingest_reject_offsets as
        select kept_before, max(rejected_so_far) as rejected_so_far from (
          select source_row - row_number() over (order by source_row) as kept_before,
                 row_number() over (order by source_row) as rejected_so_far
          from ingest_rejected)
        group by kept_before`);
      // A view: record_json is only computed for the rows that are selected with it (the rejected ones).
      // Without rejected lines the row number is the parsed position, and the as-of join is skipped.
      const offset = Number(rejected) > 0 ? ' + coalesce(o.rejected_so_far, 0)' : '';
      const offsetJoin = Number(rejected) > 0 ? 'asof left join ingest_reject_offsets o on p.rowid >= o.kept_before' : '';
      await c.run(`create temp view ingest_rows as
        select p.rowid + 1${offset} as source_row, to_json(p) as record_json, null::varchar as reject_reason, p.*
        from ingest_parsed p
        ${offsetJoin}
        union all by name
        select source_row, to_json({'line': trim(csv_line, E'\\r\\n')}) as record_json,
               'malformed CSV row: ' || lower(errors) as reject_reason
        from ingest_rejected`);
    } else if (format === 'jsonl') {
      // Lines are read as text and parsed in SQL so a malformed line is quarantined, not skipped.
      await c.run(`create temp table ingest_lines as select column0 as line from read_csv(${path}, header = false,
        columns = {'column0': 'VARCHAR'}, delim = E'\\x1f', quote = '', escape = '', auto_detect = false)`);
      // rowid follows file order (insertion order is preserved); blank lines are not rows.
      await c.run(`create temp table ingest_parsed as
        select row_number() over (order by rowid) as source_row, line from ingest_lines where trim(line) <> ''`);
      await c.run(`create temp table ingest_rows as
        select source_row, line as record_json,
               case when not json_valid(line) or json_type(line) <> 'OBJECT' then 'malformed JSON line' end as reject_reason
        from ingest_parsed`);
    } else {
      await c.run(`create temp table ingest_parsed as select columns(*)::varchar from read_parquet(${path})`);
      await c.run(`create temp view ingest_rows as
        select rowid + 1 as source_row, to_json(p) as record_json, null::varchar as reject_reason, p.* from ingest_parsed p`);
    }
  } catch (error) {
    throw new UnreadableFileError(`${file.name}: cannot be read as ${format.toUpperCase()}: ${firstLine(error)}`);
  }
}

/** Builds `ingest_source`: `<canonical>_raw` text columns, named per the config's column mapping. */
async function mapColumns(ctx: IngestContext, file: SourceFile, format: SourceFormat, kind: FileKind): Promise<void> {
  const configured = kind.mapping(ctx.config);
  const selects: string[] = [];
  if (format === 'jsonl') {
    // An unmapped optional column is read under its canonical name; absent keys give null.
    const mapping = Object.fromEntries(kind.canonical.map((c) => [c, configured[c] ?? c]));
    for (const [canonical, source] of Object.entries(mapping)) {
      selects.push(
        source === undefined
          ? `null::varchar as ${canonical}_raw`
          : `json_extract_string(record_json, ${quoteLiteral(`$."${source.replaceAll('"', '\\"')}"`)}) as ${canonical}_raw`,
      );
    }
  } else {
    const columns = (await queryRows(ctx.connection, 'select column_name from (describe ingest_rows)')).map((r) =>
      String(r.column_name),
    );
    // An unmapped optional column is used when the file has it under its canonical name.
    const mapping = Object.fromEntries(
      kind.canonical.map((c) => [c, configured[c] ?? (columns.includes(c) ? c : undefined)]),
    );
    const absent = Object.entries(mapping)
      .filter(([canonical, source]) => (source !== undefined || kind.required.includes(canonical)) && !columns.includes(String(source)))
      .map(([, source]) => source);
    if (absent.length > 0) {
      const found = columns.filter((c) => !['source_row', 'record_json', 'reject_reason'].includes(c));
      throw new UnreadableFileError(
        `${file.name}: missing column(s) ${absent.join(', ')} (found: ${found.join(', ')}); map them in the config's input section`,
      );
    }
    for (const [canonical, source] of Object.entries(mapping)) {
      selects.push(source === undefined ? `null::varchar as ${canonical}_raw` : `${quoteIdent(source)} as ${canonical}_raw`);
    }
  }
  await ctx.connection.run(`create or replace temp view ingest_source as
    select source_row, ${selects.join(', ')} from ingest_rows where reject_reason is null`);
}

/**
 * trim(s) for the checks, skipping the call for ASCII text that neither starts nor ends with a space:
 * the only ASCII character trim removes is the space, and trim is the costliest step of typing a value.
 */
const TRIM_TEXT_MACRO = `create or replace temp macro trim_text(s) as
  case when strlen(s) = length(s) and not starts_with(s, ' ') and not ends_with(s, ' ') then s else trim(s) end`;

/** The variables a validation file reads with getvariable('name'). */
const VARIABLE_REFERENCE = /getvariable\('([a-z_]+)'\)/g;

/**
 * Runs a validation file after setting the variables it reads. Variables, not bound parameters: the
 * transaction checks run inside the curated write, through a view, and a view cannot take parameters.
 */
async function runValidation(ctx: IngestContext, kind: FileKind): Promise<void> {
  const { input, baseCurrency } = ctx.config;
  const latestAllowed = new Date(ctx.now.getTime() + input.futureToleranceHours * 3_600_000);
  const variables: Record<string, { value: DuckDBValue; type: DuckDBType }> = {
    parse_iso: { value: input.timestampFormats.length === 0, type: BOOLEAN },
    // DuckDB rejects an empty format list at bind time even in a branch that never runs.
    timestamp_formats: {
      value: listValue(input.timestampFormats.length > 0 ? input.timestampFormats : ['%Y-%m-%d']),
      type: LIST(VARCHAR),
    },
    return_values: { value: listValue(input.returnValues.map((v) => v.toLowerCase())), type: LIST(VARCHAR) },
    latest_allowed_ts: { value: timestampValue(BigInt(latestAllowed.getTime()) * 1000n), type: TIMESTAMP },
    tolerance_hours: { value: String(input.futureToleranceHours), type: VARCHAR },
    base_currency: { value: baseCurrency, type: VARCHAR },
  };
  const sql = await readSqlFile(ctx.sqlDir, kind.validateSql);
  // An unset variable reads as NULL, which would pass every check it is part of: name it instead.
  const unknown = [...new Set(Array.from(sql.matchAll(VARIABLE_REFERENCE), (m) => m[1]!))].filter((name) => !(name in variables));
  if (unknown.length > 0) throw new Error(`${kind.validateSql}: unknown variable(s) ${unknown.join(', ')}`);
  for (const [name, { value, type }] of Object.entries(variables)) {
    const set = await ctx.connection.prepare(`set variable ${name} = $value`);
    set.bind({ value }, { value: type });
    await set.run();
  }
  await ctx.connection.run(TRIM_TEXT_MACRO);
  await ctx.connection.run(sql);
}

/** ZSTD level 1 writes curated files markedly faster than the default level 3, for about 1 % more bytes. */
const CURATED_PARQUET = 'compression zstd, compression_level 1';

/** A file written by COPY, as its return_stats report it. */
type WrittenFile = Omit<CuratedFile, 'key'> & { readonly path: string };

/**
 * Writes a query's rows as Parquet and returns the files written with their row counts, order_date
 * ranges and transaction_id bounds, from the writer's own statistics rather than by reading the files back.
 */
async function copyToParquet(ctx: IngestContext, query: string, target: string, options: string): Promise<WrittenFile[]> {
  const written = await queryRows(
    ctx.connection,
    `copy (${query}) to ${quoteLiteral(target)} (format parquet, ${options}, return_stats)`,
  );
  const files: WrittenFile[] = [];
  for (const file of written) {
    const columns = file.column_statistics as { key: string; value: { key: string; value: string }[] }[];
    const bounds = (column: string) => {
      const stats = columns.find((c) => c.key.replaceAll('"', '') === column)?.value;
      const min = stats?.find((stat) => stat.key === 'min')?.value;
      const max = stats?.find((stat) => stat.key === 'max')?.value;
      return min !== undefined && max !== undefined ? { min, max } : undefined;
    };
    const orderDates = bounds('order_date');
    const ids = bounds('transaction_id');
    files.push({
      path: String(file.filename),
      rows: Number(file.count),
      ...(orderDates ? { minOrderDate: await isoDate(ctx, orderDates.min), maxOrderDate: await isoDate(ctx, orderDates.max) } : {}),
      ...(ids ? { transactionIdsFrom: ids.min, transactionIdsTo: ids.max } : {}),
    });
  }
  return files;
}

/** A date as statistics print it, as strftime '%Y-%m-%d' does (they differ only outside the years 0–9999). */
async function isoDate(ctx: IngestContext, date: string): Promise<string> {
  if (/^\d{4}-\d{2}-\d{2}$/.test(date)) return date;
  const [row] = await queryRows(ctx.connection, `select strftime($date::date, '%Y-%m-%d') as date`, { date });
  return String(row?.date);
}

async function loadAndSplit(
  ctx: IngestContext,
  file: SourceFile,
  format: SourceFormat,
  kind: FileKind,
  fileId: string,
  ingestedAt: string,
): Promise<Pick<IngestManifest, 'rowsRead' | 'rowsCurated' | 'rowsQuarantined' | 'reasons' | 'curatedFiles' | 'quarantineKey'>> {
  const c = ctx.connection;
  await loadRows(ctx, file, format);
  await mapColumns(ctx, file, format, kind);
  await runValidation(ctx, kind);

  const stageDir = join(ctx.workDir, `ingest-${fileId}`);
  await rm(stageDir, { recursive: true, force: true });
  await mkdir(stageDir, { recursive: true });
  try {
    // Typed constants, written as they are rather than cast to the column's type (see constantText).
    const lineage: Record<string, string> = {
      file_id: constantText(fileId),
      source_file: constantText(file.name),
      ingested_at: `timestamp ${quoteLiteral(ingestedAt.replace('T', ' ').replace('Z', ''))}`,
    };
    const typed = (spec: TableSpec) =>
      spec.columns
        .map((col) => `${lineage[col.name] ?? `cast(${quoteIdent(col.name)} as ${col.type})`} as ${quoteIdent(col.name)}`)
        .join(', ');
    const curatedDir = join(stageDir, 'curated');
    await mkdir(curatedDir, { recursive: true });
    const curatedRows = `from ingest_validated where reason is null`;
    let written: WrittenFile[];
    if (kind.partitionedBy) {
      written = await copyToParquet(
        ctx,
        `select ${typed(kind.curated)}, ${quoteIdent(kind.partitionedBy)} ${curatedRows}`,
        curatedDir,
        `${CURATED_PARQUET}, partition_by (${quoteIdent(kind.partitionedBy)}), filename_pattern ${quoteLiteral(`${fileId}_{i}`)}`,
      );
    } else {
      const partitionDir = join(curatedDir, `${kind.curated.partition.name}=${ingestedAt.slice(0, 10)}`);
      await mkdir(partitionDir, { recursive: true });
      written = await copyToParquet(ctx, `select ${typed(kind.curated)} ${curatedRows}`, join(partitionDir, `${fileId}.parquet`), CURATED_PARQUET);
    }
    const rowsCurated = written.reduce((sum, f) => sum + f.rows, 0);
    const [read] = await queryRows(c, 'select count(*)::integer as n from ingest_rows');
    const rowsRead = Number(read?.n ?? 0);

    const quarantinePath = join(stageDir, 'quarantine.parquet');
    const reasons: Record<string, number> = {};
    let rowsQuarantined = 0;
    // Every row read that is not curated is rejected: the rejected rows are looked up only if there are any.
    if (rowsRead > rowsCurated) {
      const rawValue = (column: string) => {
        const sourceColumn = kind.quarantineRaw[column];
        return sourceColumn ? `ingest_source.${sourceColumn} as ${column}` : `null as ${column}`;
      };
      // Original values and the row as JSON are looked up only for the rejected rows, which are few.
      const rejected = `with reasons as (
          select source_row, reason from ingest_validated where reason is not null
          union all
          select source_row, reject_reason as reason from ingest_rows where reject_reason is not null
        ),
        originals as (
          select source_row, record_json from ingest_rows where source_row in (select source_row from reasons)
        )
        select reasons.source_row, reasons.reason, ${RAW_QUARANTINE_COLUMNS.map(rawValue).join(', ')}, originals.record_json
        from reasons
        join originals on reasons.source_row = originals.source_row
        left join ingest_source on reasons.source_row = ingest_source.source_row`;
      const [quarantine] = await copyToParquet(
        ctx,
        `select ${typed(quarantineTable)} from (${rejected}) order by source_row`,
        quarantinePath,
        'compression zstd',
      );
      rowsQuarantined = quarantine?.rows ?? 0;
      const reasonRows = await queryRows(
        c,
        `select reason, count(*)::integer as n from read_parquet(${quoteLiteral(quarantinePath)}) group by reason`,
      );
      for (const r of reasonRows) {
        const kindOfReason = reasonKind(String(r.reason));
        reasons[kindOfReason] = (reasons[kindOfReason] ?? 0) + Number(r.n);
      }
    }
    if (rowsCurated + rowsQuarantined !== rowsRead) {
      throw new Error(`${file.name}: ${rowsRead} rows read but ${rowsCurated} curated and ${rowsQuarantined} quarantined`);
    }

    const curatedFiles: CuratedFile[] = [];
    for (const { path, ...stats } of written.toSorted((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      const key = kind.curatedPrefix + relative(curatedDir, path).split(sep).join('/');
      await ctx.lake.upload(path, key);
      curatedFiles.push({ key, ...stats });
    }
    let quarantineKey: string | undefined;
    if (rowsQuarantined > 0) {
      quarantineKey = lakeKeys.quarantineFile(kind.kind, ingestedAt.slice(0, 10), fileId);
      await ctx.lake.upload(quarantinePath, quarantineKey);
    }
    return {
      rowsRead,
      rowsCurated,
      rowsQuarantined,
      reasons,
      curatedFiles,
      ...(quarantineKey ? { quarantineKey } : {}),
    };
  } finally {
    await rm(stageDir, { recursive: true, force: true });
  }
}

/** Groups reasons that embed a value ("non-numeric amount 'abc'") under their fixed wording. */
function reasonKind(reason: string): string {
  if (reason.startsWith('order_ts ')) return 'order_ts in the future';
  if (reason.startsWith('currency ')) return 'currency not the base currency';
  return reason.replace(/ '.*'$/s, '').replace(/ \(first at row \d+\)$/, '');
}
