import { z } from 'zod';
import { duckdbMemoryLimitSchema, pipelineConfigSchema, type PipelineConfig } from '../lambdas/core/config.ts';

/**
 * The deployment settings: cdk.json `context` (or `cdk synth -c key=value`), validated once in
 * infra/app.ts and handed to the stacks as typed, readonly props. Values given with `-c` arrive as
 * strings, so numbers are coerced and objects may be passed as JSON text.
 */

/** CloudWatch Logs accepts only these retention periods (days). */
const logRetentionDays = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** A `-c key={"a":1}` value arrives as text: parse it so the object schema can check it. */
function jsonText<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }, schema);
}

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

function functionSettings(defaults: { memoryMb: number; ephemeralStorageMb: number; timeoutSeconds: number }) {
  return z
    .object({
      /** Lambda memory; DuckDB gets ~70 % of it and one thread per vCPU (1 vCPU per 1,769 MB). */
      memoryMb: count(128, 10_240).default(defaults.memoryMb),
      /** /tmp size: downloaded inputs, Parquet outputs and DuckDB spill files. */
      ephemeralStorageMb: count(512, 10_240).default(defaults.ephemeralStorageMb),
      timeoutSeconds: count(10, 900).default(defaults.timeoutSeconds),
    })
    .strict();
}

/** Each function's size when the config sets none; the bench's sizing tables say what these hold. */
export const FUNCTION_DEFAULTS = {
  ingest: { memoryMb: 3008, ephemeralStorageMb: 4096, timeoutSeconds: 900 },
  transform: { memoryMb: 10_240, ephemeralStorageMb: 10_240, timeoutSeconds: 900 },
  export: { memoryMb: 512, ephemeralStorageMb: 512, timeoutSeconds: 300 },
} as const;

/** A function that runs DuckDB may set DuckDB's memory limit for itself (the bench's sizing tables say when). */
function duckdbFunctionSettings(defaults: { memoryMb: number; ephemeralStorageMb: number; timeoutSeconds: number }) {
  return functionSettings(defaults).extend({
    /** DuckDB's memory_limit in this function, e.g. "2.5GB"; else `pipeline.duckdb.memoryLimit`, else 70 % of memoryMb. */
    duckdbMemoryLimit: duckdbMemoryLimitSchema.optional(),
  });
}

const ingestFunctionSchema = duckdbFunctionSettings(FUNCTION_DEFAULTS.ingest).extend({
  /** SQS messages (one uploaded file each) per invocation. */
  batchSize: count(1, 10).default(5),
  /** Concurrent ingest invocations the queue may drive (SQS event sources allow 2-1000). */
  maxConcurrency: count(2, 1000).default(5),
});

export const infraConfigSchema = z
  .object({
    /** Prefix of stack names and of the few resources that need a name (Glue database, Athena workgroup). */
    namePrefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,24}[a-z0-9]$/, 'use 3-26 lowercase letters, digits and hyphens, starting with a letter')
      .default('lifecycle-lake'),
    /** Bucket encryption: S3-managed keys, or one customer-managed KMS key for the data (rotated yearly). */
    encryption: z.enum(['s3-managed', 'kms']).default('s3-managed'),
    /** RETAIN keeps buckets, Glue tables, workgroup and logs when a stack is deleted; `destroy` is for throwaway stacks. */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    /** EventBridge schedule expression for the transform, or "off" to run it only on demand. */
    transformSchedule: z
      .string()
      .regex(/^(cron\(.+\)|rate\(.+\)|off)$/, 'use an EventBridge expression such as "cron(0 3 * * ? *)" or "rate(1 day)", or "off"')
      .default('cron(0 3 * * ? *)'),
    lambda: jsonText(
      z
        .object({
          /** arm64 (Graviton) costs less per GB-second; x86_64 where a dependency needs it. */
          architecture: z.enum(['arm64', 'x86_64']).default('arm64'),
          ingest: ingestFunctionSchema.prefault({}),
          transform: duckdbFunctionSettings(FUNCTION_DEFAULTS.transform).prefault({}),
          export: functionSettings(FUNCTION_DEFAULTS.export).prefault({}),
        })
        .strict(),
    ).prefault({}),
    /** Model and ingest parameters: the same schema as the CLI's --config file. */
    pipeline: jsonText(pipelineConfigSchema).prefault({}),
    /** Athena cancels any query of the workgroup that would scan more than this (bytes; Athena's minimum is 10 MB). */
    athenaBytesScannedCutoff: z.coerce.number().int().min(10_000_000).default(10 * 1024 ** 3),
    /** Query results (and the copies exports start from) are deleted after this many days. */
    athenaResultsExpirationDays: count(1, 3650).default(30),
    /** Marketing exports hold customer ids: they expire after this many days. */
    exportsExpirationDays: count(1, 3650).default(90),
    /** Where alarms are e-mailed; the SNS topic exists either way for other subscribers. */
    alarmEmail: z.email('use an e-mail address').optional(),
    logRetentionDays: z.coerce
      .number()
      .refine((days) => (logRetentionDays as readonly number[]).includes(days), {
        message: `use one of CloudWatch Logs' retention periods: ${logRetentionDays.join(', ')}`,
      })
      .default(365),
    /** First month of the transactions' partition projection (YYYY-MM): no order is older. */
    transactionsFromMonth: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'use YYYY-MM')
      .default('1990-01'),
    /** First ingest day (YYYY-MM-DD) projected for tables partitioned by ingest_date: no file was ingested earlier. */
    ingestDatesFrom: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'use YYYY-MM-DD')
      .default('2024-01-01'),
  })
  .strict();

export type InfraConfig = Readonly<z.infer<typeof infraConfigSchema>> & { readonly pipeline: PipelineConfig };
export type FunctionSettings = InfraConfig['lambda']['transform'];
export type IngestFunctionSettings = InfraConfig['lambda']['ingest'];

export class InfraConfigError extends Error {
  override readonly name = 'InfraConfigError';
}

export const infraContextKeys = Object.keys(infraConfigSchema.shape) as readonly (keyof typeof infraConfigSchema.shape)[];

/** Validates the context; the message names every offending key, e.g. `lambda.transform.memoryMb`. */
export function parseInfraConfig(raw: Readonly<Record<string, unknown>>): InfraConfig {
  const result = infraConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new InfraConfigError(`invalid cdk.json context: ${problems.join('; ')}`);
  }
  return result.data;
}

/**
 * Context keys that look like ours but are not (typos such as `namePrefx`). Keys with a namespace
 * (`@aws-cdk/...`, `aws:cdk:...`) and keys the CDK CLI writes itself are someone else's.
 */
export function unknownContextKeys(context: Readonly<Record<string, unknown>>): string[] {
  const cliKeys = new Set(['acknowledged-issue-numbers', 'cli-telemetry']);
  return Object.keys(context).filter(
    (key) => !key.includes(':') && !key.startsWith('@') && !cliKeys.has(key) && !(infraContextKeys as readonly string[]).includes(key),
  );
}
