import { assertSnapshotDate, quoteAthenaIdentifier as q } from './exports.ts';
import { cohortRetentionTable } from './schema/tables.ts';

export const cohortMatrixView = 'cohort_matrix';
/** Columns month_00 … month_24: two years of retention, the span a cohort chart usually shows. */
export const cohortMatrixMonths = 24;

const monthColumn = (month: number) => `month_${String(month).padStart(2, '0')}`;

/** cohort_matrix's columns, typed as cohort_retention types them. */
export function cohortMatrixColumns(): { readonly name: string; readonly type: string }[] {
  const typeOf = (name: string) => cohortRetentionTable.columns.find((c) => c.name === name)?.type ?? 'VARCHAR';
  return [
    { name: 'cohort_month', type: typeOf('cohort_month') },
    { name: 'as_of_date', type: 'DATE' },
    { name: 'cohort_size', type: typeOf('cohort_size') },
    ...Array.from({ length: cohortMatrixMonths + 1 }, (_, month) => ({ name: monthColumn(month), type: typeOf('retention_rate') })),
  ];
}

/**
 * cohort_matrix's SELECT: one row per acquisition cohort, retention_rate by months since the first
 * order as columns (the classic triangle), from `retention` (cohort_retention rows, quoted or
 * qualified) of the snapshot. Months not yet observable stay NULL, not zero, as in the mart. SQL that
 * Athena (Trino) and DuckDB both run.
 */
export function cohortMatrixSelect(snapshotDate: string, retention: string): string {
  assertSnapshotDate(snapshotDate);
  const months = Array.from({ length: cohortMatrixMonths + 1 }, (_, month) => month);
  return [
    'SELECT',
    `  ${q('cohort_month')},`,
    `  DATE '${snapshotDate}' AS ${q('as_of_date')},`,
    `  max(${q('cohort_size')}) AS ${q('cohort_size')},`,
    months
      .map((month) => `  max(CASE WHEN ${q('months_since_first')} = ${month} THEN ${q('retention_rate')} END) AS ${q(monthColumn(month))}`)
      .join(',\n'),
    `FROM ${retention}`,
    `WHERE ${q('as_of_date')} = DATE '${snapshotDate}'`,
    `GROUP BY ${q('cohort_month')}`,
  ].join('\n');
}
