import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startS3rver, s3rverCredentials, type S3rverHandle } from '../support/s3rver.ts';

const context: Context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'lifecycle-lake-transform',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:lifecycle-lake-transform',
  memoryLimitInMB: '1024',
  awsRequestId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  logGroupName: '/aws/lambda/lifecycle-lake-transform',
  logStreamName: '2024/02/11/[$LATEST]a1b2c3d4e5f60718293a4b5c6d7e8f90',
  getRemainingTimeInMillis: () => 900_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

describe('transform handler', () => {
  let s3: S3rverHandle;
  let scratch: string;

  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['empty-lake'] });
    scratch = await mkdtemp(join(tmpdir(), 'lifecycle-lake-transform-handler-'));
    vi.stubEnv('TMPDIR', scratch);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', s3rverCredentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', s3rverCredentials.secretAccessKey);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await s3?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('fails at cold start, naming the missing variables, before any work', async () => {
    vi.resetModules();
    vi.stubEnv('LAKE_BUCKET', '');
    vi.stubEnv('PIPELINE_CONFIG', '');

    const loading = import('../../lambdas/transform/handler.ts');

    await expect(loading).rejects.toThrow('missing environment variable(s): LAKE_BUCKET, PIPELINE_CONFIG');
    // resetModules gives the handler its own copy of each module, so match the error class by name.
    await expect(loading).rejects.toMatchObject({ name: 'MissingEnvironmentError' });
  });

  it('rejects an asOfDate that is not a string, and reports a lake with nothing ingested as a failed transform', async () => {
    vi.resetModules();
    vi.stubEnv('LAKE_BUCKET', 'empty-lake');
    vi.stubEnv('PIPELINE_CONFIG', '{}');
    const { handler } = await import('../../lambdas/transform/handler.ts');

    await expect(handler({ asOfDate: 20240131 }, context)).rejects.toThrow(TypeError);
    await expect(handler({}, context)).rejects.toThrow(/no curated transactions in s3:\/\/empty-lake\//);
    await expect(handler({}, context)).rejects.toMatchObject({ name: 'TransformError' });
  });
});
