/**
 * The transform's stages from the steps the pipeline reports (bench/measure.ts records them as they
 * come): each step lasts until the next, the last until the transform ends; and from the models' own
 * times, reported as each finishes.
 */

/**
 * Seconds per transform stage. Setup, models and publish add up to the transform's wall time; within
 * models, the SQL models run one at a time and the CLV program beside them, so their own times add up
 * to more than models where they overlap.
 */
export interface TransformStages {
  /** Listing curated files, choosing full or incremental, opening the previous snapshot's state. */
  readonly setup: number;
  /** Wall time from the first model step to publication (but the last model when publish holds it). */
  readonly models: number;
  /** The SQL models' own times added up (a mart's includes writing its file). */
  readonly sqlModels: number;
  /** The CLV program's own wall time: fits, forecasts per (x, T) pair, writes. */
  readonly clvFit: number;
  /**
   * The SQL tests, waiting for the uploads begun as files were written, and moving the pointer;
   * also the last model when the pipeline reports no step between it and publication.
   */
  readonly publish: number;
}

/** Stages as results written before the CLV program ran beside the SQL models hold them: the two took turns. */
interface SequentialStages {
  readonly setup: number;
  readonly sqlModels: number;
  readonly clvFit: number;
  readonly publish: number;
}

/** A saved result's stages in the current shape (a JSON.parse reviver for bench results). */
export function currentStages(key: string, value: unknown): unknown {
  if (key !== 'stages' || typeof value !== 'object' || value === null || 'models' in value) return value;
  const { setup, sqlModels, clvFit, publish } = value as SequentialStages;
  return { setup, models: sqlModels + clvFit, sqlModels, clvFit, publish } satisfies TransformStages;
}

/** A model's own wall time, as the pipeline reports it when the model finishes. */
export interface ModelTime {
  readonly name: string;
  readonly seconds: number;
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

const PUBLISHING_STEP = 'publishing';
const CLV_MODEL = 'clv_predictions';

const sum = (models: readonly ModelTime[]) => models.reduce((total, model) => total + model.seconds, 0);

/**
 * Stage seconds from the transform's step events (each lasts until the next, the last until `end`) and
 * the models' own times as they finished.
 */
export function transformStages(
  steps: readonly TimedStep[],
  models: readonly ModelTime[],
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
  return {
    stages: {
      setup: (steps[firstModel]!.at - times.start) / 1000,
      models: (steps[publishFrom]!.at - steps[firstModel]!.at) / 1000,
      sqlModels: sum(models.filter((model) => model.name !== CLV_MODEL)),
      clvFit: sum(models.filter((model) => model.name === CLV_MODEL)),
      publish: (times.end - steps[publishFrom]!.at) / 1000,
    },
    steps: durations,
    ...(afterModels === -1 ? { lastModelInPublish: steps[lastModel]!.message.slice('model '.length) } : {}),
  };
}
