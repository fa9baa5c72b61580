/**
 * One measurement in a fresh process, so its peak RSS belongs to it alone (bench/run.ts starts it):
 *
 *   node --import tsx bench/measure.ts pipeline <transactions.csv> <result.json> <lake-dir>
 *   node --import tsx bench/measure.ts baseline <transactions.csv> <result.json>
 *
 * `pipeline` is the whole `lifecycle-lake run` (ingest, every mart, CLV fit, publication, summary);
 * `baseline` is the least a hand-written job would do: one DuckDB read_csv + GROUP BY customer_id
 * computing recency, frequency and monetary. Writes {seconds, maxRssBytes, ...} to result.json;
 * the timer starts after the modules are loaded.
 */
import { writeFile } from 'node:fs/promises';
import { openDuckDb, queryRows, quoteLiteral } from '../lambdas/core/duckdb.ts';

export interface Measurement {
  readonly mode: 'pipeline' | 'baseline';
  readonly seconds: number;
  /** process.resourceUsage().maxRSS, converted from KiB. */
  readonly maxRssBytes: number;
  /** Customers in the baseline's result (a check that it did the whole job). */
  readonly customers?: number;
}

async function measurePipeline(input: string, lakeDir: string): Promise<Omit<Measurement, 'maxRssBytes'>> {
  const { runCli } = await import('../lambdas/cli/program.ts');
  const start = performance.now();
  const exitCode = await runCli(['node', 'lifecycle-lake', 'run', '--input', input, '--lake', lakeDir]);
  const seconds = (performance.now() - start) / 1000;
  if (exitCode !== 0) throw new Error(`lifecycle-lake run exited with code ${exitCode}`);
  return { mode: 'pipeline', seconds };
}

async function measureBaseline(input: string, resultPath: string): Promise<Omit<Measurement, 'maxRssBytes'>> {
  const start = performance.now();
  // Same engine settings as the pipeline's (openDuckDb defaults), so the ratio compares work, not tuning.
  const duck = await openDuckDb({ tempDirectory: `${resultPath}.duckdb` });
  try {
    await duck.connection.run(`
      CREATE TABLE rfm AS
      WITH per_customer AS (
        SELECT customer_id,
               count(*) FILTER (WHERE amount > 0) AS frequency,
               sum(amount) AS monetary,
               max(order_ts) FILTER (WHERE amount > 0) AS last_order_ts
        FROM read_csv(${quoteLiteral(input)}, header = true, columns = {
          'customer_id': 'VARCHAR', 'transaction_id': 'VARCHAR', 'order_ts': 'TIMESTAMP',
          'amount': 'DECIMAL(18,2)', 'quantity': 'INTEGER'})
        GROUP BY customer_id)
      SELECT customer_id, frequency, monetary,
             date_diff('day', last_order_ts::DATE, (max(last_order_ts) OVER ())::DATE + 1) AS recency_days
      FROM per_customer`);
    const [counted] = await queryRows(duck.connection, 'SELECT count(*)::INTEGER AS customers FROM rfm');
    return { mode: 'baseline', seconds: (performance.now() - start) / 1000, customers: Number(counted!.customers) };
  } finally {
    duck.close();
  }
}

const [mode, input, resultPath, lakeDir] = process.argv.slice(2);
if ((mode !== 'pipeline' && mode !== 'baseline') || !input || !resultPath || (mode === 'pipeline' && !lakeDir)) {
  console.error('usage: measure.ts pipeline <csv> <result.json> <lake-dir> | measure.ts baseline <csv> <result.json>');
  process.exit(2);
}
const measured = mode === 'pipeline' ? await measurePipeline(input, lakeDir!) : await measureBaseline(input, resultPath);
const measurement: Measurement = { ...measured, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
await writeFile(resultPath, JSON.stringify(measurement));
