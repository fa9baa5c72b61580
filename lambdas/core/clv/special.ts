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
// Past this the sum is moved into the scale, so terms never overflow on the way to a moderate product.
const RESCALE_ABOVE = 1e250;
const LOG_RESCALE = Math.log(RESCALE_ABOVE);

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
  return scaledHyp2f1Remainder(a, b, c, z, 0);
}

/**
 * exp(logScale) · R(a, b, c, z). The series can pass 1e308 when a parameter is large (its terms grow
 * like (1 − z)^−b) while exp(logScale) is below 1e-308, though the product is moderate: the sum is
 * carried at a scale folded into logScale whenever it grows past 1e250. Without such growth the
 * result is exactly exp(logScale) · hyp2f1Remainder(a, b, c, z).
 */
export function scaledHyp2f1Remainder(a: number, b: number, c: number, z: number, logScale: number): number {
  if (!(z >= 0 && z < 1)) {
    throw new RangeError(`hyp2f1Remainder needs 0 ≤ z < 1, got z = ${z}`);
  }
  if (c <= -1 && Number.isInteger(c)) {
    throw new RangeError(`hyp2f1Remainder needs c + n ≠ 0 for n ≥ 1, got c = ${c}`);
  }
  if (z === 0 || a === 0) return 0;
  // Past this index every factor a + m, b + m, c + m is positive, so the terms keep one sign.
  const positiveFrom = Math.max(0, -a, -b, -c);
  const tailAtZ = z / (1 - z);
  let scale = logScale;
  let term = a * z;
  let sum = term;
  for (let n = 1; n < SERIES_MAX_TERMS; n += 1) {
    const ratio = (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    term *= ratio;
    sum += term;
    if (term === 0) return sum * Math.exp(scale);
    if (Math.abs(sum) > RESCALE_ABOVE) {
      term /= RESCALE_ABOVE;
      sum /= RESCALE_ABOVE;
      scale += LOG_RESCALE;
    }
    // Every later ratio tends to z, so a tail within tolerance at ratio z is the cheap first test.
    const tolerated = SERIES_RELATIVE_TOLERANCE * Math.abs(sum);
    if (n > positiveFrom && Math.abs(term) * tailAtZ <= tolerated) {
      const bound = laterRatioBound(a, b, c, z, n);
      if (bound < 1 && (Math.abs(term) * bound) / (1 - bound) <= tolerated) return sum * Math.exp(scale);
    }
  }
  throw new ClvError(
    'series-not-converged',
    `hypergeometric series did not converge in ${SERIES_MAX_TERMS} terms (a=${a}, b=${b}, c=${c}, z=${z})`,
  );
}

/**
 * A bound on every later term ratio z·(a+m)(b+m)/((c+m)(m+1)), m > n, once every factor is positive. The
 * ratio is a product of two Möbius functions of m, each monotone towards 1, so neither exceeds the larger
 * of its value at n and 1; of the two ways to pair the factors the tighter is taken. Checking from the
 * first terms on stops the series as soon as its tail is provably negligible, where waiting until m
 * passed the parameters took millions of terms when b and c are large.
 */
function laterRatioBound(a: number, b: number, c: number, z: number, n: number): number {
  const pairedWithA = Math.max((a + n) / (1 + n), 1) * Math.max((b + n) / (c + n), 1);
  const pairedWithB = Math.max((b + n) / (1 + n), 1) * Math.max((a + n) / (c + n), 1);
  return z * Math.min(pairedWithA, pairedWithB);
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
