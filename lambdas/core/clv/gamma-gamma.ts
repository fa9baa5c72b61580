import type { FitDiagnostics, FitOptions } from './bgnbd.ts';
import { ClvFitError, ClvInputError } from './errors.ts';
import { encodeColumn } from './grouping.ts';
import { lowestMinimum, minimizeBfgs } from './optimize.ts';
import { digamma, logGamma } from './special.ts';

/**
 * Gamma-Gamma spend model (Fader & Hardie, "The Gamma-Gamma Model of Monetary Value", 2013):
 * a transaction's value ~ Gamma(shape p, rate ν), ν ~ Gamma(shape q, rate γ) across customers.
 */
export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  /** In the currency unit of `monetary`. */
  readonly gamma: number;
}

/** x = repeat purchase days, monetary = mean value of those repeat days (0 when x = 0). */
export interface SpendSummary {
  readonly x: Float64Array;
  readonly monetary: Float64Array;
}

export interface GammaGammaFit extends FitDiagnostics {
  readonly params: GammaGammaParams;
  /** Pearson correlation of x and monetary over the customers fitted; the model assumes it is near 0. */
  readonly frequencyMonetaryCorrelation: number;
}

/** Customers the Gamma-Gamma model is fitted on: the spend of one-off buyers is not a mean of repeats. */
interface RepeatSpend {
  readonly xValues: Float64Array;
  readonly xCode: Uint32Array;
  readonly monetary: Float64Array;
  readonly logMonetary: Float64Array;
}

const LOG_PARAM_LIMIT = 18;

/**
 * Maximum-likelihood fit on the customers with x > 0 and monetary > 0 (the others are ignored).
 * Throws ClvFitError when fewer than `minCustomers` such customers remain or the likelihood is never finite.
 * The penalty follows lifetimes: penalizer · (p² + q² + γ²) on the mean negative log-likelihood, with γ in
 * the currency unit given.
 */
export function fitGammaGamma(summary: SpendSummary, options: FitOptions = {}): GammaGammaFit {
  validateSpend(summary);
  const penalizer = options.penalizer ?? 0;
  const minCustomers = options.minCustomers ?? 10;
  const repeat = selectRepeatSpend(summary);
  const customers = repeat.monetary.length;
  if (customers < minCustomers) {
    throw new ClvFitError(
      'too-few-customers',
      `Gamma-Gamma needs at least ${minCustomers} repeat customers with positive spend, got ${customers}`,
    );
  }
  const objective = makeObjective(repeat, penalizer);
  const meanSpend = repeat.monetary.reduce((sum, value) => sum + value, 0) / customers;
  // Starts spread over shapes; γ is set so that each start's population mean p·γ/(q − 1) is the observed mean.
  const starts = [
    [0.1, 0.1, 0.1],
    ...[
      { p: 1, q: 2 },
      { p: 5, q: 3 },
      { p: 0.5, q: 6 },
    ].map(({ p, q }) => [Math.log(p), Math.log(q), Math.log((meanSpend * (q - 1)) / p)]),
  ];
  const best = lowestMinimum(starts.map((start) => minimizeBfgs(objective, start)));
  if (!Number.isFinite(best.value)) {
    throw new ClvFitError('non-finite-likelihood', 'Gamma-Gamma log-likelihood is not finite at any starting point');
  }
  const [logP, logQ, logGammaScale] = best.point;
  const params: GammaGammaParams = { p: Math.exp(logP!), q: Math.exp(logQ!), gamma: Math.exp(logGammaScale!) };
  return {
    params,
    logLikelihood: -makeObjective(repeat, 0)(best.point, new Float64Array(3)) * customers,
    converged: best.converged && best.point.every((logParam) => Math.abs(logParam) < LOG_PARAM_LIMIT),
    iterations: best.iterations,
    customers,
    frequencyMonetaryCorrelation: pearson(repeat.xCode, repeat.xValues, repeat.monetary),
  };
}

/** Summed Gamma-Gamma log-likelihood over the customers with x > 0 and monetary > 0. */
export function gammaGammaLogLikelihood(params: GammaGammaParams, summary: SpendSummary): number {
  validateSpend(summary);
  const repeat = selectRepeatSpend(summary);
  const logParams = Float64Array.of(Math.log(params.p), Math.log(params.q), Math.log(params.gamma));
  return -makeObjective(repeat, 0)(logParams, new Float64Array(3)) * repeat.monetary.length;
}

/** Population mean spend per transaction, p·γ / (q − 1); infinite unless q > 1. */
export function populationMeanSpend(params: GammaGammaParams): number {
  return params.q > 1 ? (params.p * params.gamma) / (params.q - 1) : Number.POSITIVE_INFINITY;
}

