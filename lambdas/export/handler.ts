import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { readEnv } from '../shared/env.ts';
import { logger, withLambdaContext } from '../shared/logger.ts';
import { runExport, type ExportResult } from './run-export.ts';

const env = readEnv({ required: ['LAKE_BUCKET', 'GLUE_DATABASE', 'ATHENA_WORKGROUP'], optional: ['LAKE_PREFIX'] });
const lakePrefix = env.LAKE_PREFIX ? `${env.LAKE_PREFIX.replace(/^\/+|\/+$/g, '')}/` : '';
const athena = new AthenaClient({});
const s3 = new S3Client({});

/** Time kept back from the function's timeout to copy the result and answer. */
const reserveMs = 15_000;

/**
 * Marketing export: `aws lambda invoke --payload '{"name":"at-risk-a","filters":{"lifecycle_stage":["at_risk"],
 * "value_tier":["A"]}}'` answers with the s3:// location of a CSV with a header row. An invalid request
 * fails with ExportRequestError naming each bad field.
 */
export const handler = withLambdaContext(async (event: unknown, context: Context): Promise<ExportResult> => {
  try {
    const result = await runExport(
      {
        athena,
        s3,
        workGroup: env.ATHENA_WORKGROUP,
        database: env.GLUE_DATABASE,
        lakeBucket: env.LAKE_BUCKET,
        lakePrefix,
        polling: { timeoutMs: Math.max(context.getRemainingTimeInMillis() - reserveMs, 1_000) },
      },
      event,
    );
    logger.info('export written', { ...result });
    return result;
  } catch (error) {
    logger.error('export failed', error as Error);
    throw error;
  }
});
