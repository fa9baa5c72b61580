import { createHash } from 'node:crypto';
import { DOUBLE, DuckDBDataChunk, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clvProgramModel, fitSampleThreshold } from '../../lambdas/core/clv-model.ts';
import { fitBgNbd, predictClv, predictPurchases } from '../../lambdas/core/clv/index.ts';
import { parseConfig, type PipelineConfigInput } from '../../lambdas/core/config.ts';
import { openDuckDb } from '../../lambdas/core/duckdb.ts';
import { seededRandom, simulateBgNbd, simulateSpend } from './clv/simulate.ts';

interface Customers {
  readonly ids: string[];
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly monetary: Float64Array;
}

/** Customers drawn from the models the generator uses (days; first purchases over two years). */
function simulateCustomers(count: number, seed: number): Customers {
  const random = seededRandom(seed);
  const ages = Float64Array.from({ length: count }, () => Math.floor(random.uniform() * 730));
  const { x, tx, T } = simulateBgNbd({ r: 0.7, alpha: 10, a: 1.5, b: 15 }, ages, random, true);
  const monetary = simulateSpend({ p: 6, q: 4, gamma: 30 }, x, random);
  return { ids: Array.from({ length: count }, (_, i) => `customer-${seed}-${i}`), x, tx, T, monetary };
}

