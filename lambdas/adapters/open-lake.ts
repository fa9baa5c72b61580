import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Lake } from '../core/lake.ts';
import { LocalLake } from './local-lake.ts';
import { S3Lake, parseS3Location, s3EndpointOverrideConfig } from './s3-lake.ts';

export interface OpenLakeOptions {
  /** Client to use for an s3:// location; one from `createS3Client()` when absent. */
  readonly client?: S3Client;
  /** Where AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS_REGION are read; `process.env` when absent. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The endpoint override the AWS SDK would apply to S3, from the standard environment variables. */
export function s3EndpointOverride(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * An S3 client from the standard SDK configuration (credentials chain, AWS_REGION, profiles). When an
 * endpoint override is set, it also gets path-style addressing and checksums only when required, which
 * S3-compatible servers need; such servers ignore the region, so us-east-1 stands in when none is set.
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = s3EndpointOverride(env);
  const config: S3ClientConfig = endpoint === undefined ? {} : s3EndpointOverrideConfig(endpoint);
  const region = env.AWS_REGION || (endpoint === undefined ? undefined : 'us-east-1');
  if (region !== undefined) config.region = region;
  return new S3Client(config);
}

/** The lake at `location`: `s3://bucket[/prefix]` for S3, anything else is a local folder. */
export function openLake(location: string, options: OpenLakeOptions = {}): Lake {
  const s3 = parseS3Location(location);
  if (s3 === undefined) return new LocalLake(location);
  return new S3Lake(options.client ?? createS3Client(options.env), s3.bucket, s3.prefix);
}
