/**
 * CLV mathematics: BG/NBD purchase counts, Gamma-Gamma spend and discounted CLV, on column arrays.
 * Fitting throws ClvFitError when a model cannot be fitted at all (too few customers, no repeat purchase,
 * likelihood never finite) and returns converged = false when the optimiser stopped short of its tolerance.
 * Malformed columns or options throw ClvInputError; parameters that cannot predict (Gamma-Gamma q ≤ 1)
 * throw ClvPredictionError. All three extend ClvError, whose `code` names the reason.
 */
export {
  bgNbdLogLikelihood,
  fitBgNbd,
  type BgNbdFit,
  type BgNbdParams,
  type BgNbdSummary,
  type FitDiagnostics,
  type FitOptions,
} from './bgnbd.ts';
export {
  ClvError,
  ClvFitError,
  ClvInputError,
  ClvPredictionError,
  type ClvErrorCode,
} from './errors.ts';
export {
  fitGammaGamma,
  gammaGammaLogLikelihood,
  populationMeanSpend,
  type GammaGammaFit,
  type GammaGammaParams,
  type SpendSummary,
} from './gamma-gamma.ts';
export {
  conditionalExpectedAverageValue,
  conditionalExpectedPurchases,
  DAYS_PER_MONTH,
  predictClv,
  predictPurchases,
  probabilityAlive,
  purchasesIfAlive,
  validateBgNbdParams,
  validateGammaGammaParams,
  type ClvInput,
  type ClvOptions,
  type ClvPrediction,
  type PurchaseForecast,
  type PurchaseForecastOptions,
  type PurchasesIfAlive,
} from './predict.ts';
