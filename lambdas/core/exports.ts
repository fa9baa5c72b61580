import { z } from 'zod';
import { lakeKeys } from './lake.ts';
import { martTables, type ColumnType, type TableSpec } from './schema/tables.ts';

/**
 * Marketing exports: a request names customers by segment, stage, tier or cohort and the columns to
 * hand over. Everything a request may contain is checked here against closed lists and patterns, so
 * the SQL handed to Athena is made of known identifiers only; the filter values still travel as
 * Athena execution parameters (supported for SELECT, UNLOAD and CTAS, in the WHERE clause).
 */

/** rfm_segment values of the R x F grid (sql/marts/customer_rfm.sql, checked by its SQL test). */
export const rfmSegments = [
  'champions',
  'loyal',
  'potential_loyalists',
  'new_customers',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cannot_lose',
  'hibernating',
] as const;

/** lifecycle_stage values (sql/marts/customer_lifecycle.sql, checked by its SQL test). */
export const lifecycleStages = ['prospect', 'new', 'developing', 'loyal', 'at_risk', 'churned', 'reactivated'] as const;

/** value_tier values: Pareto tiers of predicted CLV. */
export const valueTiers = ['A', 'B', 'C'] as const;

export const customer360View = 'customer_360';

/** Where a column of the customer_360 view comes from. */
export type Customer360Source =
  /** customer_id: present in whichever per-customer table knows the customer. */
  | { readonly kind: 'customer_key' }
  /** The snapshot every row belongs to. */
  | { readonly kind: 'snapshot_date' }
  | { readonly kind: 'column'; readonly table: string; readonly column: string }
  /** YYYY-MM of a date column: the acquisition cohort from first_order_date. */
  | { readonly kind: 'month_of'; readonly table: string; readonly column: string };

export interface Customer360Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
  readonly source: Customer360Source;
}

/**
 * The columns of customer_360: one row per customer of the latest snapshot, joining every
 * per-customer mart. A column name that two marts share keeps its plain name from the first mart
 * (in publication order); later marts' copies are named `<table>_<column>` so that no mart's value is
 * hidden behind another's (the same name need not mean the same thing in two models).
 */
export function customer360Columns(tables: readonly TableSpec[] = martTables): Customer360Column[] {
  const perCustomer = tables.filter((t) => t.perCustomer);
  if (perCustomer.length === 0) throw new Error('customer_360 needs at least one per-customer table');
  const columns: Customer360Column[] = [
    { name: 'customer_id', type: 'VARCHAR', description: 'Customer identifier from the source.', source: { kind: 'customer_key' } },
    {
      name: 'as_of_date',
      type: 'DATE',
      description: 'Snapshot date of every column: the latest published snapshot.',
      source: { kind: 'snapshot_date' },
    },
  ];
  const firstOrder = perCustomer.find((t) => t.columns.some((c) => c.name === 'first_order_date'));
  if (firstOrder) {
    columns.push({
      name: 'cohort_month',
      type: 'VARCHAR',
      description: 'Acquisition cohort: month of the first order, YYYY-MM.',
      source: { kind: 'month_of', table: firstOrder.name, column: 'first_order_date' },
    });
  }
  const taken = new Set(columns.map((c) => c.name));
  for (const table of perCustomer) {
    for (const column of table.columns) {
      if (column.name === 'customer_id') continue;
      const name = taken.has(column.name) ? `${table.name}_${column.name}` : column.name;
      if (taken.has(name)) throw new Error(`customer_360: column ${name} would appear twice`);
      taken.add(name);
      columns.push({
        name,
        type: column.type,
        description: `${column.description} (${table.name})`,
        source: { kind: 'column', table: table.name, column: column.name },
      });
    }
  }
  return columns;
}

export const exportFilterDimensions = ['rfm_segment', 'lifecycle_stage', 'value_tier', 'cohort_month'] as const;
export type ExportFilterDimension = (typeof exportFilterDimensions)[number];

export interface ExportRequest {
  /** Folder name under exports/: lowercase letters, digits, '-' and '_'. */
  readonly name: string;
  /** Customers must match every given dimension (any of its values). */
  readonly filters: Readonly<Partial<Record<ExportFilterDimension, readonly string[]>>>;
  readonly columns: readonly string[];
}

export class ExportRequestError extends Error {
  override readonly name = 'ExportRequestError';
}

/** Values per filter: enough for any campaign, small enough to keep the query short. */
const maxValuesPerFilter = 100;

function valueList<T extends z.ZodType<string>>(value: T) {
  return z
    .array(value)
    .min(1, 'give at least one value or leave the filter out')
    .max(maxValuesPerFilter)
    .transform((values) => [...new Set(values)]);
}

