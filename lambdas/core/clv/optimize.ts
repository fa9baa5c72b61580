/**
 * Writes the gradient at `point` into `gradient` and returns the objective value there.
 * Non-finite values are allowed: the line search treats them as "step too long".
 */
export type ObjectiveWithGradient = (point: Float64Array, gradient: Float64Array) => number;

export interface MinimizeOptions {
  /** Stop when every gradient component is at most this in absolute value. Default 1e-7 (lifetimes' tol). */
  readonly gradientTolerance?: number;
  /** Default 500. */
  readonly maxIterations?: number;
}

export type MinimizeStatus = 'gradient-tolerance' | 'max-iterations' | 'line-search-failed' | 'non-finite-start';

export interface MinimizeResult {
  readonly point: Float64Array;
  readonly value: number;
  /** Largest absolute gradient component at `point`. */
  readonly gradientNorm: number;
  readonly iterations: number;
  readonly evaluations: number;
  /** True only when the gradient tolerance was met. */
  readonly converged: boolean;
  readonly status: MinimizeStatus;
}

const ARMIJO_SLOPE_FRACTION = 1e-4;
const APPROXIMATE_WOLFE_DECREASE = 0.1;
const APPROXIMATE_WOLFE_CURVATURE = 0.9;
// Far above the ~1e-15 relative rounding noise of the likelihood sums, far below any real decrease.
const APPROXIMATE_WOLFE_VALUE_SLACK = 1e-10;
const MAX_BACKTRACKS = 60;

/**
 * Unconstrained BFGS with an analytic gradient and a backtracking (Armijo) line search.
 * The inverse-Hessian update is skipped when the step shows no positive curvature, so the search
 * direction always stays a descent direction. Meant for the few (3–4) log-scale model parameters here.
 */
export function minimizeBfgs(
  objective: ObjectiveWithGradient,
  start: ArrayLike<number>,
  options: MinimizeOptions = {},
): MinimizeResult {
  const gradientTolerance = options.gradientTolerance ?? 1e-7;
  const maxIterations = options.maxIterations ?? 500;
  const size = start.length;
  let point = Float64Array.from(start);
  let gradient = new Float64Array(size);
  let value = objective(point, gradient);
  let evaluations = 1;
  const finish = (iterations: number, status: MinimizeStatus): MinimizeResult => ({
    point,
    value,
    gradientNorm: maxAbs(gradient),
    iterations,
    evaluations,
    converged: status === 'gradient-tolerance',
    status,
  });
  if (!Number.isFinite(value) || !gradient.every(Number.isFinite)) return finish(0, 'non-finite-start');

  const inverseHessian = identity(size);
  let hessianScaled = false;
  const direction = new Float64Array(size);
  let trialPoint = new Float64Array(size);
  let trialGradient = new Float64Array(size);
  const step = new Float64Array(size);
  const gradientChange = new Float64Array(size);

  for (let iteration = 0; iteration < maxIterations; iteration += 1) {
    if (maxAbs(gradient) <= gradientTolerance) return finish(iteration, 'gradient-tolerance');

    multiply(inverseHessian, gradient, direction, -1);
    let slope = dot(gradient, direction);
    if (!(slope < 0)) {
      resetToIdentity(inverseHessian);
      hessianScaled = false;
      for (let i = 0; i < size; i += 1) direction[i] = -gradient[i]!;
      slope = dot(gradient, direction);
    }

    // Before any curvature is known, keep the first step to unit length in the largest coordinate.
    let stepLength = hessianScaled ? 1 : Math.min(1, 1 / maxAbs(direction));
    let trialValue = Number.NaN;
    let accepted = false;
    for (let backtrack = 0; backtrack < MAX_BACKTRACKS; backtrack += 1) {
      for (let i = 0; i < size; i += 1) trialPoint[i] = point[i]! + stepLength * direction[i]!;
      trialValue = objective(trialPoint, trialGradient);
      evaluations += 1;
      const finite = Number.isFinite(trialValue) && trialGradient.every(Number.isFinite);
      if (finite && acceptableStep(value, slope, stepLength, trialValue, dot(trialGradient, direction))) {
        accepted = true;
        break;
      }
      stepLength = finite ? nextBacktrack(stepLength, value, slope, trialValue) : stepLength * 0.1;
    }
    if (!accepted) return finish(iteration, 'line-search-failed');

    for (let i = 0; i < size; i += 1) {
      step[i] = trialPoint[i]! - point[i]!;
      gradientChange[i] = trialGradient[i]! - gradient[i]!;
    }
    [point, trialPoint] = [trialPoint, point];
    [gradient, trialGradient] = [trialGradient, gradient];
    value = trialValue;

    const curvature = dot(step, gradientChange);
    if (curvature > 1e-12 * Math.sqrt(dot(step, step) * dot(gradientChange, gradientChange))) {
      if (!hessianScaled) {
        // Shanno–Phua scaling: start the approximation at the curvature actually observed.
        scaleIdentity(inverseHessian, curvature / dot(gradientChange, gradientChange));
        hessianScaled = true;
      }
      updateInverseHessian(inverseHessian, step, gradientChange, curvature);
    }
  }
  return finish(maxIterations, maxAbs(gradient) <= gradientTolerance ? 'gradient-tolerance' : 'max-iterations');
}

