import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bgNbdLogLikelihood,
  fitBgNbd,
  fitGammaGamma,
  gammaGammaLogLikelihood,
  type BgNbdParams,
} from '../../../lambdas/core/clv/index.ts';
import { hasSharedData, sharedDataDir } from '../../support/shared-data.ts';

const SUMMARY = 'cdnow/cdnow_customers_summary_with_transactions.csv';
const summaryCsv = path.join(sharedDataDir, SUMMARY);
const hasData = hasSharedData(SUMMARY);

/** ID, x, t_x, T (weeks), zbar: the 2,357 customers of the 39-week calibration period. */
function readCdnowSummary() {
  const rows = readFileSync(summaryCsv, 'utf8')
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((line) => line.split(',').map(Number));
  const column = (index: number) => Float64Array.from(rows, (row) => row[index]!);
  return { x: column(1), tx: column(2), T: column(3), zbar: column(4) };
}

/** |actual − expected| within half a unit of the last digit the source published. */
function expectPublished(actual: number, published: number, decimals: number): void {
  expect(Math.abs(actual - published)).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 1e-12);
}

/** Same value to `digits` significant digits: within half a unit of that digit. */
function expectSignificant(actual: number, expected: number, digits: number): void {
  const unit = 10 ** (Math.floor(Math.log10(Math.abs(expected))) - digits + 1);
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(0.5 * unit);
}

describe.runIf(hasData)('CDNOW sample (Fader, Hardie & Lee 2005; Fader & Hardie 2013)', () => {
  let data: ReturnType<typeof readCdnowSummary>;
  let totalRepeats: number;
  beforeAll(() => {
    data = readCdnowSummary();
    totalRepeats = data.x.reduce((sum, value) => sum + value, 0);
  });

  it('fits BG/NBD in weeks to the published r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4', () => {
    const fit = fitBgNbd({ x: data.x, tx: data.tx, T: data.T });
    expect(fit.converged).toBe(true);
    expect(fit.customers).toBe(2357);
    expectPublished(fit.params.r, 0.243, 3);
    expectPublished(fit.params.alpha, 4.414, 3);
    expectPublished(fit.params.a, 0.793, 3);
    expectPublished(fit.params.b, 2.426, 3);
    expectPublished(fit.logLikelihood, -9582.4, 1);
  });

  it('evaluates the log-likelihood at the published parameters to the published −9582.4', () => {
    const published: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    expectPublished(bgNbdLogLikelihood(published, { x: data.x, tx: data.tx, T: data.T }), -9582.4, 1);
  });

  it('fits the same data in days: same r, a, b; α × 7; LL shifted by −Σx·ln 7', () => {
    // λ is per day instead of per week, so α scales by 7 and each repeat purchase's density by 1/7.
    const weeks = fitBgNbd({ x: data.x, tx: data.tx, T: data.T });
    const days = fitBgNbd({ x: data.x, tx: data.tx.map((v) => v * 7), T: data.T.map((v) => v * 7) });
    expect(days.converged).toBe(true);
    expectPublished(days.params.r, 0.243, 3);
    expectPublished(days.params.alpha / 7, 4.414, 3);
    expectPublished(days.params.a, 0.793, 3);
    expectPublished(days.params.b, 2.426, 3);
    expectPublished(days.logLikelihood + totalRepeats * Math.log(7), -9582.4, 1);
    expect(days.params.alpha / (7 * weeks.params.alpha)).toBeCloseTo(1, 6);
    expect(days.logLikelihood - (weeks.logLikelihood - totalRepeats * Math.log(7))).toBeCloseTo(0, 4);
  });

  it('with a penalizer, returns the minimum of −LL/N + c·(r² + α² + a² + b²) with α in time scaled to max T = 1', () => {
    const penalizer = 0.1;
    const summary = { x: data.x, tx: data.tx, T: data.T };
    const maxT = data.T.reduce((max, value) => Math.max(max, value), 0);
    const penalised = ({ r, alpha, a, b }: BgNbdParams): number =>
      -bgNbdLogLikelihood({ r, alpha, a, b }, summary) / data.x.length +
      penalizer * (r * r + (alpha / maxT) ** 2 + a * a + b * b);
    const fit = fitBgNbd(summary, { penalizer });
    expect(fit.converged).toBe(true);
    const best = penalised(fit.params);
    // Moving any parameter by ±0.1 % must not lower the penalised objective (beyond rounding).
    for (const name of ['r', 'alpha', 'a', 'b'] as const) {
      for (const factor of [0.999, 1.001]) {
        expect(penalised({ ...fit.params, [name]: fit.params[name] * factor })).toBeGreaterThan(best - 1e-12);
      }
    }
    // The penalty must actually bind: the unpenalised optimum is elsewhere.
    expect(Math.abs(fit.params.a - 0.793)).toBeGreaterThan(0.1);
  });

  it('fits Gamma-Gamma on the 946 repeat customers to p = 6.25, q = 3.74, γ = 15.44, LL = −4055.92', () => {
    const fit = fitGammaGamma({ x: data.x, monetary: data.zbar });
    expect(fit.converged).toBe(true);
    expect(fit.customers).toBe(946);
    // Three significant digits: the published γ = 15.44 sits at the edge of its last digit.
    expectSignificant(fit.params.p, 6.25, 3);
    expectSignificant(fit.params.q, 3.74, 3);
    expectSignificant(fit.params.gamma, 15.44, 3);
    expectPublished(fit.logLikelihood, -4055.92, 2);
    expectPublished(
      gammaGammaLogLikelihood({ p: 6.25, q: 3.74, gamma: 15.44 }, { x: data.x, monetary: data.zbar }),
      -4055.92,
      2,
    );
  });

  it('reports the Pearson correlation of x and spend over the repeat customers', () => {
    const rows = [...data.x.keys()].filter((i) => data.x[i]! > 0);
    const xs = rows.map((i) => data.x[i]!);
    const ms = rows.map((i) => data.zbar[i]!);
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const mx = mean(xs);
    const mm = mean(ms);
    const covariance = mean(xs.map((x, k) => (x - mx) * (ms[k]! - mm)));
    const sx = Math.sqrt(mean(xs.map((x) => (x - mx) ** 2)));
    const sm = Math.sqrt(mean(ms.map((m) => (m - mm) ** 2)));
    const fit = fitGammaGamma({ x: data.x, monetary: data.zbar });
    expect(fit.frequencyMonetaryCorrelation).toBeCloseTo(covariance / (sx * sm), 12);
  });
});
