import { describe, expect, it } from 'vitest';
import { transformStages } from '../../bench/stages.ts';

describe('transformStages', () => {
  it('splits a transform into setup, SQL models, the CLV fit and publish, adding up to its wall time', () => {
    const staged = transformStages(
      [
        { message: 'reading 1 curated file(s)', at: 100 },
        { message: 'full run: no earlier snapshot with state', at: 150 },
        { message: 'model stg_transactions', at: 200 },
        { message: 'model clv_predictions', at: 1200 },
        { message: 'model customer_rfm', at: 1700 },
        { message: 'running SQL tests', at: 2000 },
        { message: 'publishing', at: 2300 },
      ],
      { start: 0, end: 2500 },
    );
    expect(staged.stages).toEqual({ setup: 0.2, sqlModels: 1.3, clvFit: 0.5, publish: 0.5 });
    expect(staged.steps.map((step) => step.seconds)).toEqual([0.05, 0.05, 1, 0.5, 0.3, 0.3, 0.2]);
    expect(staged.lastModelInPublish).toBeUndefined();
  });

  it('counts the last model in publish when the pipeline reports nothing between them', () => {
    const staged = transformStages(
      [
        { message: 'model a', at: 100 },
        { message: 'model b', at: 400 },
        { message: 'publishing', at: 900 },
      ],
      { start: 0, end: 1000 },
    );
    expect(staged.stages).toEqual({ setup: 0.1, sqlModels: 0.3, clvFit: 0, publish: 0.6 });
    expect(staged.lastModelInPublish).toBe('b');
  });

  it('refuses a transform that reported no model', () => {
    expect(() => transformStages([{ message: 'publishing', at: 10 }], { start: 0, end: 20 })).toThrow(
      'the transform reported no model step',
    );
  });
});
