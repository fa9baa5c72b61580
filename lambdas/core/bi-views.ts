/**
 * The BI views analysts get in Athena and in `lifecycle-lake query`: their SELECTs are written once, in
 * SQL that Athena (Trino) and DuckDB both run; each engine wraps them with its own FROM items.
 */
import { customer360Columns, quoteAthenaIdentifier as q, type Customer360Column } from './exports.ts';
import { cohortRetentionTable, martTables, type TableSpec } from './schema/tables.ts';

const snapshotDatePattern = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** A snapshot date goes into view SQL as a literal: only YYYY-MM-DD passes. */
export function assertSnapshotDate(snapshotDate: string): void {
  if (!snapshotDatePattern.test(snapshotDate)) throw new Error(`snapshot date "${snapshotDate}" is not YYYY-MM-DD`);
}

function customer360Expression(column: Customer360Column, perCustomer: readonly TableSpec[], snapshotDate: string): string {
  const { source } = column;
  switch (source.kind) {
    case 'customer_key':
      return perCustomer.length === 1
        ? `${q(perCustomer[0]?.name ?? '')}.${q('customer_id')}`
        : `coalesce(${perCustomer.map((t) => `${q(t.name)}.${q('customer_id')}`).join(', ')})`;
    case 'snapshot_date':
      return `DATE '${snapshotDate}'`;
    case 'column':
      return `${q(source.table)}.${q(source.column)}`;
    case 'month_of':
      return `substr(CAST(${q(source.table)}.${q(source.column)} AS varchar), 1, 7)`;
  }
}

/**
 * customer_360's SELECT: every per-customer mart of one snapshot, full-outer-joined on customer_id
 * (prospects are in customer_lifecycle only). `snapshotOf(table)` is the FROM item holding that
 * mart's rows of the snapshot, aliased as the mart.
 */
export function customer360Select(
  snapshotDate: string,
  snapshotOf: (table: TableSpec) => string,
  tables: readonly TableSpec[] = martTables,
): string {
  assertSnapshotDate(snapshotDate);
  const perCustomer = tables.filter((t) => t.perCustomer);
  const [first, ...rest] = perCustomer;
  if (first === undefined) throw new Error('customer_360 needs at least one per-customer table');
  const joins = rest.map((table, index) => {
    const joined = perCustomer.slice(0, index + 1).map((t) => `${q(t.name)}.${q('customer_id')}`);
    const key = joined.length === 1 ? (joined[0] ?? '') : `coalesce(${joined.join(', ')})`;
    return `FULL OUTER JOIN ${snapshotOf(table)}\n  ON ${q(table.name)}.${q('customer_id')} = ${key}`;
  });
  return [
    'SELECT',
    customer360Columns(tables)
      .map((c) => `  ${customer360Expression(c, perCustomer, snapshotDate)} AS ${q(c.name)}`)
      .join(',\n'),
    `FROM ${snapshotOf(first)}`,
    ...joins,
  ].join('\n');
}

export const cohortMatrixView = 'cohort_matrix';
/** Columns month_00 … month_24: two years of retention, the span a cohort chart usually shows. */
export const cohortMatrixMonths = 24;

/** 0 … cohortMatrixMonths: the months since the first order that get a column. */
const matrixMonths = Array.from({ length: cohortMatrixMonths + 1 }, (_, month) => month);
const monthColumn = (month: number) => `month_${String(month).padStart(2, '0')}`;

/** cohort_matrix's columns, typed as cohort_retention types them. */
export function cohortMatrixColumns(): { readonly name: string; readonly type: string }[] {
  const typeOf = (name: string) => cohortRetentionTable.columns.find((c) => c.name === name)?.type ?? 'VARCHAR';
  return [
    { name: 'cohort_month', type: typeOf('cohort_month') },
    { name: 'as_of_date', type: 'DATE' },
    { name: 'cohort_size', type: typeOf('cohort_size') },
    ...matrixMonths.map((month) => ({ name: monthColumn(month), type: typeOf('retention_rate') })),
  ];
}

/**
 * cohort_matrix's SELECT: one row per acquisition cohort, retention_rate by months since the first
 * order as columns (the classic triangle), from `retention` (cohort_retention rows, quoted or
 * qualified) of the snapshot. Months not yet observable stay NULL, not zero, as in the mart.
 */
export function cohortMatrixSelect(snapshotDate: string, retention: string): string {
  assertSnapshotDate(snapshotDate);
  return [
    'SELECT',
    `  ${q('cohort_month')},`,
    `  DATE '${snapshotDate}' AS ${q('as_of_date')},`,
    `  max(${q('cohort_size')}) AS ${q('cohort_size')},`,
    matrixMonths
      .map((month) => `  max(CASE WHEN ${q('months_since_first')} = ${month} THEN ${q('retention_rate')} END) AS ${q(monthColumn(month))}`)
      .join(',\n'),
    `FROM ${retention}`,
    `WHERE ${q('as_of_date')} = DATE '${snapshotDate}'`,
    `GROUP BY ${q('cohort_month')}`,
  ].join('\n');
}
