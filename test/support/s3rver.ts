import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { s3EndpointOverrideConfig } from '../../lambdas/adapters/s3-lake.ts';

/** s3rver's default account: it checks signatures, so clients sign with these. */
export const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const s3rverRegion = 'us-east-1';

/** An ObjectCreated/ObjectRemoved notification as s3rver emits it (keys NOT URL-encoded, unlike real S3). */
export interface S3rverEvent {
  readonly Records: readonly {
    readonly eventName: string;
    readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string } };
  }[];
}

/** The part of s3rver (untyped CommonJS) these tests use. */
interface S3rverServer {
  readonly httpServer?: { closeAllConnections(): void };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: S3rverEvent) => void): void;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverServer;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

export interface S3rverHandle {
  readonly endpoint: string;
  /** A client set up as the project sets up any endpoint override (path-style, checksums when required). */
  readonly client: S3Client;
  /** Where s3rver keeps the objects; pass it to `startS3rver` again to reopen the same store. */
  readonly directory: string;
  readonly server: S3rverServer;
  /** Stops the server, cutting open connections, and keeps its files (an outage in the middle of a test). */
  close(): Promise<void>;
  /** Stops the server (if running) and removes its files when this call created them. */
  stop(): Promise<void>;
}

export interface StartS3rverOptions {
  readonly buckets: readonly string[];
  /** Reopen an existing store; a fresh temp folder when absent. */
  readonly directory?: string;
}

/** s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through its legacy provider. */
function assertDesAvailable(): void {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
  } catch {
    throw new Error('s3rver needs the DES cipher: run the tests with NODE_OPTIONS=--openssl-legacy-provider (`npm test` sets it)');
  }
}

/** Starts s3rver on 127.0.0.1 at a free port (the OS picks it) over a temp folder. */
export async function startS3rver(options: StartS3rverOptions): Promise<S3rverHandle> {
  assertDesAvailable();
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'lifecycle-lake-s3rver-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    region: s3rverRegion,
    credentials: s3rverCredentials,
    ...s3EndpointOverrideConfig(endpoint),
  });
  let running = true;
  const close = async (): Promise<void> => {
    if (!running) return;
    running = false;
    client.destroy();
    const closed = server.close();
    // Keep-alive sockets would otherwise go on serving requests after close().
    server.httpServer?.closeAllConnections();
    await closed;
  };
  return {
    endpoint,
    client,
    directory,
    server,
    close,
    stop: async () => {
      await close();
      if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}
