import { describe, expect, it } from 'vitest';
import { currentStages, transformStages } from '../../bench/stages.ts';

describe('transformStages', () => {
  it('splits a transform into setup, models and publish, adding up to its wall time, with the CLV program inside models', () => {
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
      { start: 0, end: 2500, clvSeconds: 0.6 },
    );
    // Models run from the first model step (200 ms) to the tests (2,000 ms); the CLV program's own 0.6 s
    // overlaps customer_rfm, so it is reported as it came, not as its step's 10 ms.
    expect(staged.stages).toEqual({ setup: 0.2, models: 1.8, clvFit: 0.6, publish: 0.5 });
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
      { start: 0, end: 1000, clvSeconds: 0 },
    );
    expect(staged.stages).toEqual({ setup: 0.1, models: 0.3, clvFit: 0, publish: 0.6 });
    expect(staged.lastModelInPublish).toBe('b');
  });

  it('refuses a transform that reported no model', () => {
    expect(() => transformStages([{ message: 'publishing', at: 10 }], { start: 0, end: 20, clvSeconds: 0 })).toThrow(
      'the transform reported no model step',
    );
  });

  it('reads results saved when the SQL models and the CLV fit took turns: their models time is the two added', () => {
    const saved = JSON.stringify({
      full: { stages: { setup: 0.07, sqlModels: 7.25, clvFit: 0.75, publish: 1.22 } },
      incremental: { stages: { setup: 0.1, models: 3, clvFit: 0.8, publish: 0.5 } },
    });
    expect(JSON.parse(saved, currentStages)).toEqual({
      full: { stages: { setup: 0.07, models: 8, clvFit: 0.75, publish: 1.22 } },
      incremental: { stages: { setup: 0.1, models: 3, clvFit: 0.8, publish: 0.5 } },
    });
  });
});
