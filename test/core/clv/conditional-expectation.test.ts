import { describe, expect, it } from 'vitest';
import {
  conditionalExpectedPurchases,
  probabilityAlive,
  type BgNbdParams,
} from '../../../lambdas/core/clv/index.ts';

/**
 * ∫₀¹ f(u, 1 − u) du for a vector-valued f, by tanh-sinh quadrature with step h. Both u and 1 − u are passed,
 * each accurate near its endpoint, so integrable endpoint singularities such as p^(a−1) are handled.
 */
function tanhSinh(f: (u: number, oneMinusU: number) => number[], step: number): number[] {
  let sums: number[] = [];
  const limit = Math.ceil(4 / step);
  for (let k = -limit; k <= limit; k += 1) {
    const t = k * step;
    const half = (Math.PI / 2) * Math.sinh(t);
    const u = 1 / (1 + Math.exp(-2 * half));
    const oneMinusU = 1 / (1 + Math.exp(2 * half));
    const weight = ((Math.PI / 2) * Math.cosh(t)) / (2 * Math.cosh(half) ** 2);
    if (!(u > 0 && oneMinusU > 0 && weight > 0)) continue;
    const values = f(u, oneMinusU);
    sums = values.map((value, i) => (sums[i] ?? 0) + weight * value);
  }
  return sums.map((sum) => sum * step);
}

/**
 * E[Y(t) | x, tx, T] and P(alive) straight from the model's definitions (FHL 2005 §2–3), by 2-D quadrature
 * over the posterior of (λ, p): prior Gamma(r, α) × Beta(a, b) (unnormalised: constants cancel), likelihood
 * (1−p)^x λ^x e^{−λT} [alive at T] + [x>0] p(1−p)^{x−1} λ^x e^{−λ tx} [dropped after the last purchase],
 * and for a customer alive at T, E[purchases in (T, T+t] | λ, p] = (1 − e^{−λpt}) / p.
 */
function posteriorQuadrature(params: BgNbdParams, x: number, tx: number, T: number, t: number, step: number) {
  const { r, alpha, a, b } = params;
  // λ = scale·s/(1 − s) maps (0, 1) onto (0, ∞), scaled to where the posterior of λ has its mass.
  const scale = (r + x + 1) / (alpha + tx);
  const [alive, dropped, futurePurchases] = tanhSinh((p, oneMinusP) => {
    const pPrior = Math.pow(p, a - 1) * Math.pow(oneMinusP, b - 1);
    return tanhSinh((s, oneMinusS) => {
      const lambda = (scale * s) / oneMinusS;
      const prior = pPrior * Math.pow(lambda, r - 1) * Math.exp(-alpha * lambda) * (scale / (oneMinusS * oneMinusS));
      const aliveLikelihood = Math.pow(oneMinusP, x) * Math.pow(lambda, x) * Math.exp(-lambda * T);
      const droppedLikelihood =
        x > 0 ? p * Math.pow(oneMinusP, x - 1) * Math.pow(lambda, x) * Math.exp(-lambda * tx) : 0;
      const futureIfAlive = -Math.expm1(-lambda * p * t) / p;
      return [prior * aliveLikelihood, prior * droppedLikelihood, prior * aliveLikelihood * futureIfAlive];
    }, step);
  }, step);
  return { expected: futurePurchases! / (alive! + dropped!), pAlive: alive! / (alive! + dropped!) };
}

const cdnowWeeks: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const cases: { name: string; params: BgNbdParams; x: number; tx: number; T: number; t: number }[] = [
  { name: 'CDNOW weeks, no repeat, next 39 weeks', params: cdnowWeeks, x: 0, tx: 0, T: 38.86, t: 39 },
  { name: 'CDNOW weeks, x=2, tx=30.43, T=38.86', params: cdnowWeeks, x: 2, tx: 30.43, T: 38.86, t: 39 },
  { name: 'CDNOW weeks, x=7, long horizon', params: cdnowWeeks, x: 7, tx: 35, T: 38, t: 156 },
  { name: 'days, a > 1, three years ahead', params: { r: 2, alpha: 60, a: 3, b: 5 }, x: 4, tx: 200, T: 300, t: 1096 },
  { name: 'days, a within 1e-7 of 1', params: { r: 0.5, alpha: 20, a: 1.0000001, b: 2.4 }, x: 3, tx: 100, T: 140, t: 500 },
  // a − 1 > r + x: the form whose series grows with x rather than with a.
  { name: 'days, a − 1 above r + x', params: { r: 1, alpha: 30, a: 8, b: 12 }, x: 2, tx: 50, T: 90, t: 730 },
];

