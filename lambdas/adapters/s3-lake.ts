import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  paginateListObjectsV2,
  type S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import pLimit from 'p-limit';
import type { Lake, LakeObject } from '../core/lake.ts';

/** S3 allows at most 1000 keys per DeleteObjects request. */
const deleteBatchSize = 1000;
/** Parallel downloads in one `fetch`: enough to hide request latency without exhausting sockets. */
const fetchConcurrency = 8;
/** Multipart part size for `upload`; files smaller than one part go up in a single PutObject. */
const uploadPartSize = 8 * 1024 * 1024;
/** Parts of one upload in flight at once. */
const uploadQueueSize = 4;
/**
 * Uploads in flight at once per lake, however many are started (a transform starts each file's as it
 * is written): each holds up to uploadQueueSize parts in memory and as many sockets.
 */
const uploadConcurrency = 4;

/**
 * Client settings for an S3-compatible endpoint other than AWS's own (s3rver, MinIO, LocalStack):
 * path-style addressing, because such endpoints rarely resolve bucket subdomains, and checksums only
 * where an operation requires them, because those servers store the aws-chunked framing of a
 * streamed, checksummed PutObject inside the object.
 */
export function s3EndpointOverrideConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export interface S3Location {
  readonly bucket: string;
  /** Key prefix of the lake inside the bucket: '' or ending with '/'. */
  readonly prefix: string;
}

/** Parses `s3://bucket[/prefix]`; undefined when `location` is not an S3 URL. */
export function parseS3Location(location: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(location);
  if (!match) return undefined;
  const bucket = match[1] ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`${location}: "${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-')`);
  }
  const path = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket, prefix: path === '' ? '' : `${path}/` };
}

/** What a previous download recorded, so an unchanged object is not downloaded twice. */
interface DownloadRecord {
  readonly etag: string;
  readonly size: number;
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404)
  );
}

function isNotModified(error: unknown): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 304;
}

function byKey(a: LakeObject, b: LakeObject): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The lake in `s3://bucket/prefix`. Lake keys are relative to the prefix. Objects are downloaded to
 * `workDir/s3/<bucket>/<key in bucket>` (hive-style folders kept, so DuckDB sees the same partition
 * paths as in a local lake) and a download is reused while the object's ETag and the file's size are
 * unchanged (a conditional GET), which keeps warm Lambdas and repeated CLI queries cheap.
 */
export class S3Lake implements Lake {
  readonly location: string;
  private readonly prefix: string;
  private readonly uploadSlots = pLimit(uploadConcurrency);

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    prefix = '',
  ) {
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.location = `s3://${bucket}/${this.prefix}`;
  }

  private objectKey(key: string): string {
    return this.prefix + key;
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const found: LakeObject[] = [];
    const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.objectKey(prefix) });
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        found.push({ key: object.Key.slice(this.prefix.length), size: object.Size ?? 0 });
      }
    }
    // S3 orders by UTF-8 bytes; sort as LocalLake does so both adapters agree on every key.
    return found.sort(byKey);
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return await response.Body?.transformToString('utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async putText(key: string, body: string): Promise<void> {
    const bytes = Buffer.from(body, 'utf8');
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: key.endsWith('.json') ? 'application/json' : 'text/plain; charset=utf-8',
      }),
    );
  }

  async fetch(keys: readonly string[], workDir: string): Promise<string[]> {
    const unique = [...new Set(keys)];
    const limit = pLimit(fetchConcurrency);
    const paths = await Promise.all(unique.map((key) => limit(() => this.download(key, resolve(workDir, 's3')))));
    const pathOf = new Map(unique.map((key, index) => [key, paths[index] as string]));
    return keys.map((key) => pathOf.get(key) as string);
  }

  private async download(key: string, downloads: string): Promise<string> {
    const objectKey = this.objectKey(key);
    const root = join(downloads, this.bucket);
    const path = resolve(root, objectKey);
    if (!path.startsWith(root + sep)) throw new Error(`key ${key} escapes the download folder ${root}`);
    // Records live in their own tree (bucket names cannot start with '.') so no glob over the downloads matches one.
    const recordPath = join(downloads, '.records', this.bucket, `${objectKey}.json`);
    const previous = await this.reusableRecord(path, recordPath);
    let response;
    try {
      response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, IfNoneMatch: previous?.etag }),
      );
    } catch (error) {
      if (previous && isNotModified(error)) return path;
      throw error;
    }
    if (!(response.Body instanceof Readable)) throw new Error(`s3://${this.bucket}/${objectKey}: no readable body`);
    await mkdir(dirname(path), { recursive: true });
    await mkdir(dirname(recordPath), { recursive: true });
    const partial = `${path}.${process.pid}.partial`;
    try {
      await pipeline(response.Body, createWriteStream(partial));
      // Drop the record first: a crash before the new record is written must not vouch for the new file.
      await rm(recordPath, { force: true });
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    const record: DownloadRecord = { etag: response.ETag ?? '', size: (await stat(path)).size };
    if (record.etag !== '') await writeFile(recordPath, JSON.stringify(record));
    return path;
  }

  private async reusableRecord(path: string, recordPath: string): Promise<DownloadRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(recordPath, 'utf8')) as DownloadRecord;
      return (await stat(path)).size === record.size ? record : undefined;
    } catch {
      return undefined;
    }
  }

  upload(localPath: string, key: string): Promise<void> {
    return this.uploadSlots(async () => {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: this.objectKey(key), Body: createReadStream(localPath) },
        partSize: uploadPartSize,
        queueSize: uploadQueueSize,
      });
      await upload.done();
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += deleteBatchSize) {
      const batch = keys.slice(start, start + deleteBatchSize);
      const response = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((key) => ({ Key: this.objectKey(key) })), Quiet: true },
        }),
      );
      const errors = response.Errors ?? [];
      if (errors.length > 0) {
        const sample = errors.slice(0, 3).map((e) => `${e.Key}: ${e.Code} ${e.Message ?? ''}`.trim());
        throw new Error(`could not delete ${errors.length} object(s) from s3://${this.bucket}: ${sample.join('; ')}`);
      }
    }
  }
}
