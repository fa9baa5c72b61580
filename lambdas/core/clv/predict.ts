import { validateSummary, type BgNbdParams, type BgNbdSummary } from './bgnbd.ts';
import { ClvInputError, ClvPredictionError } from './errors.ts';
import { populationMeanSpend, validateSpend, type GammaGammaParams, type SpendSummary } from './gamma-gamma.ts';
import { encodeColumn, groupRows } from './grouping.ts';
import { scaledHyp2f1Remainder } from './special.ts';

/** Average Gregorian month in days (365.2425 / 12). */
export const DAYS_PER_MONTH = 30.4375;

export interface PurchaseForecastOptions {
  /** Months of future purchases counted. Default 36. */
  readonly horizonMonths?: number;
  /** Discount rate per year; month m is discounted by (1 + d)^m with d = (1 + rate)^(1/12) − 1. Default 0.10. */
  readonly annualDiscountRate?: number;
  /** One month in the time unit of tx and T. Default DAYS_PER_MONTH (data in days). */
  readonly monthLength?: number;
}

export interface ClvOptions extends PurchaseForecastOptions {
  /** Share of spend kept as margin. Default 1.0. */
  readonly margin?: number;
}

export type ClvInput = BgNbdSummary & SpendSummary;

/** One entry per input row, in input order. */
export interface PurchaseForecast {
  /** P(customer still active at T | x, tx, T). */
  readonly pAlive: Float64Array;
  /** Expected repeat purchases over the whole horizon (undiscounted). */
  readonly expectedPurchases: Float64Array;
  /** Σ_m E[purchases in month m] / (1 + d)^m over the horizon. */
  readonly discountedPurchases: Float64Array;
}

export interface ClvPrediction extends PurchaseForecast {
  /** Gamma-Gamma expected spend per future purchase. */
  readonly expectedAverageValue: Float64Array;
  /** margin × expected spend × discountedPurchases. */
  readonly predictedClv: Float64Array;
}

/**
 * Per-customer CLV from fitted BG/NBD and Gamma-Gamma parameters.
 * Throws ClvInputError for malformed columns or options and ClvPredictionError for unusable parameters
 * (non-positive or non-finite values, Gamma-Gamma q ≤ 1).
 */
export function predictClv(
  bgNbd: BgNbdParams,
  gammaGamma: GammaGammaParams,
  input: ClvInput,
  options: ClvOptions = {},
): ClvPrediction {
  const margin = options.margin ?? 1;
  if (!Number.isFinite(margin)) throw new ClvInputError(`margin must be finite, got ${margin}`);
  const expectedAverageValue = conditionalExpectedAverageValue(gammaGamma, input);
  const forecast = predictPurchases(bgNbd, input, options);
  const predictedClv = forecast.discountedPurchases.map(
    (discounted, row) => margin * expectedAverageValue[row]! * discounted,
  );
  return { ...forecast, expectedAverageValue, predictedClv };
}

/** Forecasts for customers known to be alive, one entry per (x, T) row given. */
export interface PurchasesIfAlive {
  /** Expected repeat purchases over the whole horizon (undiscounted), if alive at T. */
  readonly horizonPurchases: Float64Array;
  /** Σ_m E[purchases in month m | alive at T] / (1 + d)^m over the horizon. */
  readonly discountedPurchases: Float64Array;
}

/**
 * Per-customer purchase forecast over monthly windows (T + (m−1)·month, T + m·month], m = 1..horizon.
 * The hypergeometric work depends on (x, T) only (tx enters through p_alive), so it runs once per
 * distinct (x, T) pair.
 */
export function predictPurchases(
  bgNbd: BgNbdParams,
  summary: BgNbdSummary,
  options: PurchaseForecastOptions = {},
): PurchaseForecast {
  validateForecastOptions(options);
  const pAlive = probabilityAlive(bgNbd, summary);
  const pairs = groupByFrequencyAndAge(summary);
  const pairForecast = purchasesIfAlive(
    bgNbd,
    Float64Array.from(pairs.firstRow, (row) => summary.x[row]!),
    Float64Array.from(pairs.firstRow, (row) => summary.T[row]!),
    options,
  );
  const rows = summary.x.length;
  const expectedPurchases = new Float64Array(rows);
  const discountedPurchases = new Float64Array(rows);
  for (let row = 0; row < rows; row += 1) {
    const pair = pairs.groupOfRow[row]!;
    expectedPurchases[row] = pAlive[row]! * pairForecast.horizonPurchases[pair]!;
    discountedPurchases[row] = pAlive[row]! * pairForecast.discountedPurchases[pair]!;
  }
  return { pAlive, expectedPurchases, discountedPurchases };
}

