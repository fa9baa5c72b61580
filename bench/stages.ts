/**
 * The transform's stages from the steps the pipeline reports (bench/measure.ts records them as they
 * come): each step lasts until the next, the last until the transform ends.
 */

/** Seconds per transform stage; they add up to the transform's wall time. */
export interface TransformStages {
  /** Listing curated files, choosing full or incremental, opening the previous snapshot's state. */
  readonly setup: number;
  /** Every SQL model step (but the last when publish holds it); a mart's step includes writing its file. */
  readonly sqlModels: number;
  /** The clv_predictions step: BG/NBD and Gamma-Gamma fits and the forecasts per (x, T) pair. */
  readonly clvFit: number;
  /**
   * The SQL tests, writing the daily revenue by month, waiting for the uploads begun as files were written, and moving the pointer;
   * also the last model when the pipeline reports no step between it and publication.
   */
  readonly publish: number;
}

/** The stages, every step with its duration, and the model counted in publish when nothing followed it. */
export interface StagedSteps {
  readonly stages: TransformStages;
  /** Every step the transform reported and how long it lasted until the next one (or the end). */
  readonly steps: readonly { readonly message: string; readonly seconds: number }[];
  /** The model whose step ran on into publication, counted in publish (the pipeline reported nothing between). */
  readonly lastModelInPublish?: string;
}

/** A step the pipeline reported and when (performance.now(), ms). */
export interface TimedStep {
  readonly message: string;
  readonly at: number;
}

const CLV_STEP = 'model clv_predictions';
const PUBLISHING_STEP = 'publishing';

/** Stage seconds from the transform's step events (each lasts until the next, the last until `end`). */
export function transformStages(
  steps: readonly TimedStep[],
  times: { readonly start: number; readonly end: number },
): StagedSteps {
  const durations = steps.map((step, i) => ({ message: step.message, seconds: ((steps[i + 1]?.at ?? times.end) - step.at) / 1000 }));
  const modelIndexes = steps.flatMap((step, i) => (step.message.startsWith('model ') ? [i] : []));
  const firstModel = modelIndexes[0];
  const lastModel = modelIndexes.at(-1);
  if (firstModel === undefined || lastModel === undefined) throw new Error('the transform reported no model step');
  // A step reported after the last model other than 'publishing' (which follows the tests and writes)
  // ends that model; without one, the last model's step runs on to publication and counts there.
  const afterModels = steps.findIndex((step, i) => i > lastModel && step.message !== PUBLISHING_STEP);
  const publishFrom = afterModels === -1 ? lastModel : afterModels;
  const modelSteps = durations.slice(firstModel, publishFrom);
  const sum = (values: readonly { seconds: number }[]) => values.reduce((total, step) => total + step.seconds, 0);
  return {
    stages: {
      setup: (steps[firstModel]!.at - times.start) / 1000,
      sqlModels: sum(modelSteps.filter((step) => step.message !== CLV_STEP)),
      clvFit: sum(modelSteps.filter((step) => step.message === CLV_STEP)),
      publish: (times.end - steps[publishFrom]!.at) / 1000,
    },
    steps: durations,
    ...(afterModels === -1 ? { lastModelInPublish: steps[lastModel]!.message.slice('model '.length) } : {}),
  };
}
