/** Why a CLV computation could not be carried out; stable strings for logs and the params table. */
export type ClvErrorCode =
  | 'invalid-input'
  | 'too-few-customers'
  | 'no-repeat-customers'
  | 'non-finite-likelihood'
  | 'unusable-parameters'
  | 'series-not-converged';

export class ClvError extends Error {
  readonly code: ClvErrorCode;

  constructor(code: ClvErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The input columns break the model's conventions (lengths, ranges, non-finite values). */
export class ClvInputError extends ClvError {
  constructor(message: string) {
    super('invalid-input', message);
  }
}

/** A model cannot be fitted to these data at all (as opposed to a fit that ran but did not converge). */
export class ClvFitError extends ClvError {}

/** Fitted parameters cannot produce predictions (e.g. Gamma-Gamma q <= 1 has no finite mean). */
export class ClvPredictionError extends ClvError {}
