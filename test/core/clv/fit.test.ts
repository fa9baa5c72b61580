import { describe, expect, it } from 'vitest';
import {
  bgNbdLogLikelihood,
  ClvFitError,
  ClvInputError,
  fitBgNbd,
  fitGammaGamma,
  gammaGammaLogLikelihood,
} from '../../../lambdas/core/clv/index.ts';
import { seededRandom, simulateBgNbd, simulateSpend } from './simulate.ts';

/**
 * Standard errors of log-parameters from the observed information: the inverse of minus the Hessian of the
 * summed log-likelihood, by central differences in log space.
 */
function logScaleStandardErrors(logLikelihood: (logParams: number[]) => number, at: number[]): number[] {
  const size = at.length;
  const step = 1e-3;
  const shifted = (i: number, di: number, j: number, dj: number) =>
    logLikelihood(at.map((value, k) => value + (k === i ? di : 0) + (k === j ? dj : 0)));
  const information = at.map((_, i) =>
    at.map(
      (_, j) =>
        -(shifted(i, step, j, step) - shifted(i, step, j, -step) - shifted(i, -step, j, step) + shifted(i, -step, j, -step)) /
        (4 * step * step),
    ),
  );
  return invert(information).map((row, i) => Math.sqrt(row[i]!));
  function invert(matrix: number[][]): number[][] {
    const augmented = matrix.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
    for (let col = 0; col < size; col += 1) {
      const pivot = augmented[col]![col]!;
      augmented[col] = augmented[col]!.map((value) => value / pivot);
      for (let row = 0; row < size; row += 1) {
        if (row === col) continue;
        const factor = augmented[row]![col]!;
        augmented[row] = augmented[row]!.map((value, k) => value - factor * augmented[col]![k]!);
      }
    }
    return augmented.map((row) => row.slice(size));
  }
}

describe('recovery of known parameters from simulated customers', () => {
  // Each estimate must lie within 4 standard errors of the truth. Under the MLE's asymptotic normality a
  // single check fails with probability 6e-5; the seed is fixed, so the outcome is deterministic anyway.
  const tolerance = 4;

  it('recovers BG/NBD parameters (days) from 20,000 simulated customers', () => {
    const truth = { r: 0.25, alpha: 30, a: 0.8, b: 2.4 };
    const random = seededRandom(7);
    const ages = Float64Array.from({ length: 20_000 }, () => 1 + random.uniform() * 1095);
    const summary = simulateBgNbd(truth, ages, random);
    const fit = fitBgNbd(summary);
    expect(fit.converged).toBe(true);
    expect(fit.customers).toBe(20_000);
    const estimate = [fit.params.r, fit.params.alpha, fit.params.a, fit.params.b].map(Math.log);
    const errors = logScaleStandardErrors(
      ([r, alpha, a, b]) => bgNbdLogLikelihood({ r: Math.exp(r!), alpha: Math.exp(alpha!), a: Math.exp(a!), b: Math.exp(b!) }, summary),
      estimate,
    );
    [truth.r, truth.alpha, truth.a, truth.b].map(Math.log).forEach((logTruth, i) => {
      expect(errors[i]).toBeLessThan(0.2);
      expect(Math.abs(estimate[i]! - logTruth)).toBeLessThan(tolerance * errors[i]!);
    });
  });

  it('recovers Gamma-Gamma parameters from 8,000 simulated repeat customers', () => {
    const truth = { p: 6, q: 3.7, gamma: 15 };
    const random = seededRandom(11);
    const x = Float64Array.from({ length: 8_000 }, () => 1 + Math.floor(random.exponential(1 / 3)));
    const monetary = simulateSpend(truth, x, random);
    const fit = fitGammaGamma({ x, monetary });
    expect(fit.converged).toBe(true);
    expect(fit.customers).toBe(8_000);
    // Spend is drawn independently of x, so their correlation is near 0 (its sampling SD is 1/√8000 ≈ 0.011).
    expect(Math.abs(fit.frequencyMonetaryCorrelation)).toBeLessThan(4 / Math.sqrt(8_000));
    const estimate = [fit.params.p, fit.params.q, fit.params.gamma].map(Math.log);
    const errors = logScaleStandardErrors(
      ([p, q, gamma]) => gammaGammaLogLikelihood({ p: Math.exp(p!), q: Math.exp(q!), gamma: Math.exp(gamma!) }, { x, monetary }),
      estimate,
    );
    [truth.p, truth.q, truth.gamma].map(Math.log).forEach((logTruth, i) => {
      expect(errors[i]).toBeLessThan(0.2);
      expect(Math.abs(estimate[i]! - logTruth)).toBeLessThan(tolerance * errors[i]!);
    });
  });

  it('fits whole-day summaries with many identical (x, tx, T) patterns to the same optimum as unique rows', () => {
    // Grouping must not change the likelihood: duplicating every customer doubles LL and keeps the parameters.
    const random = seededRandom(3);
    const ages = Float64Array.from({ length: 3_000 }, () => Math.floor(random.uniform() * 400));
    const once = simulateBgNbd({ r: 0.5, alpha: 20, a: 1.2, b: 3 }, ages, random, true);
    const twice = {
      x: Float64Array.of(...once.x, ...once.x),
      tx: Float64Array.of(...once.tx, ...once.tx),
      T: Float64Array.of(...once.T, ...once.T),
    };
    const single = fitBgNbd(once);
    const doubled = fitBgNbd(twice);
    expect(doubled.logLikelihood / single.logLikelihood).toBeCloseTo(2, 9);
    expect(doubled.params.r / single.params.r).toBeCloseTo(1, 5);
    expect(doubled.params.b / single.params.b).toBeCloseTo(1, 5);
  });
});

