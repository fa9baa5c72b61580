import Table from 'cli-table3';
import type { IngestFileResult, TransformReport } from '../core/pipeline.ts';

export type OutputFormat = 'table' | 'csv' | 'json';

/** Plain tables: no colour codes, so output piped to a file or a test reads the same. */
const plainTable = (head: readonly string[]) => new Table({ head: [...head], style: { head: [], border: [] } });

const number = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(n ?? ''));

const money = (n: unknown) =>
  typeof n === 'number' ? n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : String(n ?? '');

export function printIngestResults(results: readonly IngestFileResult[]): void {
  const table = plainTable(['file', 'status', 'read', 'curated', 'quarantined', 'reasons']);
  for (const r of results) {
    const reasons = Object.entries(r.reasons)
      .map(([reason, n]) => `${reason}: ${n}`)
      .join('\n');
    table.push([
      r.source,
      r.status === 'skipped' ? 'skipped (already ingested)' : r.status,
      number(r.rowsRead),
      number(r.rowsCurated),
      number(r.rowsQuarantined),
      r.error ?? reasons,
    ]);
  }
  console.log(table.toString());
  const failed = results.filter((r) => r.status === 'failed');
  for (const f of failed) console.error(`not ingested: ${f.error}`);
}

export function printTransformSummary(result: TransformReport, segments: readonly Record<string, unknown>[]): void {
  console.log(
    `\nsnapshot ${result.asOfDate} published (run ${result.runId}; ${result.mode} run reading ${result.filesRead} ` +
      `curated file(s)${result.rebuildBatches ? ` in ${result.rebuildBatches} batches` : ''}: ${result.modeReason}; ` +
      `${result.sqlTests} SQL tests passed` +
      `${result.previousAsOfDate ? `; previous snapshot ${result.previousAsOfDate}` : ''})`,
  );
  const tables = plainTable(['table', 'rows']);
  for (const t of result.tables) tables.push([t.name, number(t.rows)]);
  console.log(tables.toString());
  for (const dimension of [...new Set(segments.map((s) => String(s.dimension)))]) {
    const table = plainTable([dimension, 'customers', '% customers', 'revenue', '% revenue', 'predicted CLV', '% CLV']);
    for (const s of segments.filter((row) => row.dimension === dimension)) {
      table.push([
        String(s.segment),
        number(s.customers),
        `${s.customer_pct}`,
        money(s.revenue),
        `${s.revenue_pct}`,
        money(s.predicted_clv),
        `${s.clv_pct ?? ''}`,
      ]);
    }
    console.log(`\nby ${dimension}`);
    console.log(table.toString());
  }
  printClvSummary(result, segments);
}

function printClvSummary(result: TransformReport, segments: readonly Record<string, unknown>[]): void {
  const total = segments
    .filter((s) => s.dimension === 'value_tier')
    .reduce((sum, s) => sum + Number(s.predicted_clv ?? 0), 0);
  console.log(`\nCLV: total predicted ${money(total)}`);
  const { bgnbd, gammaGamma, notes = [] } = result.clv ?? {};
  if (bgnbd) {
    const p = bgnbd.params;
    console.log(
      `  BG/NBD on ${number(bgnbd.customers)} customers: r=${p.r.toPrecision(4)} alpha=${p.alpha.toPrecision(4)} d ` +
        `a=${p.a.toPrecision(4)} b=${p.b.toPrecision(4)}, LL=${bgnbd.logLikelihood.toFixed(1)}${bgnbd.converged ? '' : ' (NOT converged)'}`,
    );
  }
  if (gammaGamma) {
    const p = gammaGamma.params;
    console.log(
      `  Gamma-Gamma on ${number(gammaGamma.customers)} repeat customers: p=${p.p.toPrecision(4)} q=${p.q.toPrecision(4)} ` +
        `gamma=${p.gamma.toPrecision(4)}, LL=${gammaGamma.logLikelihood.toFixed(1)}, corr(x, spend)=` +
        `${gammaGamma.frequencyMonetaryCorrelation.toFixed(3)}${gammaGamma.converged ? '' : ' (NOT converged)'}`,
    );
  }
  for (const note of notes) console.log(`  note: ${note}`);
}

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function printRows(columns: readonly string[], rows: readonly Record<string, unknown>[], format: OutputFormat): void {
  if (format === 'json') {
    console.log(JSON.stringify(rows, null, 2));
  } else if (format === 'csv') {
    console.log([columns.map(csvField).join(','), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(','))].join('\n'));
  } else {
    const table = plainTable(columns);
    for (const r of rows) table.push(columns.map((c) => (r[c] === null ? 'NULL' : typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c]))));
    console.log(table.toString());
    console.log(`${rows.length} row(s)`);
  }
}
