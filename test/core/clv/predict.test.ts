import { describe, expect, it } from 'vitest';
import {
  ClvInputError,
  ClvPredictionError,
  conditionalExpectedAverageValue,
  conditionalExpectedPurchases,
  DAYS_PER_MONTH,
  predictClv,
  predictPurchases,
  probabilityAlive,
  type BgNbdParams,
  type GammaGammaParams,
} from '../../../lambdas/core/clv/index.ts';

const columns = (rows: { x: number; tx: number; T: number; monetary: number }[]) => ({
  x: Float64Array.from(rows, (row) => row.x),
  tx: Float64Array.from(rows, (row) => row.tx),
  T: Float64Array.from(rows, (row) => row.T),
  monetary: Float64Array.from(rows, (row) => row.monetary),
});

describe('discounted CLV on a case solvable by hand', () => {
  // With r = 2, a = 2, b = 1 the alive-customer expectation has a closed form. For x = 0:
  //   E[Y(t) | alive] = E_{p~Beta(2,1)}[(1 − (1 + p·u)^−2) / p] = ∫₀¹ 2(1 − (1 + pu)^−2) dp = 2u/(1 + u),
  // and for x = 2 (p ~ Beta(2, 3), density 12p(1−p)², and ∫₀¹ (1−p)²(1+up)^−4 dp = 1/(3(1+u))):
  //   E[Y(t) | alive] = 12·(1/3 − 1/(3(1+u))) = 4u/(1 + u),  with u = t/(α + T).
  // α = 10 and T = 20 give u = t/30; with 30-day months, month ends t = 30, 60, 90 give u = 1, 2, 3.
  const bgNbd: BgNbdParams = { r: 2, alpha: 10, a: 2, b: 1 };
  const gammaGamma: GammaGammaParams = { p: 2, q: 3, gamma: 10 }; // population mean pγ/(q−1) = 10
  const options = { horizonMonths: 3, annualDiscountRate: 0.1, margin: 0.3, monthLength: 30 };
  const monthlyDiscount = Math.pow(1.1, 1 / 12); // 1 + d

  it('values a customer without repeats at margin × population mean × discounted monthly purchases', () => {
    const prediction = predictClv(bgNbd, gammaGamma, columns([{ x: 0, tx: 0, T: 20, monetary: 0 }]), options);
    // Cumulative 2u/(1+u) at u = 1, 2, 3: 1, 4/3, 3/2 → months: 1, 1/3, 1/6.
    const discounted = 1 / monthlyDiscount + 1 / 3 / monthlyDiscount ** 2 + 1 / 6 / monthlyDiscount ** 3;
    expect(prediction.pAlive[0]).toBe(1);
    expect(prediction.expectedPurchases[0]).toBeCloseTo(1.5, 12);
    expect(prediction.expectedAverageValue[0]).toBeCloseTo(10, 12);
    expect(prediction.predictedClv[0]).toBeCloseTo(0.3 * 10 * discounted, 12);
  });

  it('weights a repeat customer by p_alive and the Gamma-Gamma posterior spend', () => {
    const prediction = predictClv(bgNbd, gammaGamma, columns([{ x: 2, tx: 15, T: 20, monetary: 30 }]), options);
    // p_alive = 1 / (1 + a/(b+x−1) · ((α+T)/(α+tx))^(r+x)) = 1 / (1 + 1 · (30/25)^4).
    const pAlive = 1 / (1 + 1.2 ** 4);
    // Spend: weight px/(px+q−1) = 4/6 on the customer's 30, the rest on the population mean 10.
    const spend = (2 / 6) * 10 + (4 / 6) * 30;
    // Cumulative 4u/(1+u) at u = 1, 2, 3: 2, 8/3, 3 → months: 2, 2/3, 1/3.
    const discounted = 2 / monthlyDiscount + 2 / 3 / monthlyDiscount ** 2 + 1 / 3 / monthlyDiscount ** 3;
    expect(prediction.pAlive[0]).toBeCloseTo(pAlive, 14);
    expect(prediction.expectedAverageValue[0]).toBeCloseTo(spend, 12);
    expect(prediction.expectedPurchases[0]).toBeCloseTo(pAlive * 3, 12);
    expect(prediction.predictedClv[0]).toBeCloseTo(0.3 * spend * pAlive * discounted, 12);
  });
});