/**
 * The horizon and discounted purchase forecasts of predictPurchases before weighting by p_alive, for
 * each (x[i], T[i]); callers pass distinct pairs, since each costs horizonMonths hypergeometric series.
 */
export function purchasesIfAlive(
  bgNbd: BgNbdParams,
  x: Float64Array,
  T: Float64Array,
  options: PurchaseForecastOptions = {},
): PurchasesIfAlive {
  validateBgNbdParams(bgNbd);
  const { horizonMonths, annualDiscountRate, monthLength } = validateForecastOptions(options);
  if (T.length !== x.length) throw new ClvInputError(`x and T must have the same length (got ${x.length}, ${T.length})`);
  const monthlyDiscountFactor = 1 / Math.pow(1 + annualDiscountRate, 1 / 12);
  const horizonPurchases = new Float64Array(x.length);
  const discountedPurchases = new Float64Array(x.length);
  for (let pair = 0; pair < x.length; pair += 1) {
    const xi = x[pair]!;
    const Ti = T[pair]!;
    if (!(Number.isInteger(xi) && xi >= 0 && Ti >= 0 && Number.isFinite(Ti))) {
      throw new ClvInputError(`row ${pair} needs a whole x ≥ 0 and a finite T ≥ 0 (x=${xi}, T=${Ti})`);
    }
    let previous = 0;
    let discount = 1;
    let discounted = 0;
    for (let month = 1; month <= horizonMonths; month += 1) {
      const cumulative = expectedPurchasesIfAlive(bgNbd, xi, Ti, month * monthLength);
      discount *= monthlyDiscountFactor;
      discounted += (cumulative - previous) * discount;
      previous = cumulative;
    }
    horizonPurchases[pair] = previous;
    discountedPurchases[pair] = discounted;
  }
  return { horizonPurchases, discountedPurchases };
}

function validateForecastOptions(options: PurchaseForecastOptions): Required<PurchaseForecastOptions> {
  const horizonMonths = options.horizonMonths ?? 36;
  const annualDiscountRate = options.annualDiscountRate ?? 0.1;
  const monthLength = options.monthLength ?? DAYS_PER_MONTH;
  if (!(Number.isInteger(horizonMonths) && horizonMonths >= 1)) {
    throw new ClvInputError(`horizonMonths must be a whole number ≥ 1, got ${horizonMonths}`);
  }
  if (!(annualDiscountRate > -1 && Number.isFinite(annualDiscountRate))) {
    throw new ClvInputError(`annualDiscountRate must be finite and > −1, got ${annualDiscountRate}`);
  }
  if (!(monthLength > 0 && Number.isFinite(monthLength))) {
    throw new ClvInputError(`monthLength must be positive, got ${monthLength}`);
  }
  return { horizonMonths, annualDiscountRate, monthLength };
}

/**
 * P(alive | x, tx, T) = 1 / (1 + [x>0] · a/(b+x−1) · ((α+T)/(α+tx))^{r+x})  (Fader, Hardie & Lee 2008, note 021).
 */
export function probabilityAlive(params: BgNbdParams, summary: BgNbdSummary): Float64Array {
  validateBgNbdParams(params);
  validateSummary(summary);
  const { r, alpha, a, b } = params;
  const { x, tx, T } = summary;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i += 1) {
    const xi = x[i]!;
    if (xi === 0) {
      out[i] = 1;
      continue;
    }
    const logOdds = (r + xi) * Math.log((alpha + T[i]!) / (alpha + tx[i]!)) + Math.log(a / (b + xi - 1));
    out[i] = 1 / (1 + Math.exp(logOdds));
  }
  return out;
}

