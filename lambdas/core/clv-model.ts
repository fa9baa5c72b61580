import { BOOLEAN, DOUBLE, DuckDBDataChunk, INTEGER, VARCHAR, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import {
  ClvError,
  ClvFitError,
  ClvInputError,
  DAYS_PER_MONTH,
  fitBgNbd,
  fitGammaGamma,
  populationMeanSpend,
  purchasesIfAlive,
  validateGammaGammaParams,
  type BgNbdFit,
  type BgNbdParams,
  type FitDiagnostics,
  type GammaGammaFit,
  type GammaGammaParams,
} from './clv/index.ts';
import type { PipelineConfig } from './config.ts';
import { quoteLiteral } from './duckdb.ts';
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
// The sample test compares the first 13 hex digits of md5(customer_id), a 52-bit number held exactly in a double.
const HASH_PREFIX_DIGITS = 13;

/** The customers the models are fitted on, sorted by their values so that row order never changes a fit. */
interface FitSample {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly monetary: Float64Array;
  /** Every customer in the summary; x.length of them are in the sample. */
  readonly population: number;
}

/**
 * The hex prefix below which md5(customer_id) puts a customer in the fit sample (a share sampleSize /
 * population of the hash range), or undefined when every customer is fitted on.
 */
export function fitSampleThreshold(sampleSize: number, population: number): string | undefined {
  if (sampleSize === 0 || population <= sampleSize) return undefined;
  return Math.floor((sampleSize / population) * 2 ** (4 * HASH_PREFIX_DIGITS))
    .toString(16)
    .padStart(HASH_PREFIX_DIGITS, '0');
}

async function readFitSample(connection: DuckDBConnection, sampleSize: number): Promise<FitSample> {
  const counted = await connection.runAndReadAll(`select count(*)::integer from ${SUMMARY_MODEL}`);
  const population = Number(counted.getRowsJS()[0]?.[0] ?? 0);
  const threshold = fitSampleThreshold(sampleSize, population);
  // A lower-case hex digest compares as text exactly as its leading digits compare as a number.
  const reader = await connection.runAndReadAll(
    `select repeat_purchase_days::double as x, t_x_days::double as tx, t_days::double as T, repeat_avg_value::double as monetary
     from ${SUMMARY_MODEL} ${threshold === undefined ? '' : 'where md5(customer_id) < $threshold'}
     order by all`,
    threshold === undefined ? undefined : { threshold },
  );
  const [x = [], tx = [], T = [], monetary = []] = reader.getColumnsJS() as number[][];
  return {
    x: Float64Array.from(x),
    tx: Float64Array.from(tx),
    T: Float64Array.from(T),
    monetary: Float64Array.from(monetary),
    population,
  };
}

async function appendColumns(
  connection: DuckDBConnection,
  table: string,
  types: readonly DuckDBType[],
  columns: readonly (readonly DuckDBValue[] | Float64Array)[],
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
 * per customer) and `clv_fit_params`. With more than clv.fitSampleSize customers the fits use a
 * deterministic sample of them; predictions cover everyone. A model that cannot be fitted is recorded
 * with the reason, and the customers' CLV falls back to a documented method named in clv_method.
 */
export function clvProgramModel(config: PipelineConfig, onFit?: (report: ClvFitReport) => void): ProgramModel {
  return {
    name: 'clv_predictions',
    alsoProduces: ['clv_fit_params'],
    dependsOn: [SUMMARY_MODEL],
    run: async (connection) => {
      const { clv } = config;
      const data = await readFitSample(connection, clv.fitSampleSize);
      const notes: string[] = [];
      const sampled = data.x.length < data.population;
      const sampleNote = `a deterministic sample of ${data.x.length} of ${data.population} customers (clv.fitSampleSize ${clv.fitSampleSize}, by md5 of customer_id)`;
      const bgnbdFit = tryFit(
        () => fitBgNbd(data, { penalizer: clv.penalizer, minCustomers: clv.minCustomers }),
        'bgnbd',
        notes,
      );
      const bgnbd = bgnbdFit.usable;
      if (sampled && bgnbdFit.attempted) notes.push(`bgnbd fitted on ${sampleNote}`);
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
        if (sampled && gammaGammaFit.attempted) notes.push(`gamma_gamma fitted on the repeat customers of ${sampleNote}`);
      } else {
        notes.push('gamma_gamma not fitted: it is only used with a fitted BG/NBD model');
      }
      const gammaGamma = gammaGammaFit.usable;

      const method = await predictWithFallbacks(connection, config, bgnbd, gammaGamma, notes);
      if (method !== 'bgnbd_gamma_gamma') notes.push(`CLV uses the ${method} fallback`);
      await writeFitParams(connection, bgnbdFit.attempted, gammaGammaFit.attempted, notes);
      onFit?.({ ...(bgnbd ? { bgnbd } : {}), ...(gammaGamma ? { gammaGamma } : {}), notes });
    },
  };
}

