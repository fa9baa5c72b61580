import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/**
 * The pipeline configuration: one schema, read by the CLI (`--config file.json`) and by the CDK app
 * (cdk.json context `pipeline`), so both run the same models with the same parameters.
 */
const columnMappingSchema = z
  .object({
    customer_id: z.string().min(1).default('customer_id'),
    transaction_id: z.string().min(1).default('transaction_id'),
    order_ts: z.string().min(1).default('order_ts'),
    amount: z.string().min(1).default('amount'),
    currency: z.string().min(1).optional(),
    quantity: z.string().min(1).optional(),
    is_return: z.string().min(1).optional(),
  })
  .strict();

const customerColumnMappingSchema = z
  .object({
    customer_id: z.string().min(1).default('customer_id'),
    signup_ts: z.string().min(1).optional(),
  })
  .strict();

const acquisitionCostColumnMappingSchema = z
  .object({
    customer_id: z.string().min(1).default('customer_id'),
    acquisition_cost: z.string().min(1).default('acquisition_cost'),
  })
  .strict();

const inputSchema = z
  .object({
    /** File format; `auto` decides from the file extension (.csv/.tsv/.txt, .jsonl/.ndjson/.json, .parquet; .gz allowed). */
    format: z.enum(['auto', 'csv', 'jsonl', 'parquet']).default('auto'),
    /** Source column names for the canonical columns; optional ones are absent when not mapped. */
    columns: columnMappingSchema.prefault({}),
    /** Source column names in customers files (which add prospects: customers without orders). */
    customerColumns: customerColumnMappingSchema.prefault({}),
    /** Source column names in acquisition-cost files (CLV is reported net of the cost). */
    acquisitionCostColumns: acquisitionCostColumnMappingSchema.prefault({}),
    /** strptime formats tried in order for order_ts (e.g. "%Y%m%d"); empty means ISO 8601 dates and timestamps. */
    timestampFormats: z.array(z.string().min(1)).default([]),
    /** Values of the is_return column (case-insensitive) that mark a return. */
    returnValues: z.array(z.string()).default(['true', 't', '1', 'yes', 'y', 'return', 'returned', 'refund', 'refunded']),
    /** Timestamps later than ingest time plus this many hours are rejected. */
    futureToleranceHours: z.number().nonnegative().default(24),
    /** CSV delimiter; detected when absent. */
    csvDelimiter: z.string().length(1).optional(),
  })
  .strict();

const lifecycleSchema = z
  .object({
    churnDays: z.number().int().positive().default(365),
    newDays: z.number().int().positive().default(90),
    atRiskMinDays: z.number().int().nonnegative().default(30),
    atRiskFactor: z.number().positive().default(2),
    loyalMinOrders: z.number().int().positive().default(4),
    loyalMinTenureDays: z.number().int().nonnegative().default(180),
  })
  .strict();

const clvSchema = z
  .object({
    horizonMonths: z.number().int().positive().max(240).default(36),
    annualDiscountRate: z.number().min(0).max(1).default(0.1),
    margin: z.number().positive().max(1).default(1),
    /** L2 penalty on the model parameters, as lifetimes' `penalizer_coef`. */
    penalizer: z.number().min(0).default(0),
    /** Share of total predicted CLV covered by tier A, then A+B (Pareto). */
    tierAShare: z.number().gt(0).lt(1).default(0.8),
    tierBShare: z.number().gt(0).lt(1).default(0.15),
    /** Window for "current value" in the value matrix. */
    currentValueMonths: z.number().int().positive().default(12),
    /** Quantile that splits current and potential value into low/high (0.5 = median). */
    quadrantSplitQuantile: z.number().gt(0).lt(1).default(0.5),
    /** Fewest customers needed to fit BG/NBD; below it CLV falls back to the historical run rate. */
    minCustomers: z.number().int().positive().default(50),
    /** Fewest repeat customers needed to fit Gamma-Gamma; below it spend falls back to history. */
    minRepeatCustomers: z.number().int().positive().default(20),
    /**
     * With more customers than this, BG/NBD and Gamma-Gamma are fitted on a deterministic sample of about
     * this many: each customer is in it when md5(customer_id) falls below fitSampleSize / customers of the
     * hash range, so the same data always gives the same sample and parameters. Predictions still cover
     * every customer; clv_model_params says how many were fitted on. 0 fits on every customer.
     */
    fitSampleSize: z.number().int().nonnegative().default(100_000),
  })
  .strict()
  .refine((c) => c.tierAShare + c.tierBShare < 1, { message: 'tierAShare + tierBShare must be below 1' });

/** A DuckDB memory_limit value, e.g. "4GB" or "2560MB". */
export const duckdbMemoryLimitSchema = z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i);

const duckdbSchema = z
  .object({
    /**
     * e.g. "4GB"; DuckDB's default (80 % of RAM) when absent, and on Lambda 70 % of the function's
     * memory. Deployed, it applies to the ingest and the transform function alike unless that
     * function's own `lambda.<function>.duckdbMemoryLimit` is set.
     */
    memoryLimit: duckdbMemoryLimitSchema.optional(),
    threads: z.number().int().positive().optional(),
    /** Where DuckDB spills; a folder under the OS temp directory when absent. */
    tempDirectory: z.string().optional(),
  })
  .strict();

const transformSchema = z
  .object({
    /**
     * A full rebuild merges the curated transactions into the customer state in batches of whole order
     * months holding about this many transactions, as daily runs merge new data, so its memory and spill
     * grow with the customers and one batch rather than with all history. 0 reads everything at once.
     */
    rebuildBatchTransactions: z.number().int().nonnegative().default(20_000_000),
    /**
     * How many of the latest published dates keep their state. A run merges into the state of the
     * date before it, so older states serve only re-runs of old dates (which then rebuild in full);
     * dropping them keeps the lake and the publication index from growing with every day.
     */
    stateSnapshots: z.number().int().positive().default(7),
  })
  .strict();

export const pipelineConfigSchema = z
  .object({
    baseCurrency: z.string().regex(/^[A-Z]{3}$/, 'a three-letter ISO 4217 code such as USD').default('USD'),
    input: inputSchema.prefault({}),
    lifecycle: lifecycleSchema.prefault({}),
    clv: clvSchema.prefault({}),
    duckdb: duckdbSchema.prefault({}),
    transform: transformSchema.prefault({}),
  })
  .strict();

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validates raw config; the message names every offending key path. */
export function parseConfig(raw: unknown, origin = 'config'): PipelineConfig {
  const result = pipelineConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid ${origin}: ${problems.join('; ')}`);
  }
  return result.data;
}

export async function loadConfigFile(path: string | undefined): Promise<PipelineConfig> {
  if (path === undefined) return parseConfig({});
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(raw, `config file ${path}`);
}
