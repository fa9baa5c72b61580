import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './pipeline.ts';

/** Public datasets beside the repository (not in a user's clone): ../shared/data. */
export const sharedDataDir = resolve(repoRoot, '../shared/data');

/**
 * Whether a shared dataset is present. Missing under CI=true is an error (CI always has it);
 * elsewhere the dependent tests skip with a note on where the data comes from.
 */
export function hasSharedData(relativePath: string): boolean {
  const path = join(sharedDataDir, relativePath);
  if (existsSync(path)) return true;
  const origin =
    `${relativePath} is not in ${sharedDataDir}. It is the public CDNOW dataset of the CLV literature ` +
    '(Fader, Hardie & Lee 2005), kept in shared/data/cdnow/ beside the repository; put it there to run these checks.';
  if (process.env.CI === 'true') throw new Error(`CI requires shared data: ${origin}`);
  console.warn(`skipping: ${origin}`);
  return false;
}
