import { describe, expect, it } from 'vitest';
import { ClvError } from '../../../lambdas/core/clv/errors.ts';
import { digamma, hyp2f1, hyp2f1Remainder, logBeta, logGamma, scaledHyp2f1Remainder } from '../../../lambdas/core/clv/special.ts';

const EULER_GAMMA = 0.5772156649015329;

/** Relative closeness, for values that may be large. */
function expectClose(actual: number, expected: number, relative = 1e-13): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relative * Math.max(1, Math.abs(expected)));
}

describe('log-gamma, log-beta and digamma', () => {
  it('gives ln((n−1)!) at whole numbers', () => {
    let factorial = 1;
    for (let n = 1; n <= 20; n += 1) {
      expectClose(logGamma(n), Math.log(factorial));
      factorial *= n;
    }
  });

  it('gives Γ(n + ½) = (2n)! √π / (4ⁿ n!) at half-integers', () => {
    const cases = [
      { n: 0, value: Math.sqrt(Math.PI) },
      { n: 1, value: Math.sqrt(Math.PI) / 2 },
      { n: 2, value: (3 * Math.sqrt(Math.PI)) / 4 },
      { n: 5, value: (945 * Math.sqrt(Math.PI)) / 32 },
    ];
    for (const { n, value } of cases) expectClose(logGamma(n + 0.5), Math.log(value));
  });

  it('gives B(a, b) = Γ(a)Γ(b)/Γ(a+b) on hand-computable cases', () => {
    expectClose(logBeta(2, 3), Math.log(1 / 12));
    expectClose(logBeta(1, 7), Math.log(1 / 7));
    expectClose(logBeta(0.5, 0.5), Math.log(Math.PI));
  });

  it('gives ψ(1) = −γ, ψ(n+1) = −γ + Hₙ and ψ(½) = −γ − 2 ln 2', () => {
    expectClose(digamma(1), -EULER_GAMMA);
    expectClose(digamma(5), -EULER_GAMMA + 1 + 1 / 2 + 1 / 3 + 1 / 4);
    expectClose(digamma(0.5), -EULER_GAMMA - 2 * Math.LN2);
  });
});

describe('Gauss hypergeometric ₂F₁', () => {
  it('matches 2F1(1, 1; 2; z) = −ln(1 − z)/z, for z < 0 (Pfaff) and with slow convergence near z = 1', () => {
    for (const z of [-5, -0.9, -0.5, 0.1, 0.5, 0.9, 0.99, 0.999]) {
      expectClose(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z, 1e-12);
    }
  });

  it('matches 2F1(a, b; b; z) = (1 − z)^−a', () => {
    for (const [a, b, z] of [
      [0.243, 2.426, 0.7],
      [3.5, 0.2, 0.95],
      [-1.7, 4, 0.5],
      [12, 1.5, -0.8],
      [7, 2.5, -3],
    ] as const) {
      expectClose(hyp2f1(a, b, b, z), Math.pow(1 - z, -a), 1e-12);
    }
  });

  it('matches 2F1(½, ½; 3/2; z²) = arcsin(z)/z', () => {
    for (const z of [0.3, 0.8, 0.99]) expectClose(hyp2f1(0.5, 0.5, 1.5, z * z), Math.asin(z) / z, 1e-12);
  });

  it('terminates for a non-positive integer a: 2F1(−3, 2; 5; z) = 1 − 6z/5 + 3z²/5 − 4z³/35', () => {
    // Terms (−3)_k (2)_k / ((5)_k k!) zᵏ: k=1: (−3)(2)/5; k=2: (−3)(−2)(2)(3)/((5)(6)(2)); k=3: (−6)(24)/((210)(6)).
    const z = 0.7;
    expectClose(hyp2f1(-3, 2, 5, z), 1 - (6 / 5) * z + (3 / 5) * z * z - (4 / 35) * z ** 3);
  });

  it('keeps R(a, b, c, z) = (c/b)(2F1 − 1) finite as b → 0: R(c, 0, c, z) = −c ln(1 − z)', () => {
    // With a = c the n-th term reduces to c zⁿ / n.
    for (const [c, z] of [
      [0.3, 0.6],
      [4.2, 0.97],
    ] as const) {
      expectClose(hyp2f1Remainder(c, 0, c, z), -c * Math.log1p(-z), 1e-12);
      expectClose(hyp2f1Remainder(c, 1e-12, c, z), -c * Math.log1p(-z), 1e-10);
    }
  });

  it('keeps R finite as c → 0: R(a, b, b, z) = (1 − z)^−a − 1 for b = c = 0', () => {
    expectClose(hyp2f1Remainder(1.3, 0, 0, 0.4), Math.pow(0.6, -1.3) - 1, 1e-13);
  });

  it('sums at a scale where R passes 1e308 and exp(logScale) is below 1e-308: R(a, b, b, z) = (1 − z)^−a − 1', () => {
    // a = 1000, z = 0.9: R = 10^1000 − 1, which overflows unscaled; times (1 − z)^a it is 1 − 10^−1000.
    expect(hyp2f1Remainder(1000, 2.5, 2.5, 0.9)).toBe(Infinity);
    expectClose(scaledHyp2f1Remainder(1000, 2.5, 2.5, 0.9, 1000 * Math.log(0.1)), 1, 1e-12);
    // Without overflow the scale is a plain factor.
    expectClose(scaledHyp2f1Remainder(3.5, 0.2, 0.2, 0.95, -2), Math.exp(-2) * (Math.pow(0.05, -3.5) - 1), 1e-12);
  });

  it('stops as soon as the tail is negligible when b and c are huge: R(3, 1.3M, 1.3M, ½) = 2³ − 1', () => {
    expectClose(hyp2f1Remainder(3, 1.3e6, 1.3e6, 0.5), 7, 1e-13);
    // ₂F₁ is symmetric in a and b: R(1.3M, 3, 1.3M, ½) = (c/b)(2³ − 1).
    expectClose(hyp2f1Remainder(1.3e6, 3, 1.3e6, 0.5), (1.3e6 / 3) * 7, 1e-12);
  });

  it('rejects arguments outside the series domain and says when the series cannot converge', () => {
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
    expect(() => hyp2f1Remainder(1, 1, 2, -0.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, -2, 0.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 2, 1 - 1e-9)).toThrow(ClvError);
  });
});
