import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles, transform } from '../../lambdas/core/pipeline.ts';
import { queryLake, source, tempLake } from '../support/pipeline.ts';
import { hasSharedData, sharedDataDir } from '../support/shared-data.ts';

const SAMPLE = 'cdnow/CDNOW_sample.txt';
const SUMMARY = 'cdnow/cdnow_customers_summary_with_transactions.csv';
const threeDigits = (n: unknown) => Number(Number(n).toPrecision(3));

describe.runIf(hasSharedData(SAMPLE) && hasSharedData(SUMMARY))(
  'CLV on the CDNOW 1/10 sample, calibration period to 1997-09-30 (Fader, Hardie & Lee 2005)',
  () => {
    let env: Awaited<ReturnType<typeof tempLake>>;
    let published: { x: number; t_x: number; T: number; zbar: number }[];

    beforeAll(async () => {
      const raw = (await readFile(join(sharedDataDir, SAMPLE), 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
      env = await tempLake({ input: { timestampFormats: ['%Y%m%d'] } });
      const csv = join(env.root, 'cdnow-sample.csv');
      // Columns: master id, sample id, date YYYYMMDD, CDs, dollars; the sample id is the customer.
      const rows = raw.map((line, i) => {
        const [, sampleId, date, , dollars] = line.trim().split(/\s+/);
        return `${Number(sampleId)},${i + 1},${date},${dollars}`;
      });
      await writeFile(csv, ['customer_id,transaction_id,order_ts,amount', ...rows].join('\n'));
      await ingestFiles(env.deps, [source(csv)]);
      await transform(env.deps, { asOfDate: '1997-09-30' });
      published = (await readFile(join(sharedDataDir, SUMMARY), 'utf8'))
        .trim()
        .split(/\r?\n/)
        .slice(1)
        .map((line) => {
          const [, x, t_x, T, zbar] = line.split(',').map(Number);
          return { x: x!, t_x: t_x!, T: T!, zbar: zbar! };
        });
    });
    afterAll(() => env.cleanup());

    it('computes the model summary of every customer as the published file has it (weeks = days / 7)', async () => {
      const rows = await queryLake(
        env.deps,
        'select customer_id::integer as id, repeat_purchase_days as x, t_x_days, t_days, repeat_avg_value from customer_clv order by id',
      );
      expect(rows).toHaveLength(2357);
      for (const row of rows) {
        const expected = published[Number(row.id) - 1]!;
        expect(row.x, `customer ${row.id}`).toBe(expected.x);
        expect(Math.abs(Number(row.t_x_days) / 7 - expected.t_x), `customer ${row.id} t_x`).toBeLessThanOrEqual(0.005 + 1e-9);
        expect(Math.abs(Number(row.t_days) / 7 - expected.T), `customer ${row.id} T`).toBeLessThanOrEqual(0.005 + 1e-9);
        // Both sides are rounded to cents, so they may differ by up to one cent.
        expect(Math.abs(Number(row.repeat_avg_value) - expected.zbar), `customer ${row.id} zbar`).toBeLessThanOrEqual(0.01 + 1e-9);
      }
    });

    it('reproduces the published BG/NBD parameters and log-likelihood (alpha and LL converted from weeks to days)', async () => {
      const rows = await queryLake(env.deps, "select parameter, value, log_likelihood, customers, converged from clv_model_params where model = 'bgnbd'");
      const byName = Object.fromEntries(rows.map((r) => [r.parameter, r]));
      expect(threeDigits(byName.r?.value)).toBe(0.243);
      expect(threeDigits(Number(byName.alpha?.value) / 7)).toBe(4.41);
      expect(threeDigits(byName.a?.value)).toBe(0.793);
      expect(threeDigits(byName.b?.value)).toBe(2.43);
      // In days the likelihood of t_x and T gains ln(1/7) per repeat purchase: LL_days = LL_weeks - Σx ln 7.
      const sumX = published.reduce((s, c) => s + c.x, 0);
      expect(Number(byName.r?.log_likelihood) + sumX * Math.log(7)).toBeCloseTo(-9582.4, 1);
      expect(byName.r).toMatchObject({ customers: 2357, converged: true });
    });

    it('reproduces the published Gamma-Gamma parameters on the 946 repeat customers', async () => {
      const rows = await queryLake(env.deps, "select parameter, value, log_likelihood, customers from clv_model_params where model = 'gamma_gamma'");
      const byName = Object.fromEntries(rows.map((r) => [r.parameter, r]));
      expect(threeDigits(byName.p?.value)).toBe(6.25);
      expect(threeDigits(byName.q?.value)).toBe(3.74);
      expect(threeDigits(byName.gamma?.value)).toBe(15.4);
      expect(Number(byName.p?.log_likelihood)).toBeCloseTo(-4055.92, 0);
      expect(byName.p?.customers).toBe(946);
      // Pearson correlation of x and zbar over the repeat customers, from the published summary.
      const repeat = published.filter((c) => c.x > 0 && c.zbar > 0);
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      const mx = mean(repeat.map((c) => c.x));
      const mz = mean(repeat.map((c) => c.zbar));
      const cov = mean(repeat.map((c) => (c.x - mx) * (c.zbar - mz)));
      const sd = (values: number[], m: number) => Math.sqrt(mean(values.map((v) => (v - m) ** 2)));
      const expected = cov / (sd(repeat.map((c) => c.x), mx) * sd(repeat.map((c) => c.zbar), mz));
      // zbar is published to cents, so the two can differ slightly.
      expect(Number(byName.frequency_monetary_correlation?.value)).toBeCloseTo(expected, 2);
    });

    it('gives every customer a model-based CLV, a Pareto tier and a value quadrant', async () => {
      const [row] = await queryLake(
        env.deps,
        `select count(*) filter (where clv_method = 'bgnbd_gamma_gamma')::integer as modelled,
                sum(predicted_clv) filter (where value_tier = 'A') / sum(predicted_clv) as tier_a_share,
                max(predicted_clv) filter (where value_tier = 'B') <= min(predicted_clv) filter (where value_tier = 'A') as tiers_ordered,
                count(distinct value_quadrant)::integer as quadrants
         from customer_clv`,
      );
      expect(row?.modelled).toBe(2357);
      // Tier A stops as soon as the customers above reach 80 %: its share lies in [0.8, 0.8 + one customer).
      expect(Number(row?.tier_a_share)).toBeGreaterThanOrEqual(0.8);
      expect(Number(row?.tier_a_share)).toBeLessThan(0.82);
      expect(row?.tiers_ordered).toBe(true);
      expect(row?.quadrants).toBe(4);
    });
  },
);
