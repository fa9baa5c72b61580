import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3Lake } from '../../lambdas/adapters/s3-lake.ts';
import { openDuckDb, queryRows, quoteLiteral } from '../../lambdas/core/duckdb.ts';
import type { IngestManifest } from '../../lambdas/core/ingest/ingest.ts';
import { startS3rver, s3rverCredentials, type S3rverHandle } from '../support/s3rver.ts';

/** A frozen Lambda context, as Powertools' own tests use. */
const context: Context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'lifecycle-lake-ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:lifecycle-lake-ingest',
  memoryLimitInMB: '1024',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/lifecycle-lake-ingest',
  logStreamName: '2024/02/11/[$LATEST]6ddd1c3f9b8a4e4a9d1e7d1c1a2b3c4d',
  getRemainingTimeInMillis: () => 900_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

/** How S3 writes a key into an event notification: form-URL-encoded, '+' for a space, '/' kept. */
const notificationKey = (key: string): string => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

function s3Notification(bucket: string, key: string, size = 1): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: '2024-02-11T08:00:00.000Z',
        eventName: 'ObjectCreated:Put',
        s3: { s3SchemaVersion: '1.0', bucket: { name: bucket }, object: { key: notificationKey(key), size } },
      },
    ],
  });
}

function sqsEvent(messages: readonly { messageId: string; body: string }[]): SQSEvent {
  return {
    Records: messages.map(({ messageId, body }) => ({
      messageId,
      receiptHandle: `handle-${messageId}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1707638400000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1707638400001',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:lifecycle-lake-ingest',
      awsRegion: 'us-east-1',
    })),
  };
}

// Four rows by hand: three valid (two in January, one in February), one with a non-numeric amount.
const salesCsv = [
  'customer_id,transaction_id,order_ts,amount',
  'c1,t1,2024-01-05,10.00',
  'c2,t2,2024-01-20T10:00:00Z,25.50',
  'c1,t3,2024-02-03,7.25',
  'c3,t4,2024-02-10,abc',
].join('\n');
const salesKey = 'raw/uploads/2024 01/store=berlin+potsdam sales.csv';

describe('ingest handler (SQS-wrapped S3 notifications, lake on s3rver)', () => {
  let s3: S3rverHandle;
  let scratch: string;
  let handler: typeof import('../../lambdas/ingest/handler.ts').handler;
  let logger: typeof import('../../lambdas/shared/logger.ts').logger;
  let lake: S3Lake;

  const lakeState = async (): Promise<string[]> => {
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'lake-bucket' }));
    return (listed.Contents ?? []).map((o) => `${o.Key} ${o.ETag}`);
  };

  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['raw-bucket', 'lake-bucket'] });
    scratch = await mkdtemp(join(tmpdir(), 'lifecycle-lake-ingest-handler-'));
    vi.stubEnv('TMPDIR', scratch);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', s3rverCredentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', s3rverCredentials.secretAccessKey);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('LAKE_BUCKET', 'lake-bucket');
    vi.stubEnv('LAKE_PREFIX', 'lake');
    vi.stubEnv('PIPELINE_CONFIG', '{}');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    ({ handler } = await import('../../lambdas/ingest/handler.ts'));
    ({ logger } = await import('../../lambdas/shared/logger.ts'));
    lake = new S3Lake(s3.client, 'lake-bucket', 'lake');
    await s3.client.send(new PutObjectCommand({ Bucket: 'raw-bucket', Key: salesKey, Body: salesCsv }));
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await s3?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('ingests the object named by a URL-encoded key: valid rows curated by month, the rejected row quarantined, no batch failure', async () => {
    const event = sqsEvent([{ messageId: 'm-1', body: s3Notification('raw-bucket', salesKey) }]);

    const response = await handler(event, context);
    const manifestKeys = (await lake.list('_manifests/ingest/')).map((o) => o.key);
    const manifest = JSON.parse((await lake.getText(manifestKeys[0] as string)) as string) as IngestManifest;
    const curated = await lake.list('curated/transactions/');
    const db = await openDuckDb({ tempDirectory: join(scratch, 'duckdb-check') });
    let totals;
    try {
      const paths = await lake.fetch(curated.map((o) => o.key), join(scratch, 'check'));
      totals = await queryRows(
        db.connection,
        `select count(*)::integer as n, sum(amount)::varchar as revenue from read_parquet([${paths.map(quoteLiteral).join(', ')}])`,
      );
    } finally {
      db.close();
    }

    expect(response).toEqual({ batchItemFailures: [] });
    expect(manifestKeys).toHaveLength(1);
    expect(manifest).toMatchObject({
      source: `s3://raw-bucket/${salesKey}`,
      status: 'ingested',
      rowsRead: 4,
      rowsCurated: 3,
      rowsQuarantined: 1,
      reasons: { 'non-numeric amount': 1 },
    });
    expect(curated.map((o) => o.key.split('/')[2])).toEqual(['order_month=2024-01', 'order_month=2024-02']);
    expect(totals).toEqual([{ n: 3, revenue: '42.75' }]);
    expect(await lake.list('quarantine/transactions/')).toHaveLength(1);
  });

  it('changes nothing in the lake when the same notification is delivered again', async () => {
    const event = sqsEvent([{ messageId: 'm-1-redelivered', body: s3Notification('raw-bucket', salesKey) }]);
    const before = await lakeState();

    const response = await handler(event, context);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await lakeState()).toEqual(before);
  });

  it('fails only the message whose object is missing, ingests the rest of the batch, and ignores the S3 test event', async () => {
    await s3.client.send(
      new PutObjectCommand({ Bucket: 'raw-bucket', Key: 'raw/feb.csv', Body: 'customer_id,transaction_id,order_ts,amount\nc9,t9,2024-02-20,5.00\n' }),
    );
    const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2024-02-11T08:00:00.000Z', Bucket: 'raw-bucket' });
    const event = sqsEvent([
      { messageId: 'm-missing', body: s3Notification('raw-bucket', 'raw/deleted before ingest.csv') },
      { messageId: 'm-feb', body: s3Notification('raw-bucket', 'raw/feb.csv') },
      { messageId: 'm-test', body: testEvent },
    ]);

    const response = await handler(event, context);
    const sources = await Promise.all(
      (await lake.list('_manifests/ingest/')).map(async (o) => (JSON.parse((await lake.getText(o.key)) as string) as IngestManifest).source),
    );

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-missing' }] });
    expect(sources.sort()).toEqual(['s3://raw-bucket/raw/feb.csv', `s3://raw-bucket/${salesKey}`]);
  });

  it('records an unreadable file in its manifest instead of failing the message (a retry could not fix it)', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: 'raw-bucket', Key: 'raw/empty.csv', Body: '', ContentLength: 0 }));

    const response = await handler(sqsEvent([{ messageId: 'm-empty', body: s3Notification('raw-bucket', 'raw/empty.csv') }]), context);
    const manifests = await Promise.all(
      (await lake.list('_manifests/ingest/')).map(async (o) => JSON.parse((await lake.getText(o.key)) as string) as IngestManifest),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(manifests.find((m) => m.source === 's3://raw-bucket/raw/empty.csv')).toMatchObject({ status: 'failed', rowsRead: 0 });
  });

  it('fails a file larger than the free space of /tmp before downloading any of it, naming the file and the setting', async () => {
    const before = await lakeState();
    const logged = vi.spyOn(logger, 'error');
    // The notification says 1 EB: no file system has that free.
    const response = await handler(sqsEvent([{ messageId: 'm-huge', body: s3Notification('raw-bucket', salesKey, 1e18) }]), context);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-huge' }] });
    const [, details] = logged.mock.calls.at(-1) as [string, { error: Error }];
    expect(details.error.message).toMatch(
      new RegExp(`^s3://raw-bucket/${salesKey.replace(/[+.]/g, '\\$&')} is 1000000000\\.00 GB but .* GB free: .*lambda\\.ingest\\.ephemeralStorageMb`),
    );
    expect(await lakeState()).toEqual(before);
    expect((await readdir(join(scratch, 'lifecycle-lake'))).filter((name) => name.startsWith('raw-'))).toEqual([]);
    logged.mockRestore();
  });

  it('fails a message whose body is not an S3 notification', async () => {
    const response = await handler(sqsEvent([{ messageId: 'm-garbage', body: '{"hello":"world"}' }]), context);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-garbage' }] });
  });

  it('ingests a file under a customers/ folder as a customers file', async () => {
    const key = 'raw/customers/crm export.csv';
    await s3.client.send(
      new PutObjectCommand({ Bucket: 'raw-bucket', Key: key, Body: 'customer_id,signup_ts\nprospect-1,2024-01-05\n' }),
    );
    const response = await handler(sqsEvent([{ messageId: 'm-c', body: s3Notification('raw-bucket', key) }]), context);
    expect(response).toEqual({ batchItemFailures: [] });
    const customers = await lake.list('curated/customers/');
    expect(customers).toHaveLength(1);
    const manifests = await Promise.all(
      (await lake.list('_manifests/ingest/')).map(async (o) => JSON.parse((await lake.getText(o.key)) as string) as IngestManifest),
    );
    expect(manifests.find((m) => m.source === `s3://raw-bucket/${key}`)).toMatchObject({ kind: 'customers', rowsCurated: 1 });
  });
});
