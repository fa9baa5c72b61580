import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import betaln from '@stdlib/math-base-special-betaln';
import gammaln from '@stdlib/math-base-special-gammaln';
import hyp2f1 from '@stdlib/math-base-special-hyp2f1';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb, queryRows, quoteLiteral } from '../../lambdas/core/duckdb.ts';
import { DEFAULT_BEHAVIOUR, generateTransactions, type GenerateResult } from '../../lambdas/core/generate.ts';

const SECONDS_PER_DAY = 86_400;
const { r, alpha, a, b } = DEFAULT_BEHAVIOUR.purchases;

/**
 * Fader, Hardie & Lee (2005), "Counting your customers the easy way", eq. 7: expected repeat
 * purchases in (0, t] of a customer acquired at 0.
 */
function bgnbdExpectedRepeats(t: number): number {
  return ((a + b - 1) / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
}

/** Same paper, eq. 8: P(X(t) = x), computed in log space. */
function bgnbdRepeatProbability(x: number, t: number): number {
  const logShare = Math.log(alpha / (alpha + t));
  const logRest = Math.log(t / (alpha + t));
  const negBinomialTerm = (j: number) =>
    Math.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * logShare + j * logRest);
  let probability = Math.exp(betaln(a, b + x) - betaln(a, b)) * negBinomialTerm(x);
  if (x > 0) {
    let cumulative = 0;
    for (let j = 0; j < x; j++) cumulative += negBinomialTerm(j);
    probability += Math.exp(betaln(a + 1, b + x - 1) - betaln(a, b)) * (1 - cumulative);
  }
  return probability;
}

function chiSquare(observed: readonly number[], expected: readonly number[]): number {
  return observed.reduce((sum, o, i) => sum + (o - expected[i]!) ** 2 / expected[i]!, 0);
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function sampleStandardDeviation(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
}

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'generate-test-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('generateTransactions', () => {
  it('writes byte-identical files for the same seed, different ones for another seed, and gzip of the same bytes', async () => {
    const base = { customers: 500, start: '2024-01-01', months: 6 };
    const first = join(workDir, 'seed-5-a.csv');
    await generateTransactions({ ...base, seed: 5, out: first });
    await generateTransactions({ ...base, seed: 5, out: join(workDir, 'seed-5-b.csv') });
    await generateTransactions({ ...base, seed: 6, out: join(workDir, 'seed-6.csv') });
    await generateTransactions({ ...base, seed: 5, out: join(workDir, 'seed-5.csv.gz') });

    expect(await sha256(join(workDir, 'seed-5-b.csv'))).toBe(await sha256(first));
    expect(await sha256(join(workDir, 'seed-6.csv'))).not.toBe(await sha256(first));
    expect(gunzipSync(await readFile(join(workDir, 'seed-5.csv.gz'))).equals(await readFile(first))).toBe(true);
  });

  it('reports progress up to the final row count and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(workDir, 'progress-'));
    const progress: number[] = [];
    // ~10 rows of ~45 bytes per customer: 20,000 customers make several 1 MiB chunks.
    const result = await generateTransactions(
      { customers: 20_000, seed: 1, start: '2024-01-01', months: 12, out: join(dir, 'out.csv') },
      (rows) => progress.push(rows),
    );
    const lines = (await readFile(join(dir, 'out.csv'), 'utf8')).trimEnd().split('\n');

    expect(result.rows).toBe(lines.length - 1);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(result.rows);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(await readdir(dir)).toEqual(['out.csv']);
  });

  it('rejects invalid options, naming the option', async () => {
    const valid = { customers: 10, seed: 1, start: '2024-01-01', months: 1, out: join(workDir, 'invalid.csv') };
    await expect(generateTransactions({ ...valid, customers: 0 })).rejects.toThrow(/customers/);
    await expect(generateTransactions({ ...valid, months: 1.5 })).rejects.toThrow(/months/);
    await expect(generateTransactions({ ...valid, start: '2023-02-30' })).rejects.toThrow(/start/);
    await expect(generateTransactions({ ...valid, seed: -1 })).rejects.toThrow(/seed/);
    await expect(generateTransactions({ ...valid, out: join(workDir, 'invalid.txt') })).rejects.toThrow(/\.csv/);
  });

  it('ends a period that starts on the 31st on the last day of the shorter month', async () => {
    // 2024-01-31 + 1 month is 2024-02-29 (leap year), as DuckDB's date + INTERVAL 1 MONTH gives.
    const result = await generateTransactions({
      customers: 300,
      seed: 3,
      start: '2024-01-31',
      months: 1,
      out: join(workDir, 'clamped.csv'),
    });
    expect(result.firstDate >= '2024-01-31').toBe(true);
    expect(result.lastDate < '2024-02-29').toBe(true);
  });
});