/**
 * Writes clv_predictions with the first method whose models are available and whose prediction succeeds:
 * BG/NBD + Gamma-Gamma; BG/NBD with each customer's mean purchase-day value as spend; or the historical
 * run rate (repeat purchase days per day of tenure continue, at the customer's mean purchase-day value).
 */
async function predictWithFallbacks(
  connection: DuckDBConnection,
  config: PipelineConfig,
  bgnbd: BgNbdFit | undefined,
  gammaGamma: GammaGammaFit | undefined,
  notes: string[],
): Promise<ClvMethod> {
  const { clv } = config;
  const options = { horizonMonths: clv.horizonMonths, annualDiscountRate: clv.annualDiscountRate };
  const candidates: { method: ClvMethod; prepare: () => Promise<string> }[] = [];
  if (bgnbd && gammaGamma) {
    candidates.push({
      method: 'bgnbd_gamma_gamma',
      prepare: async () => {
        validateGammaGammaParams(gammaGamma.params);
        await writePairForecasts(connection, bgnbd.params, options);
        return bgnbdPredictionSql(bgnbd.params, clv.margin, gammaGammaSpendSql(gammaGamma.params));
      },
    });
  }
  if (bgnbd) {
    candidates.push({
      method: 'bgnbd_historical_spend',
      prepare: async () => {
        await writePairForecasts(connection, bgnbd.params, options);
        return bgnbdPredictionSql(bgnbd.params, clv.margin, 'avg_day_value');
      },
    });
  }
  for (const candidate of candidates) {
    let select: string;
    try {
      select = await candidate.prepare();
    } catch (error) {
      if (!(error instanceof ClvError) || error instanceof ClvInputError) throw error;
      notes.push(`${candidate.method} prediction failed: ${error.message}`);
      continue;
    }
    await createPredictionsView(connection, select, candidate.method);
    return candidate.method;
  }
  await createPredictionsView(connection, runRatePredictionSql(clv), 'historical_run_rate');
  return 'historical_run_rate';
}

/**
 * clv_predictions: a view, computed once by the mart that reads it, as a million-row table would cost
 * more to build than the prediction itself. It carries the summary's columns, so that mart needs no join.
 */
async function createPredictionsView(connection: DuckDBConnection, select: string, method: ClvMethod): Promise<void> {
  await connection.run(`create or replace view clv_predictions as select *, ${quoteLiteral(method)} as clv_method from (${select})`);
}

/**
 * The hypergeometric part of the forecast depends on (x, T) alone: it is computed once per distinct pair
 * (some tens of thousands at a million customers) and joined to the customers in SQL.
 */
