import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles, transform } from '../../lambdas/core/pipeline.ts';
import { fixturesDir, queryLake, source, tempLake } from '../support/pipeline.ts';

/*
 * test/fixtures/hand-worked: 11 customers, as_of_date 2024-12-31, default thresholds
 * (churn 365, new 90, at_risk_min 30, at_risk_factor 2, loyal 4 orders and 180 days tenure).
 *
 * Working (days are whole UTC days; 2024 is a leap year):
 *   cust  orders (date: amount)                      n  R    tenure  gaps / mean      stage (rule)
 *   P1    none, listed in customers.csv              0  -    -       -                prospect (1)
 *   C1    2023-06-01: 50                             1  579  579     -                churned (2: 579 > 365)
 *   C2    2023-01-10: 30, 2024-12-01: 40             2  30   721     691              reactivated (3: gap 691 > 365, R 30 <= 90)
 *   C3    2024-11-15: 25                             1  46   46      -                new (4: R 46 <= 90)
 *   C4    2024-08-01: 35                             1  152  152     -                at_risk (5: n = 1, R 152 > 90)
 *   C5    2024-10-12, 10-22, 11-01: 20 each          3  60   80      10, 10 / 10      at_risk (5: R 60 > max(30, 2x10))
 *   C6    2024-07-01, 09-01, 11-01: 15 each          3  60   183     62, 61 / 61.5    developing (7: R 60 <= 123, n < 4)
 *   C7    2024-03-01, 06-01, 09-01, 12-01: 50 each   4  30   305     mean 275/3       loyal (6: n 4, tenure 305 >= 180)
 *   C8    2024-11-01, 11-10, 11-20, 12-20: 10 each   4  11   60      mean 49/3        developing (7: tenure 60 < 180)
 *   C9    2024-12-10: 120; return 12-20: 30 flagged  1  21   21      -                new (4); the return nets monetary
 *                                                                                     to 90 and does not move recency
 *   C11   two orders on 2024-12-30: 10, 15           2  1   1       one purchase day developing (7: no gap, R 1 <= 30)
 *
 * RFM over the 10 buyers: score = least(5, 1 + floor(5 * (rank - 1) / 9)), rank - 1 -> score:
 *   0,1 -> 1; 2,3 -> 2; 4,5 -> 3; 6,7 -> 4; 8,9 -> 5 (ties take the lowest rank).
 *   recency desc: C1 579 (0), C4 152 (1), C5 = C6 60 (2), C3 46 (4), C2 = C7 30 (5), C9 21 (7), C8 11 (8), C11 1 (9)
 *     r: C1 1, C4 1, C5 2, C6 2, C3 3, C2 3, C7 3, C9 4, C8 5, C11 5
 *   frequency asc: C1 = C3 = C4 = C9 1 (0), C2 = C11 2 (4), C5 = C6 3 (6), C7 = C8 4 (8)
 *     f: C1 1, C3 1, C4 1, C9 1, C2 3, C11 3, C5 4, C6 4, C7 5, C8 5
 *   monetary asc: C3 = C11 25 (0), C4 35 (2), C8 40 (3), C6 45 (4), C1 50 (5), C5 60 (6), C2 70 (7), C9 90 (8), C7 200 (9)
 *     m: C3 1, C11 1, C4 2, C8 2, C6 3, C1 3, C5 4, C2 4, C9 5, C7 5
 *   segments (R x F grid): C1 R1F1 hibernating, C2 R3F3 need_attention, C3 R3F1 about_to_sleep,
 *     C4 R1F1 hibernating, C5 R2F4 at_risk, C6 R2F4 at_risk, C7 R3F5 loyal, C8 R5F5 champions,
 *     C9 R4F1 promising, C11 R5F3 potential_loyalists
 */
const expected = {
  P1: { stage: 'prospect', phase: 'prospect' },
  C1: { stage: 'churned', phase: 'churn', r: 1, f: 1, m: 3, segment: 'hibernating', recency: 579, frequency: 1, monetary: 50 },
  C2: { stage: 'reactivated', phase: 'formation', r: 3, f: 3, m: 4, segment: 'need_attention', recency: 30, frequency: 2, monetary: 70 },
  C3: { stage: 'new', phase: 'exploration', r: 3, f: 1, m: 1, segment: 'about_to_sleep', recency: 46, frequency: 1, monetary: 25 },
  C4: { stage: 'at_risk', phase: 'decline', r: 1, f: 1, m: 2, segment: 'hibernating', recency: 152, frequency: 1, monetary: 35 },
  C5: { stage: 'at_risk', phase: 'decline', r: 2, f: 4, m: 4, segment: 'at_risk', recency: 60, frequency: 3, monetary: 60 },
  C6: { stage: 'developing', phase: 'formation', r: 2, f: 4, m: 3, segment: 'at_risk', recency: 60, frequency: 3, monetary: 45 },
  C7: { stage: 'loyal', phase: 'stability', r: 3, f: 5, m: 5, segment: 'loyal', recency: 30, frequency: 4, monetary: 200 },
  C8: { stage: 'developing', phase: 'formation', r: 5, f: 5, m: 2, segment: 'champions', recency: 11, frequency: 4, monetary: 40 },
  C9: { stage: 'new', phase: 'exploration', r: 4, f: 1, m: 5, segment: 'promising', recency: 21, frequency: 1, monetary: 90 },
  C11: { stage: 'developing', phase: 'formation', r: 5, f: 3, m: 1, segment: 'potential_loyalists', recency: 1, frequency: 2, monetary: 25 },
} as const;