describe('generated data with the default behaviour (3,000 customers over 24 months)', () => {
  const options = { customers: 3_000, seed: 2024, start: '2023-01-01', months: 24 } as const;
  const periodEnd = '2025-01-01';
  let result: GenerateResult;
  let connection: DuckDBConnection;
  let close: () => void;

  beforeAll(async () => {
    const out = join(workDir, 'default.csv.gz');
    result = await generateTransactions({ ...options, out });
    ({ connection, close } = await openDuckDb({ tempDirectory: join(workDir, 'duckdb-default') }));
    await connection.run(`CREATE TABLE raw AS SELECT * FROM read_csv(${quoteLiteral(out)}, header = true, all_varchar = true)`);
    await connection.run(`
      CREATE TABLE tx AS
      SELECT customer_id, transaction_id, strptime(order_ts, '%Y-%m-%dT%H:%M:%SZ') AS ts,
             amount::DECIMAL(18, 2) AS amount, quantity::INTEGER AS quantity
      FROM raw`);
  });
  afterAll(() => close?.());

  it('has the documented header and every value in its format', async () => {
    const columns = await queryRows(connection, 'SELECT column_name FROM (DESCRIBE raw)');
    expect(columns.map((c) => c.column_name)).toEqual(['customer_id', 'transaction_id', 'order_ts', 'amount', 'quantity']);
    const [bad] = await queryRows(
      connection,
      `SELECT
         count(*) FILTER (NOT regexp_full_match(customer_id, 'C[0-9]+'))::INTEGER AS customer_id,
         count(*) FILTER (transaction_id IS NULL OR transaction_id = '')::INTEGER AS transaction_id,
         count(*) FILTER (NOT regexp_full_match(order_ts, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'))::INTEGER AS order_ts,
         count(*) FILTER (NOT regexp_full_match(amount, '-?[0-9]+\\.[0-9]{2}'))::INTEGER AS amount,
         count(*) FILTER (NOT regexp_full_match(quantity, '-?[1-9][0-9]*'))::INTEGER AS quantity
       FROM raw`,
    );
    expect(bad).toEqual({ customer_id: 0, transaction_id: 0, order_ts: 0, amount: 0, quantity: 0 });
  });

  it('has unique transaction ids, exactly the requested customers and every timestamp inside the period', async () => {
    const [facts] = await queryRows(
      connection,
      `SELECT count(*)::INTEGER AS rows, count(DISTINCT transaction_id)::INTEGER AS ids,
              count(DISTINCT customer_id)::INTEGER AS customers,
              (min(ts) >= $start::DATE AND max(ts) < $start::DATE + INTERVAL (${options.months}) MONTH) AS inside
       FROM tx`,
      { start: options.start },
    );
    expect(facts!.ids).toBe(facts!.rows);
    expect(facts!.customers).toBe(options.customers);
    expect(facts!.inside).toBe(true);
  });

  it('reports the counts and dates found in the file', async () => {
    const [facts] = await queryRows(
      connection,
      `SELECT count(*)::INTEGER AS rows, count(*) FILTER (amount < 0)::INTEGER AS returns,
              strftime(min(ts), '%Y-%m-%d') AS first_date, strftime(max(ts), '%Y-%m-%d') AS last_date
       FROM tx`,
    );
    expect(result).toEqual({
      rows: facts!.rows,
      customers: options.customers,
      returns: facts!.returns,
      firstDate: facts!.first_date,
      lastDate: facts!.last_date,
    });
  });

  it('makes about 10 rows per customer over 24 months, the size the benchmark relies on', () => {
    expect(result.rows / options.customers).toBeGreaterThan(8);
    expect(result.rows / options.customers).toBeLessThan(12);
  });

  it('follows each return, 1 to 14 days later, by a larger-or-equal order of the same customer', async () => {
    const [facts] = await queryRows(
      connection,
      `SELECT count(*)::INTEGER AS returns,
              count(*) FILTER (quantity >= 0)::INTEGER AS non_negative_quantity,
              count(*) FILTER (NOT EXISTS (
                SELECT 1 FROM tx o
                WHERE o.customer_id = r.customer_id AND o.amount >= -r.amount AND o.quantity >= -r.quantity
                  AND o.ts BETWEEN r.ts - INTERVAL 14 DAY AND r.ts - INTERVAL 1 DAY))::INTEGER AS without_order
       FROM tx r WHERE amount < 0`,
    );
    expect(facts!.returns).toBeGreaterThan(0);
    expect(facts!.non_negative_quantity).toBe(0);
    expect(facts!.without_order).toBe(0);
  });

  it('returns the configured share of orders, less those whose return would fall after the period', async () => {
    // An order at time s is returned with probability P times the chance that its U(1, 14)-day delay
    // ends before the period does. The count is a sum of independent Bernoulli draws: its variance is
    // below its mean, so 4 × √expected is a tolerance a correct generator breaks about once in 15,000.
    const { min, max } = DEFAULT_BEHAVIOUR.returnDelayDays;
    const [facts] = await queryRows(
      connection,
      `SELECT (count(*) FILTER (amount < 0))::INTEGER AS returns,
              sum(least(1, greatest(0, (epoch($end::TIMESTAMP) - epoch(ts)) / ${SECONDS_PER_DAY} - $min) / ($max - $min)))
                FILTER (amount > 0) AS returnable_orders
       FROM tx`,
      { end: periodEnd, min, max },
    );
    const expected = DEFAULT_BEHAVIOUR.returnProbability * Number(facts!.returnable_orders);
    expect(Math.abs(Number(facts!.returns) - expected)).toBeLessThan(4 * Math.sqrt(expected));
  });

  it('acquires customers evenly over the period, giving every month a cohort of its expected size', async () => {
    // First purchases are uniform over the period, so a month's cohort is binomial with p = its days /
    // all days. Chi-square over 24 months (23 degrees of freedom): 49.73 is the 0.1 % critical value.
    const cohorts = await queryRows(
      connection,
      `WITH firsts AS (SELECT customer_id, min(ts) AS first_ts FROM tx GROUP BY customer_id),
       months AS (SELECT unnest(generate_series($start::DATE, $start::DATE + INTERVAL 23 MONTH, INTERVAL 1 MONTH))::DATE AS month)
       SELECT month, (SELECT count(*) FROM firsts WHERE date_trunc('month', first_ts) = month)::INTEGER AS customers,
              date_diff('day', month, (month + INTERVAL 1 MONTH)::DATE)::INTEGER AS days
       FROM months ORDER BY month`,
      { start: options.start },
    );
    const periodDays = cohorts.reduce((sum, c) => sum + Number(c.days), 0);
    expect(periodDays).toBe(731);
    const expected = cohorts.map((c) => (options.customers * Number(c.days)) / periodDays);
    expect(chiSquare(cohorts.map((c) => Number(c.customers)), expected)).toBeLessThan(49.73);
  });

  it('gives each customer the number of orders BG/NBD plus same-day extras implies for their time since acquisition', async () => {
    // Occasions per customer: 1 + E[X(T)] with T the days from their first purchase to the period end
    // (BG/NBD eq. 7); each occasion adds 1 + Poisson(μ) orders with probability q. The mean over
    // customers is compared with 4 standard errors (sample SD / √n), a bound a correct generator
    // breaks about once in 15,000 by the central limit theorem.
    const customers = await queryRows(
      connection,
      `SELECT count(*) FILTER (amount > 0)::INTEGER AS orders,
              (epoch($end::TIMESTAMP) - epoch(min(ts))) / ${SECONDS_PER_DAY} AS exposure_days
       FROM tx GROUP BY customer_id`,
      { end: periodEnd },
    );
    const ordersPerOccasion =
      1 + DEFAULT_BEHAVIOUR.sameDayExtraOrderProbability * (1 + DEFAULT_BEHAVIOUR.sameDayExtraOrdersPoissonMean);
    const expected = mean(customers.map((c) => (1 + bgnbdExpectedRepeats(Number(c.exposure_days))) * ordersPerOccasion));
    const orders = customers.map((c) => Number(c.orders));
    const standardError = sampleStandardDeviation(orders) / Math.sqrt(orders.length);
    expect(Math.abs(mean(orders) - expected)).toBeLessThan(4 * standardError);
  });

  it('draws order values Gamma-Gamma style: mean pγ/(q−1) and a spend level of its own per customer', async () => {
    const customers = await queryRows(
      connection,
      `SELECT count(*)::INTEGER AS orders, avg(amount)::DOUBLE AS mean_value, var_samp(amount)::DOUBLE AS variance
       FROM tx WHERE amount > 0 GROUP BY customer_id`,
    );
    const { p, q, gamma } = DEFAULT_BEHAVIOUR.spend;
    // E[p/ν] with ν ~ Gamma(q, γ) is pγ/(q−1); the customers' means are independent, so 4 standard
    // errors of their average bound it as above.
    const means = customers.map((c) => Number(c.mean_value));
    const standardError = sampleStandardDeviation(means) / Math.sqrt(means.length);
    expect(Math.abs(mean(means) - (p * gamma) / (q - 1))).toBeLessThan(4 * standardError);

    // If every customer had the same mean spend, the variance of customer means would equal the order
    // noise var/n (ratio ≈ 1). Gamma-Gamma with these parameters spreads true means with variance
    // p²γ²/((q−1)²(q−2)) = 1,800 against a noise of a few dozen: a ratio above 4 shows the spread.
    const regulars = customers.filter((c) => Number(c.orders) >= 5);
    const noise = mean(regulars.map((c) => Number(c.variance) / Number(c.orders)));
    const between = sampleStandardDeviation(regulars.map((c) => Number(c.mean_value))) ** 2;
    expect(between / noise).toBeGreaterThan(4);
  });

  it('has customers who order several times on the same day', async () => {
    const [facts] = await queryRows(
      connection,
      `SELECT count(*)::INTEGER AS busy_days FROM (
         SELECT customer_id, ts::DATE FROM tx WHERE amount > 0 GROUP BY ALL HAVING count(*) > 1)`,
    );
    expect(facts!.busy_days).toBeGreaterThan(0);
  });
});