/**
 * Armijo's sufficient decrease, or Hager & Zhang's approximate Wolfe conditions (2005): near the optimum
 * the decrease a step buys is below the rounding noise of a sum over a million customers, but the
 * directional derivative is still exact enough to say whether the step went the right distance.
 */
function acceptableStep(value: number, slope: number, stepLength: number, trialValue: number, trialSlope: number): boolean {
  if (trialValue <= value + ARMIJO_SLOPE_FRACTION * stepLength * slope) return true;
  return (
    trialValue <= value + APPROXIMATE_WOLFE_VALUE_SLACK * Math.abs(value) &&
    trialSlope >= APPROXIMATE_WOLFE_CURVATURE * slope &&
    trialSlope <= (2 * APPROXIMATE_WOLFE_DECREASE - 1) * slope
  );
}

/** Minimiser of the quadratic through f(0), f'(0) and f(step), kept within [0.1, 0.5]·step. */
function nextBacktrack(stepLength: number, value: number, slope: number, trialValue: number): number {
  const curvatureTerm = trialValue - value - slope * stepLength;
  const quadraticMinimum = curvatureTerm > 0 ? (-slope * stepLength * stepLength) / (2 * curvatureTerm) : 0;
  return Math.min(0.5 * stepLength, Math.max(0.1 * stepLength, quadraticMinimum));
}

/** H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1 / (yᵀ s). */
function updateInverseHessian(matrix: Float64Array[], step: Float64Array, change: Float64Array, curvature: number): void {
  const size = step.length;
  const rho = 1 / curvature;
  const hy = new Float64Array(size);
  multiply(matrix, change, hy, 1);
  const yHy = dot(change, hy);
  for (let i = 0; i < size; i += 1) {
    const row = matrix[i]!;
    for (let j = 0; j < size; j += 1) {
      row[j] =
        row[j]! -
        rho * (hy[i]! * step[j]! + step[i]! * hy[j]!) +
        (rho * rho * yHy + rho) * step[i]! * step[j]!;
    }
  }
}

function identity(size: number): Float64Array[] {
  const matrix = Array.from({ length: size }, () => new Float64Array(size));
  resetToIdentity(matrix);
  return matrix;
}

function resetToIdentity(matrix: Float64Array[]): void {
  scaleIdentity(matrix, 1);
}

function scaleIdentity(matrix: Float64Array[], diagonal: number): void {
  matrix.forEach((row, i) => {
    row.fill(0);
    row[i] = diagonal;
  });
}

function multiply(matrix: Float64Array[], vector: Float64Array, out: Float64Array, sign: number): void {
  matrix.forEach((row, i) => {
    out[i] = sign * dot(row, vector);
  });
}

function dot(left: Float64Array, right: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < left.length; i += 1) sum += left[i]! * right[i]!;
  return sum;
}

function maxAbs(vector: Float64Array): number {
  let largest = 0;
  for (const component of vector) largest = Math.max(largest, Math.abs(component));
  return largest;
}

/**
 * The run with the lowest finite value, where values within rounding noise (1e-9 relative) count as
 * equal and a converged run is then preferred. The first run when none is finite.
 */
export function lowestMinimum(runs: readonly MinimizeResult[]): MinimizeResult {
  const [first, ...rest] = runs;
  if (first === undefined) throw new RangeError('lowestMinimum needs at least one run');
  return rest.reduce((best, run) => (isBetterRun(run, best) ? run : best), first);
}

function isBetterRun(run: MinimizeResult, best: MinimizeResult): boolean {
  if (!Number.isFinite(run.value)) return false;
  if (!Number.isFinite(best.value)) return true;
  const tie = Math.abs(run.value - best.value) <= 1e-9 * Math.max(1, Math.abs(best.value));
  if (!tie) return run.value < best.value;
  return run.converged !== best.converged ? run.converged : run.gradientNorm < best.gradientNorm;
}
