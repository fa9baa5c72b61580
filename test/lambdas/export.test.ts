/**
 * The export Lambda against mocked Athena and S3 (aws-sdk-client-mock): Athena has no local
 * equivalent, and the S3 calls here (HeadObject, CopyObject between the results and lake buckets)
 * are pinned by request shape.
 */
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand, StopQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CopyObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AthenaQueryError, AthenaQueryTimeoutError } from '../../lambdas/adapters/athena.ts';
import { ExportRequestError } from '../../lambdas/core/exports.ts';
import { runExport, type ExportDeps } from '../../lambdas/export/run-export.ts';

const athena = mockClient(AthenaClient);
const s3 = mockClient(S3Client);

const succeeded = {
  QueryExecution: {
    QueryExecutionId: 'q-7',
    Status: { State: 'SUCCEEDED' as const },
    ResultConfiguration: { OutputLocation: 's3://results-bucket/athena/q-7.csv' },
    Statistics: { DataScannedInBytes: 2048 },
  },
};

const deps: ExportDeps = {
  athena: new AthenaClient({ region: 'eu-west-1' }),
  s3: new S3Client({ region: 'eu-west-1' }),
  workGroup: 'lifecycle-lake',
  database: 'lifecycle_lake',
  lakeBucket: 'lake-bucket',
  lakePrefix: '',
  now: () => new Date('2024-05-02T09:30:00Z'),
  polling: { sleep: async () => {} },
};

const atRiskTierA = { name: 'at-risk-a', filters: { lifecycle_stage: ['at_risk'], value_tier: ['A'] }, columns: ['customer_id', 'predicted_clv'] };

beforeEach(() => {
  athena.reset();
  s3.reset();
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-7' });
  athena.on(GetQueryExecutionCommand).resolves(succeeded);
  s3.on(HeadObjectCommand).resolves({ ContentLength: 1234 });
  s3.on(CopyObjectCommand).resolves({});
});

describe('runExport', () => {
  it('queries customer_360 in the workgroup and copies the CSV (header row included) under exports/<name>/<date>/', async () => {
    const result = await runExport(deps, atRiskTierA);

    expect(result).toEqual({
      location: 's3://lake-bucket/exports/at-risk-a/2024-05-02/q-7/at-risk-a.csv',
      bytes: 1234,
      queryExecutionId: 'q-7',
      dataScannedBytes: 2048,
    });
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input).toEqual({
      QueryString:
        'SELECT "customer_id", "predicted_clv"\nFROM "lifecycle_lake"."customer_360"\nWHERE "lifecycle_stage" IN (?)\n  AND "value_tier" IN (?)\nORDER BY "customer_id"',
      WorkGroup: 'lifecycle-lake',
      ExecutionParameters: ["'at_risk'", "'A'"],
    });
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({ Bucket: 'results-bucket', Key: 'athena/q-7.csv' });
    expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'lake-bucket',
      Key: 'exports/at-risk-a/2024-05-02/q-7/at-risk-a.csv',
      CopySource: 'results-bucket/athena/q-7.csv',
      ContentType: 'text/csv',
      MetadataDirective: 'REPLACE',
    });
  });

  it('rejects an invalid request before running anything', async () => {
    await expect(runExport(deps, { name: 'x', filters: { value_tier: ['Z'] } })).rejects.toBeInstanceOf(ExportRequestError);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it('copies nothing when the query fails', async () => {
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { QueryExecutionId: 'q-7', Status: { State: 'FAILED', StateChangeReason: 'Query exhausted resources' } },
    });
    await expect(runExport(deps, atRiskTierA)).rejects.toBeInstanceOf(AthenaQueryError);
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });

  it('stops the query and copies nothing when it outlasts the time left', async () => {
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { QueryExecutionId: 'q-7', Status: { State: 'RUNNING' } } });
    athena.on(StopQueryExecutionCommand).resolves({});
    let clock = 0;
    const slow = { ...deps, polling: { timeoutMs: 5_000, now: () => clock, sleep: async (ms: number) => void (clock += ms) } };
    await expect(runExport(slow, atRiskTierA)).rejects.toBeInstanceOf(AthenaQueryTimeoutError);
    expect(athena.commandCalls(StopQueryExecutionCommand)).toHaveLength(1);
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });

  it('refuses a result over the 5 GB one copy can move', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 6 * 1024 ** 3 });
    await expect(runExport(deps, atRiskTierA)).rejects.toThrow('narrow the filters or columns');
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });
});

describe('export handler', () => {
  const context = Object.freeze({
    functionName: 'lifecycle-lake-export',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:lifecycle-lake-export',
    memoryLimitInMB: '512',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/lifecycle-lake-export',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 280_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('reads its settings from the environment and writes under the lake prefix', async () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('LAKE_BUCKET', 'lake-bucket');
    vi.stubEnv('LAKE_PREFIX', '/team/lake/');
    vi.stubEnv('GLUE_DATABASE', 'lifecycle_lake');
    vi.stubEnv('ATHENA_WORKGROUP', 'lifecycle-lake');
    vi.resetModules();
    const { handler } = await import('../../lambdas/export/handler.ts');

    const result = await handler(atRiskTierA, context);

    expect(result.location).toMatch(/^s3:\/\/lake-bucket\/team\/lake\/exports\/at-risk-a\/\d{4}-\d{2}-\d{2}\/q-7\/at-risk-a\.csv$/);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.WorkGroup).toBe('lifecycle-lake');
  });

  it('fails at cold start naming every missing variable', async () => {
    vi.stubEnv('LAKE_BUCKET', '');
    vi.stubEnv('GLUE_DATABASE', '');
    vi.resetModules();
    await expect(import('../../lambdas/export/handler.ts')).rejects.toThrow('missing environment variable(s): LAKE_BUCKET, GLUE_DATABASE');
  });
});
