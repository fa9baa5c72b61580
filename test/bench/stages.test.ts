import { describe, expect, it } from 'vitest';
import { currentStages, transformStages } from '../../bench/stages.ts';

describe('transformStages', () => {
  it('splits a transform into setup, models and publish, adding up to its wall time, and sums the models\' own times', () => {
    const staged = transformStages(
      [
        { message: 'reading 1 curated file(s)', at: 100 },
        { message: 'full run: no earlier snapshot with state', at: 150 },
        { message: 'model stg_transactions', at: 200 },
        { message: 'model clv_predictions', at: 1200 },
        { message: 'model customer_rfm', at: 1210 },
        { message: 'running SQL tests', at: 2000 },
        { message: 'publishing', at: 2300 },
      ],
      [
        { name: 'stg_transactions', seconds: 1 },
        { name: 'customer_rfm', seconds: 0.75 },
        { name: 'clv_predictions', seconds: 0.5 },
      ],
      { start: 0, end: 2500 },
    );
    // Models run from the first model step (200 ms) to the tests (2,000 ms): 1.8 s. The CLV program's
    // 0.5 s ran beside customer_rfm, so the SQL models (1.75 s) and the CLV fit add up to more.
    expect(staged.stages).toEqual({ setup: 0.2, models: 1.8, sqlModels: 1.75, clvFit: 0.5, publish: 0.5 });
    expect(staged.steps.map((step) => step.seconds)).toEqual([0.05, 0.05, 1, 0.01, 0.79, 0.3, 0.2]);
    expect(staged.lastModelInPublish).toBeUndefined();
  });

  it('counts the last model in publish when the pipeline reports nothing between them', () => {
    const staged = transformStages(
      [
        { message: 'model a', at: 100 },
        { message: 'model b', at: 400 },
        { message: 'publishing', at: 900 },
      ],
      [
        { name: 'a', seconds: 0.25 },
        { name: 'b', seconds: 0.5 },
      ],
      { start: 0, end: 1000 },
    );
    expect(staged.stages).toEqual({ setup: 0.1, models: 0.3, sqlModels: 0.75, clvFit: 0, publish: 0.6 });
    expect(staged.lastModelInPublish).toBe('b');
  });

  it('refuses a transform that reported no model', () => {
    expect(() => transformStages([{ message: 'publishing', at: 10 }], [], { start: 0, end: 20 })).toThrow(
      'the transform reported no model step',
    );
  });

  it('reads results saved when the SQL models and the CLV fit took turns: their models time is the two added', () => {
    const saved = JSON.stringify({
      full: { stages: { setup: 0.07, sqlModels: 7.25, clvFit: 0.75, publish: 1.22 } },
      incremental: { stages: { setup: 0.1, models: 3, sqlModels: 2.5, clvFit: 0.8, publish: 0.5 } },
    });
    expect(JSON.parse(saved, currentStages)).toEqual({
      full: { stages: { setup: 0.07, models: 8, sqlModels: 7.25, clvFit: 0.75, publish: 1.22 } },
      incremental: { stages: { setup: 0.1, models: 3, sqlModels: 2.5, clvFit: 0.8, publish: 0.5 } },
    });
  });
});
