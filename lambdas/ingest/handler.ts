import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { createS3Client } from '../adapters/open-lake.ts';
import { S3Lake } from '../adapters/s3-lake.ts';
import { fileKindFromKey, ingestFiles, type PipelineDeps } from '../core/pipeline.ts';
import { readPipelineSettings } from '../shared/env.ts';
import { logger, withLambdaContext } from '../shared/logger.ts';

/** An S3 event notification as SQS delivers it, or the test event S3 sends when notifications are configured. */
const notificationSchema = z.union([
  z.object({ Event: z.literal('s3:TestEvent') }),
  z.object({
    Records: z.array(
      z.object({
        eventName: z.string(),
        s3: z.object({
          bucket: z.object({ name: z.string() }),
          object: z.object({ key: z.string(), size: z.number().nonnegative().optional() }),
        }),
      }),
    ),
  }),
]);

const settings = readPipelineSettings();
const s3 = createS3Client();
const deps: PipelineDeps = {
  lake: new S3Lake(s3, settings.lakeBucket, settings.lakePrefix),
  config: settings.config,
  workDir: settings.workDir,
  sqlDir: settings.sqlDir,
};
logger.appendPersistentKeys({ lake: deps.lake.location });

/** S3 URL-encodes keys in notifications, with '+' for spaces. */
const decodeS3Key = (key: string): string => decodeURIComponent(key.replace(/\+/g, ' '));

const GB = 1e9;

/**
 * Refuses a file larger than the free space of the work folder before downloading any of it: the
 * download could only fail (and each redelivery with it), after minutes, with a bare ENOSPC.
 */
async function checkRoomToDownload(name: string, bytes: number): Promise<void> {
  const { bavail, bsize } = await statfs(settings.workDir);
  const free = bavail * bsize;
  if (bytes <= free) return;
  throw new Error(
    `${name} is ${(bytes / GB).toFixed(2)} GB but ${settings.workDir} has ${(free / GB).toFixed(2)} GB free: split the file, ` +
      'or raise lambda.ingest.ephemeralStorageMb (up to 10240; the README\'s ingest sizing table says what a file needs)',
  );
}

/** Rows rejected by validation are an outcome recorded in the file's manifest; only a throw (S3, DuckDB, lake) fails the message. */
async function ingestMessage(record: SQSRecord): Promise<void> {
  const notification = notificationSchema.parse(JSON.parse(record.body));
  if (!('Records' in notification)) return logger.info('S3 test event: nothing to ingest');
  for (const { eventName, s3: object } of notification.Records) {
    if (!eventName.startsWith('ObjectCreated:')) continue;
    const bucket = object.bucket.name;
    const key = decodeS3Key(object.object.key);
    logger.appendKeys({ file: `s3://${bucket}/${key}` });
    await mkdir(settings.workDir, { recursive: true });
    if (object.object.size !== undefined) await checkRoomToDownload(`s3://${bucket}/${key}`, object.object.size);
    const downloadDir = await mkdtemp(join(settings.workDir, 'raw-'));
    try {
      const [path] = await new S3Lake(s3, bucket).fetch([key], downloadDir);
      const files = [{ name: `s3://${bucket}/${key}`, path: path as string }];
      for (const result of await ingestFiles(deps, files, fileKindFromKey(key))) {
        if (result.status === 'failed') logger.warn('file not ingested; see its manifest', { result });
        else logger.info(`file ${result.status}`, { result });
      }
    } finally {
      await rm(downloadDir, { recursive: true, force: true });
    }
  }
}

export const handler = withLambdaContext(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    logger.removeKeys(['file']);
    try {
      await ingestMessage(record);
    } catch (error) {
      logger.error('message failed; SQS will redeliver it', { messageId: record.messageId, error: error as Error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
