import stdlibBetaln from '@stdlib/math-base-special-betaln';
import stdlibDigamma from '@stdlib/math-base-special-digamma';
import stdlibGammaln from '@stdlib/math-base-special-gammaln';
import { ClvError } from './errors.ts';

/** ln|Γ(x)|. */
export const logGamma: (x: number) => number = stdlibGammaln;
/** ln B(a, b) for a, b > 0. */
export const logBeta: (a: number, b: number) => number = stdlibBetaln;
/** ψ(x) = d/dx ln Γ(x). */
export const digamma: (x: number) => number = stdlibDigamma;

const SERIES_RELATIVE_TOLERANCE = 1e-15;
// About 37 / (1 − z) terms reach the tolerance, so this covers 1 − z down to ~4e-6; CLV horizons only get
// that close to z = 1 when α + T is minutes long.
const SERIES_MAX_TERMS = 10_000_000;

/**
 * R(a, b, c, z) = (c / b) · (₂F₁(a, b; c; z) − 1) = Σ_{n≥1} (a)_n (b+1)_{n−1} / ((c+1)_{n−1} n!) · zⁿ, for 0 ≤ z < 1.
 *
 * Dividing out b and c keeps the function analytic where ₂F₁ − 1 vanishes (b → 0) or c → 0, which is
 * exactly where the BG/NBD conditional expectation would otherwise cancel catastrophically (a → 1).
 * Summation stops when a geometric bound on the remaining terms is below 1e-15 of the sum; it throws
 * rather than return a truncated value when that takes more than ten million terms. Negative z is refused:
 * there the terms alternate and large parameters would cancel away the precision.
 */
export function hyp2f1Remainder(a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) {
    throw new RangeError(`hyp2f1Remainder needs 0 ≤ z < 1, got z = ${z}`);
  }
  if (c <= -1 && Number.isInteger(c)) {
    throw new RangeError(`hyp2f1Remainder needs c + n ≠ 0 for n ≥ 1, got c = ${c}`);
  }
  if (z === 0 || a === 0) return 0;
  // Past this index every factor has a fixed sign and the term ratio is close to its limit z.
  const settledFrom = 2 * Math.max(Math.abs(a), Math.abs(b), Math.abs(c)) + 2;
  let term = a * z;
  let sum = term;
  for (let n = 1; n < SERIES_MAX_TERMS; n += 1) {
    const ratio = (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    term *= ratio;
    sum += term;
    if (term === 0) return sum;
    const absRatio = Math.abs(ratio);
    if (n >= settledFrom && absRatio < 1) {
      const bound = Math.max(absRatio, z);
      if ((Math.abs(term) * bound) / (1 - bound) <= SERIES_RELATIVE_TOLERANCE * Math.abs(sum)) return sum;
    }
  }
  throw new ClvError(
    'series-not-converged',
    `hypergeometric series did not converge in ${SERIES_MAX_TERMS} terms (a=${a}, b=${b}, c=${c}, z=${z})`,
  );
}

/**
 * Gauss hypergeometric ₂F₁(a, b; c; z) for z < 1 (c not 0, −1, −2, …): the power series on [0, 1), and
 * Pfaff's transformation (1 − z)^−a ₂F₁(a, c − b; c; z/(z − 1)) to bring z < 0 onto it.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (c <= 0 && Number.isInteger(c)) {
    throw new RangeError(`hyp2f1 is undefined for c = ${c}`);
  }
  if (!(z < 1)) throw new RangeError(`hyp2f1 needs z < 1, got z = ${z}`);
  if (z < 0) return Math.pow(1 - z, -a) * hyp2f1(a, c - b, c, z / (z - 1));
  if (b === 0) return 1;
  return 1 + (b / c) * hyp2f1Remainder(a, b, c, z);
}
