import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's sql/ folder; Lambda bundles copy it beside the handler and pass their own path. */
export const defaultSqlDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../sql');

const cache = new Map<string, string>();

export async function readSqlFile(sqlDir: string, relativePath: string): Promise<string> {
  const path = join(sqlDir, relativePath);
  let text = cache.get(path);
  if (text === undefined) {
    text = await readFile(path, 'utf8');
    cache.set(path, text);
  }
  return text;
}
