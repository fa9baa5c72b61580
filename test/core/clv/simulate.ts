/** Seeded simulation of the BG/NBD and Gamma-Gamma generative processes, for tests and the benchmark. */
import type { BgNbdParams, GammaGammaParams } from '../../../lambdas/core/clv/index.ts';

export interface Random {
  /** Uniform on the open interval (0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Gamma with the given shape and rate (mean shape / rate). */
  gamma(shape: number, rate: number): number;
  beta(a: number, b: number): number;
  exponential(rate: number): number;
}

/** mulberry32 uniforms; Box–Muller normals; Marsaglia–Tsang gammas. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const standardGamma = (shape: number): number => {
    if (shape < 1) return standardGamma(shape + 1) * Math.pow(uniform(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const z = normal();
      const v = (1 + c * z) ** 3;
      if (v > 0 && Math.log(uniform()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  const gamma = (shape: number, rate: number): number => standardGamma(shape) / rate;
  const beta = (a: number, b: number): number => {
    const left = standardGamma(a);
    return left / (left + standardGamma(b));
  };
  const exponential = (rate: number): number => -Math.log(uniform()) / rate;
  return { uniform, normal, gamma, beta, exponential };
}

export interface SimulatedCustomers {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
}

/**
 * Customers drawn from the BG/NBD process (FHL 2005 §3): λ ~ Gamma(r, α), p ~ Beta(a, b); purchases arrive
 * as a Poisson process of rate λ after the first purchase at time 0, and after each repeat purchase the
 * customer drops out with probability p. Observation ends at T (ages[i]).
 * With wholeDays, times are summarised as the pipeline does: repeat purchase *days* (distinct whole days
 * after day 0) and the last such day.
 */
export function simulateBgNbd(
  params: BgNbdParams,
  ages: Float64Array,
  random: Random,
  wholeDays = false,
): SimulatedCustomers {
  const count = ages.length;
  const x = new Float64Array(count);
  const tx = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const T = ages[i]!;
    const rate = random.gamma(params.r, params.alpha);
    const dropout = random.beta(params.a, params.b);
    let time = 0;
    let purchases = 0;
    let last = 0;
    for (;;) {
      time += random.exponential(rate);
      if (time > T) break;
      const stamp = wholeDays ? Math.floor(time) : time;
      if (stamp > last) {
        purchases += 1;
        last = stamp;
      }
      if (random.uniform() < dropout) break;
    }
    x[i] = purchases;
    tx[i] = last;
  }
  return { x, tx, T: ages };
}

/** Mean spend of x transactions per customer: value ~ Gamma(p, ν), ν ~ Gamma(q, γ) (0 when x = 0). */
export function simulateSpend(params: GammaGammaParams, x: Float64Array, random: Random): Float64Array {
  return x.map((purchases) => {
    if (purchases === 0) return 0;
    const nu = random.gamma(params.q, params.gamma);
    let total = 0;
    for (let j = 0; j < purchases; j += 1) total += random.gamma(params.p, nu);
    return total / purchases;
  });
}