const filterValueSchemas: Record<ExportFilterDimension, z.ZodType<string>> = {
  rfm_segment: z.enum(rfmSegments),
  lifecycle_stage: z.enum(lifecycleStages),
  value_tier: z.enum(valueTiers),
  cohort_month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'use YYYY-MM'),
};

/**
 * The request schema for the columns the schema source gives customer_360 today: a filter or column
 * whose mart is not built yet (value_tier before the CLV mart) is rejected with that reason.
 */
export function exportRequestSchema(tables: readonly TableSpec[] = martTables) {
  const available = customer360Columns(tables).map((c) => c.name);
  const [firstColumn, ...otherColumns] = available;
  if (firstColumn === undefined) throw new Error('customer_360 has no columns');
  const filterShape = Object.fromEntries(
    exportFilterDimensions.map((dimension) => [dimension, valueList(filterValueSchemas[dimension]).optional()]),
  ) as Record<ExportFilterDimension, z.ZodOptional<ReturnType<typeof valueList>>>;
  const defaultColumns = ['customer_id', ...exportFilterDimensions.filter((d) => available.includes(d))];
  return z
    .object({
      name: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use 1-63 lowercase letters, digits, - and _, starting with a letter or digit'),
      filters: z.object(filterShape).strict().default({}),
      columns: z
        .array(z.enum([firstColumn, ...otherColumns]))
        .min(1)
        .transform((columns) => [...new Set(columns)])
        .default(defaultColumns),
    })
    .strict()
    .superRefine((request, ctx) => {
      for (const dimension of exportFilterDimensions) {
        if (request.filters[dimension] !== undefined && !available.includes(dimension)) {
          ctx.addIssue({
            code: 'custom',
            path: ['filters', dimension],
            message: `${dimension} is not available yet: no published mart has that column`,
          });
        }
      }
    });
}

/** Validates an export request; the message names each offending field. */
export function parseExportRequest(raw: unknown, tables: readonly TableSpec[] = martTables): ExportRequest {
  const result = exportRequestSchema(tables).safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(request)'}: ${issue.message}`);
    throw new ExportRequestError(`invalid export request: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Quotes an identifier for Athena (Trino) SQL; DuckDB quotes the same way. */
export function quoteAthenaIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string as an Athena SQL literal: execution parameters are literals, not raw values. */
export function athenaStringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Glue database names Athena accepts: lowercase letters, digits and underscores. */
export function assertAthenaDatabaseName(database: string): void {
  if (!/^[a-z0-9_]{1,255}$/.test(database)) {
    throw new Error(`"${database}" is not a Glue database name Athena accepts (lowercase letters, digits, _)`);
  }
}

export interface AthenaStatement {
  readonly sql: string;
  /** Values for the `?` placeholders, in order, as Athena literals; absent when there are none. */
  readonly executionParameters?: readonly string[];
}

/** An export's SELECT in SQL that Athena (Trino) and DuckDB both run, its `?` placeholders' values in order. */
export interface ExportSelect {
  readonly sql: string;
  readonly values: readonly string[];
}

/** The SELECT over `relation` (customer_360, quoted) whose CSV result, with its header row, becomes the export. */
export function exportSelect(request: ExportRequest, relation: string): ExportSelect {
  const conditions: string[] = [];
  const values: string[] = [];
  for (const dimension of exportFilterDimensions) {
    const chosen = request.filters[dimension];
    if (chosen === undefined) continue;
    conditions.push(`${quoteAthenaIdentifier(dimension)} IN (${chosen.map(() => '?').join(', ')})`);
    values.push(...chosen);
  }
  const sql = [
    `SELECT ${request.columns.map(quoteAthenaIdentifier).join(', ')}`,
    `FROM ${relation}`,
    ...(conditions.length > 0 ? [`WHERE ${conditions.join('\n  AND ')}`] : []),
    `ORDER BY ${quoteAthenaIdentifier('customer_id')}`,
  ].join('\n');
  return { sql, values };
}

/** The export's query in the Glue database `database`, its values as Athena execution parameters. */
export function buildExportQuery(request: ExportRequest, database: string): AthenaStatement {
  assertAthenaDatabaseName(database);
  const { sql, values } = exportSelect(request, `${quoteAthenaIdentifier(database)}.${quoteAthenaIdentifier(customer360View)}`);
  return values.length > 0 ? { sql, executionParameters: values.map(athenaStringLiteral) } : { sql };
}

/** Lake key of an export's CSV: exports/<name>/<date>/<run>/<name>.csv (each run in its own folder). */
export function exportCsvKey(name: string, date: string, runId: string): string {
  return `${lakeKeys.exports(name, date)}${runId}/${name}.csv`;
}
