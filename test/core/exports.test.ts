import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  athenaStringLiteral,
  buildExportQuery,
  customer360Columns,
  exportCsvKey,
  lifecycleStages,
  parseExportRequest,
  rfmSegments,
  valueTiers,
} from '../../lambdas/core/exports.ts';
import { martTables, type TableSpec } from '../../lambdas/core/schema/tables.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

/** The accepted values a SQL test lists for `column not in (...)`: the models' own definition of the enumeration. */
function acceptedValues(sqlTest: string, column: string): string[] {
  const sql = readFileSync(join(repoRoot, 'sql/tests', sqlTest), 'utf8');
  const match = new RegExp(`(?:\\w+\\.)?\\b${column} not in \\(([^)]*)\\)`).exec(sql);
  if (!match?.[1]) throw new Error(`${sqlTest} lists no accepted values for ${column}`);
  return [...match[1].matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');
}

describe('export enumerations', () => {
  it('are exactly the values the SQL models are tested to produce', () => {
    expect([...rfmSegments].sort()).toEqual(acceptedValues('assert_customer_rfm_scores_and_segments_valid.sql', 'rfm_segment').sort());
    expect([...lifecycleStages].sort()).toEqual(
      acceptedValues('assert_customer_lifecycle_one_valid_stage_per_customer.sql', 'lifecycle_stage').sort(),
    );
    expect([...valueTiers].sort()).toEqual(acceptedValues('assert_customer_clv_valid.sql', 'value_tier').sort());
  });
});

const column = (name: string) => ({ name, type: 'VARCHAR' as const, description: `${name} meaning` });
const asOf = { name: 'as_of_date', type: 'DATE' as const, description: 'snapshot' };
function martFixture(name: string, perCustomer: boolean, columns: string[]): TableSpec {
  return { name, description: name, layer: 'mart', partition: asOf, key: ['customer_id'], perCustomer, columns: columns.map(column) };
}

describe('customer360Columns', () => {
  it('keeps the first mart’s name for a shared column and prefixes later copies with their table', () => {
    const tables = [
      martFixture('alpha', true, ['customer_id', 'score', 'first_order_date']),
      martFixture('beta', false, ['customer_id', 'ignored']),
      martFixture('gamma', true, ['customer_id', 'score', 'tier']),
    ];
    expect(customer360Columns(tables).map((c) => c.name)).toEqual([
      'customer_id',
      'as_of_date',
      'cohort_month',
      'score',
      'first_order_date',
      'gamma_score',
      'tier',
    ]);
    const gammaScore = customer360Columns(tables).find((c) => c.name === 'gamma_score');
    expect(gammaScore?.source).toEqual({ kind: 'column', table: 'gamma', column: 'score' });
  });

  it('covers every column of every per-customer mart of the schema source once', () => {
    const perCustomer = martTables.filter((t) => t.perCustomer);
    const expectedCount = 3 + perCustomer.reduce((sum, t) => sum + t.columns.filter((c) => c.name !== 'customer_id').length, 0);
    const columns = customer360Columns();
    expect(columns).toHaveLength(expectedCount);
    expect(new Set(columns.map((c) => c.name)).size).toBe(expectedCount);
    for (const table of perCustomer) {
      for (const c of table.columns.filter((c) => c.name !== 'customer_id')) {
        expect(columns.some((x) => x.source.kind === 'column' && x.source.table === table.name && x.source.column === c.name)).toBe(true);
      }
    }
    expect(columns.find((c) => c.name === 'cohort_month')?.source).toEqual({
      kind: 'month_of',
      table: 'customer_rfm',
      column: 'first_order_date',
    });
  });
});

describe('parseExportRequest', () => {
  it('fills default columns and drops repeated values', () => {
    const request = parseExportRequest({ name: 'at-risk-a', filters: { lifecycle_stage: ['at_risk', 'at_risk'], value_tier: ['A'] } });
    expect(request).toEqual({
      name: 'at-risk-a',
      filters: { lifecycle_stage: ['at_risk'], value_tier: ['A'] },
      columns: ['customer_id', 'rfm_segment', 'lifecycle_stage', 'value_tier', 'cohort_month'],
    });
  });

  it.each([
    [{ name: 'x', filters: { lifecycle_stage: ['at risk'] } }, 'filters.lifecycle_stage.0'],
    [{ name: 'x', filters: { cohort_month: ["2024-01' OR '1'='1"] } }, 'filters.cohort_month.0: use YYYY-MM'],
    [{ name: 'x', filters: { cohort_month: ['2024-13'] } }, 'filters.cohort_month.0: use YYYY-MM'],
    [{ name: 'x', filters: { rfm_segment: [] } }, 'filters.rfm_segment: give at least one value'],
    [{ name: 'x', filters: { country: ['FR'] } }, 'filters'],
    [{ name: 'x', columns: ['customer_id', 'password'] }, 'columns.1'],
    [{ name: 'x', columns: [] }, 'columns'],
    [{ name: '../secrets' }, 'name: use 1-63 lowercase letters'],
    [{ name: 'Campaign' }, 'name: use 1-63 lowercase letters'],
    [{ filters: {} }, 'name'],
    [{ name: 'x', extra: true }, '(request)'],
  ])('rejects %j naming %s', (raw, where) => {
    expect(() => parseExportRequest(raw)).toThrow(where);
  });

  it('says when a filter needs a mart the schema does not have yet', () => {
    const withoutClv = martTables.filter((t) => t.name !== 'customer_clv');
    expect(() => parseExportRequest({ name: 'x', filters: { value_tier: ['A'] } }, withoutClv)).toThrow(
      'filters.value_tier: value_tier is not available yet',
    );
  });
});

describe('buildExportQuery', () => {
  it('selects the columns from customer_360 with one placeholder per filter value, values as Athena literals', () => {
    const request = parseExportRequest({
      name: 'winback',
      filters: { rfm_segment: ['at_risk', 'cannot_lose'], cohort_month: ['2024-01'] },
      columns: ['customer_id', 'predicted_clv'],
    });
    expect(buildExportQuery(request, 'lifecycle_lake')).toEqual({
      sql: [
        'SELECT "customer_id", "predicted_clv"',
        'FROM "lifecycle_lake"."customer_360"',
        'WHERE "rfm_segment" IN (?, ?)',
        '  AND "cohort_month" IN (?)',
        'ORDER BY "customer_id"',
      ].join('\n'),
      executionParameters: ["'at_risk'", "'cannot_lose'", "'2024-01'"],
    });
  });

  it('exports everyone without a WHERE clause or parameters when no filter is given', () => {
    const query = buildExportQuery(parseExportRequest({ name: 'all', columns: ['customer_id'] }), 'lifecycle_lake');
    expect(query).toEqual({ sql: 'SELECT "customer_id"\nFROM "lifecycle_lake"."customer_360"\nORDER BY "customer_id"' });
  });

  it('refuses a database name that is not a plain identifier', () => {
    const request = parseExportRequest({ name: 'all' });
    expect(() => buildExportQuery(request, 'lake"; DROP TABLE x; --')).toThrow('not a Glue database name');
  });
});

describe('helpers', () => {
  it('doubles single quotes in literals', () => {
    expect(athenaStringLiteral("O'Brien")).toBe("'O''Brien'");
  });

  it('puts each export run in its own folder under exports/<name>/<date>/', () => {
    expect(exportCsvKey('at-risk-a', '2024-05-02', 'q-123')).toBe('exports/at-risk-a/2024-05-02/q-123/at-risk-a.csv');
  });
});