describe('predictClv on general parameters', () => {
  // CDNOW's published fit (weeks) converted to days.
  const bgNbd: BgNbdParams = { r: 0.243, alpha: 4.414 * 7, a: 0.793, b: 2.426 };
  const gammaGamma: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };
  const input = columns([
    { x: 0, tx: 0, T: 30, monetary: 0 },
    { x: 2, tx: 213, T: 272, monetary: 22.35 },
    { x: 2, tx: 40, T: 272, monetary: 22.35 },
    { x: 9, tx: 250, T: 260, monetary: 48.1 },
    { x: 0, tx: 0, T: 30, monetary: 0 },
    { x: 1, tx: 3, T: 5, monetary: 0 },
  ]);

  it('sums the conditional expectation over 36 monthly windows, each discounted by (1+d)^m', () => {
    const prediction = predictClv(bgNbd, gammaGamma, input, { margin: 0.25 });
    // The BG/NBD-only forecast (used when no spend model can be fitted) must be the same numbers.
    const purchasesOnly = predictPurchases(bgNbd, input);
    const value = conditionalExpectedAverageValue(gammaGamma, input);
    const cumulative = Array.from({ length: 37 }, (_, m) => conditionalExpectedPurchases(bgNbd, input, m * DAYS_PER_MONTH));
    const d = Math.pow(1.1, 1 / 12) - 1;
    input.x.forEach((_, row) => {
      let discounted = 0;
      for (let m = 1; m <= 36; m += 1) discounted += (cumulative[m]![row]! - cumulative[m - 1]![row]!) / (1 + d) ** m;
      expect(prediction.expectedPurchases[row]).toBeCloseTo(cumulative[36]![row]!, 12);
      expect(prediction.discountedPurchases[row]).toBeCloseTo(discounted, 12);
      expect(purchasesOnly.discountedPurchases[row]).toBe(prediction.discountedPurchases[row]);
      expect(prediction.predictedClv[row]! / (0.25 * value[row]! * discounted)).toBeCloseTo(1, 12);
    });
  });

  it('equals margin × spend × expected purchases when the discount rate is 0', () => {
    const prediction = predictClv(bgNbd, gammaGamma, input, { annualDiscountRate: 0, margin: 0.4, horizonMonths: 12 });
    input.x.forEach((_, row) => {
      const expected = 0.4 * prediction.expectedAverageValue[row]! * prediction.expectedPurchases[row]!;
      expect(prediction.predictedClv[row]).toBeCloseTo(expected, 10);
    });
  });

  it('gives the same CLV for data in weeks when the month length is given in weeks', () => {
    // The month is a calendar length in the data's own unit, never a fixed 30 time units.
    const days = predictClv(bgNbd, gammaGamma, input);
    const weeks = predictClv(
      { ...bgNbd, alpha: bgNbd.alpha / 7 },
      gammaGamma,
      { ...input, tx: input.tx.map((v) => v / 7), T: input.T.map((v) => v / 7) },
      { monthLength: DAYS_PER_MONTH / 7 },
    );
    input.x.forEach((_, row) => expect(weeks.predictedClv[row]! / days.predictedClv[row]!).toBeCloseTo(1, 10));
  });

  it('gives rows sharing (x, T) but not tx their own p_alive, as if predicted one by one', () => {
    const together = predictClv(bgNbd, gammaGamma, input);
    expect(together.pAlive[1]).toBeGreaterThan(together.pAlive[2]!);
    input.x.forEach((_, row) => {
      const alone = predictClv(bgNbd, gammaGamma, {
        x: input.x.slice(row, row + 1),
        tx: input.tx.slice(row, row + 1),
        T: input.T.slice(row, row + 1),
        monetary: input.monetary.slice(row, row + 1),
      });
      expect(together.predictedClv[row]).toBe(alone.predictedClv[0]);
      expect(together.pAlive[row]).toBe(probabilityAlive(bgNbd, input)[row]);
    });
  });

  it('uses the population mean spend without repeats and treats non-positive spend as 0', () => {
    const value = conditionalExpectedAverageValue(gammaGamma, input);
    const populationMean = (6.25 * 15.44) / 2.74;
    expect(value[0]).toBeCloseTo(populationMean, 12);
    expect(value[5]).toBeCloseTo(((3.74 - 1) / (6.25 + 3.74 - 1)) * populationMean, 12);
  });
});

describe('predictions that cannot be made', () => {
  const bgNbd: BgNbdParams = { r: 0.243, alpha: 30.9, a: 0.793, b: 2.426 };
  const input = columns([{ x: 1, tx: 5, T: 10, monetary: 20 }]);

  it('throws ClvPredictionError when Gamma-Gamma has no finite mean (q ≤ 1) or BG/NBD parameters are not positive', () => {
    expect(() => predictClv(bgNbd, { p: 2, q: 0.9, gamma: 5 }, input)).toThrow(ClvPredictionError);
    expect(() => predictClv({ ...bgNbd, alpha: Number.NaN }, { p: 2, q: 3, gamma: 5 }, input)).toThrow(
      expect.objectContaining({ code: 'unusable-parameters' }),
    );
  });

  it('throws ClvInputError for a horizon, rate or month length that makes no sense', () => {
    const gammaGamma = { p: 2, q: 3, gamma: 5 };
    expect(() => predictClv(bgNbd, gammaGamma, input, { horizonMonths: 0 })).toThrow(ClvInputError);
    expect(() => predictClv(bgNbd, gammaGamma, input, { annualDiscountRate: -1 })).toThrow(ClvInputError);
    expect(() => predictClv(bgNbd, gammaGamma, input, { monthLength: 0 })).toThrow(ClvInputError);
    expect(() => predictClv(bgNbd, gammaGamma, { ...input, monetary: new Float64Array(2) })).toThrow(ClvInputError);
  });
});
