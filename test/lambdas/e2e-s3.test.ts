import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { BatchCreatePartitionCommand, GetPartitionsCommand, GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3Lake } from '../../lambdas/adapters/s3-lake.ts';
import { openDuckDb, queryRows, quoteIdent, quoteLiteral } from '../../lambdas/core/duckdb.ts';
import { generateTransactions } from '../../lambdas/core/generate.ts';
import type { Lake } from '../../lambdas/core/lake.ts';
import { exportFromLake } from '../../lambdas/core/lake-export.ts';
import { ingestFiles, transform, type TransformResult } from '../../lambdas/core/pipeline.ts';
import { martTables, type TableSpec } from '../../lambdas/core/schema/tables.ts';
import { readPublishedIndex, type PublishedIndex } from '../../lambdas/core/snapshots.ts';
import { TransformError } from '../../lambdas/core/transform.ts';
import { source, tempLake } from '../support/pipeline.ts';
import { startS3rver, s3rverCredentials, type S3rverEvent, type S3rverHandle } from '../support/s3rver.ts';

/**
 * The deployed path end to end on a local S3 (s3rver): a file lands in the raw bucket, the ingest
 * Lambda gets the SQS-wrapped notification, the transform Lambda publishes the marts, and the marts
 * read back from S3 equal those of the local pipeline on the same file. Only Glue and Athena are
 * mocked (aws-sdk-client-mock): nothing local stands in for them; S3 is real S3 API traffic.
 */

const context: Context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'lifecycle-lake-pipeline',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:lifecycle-lake-pipeline',
  memoryLimitInMB: '2048',
  awsRequestId: '5f1b3c2e-0d4a-4e8b-9c7f-1a2b3c4d5e6f',
  logGroupName: '/aws/lambda/lifecycle-lake-pipeline',
  logStreamName: '2024/02/11/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  getRemainingTimeInMillis: () => 900_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

const pipelineConfig = { clv: { horizonMonths: 24 }, lifecycle: { churnDays: 300 } };
const rawKey = 'raw/exports/2023 full year/sales=all stores.csv';
const glueDatabase = 'lifecycle_lake';
const athenaWorkGroup = 'lifecycle-lake';