describe('hand-worked fixture', () => {
  let env: Awaited<ReturnType<typeof tempLake>>;

  beforeAll(async () => {
    env = await tempLake({ input: { columns: { is_return: 'is_return' } } }, new Date('2025-06-01T00:00:00Z'));
    const dir = join(fixturesDir, 'hand-worked');
    await ingestFiles(env.deps, [source(join(dir, 'customers.csv'))], 'customers');
    await ingestFiles(env.deps, [source(join(dir, 'acquisition_costs.csv'))], 'acquisition_costs');
    const results = await ingestFiles(env.deps, [source(join(dir, 'transactions.csv'))]);
    expect(results[0]).toMatchObject({ status: 'ingested', rowsRead: 23, rowsCurated: 23, rowsQuarantined: 0 });
    await transform(env.deps, { asOfDate: '2024-12-31' });
  });
  afterAll(() => env.cleanup());

  it('assigns every lifecycle stage by the first matching rule', async () => {
    const rows = await queryLake(env.deps, 'select customer_id, lifecycle_stage, lifecycle_phase, rule_fired from customer_lifecycle');
    const byId = Object.fromEntries(rows.map((r) => [r.customer_id, r]));
    expect(Object.keys(byId).sort()).toEqual(Object.keys(expected).sort());
    for (const [id, e] of Object.entries(expected)) {
      expect(byId[id], id).toMatchObject({ lifecycle_stage: e.stage, lifecycle_phase: e.phase });
      expect(String(byId[id]?.rule_fired), id).toMatch(new RegExp(`^${e.stage}:`));
    }
    expect(new Set(rows.map((r) => r.lifecycle_stage))).toEqual(
      new Set(['prospect', 'new', 'developing', 'loyal', 'at_risk', 'churned', 'reactivated']),
    );
  });

  it('scores R, F and M by quintile with ties sharing the lower score, and segments by the R x F grid', async () => {
    const rows = await queryLake(
      env.deps,
      'select customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_cell, rfm_segment from customer_rfm',
    );
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      const e = expected[row.customer_id as keyof typeof expected];
      if (!('r' in e)) throw new Error(`prospect ${String(row.customer_id)} must not be scored`);
      expect(row, String(row.customer_id)).toEqual({
        customer_id: row.customer_id,
        recency_days: e.recency,
        frequency: e.frequency,
        monetary: e.monetary,
        r_score: e.r,
        f_score: e.f,
        m_score: e.m,
        rfm_cell: `${e.r}${e.f}${e.m}`,
        rfm_segment: e.segment,
      });
    }
  });

  it('nets a flagged return into monetary without counting it as an order or moving recency', async () => {
    const [c9] = await queryLake(
      env.deps,
      "select frequency, monetary, returns, returned_amount, last_order_date from customer_rfm where customer_id = 'C9'",
    );
    expect(c9).toMatchObject({ frequency: 1, monetary: 90, returns: 1, returned_amount: -30 });
    expect((c9?.last_order_date as Date).toISOString().slice(0, 10)).toBe('2024-12-10');
  });

  it('summarises customers and revenue by segment and stage', async () => {
    const rows = await queryLake(
      env.deps,
      "select dimension, segment, customers, revenue from segment_summary where segment in ('developing', 'hibernating', 'prospect') order by all",
    );
    expect(rows).toEqual([
      { dimension: 'lifecycle_stage', segment: 'developing', customers: 3, revenue: 45 + 40 + 25 },
      { dimension: 'lifecycle_stage', segment: 'prospect', customers: 1, revenue: 0 },
      { dimension: 'rfm_segment', segment: 'hibernating', customers: 2, revenue: 50 + 35 },
    ]);
  });

  it('falls back visibly to the historical run rate when there are too few customers to fit the CLV models', async () => {
    const params = await queryLake(env.deps, "select model, parameter, converged, note from clv_model_params order by model");
    expect(params).toEqual([
      { model: 'bgnbd', parameter: 'not_fitted', converged: false, note: 'bgnbd not fitted: BG/NBD needs at least 50 customers, got 10' },
      {
        model: 'gamma_gamma',
        parameter: 'not_fitted',
        converged: false,
        note: 'gamma_gamma not fitted: it is only used with a fitted BG/NBD model',
      },
    ]);
    // Run rate = x / T repeat purchase days per day, x 30.4375 per month; 36 months discounted at
    // d = 1.1^(1/12) - 1: S = sum over m of (1 + d)^-m = (1 - 1.1^-3) / d = 31.18646.
    // C5: x = 2, T = 80, mean day value 20 -> 0.7609375 per month -> 20 x 0.7609375 x 31.18646 = 474.62;
    //     expected purchases 0.7609375 x 36 = 27.39. C7: x = 3, T = 305, value 50 -> 466.84, purchases
    //     3/305 x 30.4375 x 36 = 10.78. C3: x = 0 -> 0.
    const rows = await queryLake(
      env.deps,
      "select customer_id, clv_method, p_alive, round(expected_purchases, 2) as purchases, predicted_clv from customer_clv where customer_id in ('C3', 'C5', 'C7') order by 1",
    );
    expect(rows).toEqual([
      { customer_id: 'C3', clv_method: 'historical_run_rate', p_alive: null, purchases: 0, predicted_clv: 0 },
      { customer_id: 'C5', clv_method: 'historical_run_rate', p_alive: null, purchases: 27.39, predicted_clv: 474.62 },
      { customer_id: 'C7', clv_method: 'historical_run_rate', p_alive: null, purchases: 10.78, predicted_clv: 466.84 },
    ]);
  });

  it('reports CLV net of acquisition cost where a cost is given', async () => {
    const rows = await queryLake(
      env.deps,
      "select customer_id, acquisition_cost, clv_net_of_acquisition from customer_clv where customer_id in ('C5', 'C7', 'C8') order by 1",
    );
    expect(rows).toEqual([
      { customer_id: 'C5', acquisition_cost: 100, clv_net_of_acquisition: 374.62 },
      { customer_id: 'C7', acquisition_cost: 500, clv_net_of_acquisition: -33.16 },
      { customer_id: 'C8', acquisition_cost: null, clv_net_of_acquisition: null },
    ]);
  });

  it('tiers customers by Pareto share of predicted CLV', async () => {
    // Predicted CLV by hand (run rate as above; zero for one-day customers C1, C3, C4, C9, C11):
    //   C7 466.84, C5 474.62, C6 15 x 2/183 x 30.4375 x 31.18646 = 155.61, C8 10 x 3/60 x ... = 474.62,
    //   C2 35 x 1/721 x ... = 46.08. Total 1617.77; sorted: C5 and C8 474.62 (shares before 0 and 0.293),
    //   C7 466.84 (0.587), C6 155.61 (0.875), C2 46.08 (0.972), zeros after (1.0).
    //   A: share before < 0.8 -> C5, C8, C7; B: < 0.95 -> C6; C: the rest.
    const rows = await queryLake(env.deps, 'select customer_id, value_tier from customer_clv order by customer_id');
    expect(Object.fromEntries(rows.map((r) => [r.customer_id, r.value_tier]))).toEqual({
      C1: 'C', C11: 'C', C2: 'C', C3: 'C', C4: 'C', C5: 'A', C6: 'B', C7: 'A', C8: 'A', C9: 'C',
    });
  });

  it('carries previous_stage and stage_since into the next snapshot and counts transitions', async () => {
    // 2025-02-28: C3's recency becomes 46 + 59 = 105 > 90 -> at_risk; C7's 30 + 59 = 89 stays within 2 x 91.7 -> loyal.
    await transform(env.deps, { asOfDate: '2025-02-28' });
    const rows = await queryLake(
      env.deps,
      "select customer_id, lifecycle_stage, previous_stage, strftime(stage_since, '%Y-%m-%d') as since from customer_lifecycle where customer_id in ('C3', 'C7') order by 1",
    );
    expect(rows).toEqual([
      { customer_id: 'C3', lifecycle_stage: 'at_risk', previous_stage: 'new', since: '2025-02-28' },
      { customer_id: 'C7', lifecycle_stage: 'loyal', previous_stage: 'loyal', since: '2024-12-31' },
    ]);
    const [move] = await queryLake(
      env.deps,
      "select customers, strftime(previous_as_of_date, '%Y-%m-%d') as previous from lifecycle_transitions where from_stage = 'new' and to_stage = 'at_risk'",
    );
    // C3 and C9 (R 21 + 59 = 80 <= 90 stays new) -> only C3 moves from new to at_risk.
    expect(move).toEqual({ customers: 1, previous: '2024-12-31' });
    const history = await queryLake(env.deps, 'select distinct as_of_date from customer_lifecycle_history order by 1');
    expect(history).toHaveLength(2);
  });
});