describe('purchase occasions without same-day extras (4,000 customers over 24 months)', () => {
  it('follow the BG/NBD distribution of repeat purchases given each customer’s time since acquisition', async () => {
    const out = join(workDir, 'occasions.csv');
    await generateTransactions({
      customers: 4_000,
      seed: 11,
      start: '2023-01-01',
      months: 24,
      out,
      behaviour: { sameDayExtraOrderProbability: 0 },
    });
    const { connection, close } = await openDuckDb({ tempDirectory: join(workDir, 'duckdb-occasions') });
    let customers: Record<string, unknown>[];
    try {
      customers = await queryRows(
        connection,
        `SELECT (count(*) - 1)::INTEGER AS repeats,
                (epoch(TIMESTAMP '2025-01-01') - epoch(min(order_ts))) / ${SECONDS_PER_DAY} AS exposure_days
         FROM read_csv(${quoteLiteral(out)}, header = true, columns = {
           'customer_id': 'VARCHAR', 'transaction_id': 'VARCHAR', 'order_ts': 'TIMESTAMP',
           'amount': 'DECIMAL(18,2)', 'quantity': 'INTEGER'})
         WHERE amount > 0 GROUP BY customer_id`,
      );
    } finally {
      close();
    }
    // Bins x = 0..9 and ≥ 10 repeat purchases; each customer contributes P(X(T_i) = x) (eq. 8) to
    // the expected count of bin x. Chi-square with 10 degrees of freedom: 29.59 is the 0.1 % critical
    // value. This checks the rate heterogeneity (r, α) and the dropout (a, b) together.
    const bins = 11;
    const observed = new Array<number>(bins).fill(0);
    const expected = new Array<number>(bins).fill(0);
    for (const customer of customers) {
      observed[Math.min(Number(customer.repeats), bins - 1)]!++;
      let below = 0;
      for (let x = 0; x < bins - 1; x++) {
        const probability = bgnbdRepeatProbability(x, Number(customer.exposure_days));
        expected[x]! += probability;
        below += probability;
      }
      expected[bins - 1]! += 1 - below;
    }
    expect(customers).toHaveLength(4_000);
    expect(Math.min(...expected)).toBeGreaterThan(5);
    expect(chiSquare(observed, expected)).toBeLessThan(29.59);
  });
});
