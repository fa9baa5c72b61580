import { ClvFitError, ClvInputError } from './errors.ts';
import { encodeColumn, groupRows } from './grouping.ts';
import { lowestMinimum, minimizeBfgs } from './optimize.ts';
import { digamma, logGamma } from './special.ts';

/** BG/NBD (Fader, Hardie & Lee 2005): λ ~ Gamma(shape r, rate α), dropout p ~ Beta(a, b). */
export interface BgNbdParams {
  readonly r: number;
  /** In the time unit of tx and T (days in the pipeline). */
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

/**
 * One entry per customer, in one time unit (days in the pipeline): x = repeat purchase days,
 * tx = last purchase − first purchase, T = as-of date − first purchase.
 */
export interface BgNbdSummary {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
}

export interface FitOptions {
  /**
   * L2 penalty as lifetimes' penalizer_coef: penalizer · Σ params² is added to the mean negative
   * log-likelihood. As in lifetimes, α enters in time rescaled so that max(T) = 1, which makes the
   * penalty independent of the time unit. Default 0.
   */
  readonly penalizer?: number;
  /** Fewer customers than this throws ClvFitError('too-few-customers'). Default 10. */
  readonly minCustomers?: number;
}

export interface FitDiagnostics {
  /** Log-likelihood summed over customers, without the penalty. */
  readonly logLikelihood: number;
  /** The optimiser met its gradient tolerance at an interior point (no parameter running off to 0 or ∞). */
  readonly converged: boolean;
  /** BFGS iterations of the run that produced the returned parameters. */
  readonly iterations: number;
  readonly customers: number;
}

export interface BgNbdFit extends FitDiagnostics {
  readonly params: BgNbdParams;
}

/** Distinct (x, tx, T) patterns with their customer counts; T and tx point into their own distinct-value tables. */
interface PatternTable {
  readonly xValues: Float64Array;
  readonly tValues: Float64Array;
  readonly txValues: Float64Array;
  readonly xCode: Uint32Array;
  readonly tCode: Uint32Array;
  readonly txCode: Uint32Array;
  readonly weight: Float64Array;
  readonly customers: number;
}

const LOG_PARAM_LIMIT = 18;
// The runs start where lifetimes does (all log-parameters 0.1) and at two spread-out points scaled to the
// data's purchase rate, so one run stuck in a poor region does not decide the fit.
const START_SHAPES: readonly { r: number; a: number; b: number }[] = [
  { r: 1, a: 1, b: 3 },
  { r: 0.25, a: 0.5, b: 8 },
];

export function fitBgNbd(summary: BgNbdSummary, options: FitOptions = {}): BgNbdFit {
  validateSummary(summary);
  const penalizer = options.penalizer ?? 0;
  const minCustomers = options.minCustomers ?? 10;
  const customers = summary.x.length;
  if (customers < minCustomers) {
    throw new ClvFitError('too-few-customers', `BG/NBD needs at least ${minCustomers} customers, got ${customers}`);
  }
  let maxT = 0;
  let repeatPurchases = 0;
  let totalT = 0;
  for (let i = 0; i < customers; i += 1) {
    maxT = Math.max(maxT, summary.T[i]!);
    repeatPurchases += summary.x[i]!;
    totalT += summary.T[i]!;
  }
  if (repeatPurchases === 0) {
    throw new ClvFitError('no-repeat-customers', 'BG/NBD cannot be fitted: no customer has a repeat purchase');
  }
  if (maxT === 0) {
    throw new ClvFitError('too-few-customers', 'BG/NBD cannot be fitted: every customer was first seen on the as-of date');
  }
  // lifetimes fits in time rescaled so that max(T) = 1; it conditions α and defines its penalty.
  const timeScale = 1 / maxT;
  const table = buildPatternTable(summary, timeScale);
  const objective = makeObjective(table, penalizer);

  const scaledRate = repeatPurchases / (totalT * timeScale);
  const starts = [
    [0.1, 0.1, 0.1, 0.1],
    ...START_SHAPES.map(({ r, a, b }) => [Math.log(r), Math.log(r / scaledRate), Math.log(a), Math.log(b)]),
  ];
  const best = lowestMinimum(starts.map((start) => minimizeBfgs(objective, start)));
  if (!Number.isFinite(best.value)) {
    throw new ClvFitError('non-finite-likelihood', 'BG/NBD log-likelihood is not finite at any starting point');
  }
  const [logR, logAlpha, logA, logB] = best.point;
  const params: BgNbdParams = {
    r: Math.exp(logR!),
    alpha: Math.exp(logAlpha!) / timeScale,
    a: Math.exp(logA!),
    b: Math.exp(logB!),
  };
  // Rescaling time by s multiplies each customer's likelihood by s^x (one density factor per repeat purchase).
  const scaledLogLikelihood = -makeObjective(table, 0)(best.point, new Float64Array(4)) * customers;
  return {
    params,
    logLikelihood: scaledLogLikelihood + repeatPurchases * Math.log(timeScale),
    converged: best.converged && best.point.every((logParam) => Math.abs(logParam) < LOG_PARAM_LIMIT),
    iterations: best.iterations,
    customers,
  };
}

/** Summed BG/NBD log-likelihood (FHL 2005 eq. 6, in the data's time unit). */
export function bgNbdLogLikelihood(params: BgNbdParams, summary: BgNbdSummary): number {
  validateSummary(summary);
  const table = buildPatternTable(summary, 1);
  const objective = makeObjective(table, 0);
  const logParams = Float64Array.of(Math.log(params.r), Math.log(params.alpha), Math.log(params.a), Math.log(params.b));
  return -objective(logParams, new Float64Array(4)) * table.customers;
}

export function validateSummary(summary: BgNbdSummary): void {
  const { x, tx, T } = summary;
  if (tx.length !== x.length || T.length !== x.length) {
    throw new ClvInputError(`x, tx and T must have the same length (got ${x.length}, ${tx.length}, ${T.length})`);
  }
  for (let i = 0; i < x.length; i += 1) {
    const xi = x[i]!;
    const txi = tx[i]!;
    const Ti = T[i]!;
    if (!(Number.isInteger(xi) && xi >= 0 && txi >= 0 && txi <= Ti && Number.isFinite(Ti))) {
      throw new ClvInputError(
        `customer row ${i} breaks 0 ≤ tx ≤ T with whole x ≥ 0 (x=${xi}, tx=${txi}, T=${Ti})`,
      );
    }
    if (xi === 0 && txi !== 0) {
      throw new ClvInputError(`customer row ${i} has no repeat purchase but tx=${txi}; tx must be 0 when x is 0`);
    }
  }
}

function buildPatternTable(summary: BgNbdSummary, timeScale: number): PatternTable {
  const xColumn = encodeColumn(summary.x);
  const txColumn = encodeColumn(summary.tx);
  const tColumn = encodeColumn(summary.T);
  const groups = groupRows([xColumn, txColumn, tColumn]);
  const pick = (codes: Uint32Array): Uint32Array => groups.firstRow.map((row) => codes[row]!);
  return {
    xValues: xColumn.values,
    tValues: tColumn.values.map((value) => value * timeScale),
    txValues: txColumn.values.map((value) => value * timeScale),
    xCode: pick(xColumn.codes),
    tCode: pick(tColumn.codes),
    txCode: pick(txColumn.codes),
    weight: groups.count,
    customers: summary.x.length,
  };
}

/**
 * Mean penalised negative log-likelihood over log(r, α, a, b) and its analytic gradient.
 * Per customer ℓ = A₁ + A₂ + ln(e^{A₃} + [x>0] e^{A₄}) (lifetimes' A-terms); the Γ-function parts depend on x
 * only and ln(α + T), ln(α + tx) on T and tx only, so each is computed once per distinct value.
 */
function makeObjective(table: PatternTable, penalizer: number) {
  const { xValues, tValues, txValues, xCode, tCode, txCode, weight, customers } = table;
  const logAlphaT = new Float64Array(tValues.length);
  const invAlphaT = new Float64Array(tValues.length);
  const logAlphaTx = new Float64Array(txValues.length);
  const invAlphaTx = new Float64Array(txValues.length);
  const xTerm = new Float64Array(xValues.length);
  const recencyTerm = new Float64Array(xValues.length);
  const weightOfX = new Float64Array(xValues.length);
  const recencyWeightOfX = new Float64Array(xValues.length);

  return (logParams: Float64Array, gradient: Float64Array): number => {
    const r = Math.exp(logParams[0]!);
    const alpha = Math.exp(logParams[1]!);
    const a = Math.exp(logParams[2]!);
    const b = Math.exp(logParams[3]!);
    for (let j = 0; j < tValues.length; j += 1) {
      logAlphaT[j] = Math.log(alpha + tValues[j]!);
      invAlphaT[j] = 1 / (alpha + tValues[j]!);
    }
    for (let j = 0; j < txValues.length; j += 1) {
      logAlphaTx[j] = Math.log(alpha + txValues[j]!);
      invAlphaTx[j] = 1 / (alpha + txValues[j]!);
    }
    const logGammaR = logGamma(r);
    const logGammaB = logGamma(b);
    const logGammaAB = logGamma(a + b);
    const logA = Math.log(a);
    for (let k = 0; k < xValues.length; k += 1) {
      const x = xValues[k]!;
      xTerm[k] =
        logGamma(r + x) - logGammaR + logGammaAB + logGamma(b + x) - logGammaB - logGamma(a + b + x);
      recencyTerm[k] = x > 0 ? logA - Math.log(b + x - 1) : Number.NEGATIVE_INFINITY;
    }
    weightOfX.fill(0);
    recencyWeightOfX.fill(0);

    let logLikelihood = 0;
    let gradR = 0;
    let gradAlpha = 0;
    for (let i = 0; i < weight.length; i += 1) {
      const k = xCode[i]!;
      const x = xValues[k]!;
      const w = weight[i]!;
      const shape = r + x;
      const t = tCode[i]!;
      const aliveTerm = -shape * logAlphaT[t]!;
      let mixture = aliveTerm;
      let recencyShare = 0;
      let logRecency = 0;
      let invRecency = 0;
      if (x > 0) {
        const s = txCode[i]!;
        logRecency = logAlphaTx[s]!;
        invRecency = invAlphaTx[s]!;
        const gap = recencyTerm[k]! - shape * logRecency - aliveTerm;
        // ln(e^{A₃} + e^{A₄}) and the share of the A₄ branch, without overflow in either direction.
        if (gap > 0) {
          const e = Math.exp(-gap);
          mixture = aliveTerm + gap + Math.log1p(e);
          recencyShare = 1 / (1 + e);
        } else {
          const e = Math.exp(gap);
          mixture = aliveTerm + Math.log1p(e);
          recencyShare = e / (1 + e);
        }
      }
      const aliveShare = 1 - recencyShare;
      logLikelihood += w * mixture;
      weightOfX[k] = weightOfX[k]! + w;
      recencyWeightOfX[k] = recencyWeightOfX[k]! + w * recencyShare;
      gradR -= w * (aliveShare * logAlphaT[t]! + recencyShare * logRecency);
      gradAlpha -= w * shape * (aliveShare * invAlphaT[t]! + recencyShare * invRecency);
    }

    const digammaR = digamma(r);
    const digammaB = digamma(b);
    const digammaAB = digamma(a + b);
    const logAlpha = Math.log(alpha);
    let gradA = 0;
    let gradB = 0;
    for (let k = 0; k < xValues.length; k += 1) {
      const x = xValues[k]!;
      const w = weightOfX[k]!;
      if (w === 0) continue;
      logLikelihood += w * (xTerm[k]! + r * logAlpha);
      const digammaABX = digamma(a + b + x);
      gradR += w * (digamma(r + x) - digammaR + logAlpha);
      gradAlpha += (w * r) / alpha;
      gradA += w * (digammaAB - digammaABX);
      gradB += w * (digammaAB + digamma(b + x) - digammaB - digammaABX);
      if (x > 0) {
        gradA += recencyWeightOfX[k]! / a;
        gradB -= recencyWeightOfX[k]! / (b + x - 1);
      }
    }

    const params = [r, alpha, a, b];
    const grads = [gradR, gradAlpha, gradA, gradB];
    let penalty = 0;
    for (let j = 0; j < 4; j += 1) {
      const value = params[j]!;
      penalty += value * value;
      // Chain rule to log-parameters: ∂/∂ln θ = θ · ∂/∂θ.
      gradient[j] = value * (-grads[j]! / customers + 2 * penalizer * value);
    }
    return -logLikelihood / customers + penalizer * penalty;
  };
}