function sqsEventFor(bucket: string, key: string): SQSEvent {
  // S3 form-URL-encodes the key in its notification: '+' for a space, %3D for '='.
  const encodedKey = encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
  const body = JSON.stringify({
    Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: encodedKey } } }],
  });
  return {
    Records: [
      {
        messageId: 'e2e-1',
        receiptHandle: 'handle-e2e-1',
        body,
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1707638400000', SenderId: 'S3', ApproximateFirstReceiveTimestamp: '1707638400001' },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:lifecycle-lake-ingest',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

/**
 * Compares two files of one mart row by row, matched on the table's key: the number of rows that are
 * missing on either side or differ in any column, and each side's row count. DOUBLE columns may
 * differ in the last bits (parallel DuckDB threads sum in varying order), so they are compared to a
 * relative 1e-9; every other type must be identical. Hive partitioning is off: the run_id folder
 * differs by design, the files' contents must not.
 */
async function compareMart(
  spec: TableSpec,
  s3Path: string,
  localPath: string,
): Promise<{ mismatched: number; s3Rows: number; localRows: number }> {
  const sameKey = spec.key.map((c) => `s.${quoteIdent(c)} is not distinct from l.${quoteIdent(c)}`).join(' and ');
  const sameRow = spec.columns
    .map(({ name, type }) => {
      const [a, b] = [`s.${quoteIdent(name)}`, `l.${quoteIdent(name)}`];
      return type === 'DOUBLE'
        ? `coalesce((${a} is null and ${b} is null) or abs(${a} - ${b}) <= 1e-9 * greatest(1, abs(${b})), false)`
        : `${a} is not distinct from ${b}`;
    })
    .join(' and ');
  const db = await openDuckDb();
  try {
    const [row] = await queryRows(
      db.connection,
      `with s as (select * from read_parquet(${quoteLiteral(s3Path)}, hive_partitioning = false)),
            l as (select * from read_parquet(${quoteLiteral(localPath)}, hive_partitioning = false))
       select count(*) filter (where not (${sameRow}))::integer as mismatched,
              (select count(*) from s)::integer as s3Rows,
              (select count(*) from l)::integer as localRows
       from s full outer join l on ${sameKey}`,
    );
    return row as { mismatched: number; s3Rows: number; localRows: number };
  } finally {
    db.close();
  }
}

async function martPath(lake: Lake, index: PublishedIndex, asOfDate: string, table: string, workDir: string): Promise<string> {
  const key = index.snapshots[asOfDate]?.tables[table];
  if (key === undefined) throw new Error(`${table} is not published for ${asOfDate} in ${lake.location}`);
  const [path] = await lake.fetch([key], workDir);
  return path as string;
}

describe('S3 end to end: raw upload → ingest Lambda → transform Lambda → marts in S3', () => {
  const glueMock = mockClient(GlueClient);
  const athenaMock = mockClient(AthenaClient);
  const logLines: Record<string, unknown>[] = [];
  let s3: S3rverHandle;
  let scratch: string;
  let csvPath: string;
  let ingest: typeof import('../../lambdas/ingest/handler.ts').handler;
  let runTransform: typeof import('../../lambdas/transform/handler.ts').handler;
  let ingested: SQSBatchResponse;
  let published: TransformResult;

  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['raw-bucket', 'lake-bucket'] });
    scratch = await mkdtemp(join(tmpdir(), 'lifecycle-lake-e2e-s3-'));
    csvPath = join(scratch, 'sales.csv');
    await generateTransactions({ customers: 400, seed: 20240211, start: '2023-01-01', months: 12, out: csvPath });
    await s3.client.send(new PutObjectCommand({ Bucket: 'raw-bucket', Key: rawKey, Body: await readFile(csvPath) }));

    glueMock.on(GetTableCommand).callsFake(({ Name }: { Name: string }) => ({
      Table: { Name, StorageDescriptor: { Columns: [], Location: `s3://lake-bucket/analytics/marts/${Name}/` } },
    }));
    glueMock.on(GetPartitionsCommand).resolves({ Partitions: [] });
    glueMock.on(BatchCreatePartitionCommand).resolves({ Errors: [] });
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'query-1' });
    athenaMock.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { Status: { State: 'SUCCEEDED' }, ResultConfiguration: { OutputLocation: 's3://athena-results/query-1.csv' } },
    });

    vi.stubEnv('TMPDIR', scratch);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', s3rverCredentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', s3rverCredentials.secretAccessKey);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '2048');
    vi.stubEnv('LAKE_BUCKET', 'lake-bucket');
    vi.stubEnv('LAKE_PREFIX', 'analytics');
    vi.stubEnv('PIPELINE_CONFIG', JSON.stringify(pipelineConfig));
    vi.stubEnv('GLUE_DATABASE', glueDatabase);
    vi.stubEnv('ATHENA_WORKGROUP', athenaWorkGroup);
    // Powertools logs through the global console in dev mode: captured here, which also silences it.
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    for (const method of ['info', 'warn', 'error', 'debug', 'log'] as const) {
      vi.spyOn(console, method).mockImplementation((line: unknown) => {
        if (typeof line === 'string' && line.startsWith('{')) logLines.push(JSON.parse(line) as Record<string, unknown>);
      });
    }
    ({ handler: ingest } = await import('../../lambdas/ingest/handler.ts'));
    ({ handler: runTransform } = await import('../../lambdas/transform/handler.ts'));

    // The deployed path, shared by both tests: notification → ingest Lambda → scheduled transform Lambda.
    ingested = await ingest(sqsEventFor('raw-bucket', rawKey), context);
    published = await runTransform({}, context);
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    glueMock.restore();
    athenaMock.restore();
    await s3?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('publishes in S3 the same marts as the local pipeline on the same file, and points Glue and Athena at them', async () => {
    const local = await tempLake(pipelineConfig);
    const s3Lake = new S3Lake(s3.client, 'lake-bucket', 'analytics');
    try {
      await ingestFiles(local.deps, [source(csvPath)]);
      const localResult = await transform(local.deps);
      const s3Index = await readPublishedIndex(s3Lake);
      const localIndex = await readPublishedIndex(local.lake);
      const comparisons: Record<string, Awaited<ReturnType<typeof compareMart>>> = {};
      for (const spec of martTables) {
        comparisons[spec.name] = await compareMart(
          spec,
          await martPath(s3Lake, s3Index, published.asOfDate, spec.name, join(scratch, 'from-s3')),
          await martPath(local.lake, localIndex, localResult.asOfDate, spec.name, join(scratch, 'from-local')),
        );
      }
      const db = await openDuckDb();
      const [customers] = await queryRows(
        db.connection,
        `select count(distinct customer_id)::integer as n from read_csv(${quoteLiteral(csvPath)}, all_varchar = true)`,
      ).finally(() => db.close());

      expect(ingested).toEqual({ batchItemFailures: [] });
      expect(published.asOfDate).toBe(localResult.asOfDate);
      for (const { name } of martTables) {
        const rows = published.tables.find((t) => t.name === name)?.rows;
        expect({ table: name, ...comparisons[name] }).toEqual({ table: name, mismatched: 0, s3Rows: rows, localRows: rows });
      }
      // Every generated customer has at least one order, so RFM has one row per distinct customer in the file.
      expect(comparisons.customer_rfm?.s3Rows).toBe(customers?.n);

      // The CLI's export on the S3 lake: the same CSV as on the local lake, uploaded under exports/ in the bucket.
      const request = { name: 'at-risk', filters: { lifecycle_stage: ['at_risk'] }, columns: ['customer_id', 'rfm_segment', 'predicted_clv'] };
      const exported = await openDuckDb();
      try {
        const fromS3 = await exportFromLake(exported.connection, s3Lake, join(scratch, 'export-s3'), request);
        const fromLocal = await exportFromLake(exported.connection, local.lake, join(scratch, 'export-local'), request);
        expect(fromS3.location).toBe(`s3://lake-bucket/analytics/${fromS3.key}`);
        const object = await s3.client.send(new GetObjectCommand({ Bucket: 'lake-bucket', Key: `analytics/${fromS3.key}` }));
        expect(await object.Body?.transformToString()).toBe(await readFile(fromLocal.location, 'utf8'));
        expect(fromS3.rows).toBeGreaterThan(0);
      } finally {
        exported.close();
      }
    } finally {
      await local.cleanup();
    }

    const partitionLocations = glueMock
      .commandCalls(BatchCreatePartitionCommand)
      .map((call) => call.args[0].input)
      .map((input) => [input.TableName, input.PartitionInputList?.[0]?.Values?.[0], input.PartitionInputList?.[0]?.StorageDescriptor?.Location]);
    expect(partitionLocations.sort()).toEqual(
      martTables
        .map(({ name }) => [name, published.asOfDate, `s3://lake-bucket/analytics/marts/${name}/as_of_date=${published.asOfDate}/run_id=${published.runId}/`])
        .sort(),
    );
    const viewQueries = athenaMock.commandCalls(StartQueryExecutionCommand).map((call) => call.args[0].input);
    expect(viewQueries.map((q) => [q.WorkGroup, q.QueryExecutionContext?.Database])).toEqual([
      [athenaWorkGroup, glueDatabase],
      [athenaWorkGroup, glueDatabase],
      [athenaWorkGroup, glueDatabase],
    ]);
    expect(viewQueries[0]?.QueryString).toContain(`DATE '${published.asOfDate}'`);

    expect(logLines).toContainEqual(expect.objectContaining({ message: 'file ingested', file: `s3://raw-bucket/${rawKey}` }));
    expect(logLines).toContainEqual(
      expect.objectContaining({ message: 'snapshot published', run_id: published.runId, as_of_date: published.asOfDate, service: 'lifecycle-lake' }),
    );
  });

  it("runs the next day's upload incrementally on S3 and publishes the marts a full local run gives", async () => {
    // The next day: an order of a customer already in the state read back from S3, and a new customer.
    const nextDay = new Date(Date.parse(`${published.asOfDate}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const [, firstRow] = (await readFile(csvPath, 'utf8')).split('\n', 2);
    const knownCustomer = firstRow!.split(',')[0];
    const dailyPath = join(scratch, 'daily.csv');
    await writeFile(
      dailyPath,
      `customer_id,transaction_id,order_ts,amount,quantity\n${knownCustomer},D1,${nextDay}T10:00:00Z,42.50,1\nCNEW,D2,${nextDay}T11:00:00Z,9.99,1\n`,
    );
    const dailyKey = `raw/daily/${nextDay}.csv`;
    await s3.client.send(new PutObjectCommand({ Bucket: 'raw-bucket', Key: dailyKey, Body: await readFile(dailyPath) }));

    expect(await ingest(sqsEventFor('raw-bucket', dailyKey), context)).toEqual({ batchItemFailures: [] });
    const daily = await runTransform({}, context);
    expect(daily).toMatchObject({ mode: 'incremental', asOfDate: nextDay, previousAsOfDate: published.asOfDate, filesRead: 1 });

    const local = await tempLake(pipelineConfig);
    const s3Lake = new S3Lake(s3.client, 'lake-bucket', 'analytics');
    try {
      // The same two days locally, the second rebuilt in full: the lifecycle mart carries each
      // customer's stage from the day before, so both lakes need that day's snapshot.
      await ingestFiles(local.deps, [source(csvPath)]);
      await transform(local.deps);
      await ingestFiles(local.deps, [source(dailyPath)]);
      const localResult = await transform(local.deps, { full: true });
      expect(localResult).toMatchObject({ mode: 'full', asOfDate: nextDay });
      const s3Index = await readPublishedIndex(s3Lake);
      const localIndex = await readPublishedIndex(local.lake);
      for (const spec of martTables) {
        const rows = daily.tables.find((t) => t.name === spec.name)?.rows;
        const comparison = await compareMart(
          spec,
          await martPath(s3Lake, s3Index, nextDay, spec.name, join(scratch, 'daily-from-s3')),
          await martPath(local.lake, localIndex, nextDay, spec.name, join(scratch, 'daily-from-local')),
        );
        expect({ table: spec.name, ...comparison }).toEqual({ table: spec.name, mismatched: 0, s3Rows: rows, localRows: rows });
      }
    } finally {
      await local.cleanup();
    }
  });

  it('keeps the published snapshot when S3 dies in the middle of a transform, and the handler throws', async () => {
    const pointerKey = 'analytics/_manifests/published.json';
    const pointerBefore = await (await s3.client.send(new GetObjectCommand({ Bucket: 'lake-bucket', Key: pointerKey }))).Body?.transformToString();
    const martKeys = published.tables.map((t) => `analytics/${t.key}`);
    const etagsBefore = await Promise.all(
      martKeys.map(async (Key) => (await s3.client.send(new HeadObjectCommand({ Bucket: 'lake-bucket', Key }))).ETag),
    );
    const glueCallsBefore = glueMock.calls().length;
    // The outage starts right after the new run's first mart file is stored.
    let outage: Promise<void> | undefined;
    s3.server.on('event', (event: S3rverEvent) => {
      if (!outage && event.Records.some((r) => r.s3.object.key.startsWith('analytics/marts/'))) outage = s3.close();
    });

    const failure = await runTransform({ asOfDate: published.asOfDate }, context).then(
      () => undefined,
      (error: unknown) => error,
    );
    await outage;
    const reopened = await startS3rver({ buckets: ['raw-bucket', 'lake-bucket'], directory: s3.directory });
    try {
      const pointerAfter = await (await reopened.client.send(new GetObjectCommand({ Bucket: 'lake-bucket', Key: pointerKey }))).Body?.transformToString();
      const etagsAfter = await Promise.all(
        martKeys.map(async (Key) => (await reopened.client.send(new HeadObjectCommand({ Bucket: 'lake-bucket', Key }))).ETag),
      );

      expect(outage).toBeDefined();
      expect(failure).toBeInstanceOf(TransformError);
      expect(pointerAfter).toBe(pointerBefore);
      expect(etagsAfter).toEqual(etagsBefore);
      expect(glueMock.calls().length).toBe(glueCallsBefore);
      expect(logLines).toContainEqual(expect.objectContaining({ message: 'transform failed', as_of_date: published.asOfDate }));
    } finally {
      await reopened.stop();
    }
  });
});