/**
 * E[purchases in (T, T+t] | alive at T] when a and b are so large that p's posterior Beta(a, b+x) is a
 * narrow peak (the 2-D quadrature above cannot resolve it, and p^(a−1) underflows): λ integrated out
 * analytically (Gamma(r+x, α+T) given alive, so E[e^{−λpt}] = ((α+T)/(α+T+pt))^{r+x}), then Simpson's rule
 * over p within 12 standard deviations of its mean, the Beta density unnormalised in log space and
 * normalised on the same grid.
 */
function expectedIfAliveNarrowDropout(params: BgNbdParams, x: number, T: number, t: number): number {
  const { r, alpha, a, b } = params;
  const shape = b + x;
  const mean = a / (a + shape);
  const sd = Math.sqrt((a * shape) / ((a + shape) ** 2 * (a + shape + 1)));
  const logDensity = (p: number) => (a - 1) * Math.log(p) + (shape - 1) * Math.log1p(-p);
  const peak = logDensity(mean);
  const intervals = 4000;
  const [from, to] = [mean - 12 * sd, mean + 12 * sd];
  const width = (to - from) / intervals;
  let mass = 0;
  let expected = 0;
  for (let i = 0; i <= intervals; i += 1) {
    const p = from + i * width;
    const weight = (i === 0 || i === intervals ? 1 : i % 2 === 1 ? 4 : 2) * Math.exp(logDensity(p) - peak);
    mass += weight;
    expected += weight * (-Math.expm1((r + x) * Math.log((alpha + T) / (alpha + T + p * t))) / p);
  }
  return expected / mass;
}

describe('BG/NBD conditional expectation against the posterior integral', () => {
  it.each(cases)('$name', ({ params, x, tx, T, t }) => {
    const summary = { x: Float64Array.of(x), tx: Float64Array.of(tx), T: Float64Array.of(T) };
    const fine = posteriorQuadrature(params, x, tx, T, t, 1 / 32);
    const coarse = posteriorQuadrature(params, x, tx, T, t, 1 / 16);
    // Halving the tanh-sinh step changes the integral by far less than the 1e-7 asserted below, so the
    // tolerance covers the quadrature error with margin while a wrong formula (off by any model term)
    // would miss by whole percents.
    expect(Math.abs(fine.expected - coarse.expected)).toBeLessThan(1e-9 * fine.expected);
    expect(conditionalExpectedPurchases(params, summary, t)[0]! / fine.expected).toBeCloseTo(1, 7);
    expect(probabilityAlive(params, summary)[0]! / fine.pAlive).toBeCloseTo(1, 7);
  });

  it('stays finite and exact when a short history fits a huge a and b (the dropout barely identified)', () => {
    // Fitted on 41 days of 2,000 generated customers: p ~ Beta(3220, 1.3M), mean 0.0024.
    const params: BgNbdParams = { r: 1.0728383787403777, alpha: 20.78231626141678, a: 3219.9689408554887, b: 1327137.2778117522 };
    for (const [x, tx, T, t] of [
      [0, 0, 12, 30.4375],
      [2, 20, 35, 30.4375],
      [2, 20, 35, 1096],
      [9, 40, 41, 730],
    ] as const) {
      const summary = { x: Float64Array.of(x), tx: Float64Array.of(tx), T: Float64Array.of(T) };
      const ifAlive = conditionalExpectedPurchases(params, summary, t)[0]! / probabilityAlive(params, summary)[0]!;
      expect(ifAlive / expectedIfAliveNarrowDropout(params, x, T, t)).toBeCloseTo(1, 7);
    }
  });

  it('reproduces the worked example of Fader, Hardie & Lee (2005): 1.226 purchases in the next 39 weeks', () => {
    // Their customer with x = 2, tx = 30.43, T = 38.86 (weeks), under the CDNOW estimates.
    const summary = { x: Float64Array.of(2), tx: Float64Array.of(30.43), T: Float64Array.of(38.86) };
    expect(Math.abs(conditionalExpectedPurchases(cdnowWeeks, summary, 39)[0]! - 1.226)).toBeLessThanOrEqual(0.0005);
  });
});