async function writePairForecasts(
  connection: DuckDBConnection,
  params: BgNbdParams,
  options: { horizonMonths: number; annualDiscountRate: number },
): Promise<void> {
  const reader = await connection.runAndReadAll(
    `select distinct repeat_purchase_days::double, t_days::double from ${SUMMARY_MODEL} order by all`,
  );
  const [x = [], T = []] = reader.getColumnsJS() as number[][];
  const xs = Float64Array.from(x);
  const ts = Float64Array.from(T);
  const forecast = purchasesIfAlive(params, xs, ts, options);
  await connection.run(`create or replace table clv_pair_forecasts (x double, t double,
    horizon_purchases double, discounted_purchases double)`);
  await appendColumns(connection, 'clv_pair_forecasts', [DOUBLE, DOUBLE, DOUBLE, DOUBLE], [
    xs,
    ts,
    forecast.horizonPurchases,
    forecast.discountedPurchases,
  ]);
}

/**
 * A double literal that reads back as exactly `value`: JS prints the shortest round-tripping decimal, and
 * DuckDB parses text to double with correct rounding (a bare decimal literal would go through DECIMAL).
 */
function sqlDouble(value: number): string {
  if (!Number.isFinite(value)) throw new ClvInputError(`a CLV parameter is not finite: ${value}`);
  return `'${value}'::double`;
}

/**
 * Gamma-Gamma posterior mean spend per purchase, as conditionalExpectedAverageValue: the weight px/(px+q−1)
 * on the customer's own mean repeat spend (negative counts as 0), the rest on the population mean pγ/(q−1).
 */
function gammaGammaSpendSql(params: GammaGammaParams): string {
  const weight = `(${sqlDouble(params.p)} * x / (${sqlDouble(params.p)} * x + ${sqlDouble(params.q)} - 1))`;
  return `(1 - ${weight}) * ${sqlDouble(populationMeanSpend(params))} + ${weight} * greatest(monetary, 0)`;
}

/**
 * Per-customer BG/NBD forecast with `spend` per purchase: p_alive as probabilityAlive
 * (1 / (1 + [x>0] · a/(b+x−1) · ((α+T)/(α+tx))^{r+x})), times the (x, T) pair's forecasts if alive.
 */
function bgnbdPredictionSql(params: BgNbdParams, margin: number, spend: string): string {
  const [r, alpha, a, b] = [params.r, params.alpha, params.a, params.b].map(sqlDouble);
  return `
    with customers as (
      select *, repeat_purchase_days::double as x, t_x_days::double as tx, t_days::double as t,
             repeat_avg_value::double as monetary
      from ${SUMMARY_MODEL}
    ),
    alive as (
      select customers.*,
             case when x = 0 then 1
                  else 1 / (1 + exp((${r} + x) * ln((${alpha} + t) / (${alpha} + tx)) + ln(${a} / (${b} + x - 1))))
             end as p_alive,
             ${spend}::double as expected_avg_order_value
      from customers
    )
    select alive.* exclude (x, tx, t, monetary), p_alive * horizon_purchases as expected_purchases,
           ${sqlDouble(margin)} * expected_avg_order_value * (p_alive * discounted_purchases) as predicted_clv
    from alive join clv_pair_forecasts using (x, t)`;
}

/** Repeat purchase days per day of tenure continue for the horizon, discounted monthly, at the mean purchase-day value. */
function runRatePredictionSql(clv: PipelineConfig['clv']): string {
  const monthlyDiscount = 1 / Math.pow(1 + clv.annualDiscountRate, 1 / 12);
  let discountSum = 0;
  for (let m = 1, factor = monthlyDiscount; m <= clv.horizonMonths; m += 1, factor *= monthlyDiscount) discountSum += factor;
  const perMonth = `case when t_days > 0 then repeat_purchase_days::double / t_days * ${sqlDouble(DAYS_PER_MONTH)} else 0 end`;
  return `
    select *, null::double as p_alive, ${perMonth} * ${clv.horizonMonths} as expected_purchases,
           avg_day_value::double as expected_avg_order_value,
           ${sqlDouble(clv.margin)} * avg_day_value * ${perMonth} * ${sqlDouble(discountSum)} as predicted_clv
    from ${SUMMARY_MODEL}`;
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
  const noteFor = (model: string) => notes.filter((n) => n.startsWith(model)).join('; ') || null;
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