/** Writes the summary model the CLV step reads, rows in the order given. */
async function writeSummary(connection: DuckDBConnection, customers: Customers, order: readonly number[]): Promise<void> {
  await connection.run(`create or replace table int_purchase_days_summarized_to_customer (customer_id varchar,
    repeat_purchase_days double, t_x_days double, t_days double, repeat_avg_value double, avg_day_value double)`);
  const appender = await connection.createAppender('int_purchase_days_summarized_to_customer');
  for (let start = 0; start < order.length; start += 2048) {
    const rows = order.slice(start, start + 2048);
    const chunk = DuckDBDataChunk.create([VARCHAR, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE], rows.length);
    // The mean purchase-day value includes the first day; any positive value serves the fallbacks here.
    chunk.setColumns([
      rows.map((i) => customers.ids[i]!),
      rows.map((i) => customers.x[i]!),
      rows.map((i) => customers.tx[i]!),
      rows.map((i) => customers.T[i]!),
      rows.map((i) => customers.monetary[i]!),
      rows.map((i) => customers.monetary[i]! + 10),
    ]);
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

const inSample = (id: string, share: number) =>
  Number.parseInt(createHash('md5').update(id).digest('hex').slice(0, 13), 16) < Math.floor(share * 2 ** 52);

describe('fitSampleThreshold', () => {
  it('gives the 13-hex-digit prefix of the sampled share of the md5 range, or none when every customer is fitted', () => {
    // 1/10 in hex is 0.1999…, 1/4 is 0.4.
    expect(fitSampleThreshold(100, 1000)).toBe('1999999999999');
    expect(fitSampleThreshold(1000, 4000)).toBe('4000000000000');
    expect(fitSampleThreshold(0, 1_000_000)).toBeUndefined();
    expect(fitSampleThreshold(5000, 5000)).toBeUndefined();
  });
});

describe('clv_predictions on a fit sample', () => {
  let duck: Awaited<ReturnType<typeof openDuckDb>>;
  beforeEach(async () => {
    duck = await openDuckDb();
  });
  afterEach(() => duck.close());

  const run = async (config: PipelineConfigInput) => {
    const notes: string[] = [];
    await clvProgramModel(parseConfig(config), (report) => notes.push(...report.notes)).run(duck.connection);
    const params = (await duck.connection.runAndReadAll('select * from clv_fit_params order by all')).getRowObjectsJS();
    const predictions = (await duck.connection.runAndReadAll('select * from clv_predictions order by all')).getRowObjectsJS();
    return { notes, params, predictions };
  };
  const paramsOf = (rows: Record<string, unknown>[], model: string) =>
    Object.fromEntries(rows.filter((r) => r.model === model).map((r) => [r.parameter, Number(r.value)]));

  it('fits on exactly the customers whose md5(customer_id) falls below the share, and says so', async () => {
    const customers = simulateCustomers(4000, 3);
    await writeSummary(duck.connection, customers, customers.ids.map((_, i) => i));
    const { notes, params, predictions } = await run({ clv: { fitSampleSize: 1000 } });

    const sampled = customers.ids.flatMap((id, i) => (inSample(id, 1000 / 4000) ? [i] : []));
    const repeatSampled = sampled.filter((i) => customers.x[i]! > 0 && customers.monetary[i]! > 0);
    const pick = (column: Float64Array) => Float64Array.from(sampled, (i) => column[i]!);
    const direct = fitBgNbd({ x: pick(customers.x), tx: pick(customers.tx), T: pick(customers.T) });

    const bgnbd = params.filter((r) => r.model === 'bgnbd');
    expect(bgnbd.map((r) => r.customers)).toEqual([sampled.length, sampled.length, sampled.length, sampled.length]);
    expect(bgnbd[0]?.note).toBe(
      `bgnbd fitted on a deterministic sample of ${sampled.length} of 4000 customers (clv.fitSampleSize 1000, by md5 of customer_id)`,
    );
    const fitted = paramsOf(params, 'bgnbd');
    for (const name of ['r', 'alpha', 'a', 'b'] as const) expect(fitted[name]).toBeCloseTo(direct.params[name], 6);
    expect(params.find((r) => r.model === 'gamma_gamma' && r.parameter === 'p')?.customers).toBe(repeatSampled.length);
    expect(notes).toContain(
      `gamma_gamma fitted on the repeat customers of a deterministic sample of ${sampled.length} of 4000 customers (clv.fitSampleSize 1000, by md5 of customer_id)`,
    );
    // Predictions still cover every customer, not only the sample.
    expect(predictions).toHaveLength(4000);
  });

  it('gives identical parameters and predictions whatever the order of the summary rows', async () => {
    const customers = simulateCustomers(3000, 5);
    const forward = customers.ids.map((_, i) => i);
    await writeSummary(duck.connection, customers, forward);
    const first = await run({ clv: { fitSampleSize: 1000 } });
    await writeSummary(duck.connection, customers, [...forward].reverse());
    const second = await run({ clv: { fitSampleSize: 1000 } });
    expect(second.params).toEqual(first.params);
    expect(second.predictions).toEqual(first.predictions);
  });

  it('fits every customer when fitSampleSize is 0 or not below the customer count', async () => {
    const customers = simulateCustomers(1500, 7);
    await writeSummary(duck.connection, customers, customers.ids.map((_, i) => i));
    for (const fitSampleSize of [0, 1500]) {
      const { params, notes } = await run({ clv: { fitSampleSize } });
      expect(params.find((r) => r.model === 'bgnbd')?.customers).toBe(1500);
      expect(notes.some((n) => n.includes('sample'))).toBe(false);
    }
  });

  it('recovers the generating parameters and the full-data CLV from a quarter sample of 20,000 customers', async () => {
    const customers = simulateCustomers(20_000, 11);
    await writeSummary(duck.connection, customers, customers.ids.map((_, i) => i));
    const full = await run({ clv: { fitSampleSize: 0 } });
    const sampled = await run({ clv: { fitSampleSize: 5000 } });
    const bgnbd = paramsOf(sampled.params, 'bgnbd');
    const gammaGamma = paramsOf(sampled.params, 'gamma_gamma');
    // About 3,600 sampled customers buy again, ~35,000 repeat days in all: the well-identified population
    // means (purchase rate r/α = 0.07 a day, spend pγ/(q−1) = 60) come within a few percent of the truth.
    expect(bgnbd.r! / bgnbd.alpha!).toBeGreaterThan(0.07 * 0.9);
    expect(bgnbd.r! / bgnbd.alpha!).toBeLessThan(0.07 * 1.1);
    expect((gammaGamma.p! * gammaGamma.gamma!) / (gammaGamma.q! - 1)).toBeGreaterThan(60 * 0.95);
    expect((gammaGamma.p! * gammaGamma.gamma!) / (gammaGamma.q! - 1)).toBeLessThan(60 * 1.05);
    // Mean dropout probability a/(a+b) = 1.5/16.5 ≈ 0.091, less precisely known.
    expect(bgnbd.a! / (bgnbd.a! + bgnbd.b!)).toBeGreaterThan(0.091 * 0.75);
    expect(bgnbd.a! / (bgnbd.a! + bgnbd.b!)).toBeLessThan(0.091 * 1.25);
    // Future purchases scale with the dropout estimate, known to about ±10 % from a quarter sample, so the
    // total CLV of all 20,000 customers stays within that of the full-data fit's.
    const total = (rows: Record<string, unknown>[]) => rows.reduce((sum, r) => sum + Number(r.predicted_clv), 0);
    expect(total(sampled.predictions) / total(full.predictions)).toBeGreaterThan(0.9);
    expect(total(sampled.predictions) / total(full.predictions)).toBeLessThan(1.1);
  });

  it('predicts in SQL what predictClv and predictPurchases give for every customer', async () => {
    const customers = simulateCustomers(2500, 13);
    await writeSummary(duck.connection, customers, customers.ids.map((_, i) => i));
    const options = { horizonMonths: 24, annualDiscountRate: 0.08, margin: 0.3 };
    const expectRowsClose = (rows: Record<string, unknown>[], expected: Record<string, Float64Array>) => {
      const index = new Map(customers.ids.map((id, i) => [id, i]));
      expect(rows).toHaveLength(customers.ids.length);
      for (const row of rows) {
        const i = index.get(String(row.customer_id))!;
        for (const [column, values] of Object.entries(expected)) {
          const want = values[i]!;
          expect(Math.abs(Number(row[column]) - want), `${column} of ${row.customer_id}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
        }
      }
    };

    const modelled = await run({ clv: { ...options, fitSampleSize: 1000 } });
    expect(new Set(modelled.predictions.map((r) => r.clv_method))).toEqual(new Set(['bgnbd_gamma_gamma']));
    const bg = paramsOf(modelled.params, 'bgnbd') as { r: number; alpha: number; a: number; b: number };
    const gg = paramsOf(modelled.params, 'gamma_gamma') as { p: number; q: number; gamma: number };
    const js = predictClv(bg, gg, customers, options);
    expectRowsClose(modelled.predictions, {
      p_alive: js.pAlive,
      expected_purchases: js.expectedPurchases,
      expected_avg_order_value: js.expectedAverageValue,
      predicted_clv: js.predictedClv,
    });

    // Too few repeat customers for Gamma-Gamma: spend falls back to the mean purchase-day value.
    const fallback = await run({ clv: { ...options, fitSampleSize: 1000, minRepeatCustomers: 100_000 } });
    expect(new Set(fallback.predictions.map((r) => r.clv_method))).toEqual(new Set(['bgnbd_historical_spend']));
    const purchases = predictPurchases(paramsOf(fallback.params, 'bgnbd') as typeof bg, customers, options);
    const avgDayValue = customers.monetary.map((m) => m + 10);
    expectRowsClose(fallback.predictions, {
      p_alive: purchases.pAlive,
      expected_purchases: purchases.expectedPurchases,
      expected_avg_order_value: avgDayValue,
      predicted_clv: purchases.discountedPurchases.map((n, i) => options.margin * avgDayValue[i]! * n),
    });
  });
});
