import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalLake } from '../../lambdas/adapters/local-lake.ts';
import { parseConfig, type PipelineConfigInput } from '../../lambdas/core/config.ts';
import { openDuckDb } from '../../lambdas/core/duckdb.ts';
import type { PipelineDeps } from '../../lambdas/core/pipeline.ts';
import { queryLake as queryPublishedLake } from '../../lambdas/core/query.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const fixturesDir = join(repoRoot, 'test', 'fixtures');

/** A fresh local lake and scratch folder under the OS temp dir; `cleanup` removes both. */
export async function tempLake(config: PipelineConfigInput = {}, now?: Date) {
  const root = await mkdtemp(join(tmpdir(), 'lifecycle-lake-test-'));
  const lake = new LocalLake(join(root, 'lake'));
  const deps: PipelineDeps = {
    lake,
    config: parseConfig(config),
    workDir: join(root, 'work'),
    ...(now ? { now: () => now } : {}),
  };
  return { root, lake, deps, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Runs SQL over a lake's published views (lambdas/core/query.ts) and returns plain JS rows. */
export async function queryLake(deps: PipelineDeps, sql: string): Promise<Record<string, unknown>[]> {
  const duck = await openDuckDb();
  try {
    const reader = await queryPublishedLake(duck.connection, deps.lake, join(deps.workDir, 'query-views'), sql);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    duck.close();
  }
}

export const source = (path: string, name = path) => ({ name, path });