describe('fits that cannot be done', () => {
  const one = (values: number[]) => Float64Array.from(values);

  it('throws ClvFitError when there are too few customers', () => {
    const call = () => fitBgNbd({ x: one([1, 0]), tx: one([3, 0]), T: one([10, 10]) });
    expect(call).toThrow(ClvFitError);
    expect(call).toThrow(expect.objectContaining({ code: 'too-few-customers' }));
  });

  it('throws ClvFitError when nobody made a repeat purchase', () => {
    const zeros = new Float64Array(50);
    const ages = Float64Array.from({ length: 50 }, (_, i) => i + 1);
    expect(() => fitBgNbd({ x: zeros, tx: zeros, T: ages })).toThrow(
      expect.objectContaining({ name: 'ClvFitError', code: 'no-repeat-customers' }),
    );
  });

  it('throws ClvFitError when Gamma-Gamma has too few repeat customers with positive spend', () => {
    const x = Float64Array.from({ length: 40 }, (_, i) => (i < 5 ? 2 : 0));
    const monetary = Float64Array.from({ length: 40 }, (_, i) => (i < 5 ? 20 : 0));
    expect(() => fitGammaGamma({ x, monetary })).toThrow(expect.objectContaining({ code: 'too-few-customers' }));
  });

  it('rejects summaries that break the conventions with ClvInputError', () => {
    expect(() => fitBgNbd({ x: one([1]), tx: one([12]), T: one([10]) })).toThrow(ClvInputError);
    expect(() => fitBgNbd({ x: one([0]), tx: one([2]), T: one([10]) })).toThrow(ClvInputError);
    expect(() => fitBgNbd({ x: one([1.5]), tx: one([2]), T: one([10]) })).toThrow(ClvInputError);
    expect(() => fitBgNbd({ x: one([1, 2]), tx: one([2]), T: one([10, 10]) })).toThrow(ClvInputError);
    expect(() => fitGammaGamma({ x: one([1]), monetary: one([Number.NaN]) })).toThrow(ClvInputError);
  });
});