export function validateSpend(summary: SpendSummary): void {
  const { x, monetary } = summary;
  if (monetary.length !== x.length) {
    throw new ClvInputError(`x and monetary must have the same length (got ${x.length}, ${monetary.length})`);
  }
  for (let i = 0; i < x.length; i += 1) {
    if (!(Number.isInteger(x[i]!) && x[i]! >= 0 && Number.isFinite(monetary[i]!))) {
      throw new ClvInputError(`customer row ${i} needs a whole x ≥ 0 and a finite monetary (x=${x[i]}, monetary=${monetary[i]})`);
    }
  }
}

function selectRepeatSpend(summary: SpendSummary): RepeatSpend {
  const rows: number[] = [];
  for (let i = 0; i < summary.x.length; i += 1) {
    if (summary.x[i]! > 0 && summary.monetary[i]! > 0) rows.push(i);
  }
  const x = Float64Array.from(rows, (row) => summary.x[row]!);
  const monetary = Float64Array.from(rows, (row) => summary.monetary[row]!);
  const xColumn = encodeColumn(x);
  return { xValues: xColumn.values, xCode: xColumn.codes, monetary, logMonetary: monetary.map(Math.log) };
}

/**
 * Mean penalised negative log-likelihood over log(p, q, γ) and its gradient. Per customer
 * ℓ = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + x m) (lifetimes' form);
 * everything but ln(γ + x m) depends on x alone, so it is summed per distinct x.
 */
function makeObjective(repeat: RepeatSpend, penalizer: number) {
  const { xValues, xCode, monetary, logMonetary } = repeat;
  const customers = monetary.length;
  const countOfX = new Float64Array(xValues.length);
  const logMonetaryOfX = new Float64Array(xValues.length);
  for (let i = 0; i < customers; i += 1) {
    const k = xCode[i]!;
    countOfX[k] = countOfX[k]! + 1;
    logMonetaryOfX[k] = logMonetaryOfX[k]! + logMonetary[i]!;
  }
  const logTotalOfX = new Float64Array(xValues.length);
  const invTotalOfX = new Float64Array(xValues.length);

  return (logParams: Float64Array, gradient: Float64Array): number => {
    const p = Math.exp(logParams[0]!);
    const q = Math.exp(logParams[1]!);
    const gamma = Math.exp(logParams[2]!);
    logTotalOfX.fill(0);
    invTotalOfX.fill(0);
    for (let i = 0; i < customers; i += 1) {
      const k = xCode[i]!;
      const total = gamma + xValues[k]! * monetary[i]!;
      logTotalOfX[k] = logTotalOfX[k]! + Math.log(total);
      invTotalOfX[k] = invTotalOfX[k]! + 1 / total;
    }
    const logGammaQ = logGamma(q);
    const digammaQ = digamma(q);
    const logGammaScale = Math.log(gamma);
    let logLikelihood = 0;
    let gradP = 0;
    let gradQ = 0;
    let gradGamma = 0;
    for (let k = 0; k < xValues.length; k += 1) {
      const x = xValues[k]!;
      const n = countOfX[k]!;
      const px = p * x;
      const logX = Math.log(x);
      logLikelihood +=
        n * (logGamma(px + q) - logGamma(px) - logGammaQ + q * logGammaScale + px * logX) +
        (px - 1) * logMonetaryOfX[k]! -
        (px + q) * logTotalOfX[k]!;
      const digammaPXQ = digamma(px + q);
      gradP += x * (n * (digammaPXQ - digamma(px) + logX) + logMonetaryOfX[k]! - logTotalOfX[k]!);
      gradQ += n * (digammaPXQ - digammaQ + logGammaScale) - logTotalOfX[k]!;
      gradGamma += (n * q) / gamma - (px + q) * invTotalOfX[k]!;
    }
    const params = [p, q, gamma];
    const grads = [gradP, gradQ, gradGamma];
    let penalty = 0;
    for (let j = 0; j < 3; j += 1) {
      const value = params[j]!;
      penalty += value * value;
      gradient[j] = value * (-grads[j]! / customers + 2 * penalizer * value);
    }
    return -logLikelihood / customers + penalizer * penalty;
  };
}

function pearson(xCode: Uint32Array, xValues: Float64Array, monetary: Float64Array): number {
  const n = monetary.length;
  let meanX = 0;
  let meanM = 0;
  for (let i = 0; i < n; i += 1) {
    meanX += xValues[xCode[i]!]!;
    meanM += monetary[i]!;
  }
  meanX /= n;
  meanM /= n;
  let covariance = 0;
  let varianceX = 0;
  let varianceM = 0;
  for (let i = 0; i < n; i += 1) {
    const dx = xValues[xCode[i]!]! - meanX;
    const dm = monetary[i]! - meanM;
    covariance += dx * dm;
    varianceX += dx * dx;
    varianceM += dm * dm;
  }
  return covariance / Math.sqrt(varianceX * varianceM);
}
