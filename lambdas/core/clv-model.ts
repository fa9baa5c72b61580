import { BOOLEAN, DOUBLE, DuckDBDataChunk, INTEGER, VARCHAR, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import {
  ClvError,
  ClvFitError,
  ClvInputError,
  DAYS_PER_MONTH,
  fitBgNbd,
  fitGammaGamma,
  predictClv,
  predictPurchases,
  type BgNbdFit,
  type FitDiagnostics,
  type GammaGammaFit,
} from './clv/index.ts';
import type { PipelineConfig } from './config.ts';
import type { ProgramModel } from './models/runner.ts';

/** How predicted_clv was computed for a customer (README: "CLV fallbacks"). */
export type ClvMethod = 'bgnbd_gamma_gamma' | 'bgnbd_historical_spend' | 'historical_run_rate';

/** What the run summary reports about the fits. */
export interface ClvFitReport {
  readonly bgnbd?: BgNbdFit;
  readonly gammaGamma?: GammaGammaFit;
  readonly notes: readonly string[];
}

const SUMMARY_MODEL = 'int_purchase_days_summarized_to_customer';
const CHUNK_ROWS = 2048;

interface CustomerColumns {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly monetary: Float64Array;
  readonly avgDayValue: Float64Array;
}

/** Customers in customer_id order: row i of every array is the customer numbered i by `customerRowIndex`. */
const CUSTOMER_ORDER = `from ${SUMMARY_MODEL} order by customer_id`;

async function readSummary(connection: DuckDBConnection): Promise<CustomerColumns> {
  // Only numbers cross into JavaScript; customer ids are joined back by row position in SQL.
  const reader = await connection.runAndReadAll(
    `select repeat_purchase_days::double, t_x_days::double, t_days::double, repeat_avg_value::double,
            avg_day_value::double ${CUSTOMER_ORDER}`,
  );
  const [x = [], tx = [], T = [], monetary = [], avgDayValue = []] = reader.getColumnsJS();
  return {
    x: Float64Array.from(x as number[]),
    tx: Float64Array.from(tx as number[]),
    T: Float64Array.from(T as number[]),
    monetary: Float64Array.from(monetary as number[]),
    avgDayValue: Float64Array.from(avgDayValue as number[]),
  };
}

async function appendColumns(
  connection: DuckDBConnection,
  table: string,
  types: readonly DuckDBType[],
  columns: readonly (readonly DuckDBValue[] | Float64Array | Int32Array)[],
): Promise<void> {
  const appender = await connection.createAppender(table);
  const rows = columns[0]?.length ?? 0;
  for (let start = 0; start < rows; start += CHUNK_ROWS) {
    const end = Math.min(rows, start + CHUNK_ROWS);
    const chunk = DuckDBDataChunk.create(types, end - start);
    chunk.setColumns(columns.map((column) => Array.from(column.slice(start, end)) as DuckDBValue[]));
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

/** A fit to use, or undefined with the reason noted: it failed, or stopped short of convergence. */
function tryFit<T extends FitDiagnostics>(fit: () => T, model: string, notes: string[]): { usable?: T; attempted?: T } {
  try {
    const result = fit();
    if (result.converged) return { usable: result, attempted: result };
    notes.push(`${model} not used: the fit did not converge in ${result.iterations} iterations`);
    return { attempted: result };
  } catch (error) {
    if (!(error instanceof ClvFitError)) throw error;
    notes.push(`${model} not fitted: ${error.message}`);
    return {};
  }
}

/**
 * Fits BG/NBD and Gamma-Gamma on the customers as of as_of_date and writes `clv_predictions` (one row
 * per customer) and `clv_fit_params`. A model that cannot be fitted is recorded with the reason, and
 * the customers' CLV falls back to a documented method named in clv_method.
 */
export function clvProgramModel(config: PipelineConfig, onFit?: (report: ClvFitReport) => void): ProgramModel {
  return {
    name: 'clv_predictions',
    alsoProduces: ['clv_fit_params'],
    dependsOn: [SUMMARY_MODEL],
    run: async (connection) => {
      const { clv } = config;
      const data = await readSummary(connection);
      const notes: string[] = [];
      const bgnbdFit = tryFit(
        () => fitBgNbd(data, { penalizer: clv.penalizer, minCustomers: clv.minCustomers }),
        'bgnbd',
        notes,
      );
      const bgnbd = bgnbdFit.usable;
      let gammaGammaFit: { usable?: GammaGammaFit; attempted?: GammaGammaFit } = {};
      if (bgnbd) {
        gammaGammaFit = tryFit(
          () => {
            const fit = fitGammaGamma(data, { penalizer: clv.penalizer, minCustomers: clv.minRepeatCustomers });
            if (!(fit.params.q > 1)) {
              throw new ClvFitError('unusable-parameters', `q = ${fit.params.q.toPrecision(4)} <= 1 gives no finite mean spend`);
            }
            return fit;
          },
          'gamma_gamma',
          notes,
        );
      } else {
        notes.push('gamma_gamma not fitted: it is only used with a fitted BG/NBD model');
      }
      const gammaGamma = gammaGammaFit.usable;

      const rows = data.x.length;
      const { method, pAlive, expectedPurchases, expectedValue, predicted } = predictWithFallbacks(
        data,
        config,
        bgnbd,
        gammaGamma,
        notes,
      );
      if (method !== 'bgnbd_gamma_gamma') notes.push(`CLV uses the ${method} fallback`);

      await connection.run(`create or replace temp table clv_values (row_index integer, p_alive double,
        expected_purchases double, expected_avg_order_value double, predicted_clv double)`);
      await appendColumns(connection, 'clv_values', [INTEGER, DOUBLE, DOUBLE, DOUBLE, DOUBLE], [
        Int32Array.from({ length: rows }, (_, i) => i),
        Array.from(pAlive),
        expectedPurchases,
        expectedValue,
        predicted,
      ]);
      await connection.run(
        `create or replace table clv_predictions as
         select customers.customer_id, clv_values.* exclude (row_index), $method as clv_method
         from (select customer_id, (row_number() over (order by customer_id) - 1)::integer as row_index ${CUSTOMER_ORDER}) as customers
         join clv_values using (row_index)`,
        { method },
      );
      await writeFitParams(connection, bgnbdFit.attempted, gammaGammaFit.attempted, notes);
      onFit?.({ ...(bgnbd ? { bgnbd } : {}), ...(gammaGamma ? { gammaGamma } : {}), notes });
    },
  };
}

interface Prediction {
  readonly method: ClvMethod;
  readonly pAlive: readonly (number | null)[] | Float64Array;
  readonly expectedPurchases: Float64Array;
  readonly expectedValue: Float64Array;
  readonly predicted: Float64Array;
}

/**
 * The first method whose models are available and whose prediction succeeds: BG/NBD + Gamma-Gamma;
 * BG/NBD with each customer's mean purchase-day value as spend; or the historical run rate (repeat
 * purchase days per day of tenure continue, at the customer's mean purchase-day value).
 */
function predictWithFallbacks(
  data: CustomerColumns,
  config: PipelineConfig,
  bgnbd: BgNbdFit | undefined,
  gammaGamma: GammaGammaFit | undefined,
  notes: string[],
): Prediction {
  const { clv } = config;
  const options = { horizonMonths: clv.horizonMonths, annualDiscountRate: clv.annualDiscountRate, margin: clv.margin };
  const candidates: { method: ClvMethod; predict: () => Prediction }[] = [];
  if (bgnbd && gammaGamma) {
    candidates.push({
      method: 'bgnbd_gamma_gamma',
      predict: () => {
        const p = predictClv(bgnbd.params, gammaGamma.params, data, options);
        return {
          method: 'bgnbd_gamma_gamma',
          pAlive: p.pAlive,
          expectedPurchases: p.expectedPurchases,
          expectedValue: p.expectedAverageValue,
          predicted: p.predictedClv,
        };
      },
    });
  }
  if (bgnbd) {
    candidates.push({
      method: 'bgnbd_historical_spend',
      predict: () => {
        const p = predictPurchases(bgnbd.params, data, options);
        return {
          method: 'bgnbd_historical_spend',
          pAlive: p.pAlive,
          expectedPurchases: p.expectedPurchases,
          expectedValue: data.avgDayValue,
          predicted: p.discountedPurchases.map((n, i) => clv.margin * data.avgDayValue[i]! * n),
        };
      },
    });
  }
  for (const candidate of candidates) {
    try {
      return candidate.predict();
    } catch (error) {
      if (!(error instanceof ClvError) || error instanceof ClvInputError) throw error;
      notes.push(`${candidate.method} prediction failed: ${error.message}`);
    }
  }
  const monthlyDiscount = 1 / Math.pow(1 + clv.annualDiscountRate, 1 / 12);
  let discountSum = 0;
  for (let m = 1, factor = monthlyDiscount; m <= clv.horizonMonths; m += 1, factor *= monthlyDiscount) discountSum += factor;
  const perMonth = data.x.map((x, i) => (data.T[i]! > 0 ? (x / data.T[i]!) * DAYS_PER_MONTH : 0));
  return {
    method: 'historical_run_rate',
    pAlive: new Array<null>(data.x.length).fill(null),
    expectedPurchases: perMonth.map((n) => n * clv.horizonMonths),
    expectedValue: data.avgDayValue,
    predicted: perMonth.map((n, i) => clv.margin * data.avgDayValue[i]! * n * discountSum),
  };
}

async function writeFitParams(
  connection: DuckDBConnection,
  bgnbd: BgNbdFit | undefined,
  gammaGamma: GammaGammaFit | undefined,
  notes: readonly string[],
): Promise<void> {
  type Row = [string, string, number | null, number | null, number, boolean, number, string, string | null];
  const rows: Row[] = [];
  const fitted = (model: string, fit: BgNbdFit | GammaGammaFit, params: Record<string, number>, note: string | null) => {
    for (const [parameter, value] of Object.entries(params)) {
      rows.push([model, parameter, value, fit.logLikelihood, fit.customers, fit.converged, fit.iterations, 'day', note]);
    }
  };
  const noteFor = (model: string) => notes.find((n) => n.startsWith(model)) ?? null;
  const notFitted = (model: string) => rows.push([model, 'not_fitted', null, null, 0, false, 0, 'day', noteFor(model) ?? 'not fitted']);

  if (bgnbd) fitted('bgnbd', bgnbd, { ...bgnbd.params }, noteFor('bgnbd'));
  else notFitted('bgnbd');
  if (gammaGamma) {
    fitted('gamma_gamma', gammaGamma, { ...gammaGamma.params }, noteFor('gamma_gamma'));
    rows.push([
      'gamma_gamma',
      'frequency_monetary_correlation',
      gammaGamma.frequencyMonetaryCorrelation,
      null,
      gammaGamma.customers,
      gammaGamma.converged,
      gammaGamma.iterations,
      'day',
      'Pearson correlation of repeat purchase days and mean repeat spend; the model assumes independence',
    ]);
  } else notFitted('gamma_gamma');

  await connection.run(`create or replace table clv_fit_params (model varchar, parameter varchar, value double,
    log_likelihood double, customers integer, converged boolean, iterations integer, time_unit varchar, note varchar)`);
  const columns = rows[0]?.map((_, i) => rows.map((r) => r[i] as DuckDBValue)) ?? [];
  await appendColumns(connection, 'clv_fit_params', [VARCHAR, VARCHAR, DOUBLE, DOUBLE, INTEGER, BOOLEAN, INTEGER, VARCHAR, VARCHAR], columns);
}
