import { describe, expect, it } from 'vitest';
import { lowestMinimum, minimizeBfgs, type ObjectiveWithGradient } from '../../../lambdas/core/clv/optimize.ts';

/** Rosenbrock's valley: minimum 0 at (1, 1), a curved narrow ridge that defeats naive descent. */
const rosenbrock: ObjectiveWithGradient = (point, gradient) => {
  const x = point[0]!;
  const y = point[1]!;
  gradient[0] = -2 * (1 - x) - 400 * x * (y - x * x);
  gradient[1] = 200 * (y - x * x);
  return (1 - x) ** 2 + 100 * (y - x * x) ** 2;
};

describe('minimizeBfgs', () => {
  it('finds the Rosenbrock minimum from the classic start (−1.2, 1)', () => {
    const result = minimizeBfgs(rosenbrock, [-1.2, 1]);
    expect(result.converged).toBe(true);
    expect(result.status).toBe('gradient-tolerance');
    expect(result.point[0]).toBeCloseTo(1, 6);
    expect(result.point[1]).toBeCloseTo(1, 6);
    expect(result.gradientNorm).toBeLessThanOrEqual(1e-7);
  });

  it('solves an ill-conditioned quadratic to its exact minimiser', () => {
    // f = ½ Σ dᵢ (xᵢ − cᵢ)² with condition number 1e6: minimiser c.
    const scales = [1e-3, 1, 30, 1e3];
    const centre = [5, -2, 0.5, 3];
    const quadratic: ObjectiveWithGradient = (point, gradient) => {
      let value = 0;
      scales.forEach((scale, i) => {
        const offset = point[i]! - centre[i]!;
        gradient[i] = scale * offset;
        value += 0.5 * scale * offset * offset;
      });
      return value;
    };
    const result = minimizeBfgs(quadratic, [0, 0, 0, 0], { gradientTolerance: 1e-10 });
    expect(result.converged).toBe(true);
    centre.forEach((value, i) => expect(result.point[i]).toBeCloseTo(value, 6));
  });

  it('backs off from steps into a region where the objective is not finite', () => {
    // f = x − ln x exists only for x > 0, minimum at x = 1. From x = 50 the curvature seen after the first
    // step is tiny, so the second trial step lands far below 0 and must be shortened.
    let nonFiniteEvaluations = 0;
    const barrier: ObjectiveWithGradient = (point, gradient) => {
      const x = point[0]!;
      gradient[0] = 1 - 1 / x;
      if (x <= 0) nonFiniteEvaluations += 1;
      return x > 0 ? x - Math.log(x) : Number.NaN;
    };
    const result = minimizeBfgs(barrier, [50]);
    expect(nonFiniteEvaluations).toBeGreaterThan(0);
    expect(result.converged).toBe(true);
    expect(result.point[0]).toBeCloseTo(1, 6);
  });

  it('reports non-convergence honestly when the iteration budget runs out', () => {
    const result = minimizeBfgs(rosenbrock, [-1.2, 1], { maxIterations: 3 });
    expect(result.converged).toBe(false);
    expect(result.status).toBe('max-iterations');
    expect(result.iterations).toBe(3);
  });

  it('refuses a start where the objective is not finite', () => {
    const result = minimizeBfgs((_point, gradient) => {
      gradient[0] = 0;
      return Number.POSITIVE_INFINITY;
    }, [0]);
    expect(result.converged).toBe(false);
    expect(result.status).toBe('non-finite-start');
  });
});

describe('lowestMinimum', () => {
  const run = (value: number, converged: boolean) => ({
    point: new Float64Array(1),
    value,
    gradientNorm: converged ? 0 : 1,
    iterations: 1,
    evaluations: 1,
    converged,
    status: converged ? ('gradient-tolerance' as const) : ('max-iterations' as const),
  });

  it('takes the lowest value, and prefers a converged run when values differ only by rounding', () => {
    expect(lowestMinimum([run(2, true), run(1, false)]).value).toBe(1);
    expect(lowestMinimum([run(Number.NaN, false), run(3, true)]).value).toBe(3);
    const tied = lowestMinimum([run(4.249001638690041, false), run(4.249001638690062, true)]);
    expect(tied.converged).toBe(true);
  });
});