/** E[repeat purchases in (T, T + t] | x, tx, T] for every customer (FHL 2005 eq. 10); t in the data's time unit. */
export function conditionalExpectedPurchases(params: BgNbdParams, summary: BgNbdSummary, t: number): Float64Array {
  if (!(t >= 0 && Number.isFinite(t))) throw new ClvInputError(`t must be finite and ≥ 0, got ${t}`);
  const pAlive = probabilityAlive(params, summary);
  const pairs = groupByFrequencyAndAge(summary);
  const pairValue = Float64Array.from(pairs.firstRow, (row) =>
    expectedPurchasesIfAlive(params, summary.x[row]!, summary.T[row]!, t),
  );
  return pAlive.map((probability, row) => probability * pairValue[pairs.groupOfRow[row]!]!);
}

/**
 * Gamma-Gamma posterior mean spend per transaction: (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · monetary.
 * Customers without repeats get the population mean pγ/(q−1); monetary ≤ 0 counts as 0 (the formula's limit).
 */
export function conditionalExpectedAverageValue(params: GammaGammaParams, summary: SpendSummary): Float64Array {
  validateSpend(summary);
  validateGammaGammaParams(params);
  const { p, q } = params;
  const populationMean = populationMeanSpend(params);
  return summary.x.map((x, row) => {
    const individualWeight = (p * x) / (p * x + q - 1);
    return (1 - individualWeight) * populationMean + individualWeight * Math.max(summary.monetary[row]!, 0);
  });
}

/**
 * E[purchases in (T, T + t] | alive at T, x, T] with λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x) a posteriori:
 * lifetimes' c/(a−1)·[1 − w^{r+x} ₂F₁(r+x, b+x; c; z)], with c = a+b+x−1, w = (α+T)/(α+T+t), z = 1 − w.
 * Its series needs about (r+x)·z/(1−z) terms before it converges, growing with x; an Euler transformation
 * gives c·(1 − w^{a−1})/(a−1) − w^{a−1}·R(a+b−1−r, a−1; c; z) (R = hyp2f1Remainder), whose series grows
 * with a−1 instead and has no 1/(a−1) cancellation near a = 1. The form with the smaller exponent is used:
 * the second unless a−1 > r+x, which happens when a short history leaves the dropout barely identified
 * and the fit drifts to a huge a and b (a = 3,220 and b = 1.3M from 41 days of data). Either product w^k·R
 * is summed at a scale (scaledHyp2f1Remainder), as R can pass 1e308 while w^k is below 1e-308.
 */
function expectedPurchasesIfAlive(params: BgNbdParams, x: number, T: number, t: number): number {
  if (t === 0) return 0;
  const { r, alpha, a, b } = params;
  const c = a + b + x - 1;
  const logW = -Math.log1p(t / (alpha + T));
  const z = t / (alpha + T + t);
  const shapeOffset = a - 1;
  if (shapeOffset > r + x) {
    // ₂F₁(r+x, b+x; c; z) = 1 + (b+x)/c · R(r+x, b+x; c; z).
    const scaled = scaledHyp2f1Remainder(r + x, b + x, c, z, (r + x) * logW + Math.log((b + x) / c));
    return (c / shapeOffset) * (-Math.expm1((r + x) * logW) - scaled);
  }
  const head = shapeOffset === 0 ? -logW : -Math.expm1(shapeOffset * logW) / shapeOffset;
  return c * head - scaledHyp2f1Remainder(a + b - 1 - r, shapeOffset, c, z, shapeOffset * logW);
}

/** Throws ClvPredictionError unless p, γ are finite and positive and q > 1 (a finite mean spend). */
export function validateGammaGammaParams(params: GammaGammaParams): void {
  const { p, q, gamma } = params;
  if (![p, q, gamma].every((value) => value > 0 && Number.isFinite(value)) || !(q > 1)) {
    throw new ClvPredictionError(
      'unusable-parameters',
      `Gamma-Gamma needs finite positive p, γ and q > 1 for a finite mean spend (p=${p}, q=${q}, γ=${gamma})`,
    );
  }
}

/** Throws ClvPredictionError unless r, α, a, b are finite and positive. */
export function validateBgNbdParams(params: BgNbdParams): void {
  const { r, alpha, a, b } = params;
  if (![r, alpha, a, b].every((value) => value > 0 && Number.isFinite(value))) {
    throw new ClvPredictionError(
      'unusable-parameters',
      `BG/NBD parameters must be finite and positive (r=${r}, α=${alpha}, a=${a}, b=${b})`,
    );
  }
}

function groupByFrequencyAndAge(summary: BgNbdSummary) {
  return groupRows([encodeColumn(summary.x), encodeColumn(summary.T)]);
}
