import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../lambdas/cli/program.ts';
import { fixturesDir, repoRoot, tempLake } from '../support/pipeline.ts';

const run = promisify(execFile);

/** Runs the CLI in-process and captures what it prints. */
async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  try {
    const code = await runCli(['node', 'lifecycle-lake', ...args]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe('lifecycle-lake command', () => {
  let env: Awaited<ReturnType<typeof tempLake>>;
  let lakeDir: string;
  beforeAll(async () => {
    env = await tempLake();
    lakeDir = join(env.root, 'cli-lake');
  });
  afterAll(() => env.cleanup());
  afterEach(() => vi.restoreAllMocks());

  it.each(['run', 'ingest', 'transform', 'query', 'export', 'generate', 'demo'])('has --help for %s', async (command) => {
    const { code, out } = await cli(command, '--help');
    expect(code).toBe(0);
    expect(out).toContain(`Usage: lifecycle-lake ${command}`);
  });

  it('fails with a one-line reason and a non-zero exit code', async () => {
    const missing = await cli('run', '--input', join(env.root, 'nope.csv'), '--lake', lakeDir);
    expect(missing.code).toBe(1);
    expect(missing.err.trim()).toBe(`lifecycle-lake: input ${join(env.root, 'nope.csv')} does not exist`);

    const badDate = await cli('transform', '--lake', lakeDir, '--as-of', '2024-13-45');
    expect(badDate.code).not.toBe(0);
    expect(badDate.err).toContain("option '--as-of <YYYY-MM-DD>' argument '2024-13-45' is invalid. expected a date as YYYY-MM-DD");

    const badConfig = join(fixturesDir, 'hand-worked', 'customers.csv');
    const config = await cli('ingest', '--input', badConfig, '--lake', lakeDir, '--config', badConfig);
    expect(config.code).toBe(1);
    expect(config.err).toMatch(/^lifecycle-lake: config file .*customers\.csv is not valid JSON/);
  });

  it('runs ingest + transform and prints per-file counts, table rows and the segment summary', async () => {
    const { code, out } = await cli(
      'run',
      '--input',
      join(fixturesDir, 'hand-worked', 'transactions.csv'),
      '--customers',
      join(fixturesDir, 'hand-worked', 'customers.csv'),
      '--lake',
      lakeDir,
      '--as-of',
      '2024-12-31',
    );
    expect(code).toBe(0);
    expect(out).toMatch(/transactions\.csv\s*│\s*ingested\s*│\s*23\s*│\s*23\s*│\s*0/);
    expect(out).toMatch(/customer_lifecycle\s*│\s*11/);
    expect(out).toMatch(/developing\s*│\s*3\s*│/);
    expect(out).toContain('snapshot 2024-12-31 published');

    const again = await cli('ingest', '--input', join(fixturesDir, 'hand-worked', 'transactions.csv'), '--lake', lakeDir);
    expect(again.out).toMatch(/skipped \(already ingested\)/);
  });

  it('queries the latest snapshot as CSV and JSON', async () => {
    const csv = await cli(
      'query', '--lake', lakeDir, '--format', 'csv',
      "select customer_id, lifecycle_stage from customer_lifecycle where customer_id in ('C1', 'C7') order by 1",
    );
    expect(csv.code).toBe(0);
    expect(csv.out.trim()).toBe('customer_id,lifecycle_stage\nC1,churned\nC7,loyal');
    const json = await cli('query', '--lake', lakeDir, '--format', 'json', 'select count(*)::integer as n from customer_rfm');
    expect(JSON.parse(json.out)).toEqual([{ n: 10 }]);
    const bad = await cli('query', '--lake', lakeDir, 'select * from no_such_table');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^lifecycle-lake: query failed: Catalog Error: Table with name no_such_table does not exist/);
  });

  it('exports the customers of a stage and tier as CSV into the lake, and names a bad option in its terms', async () => {
    // At 2024-12-31 the hand-worked customers at_risk are C4 and C5 (hand-worked.test.ts).
    const { code, out } = await cli(
      'export', '--lake', lakeDir, '--name', 'at-risk', '--lifecycle-stage', 'at_risk', '--columns', 'customer_id,lifecycle_stage',
    );
    expect(code).toBe(0);
    const printed = /^exported 2 customer\(s\) of the 2024-12-31 snapshot \(\d+ bytes\) to (.+\/exports\/at-risk\/\d{4}-\d{2}-\d{2}\/[^/]+\/at-risk\.csv)$/.exec(
      out.trim(),
    );
    expect(printed).not.toBeNull();
    expect(await readFile(printed![1]!, 'utf8')).toBe('customer_id,lifecycle_stage\nC4,at_risk\nC5,at_risk\n');

    const bad = await cli('export', '--lake', lakeDir, '--name', 'bad', '--value-tier', 'A,Z');
    expect(bad.code).toBe(1);
    expect(bad.err.trim()).toBe('lifecycle-lake: invalid export request: --value-tier: Invalid option: expected one of "A"|"B"|"C"');
  });

  it('works as an installed bin (npx lifecycle-lake)', async () => {
    const { stdout } = await run('node', [join(repoRoot, 'bin', 'lifecycle-lake.js'), '--help'], { cwd: repoRoot });
    expect(stdout).toContain('Usage: lifecycle-lake [options] [command]');
  });
});
