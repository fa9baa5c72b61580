import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// Each test file gets a temporary folder of its own, removed after the file: CDK's App makes a
// cdk.out folder under the OS temporary folder for each synthesis and never removes it, and a failed
// test may leave its own folders behind.
const previous = process.env.TMPDIR;
const dir = mkdtempSync(join(tmpdir(), 'lifecycle-lake-test-file-'));
process.env.TMPDIR = dir;

afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  rmSync(dir, { recursive: true, force: true });
});
