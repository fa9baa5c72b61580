import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synthesizeApp } from './app-fixture.ts';

/**
 * cfn-lint (AWS's CloudFormation linter, a Python tool: `pip install cfn-lint`) on the synthesized
 * templates. Where it is missing the test is skipped with a note, except in CI, where it must run.
 */
const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const cfnLintAvailable = cfnLint.status === 0;

if (!cfnLintAvailable) {
  if (process.env.CI === 'true') throw new Error('cfn-lint is not installed: CI must run `pip install cfn-lint` before the tests');
  console.warn('cfn-lint not found: skipping the template lint (install it with `pip install cfn-lint`)');
}

/**
 * W3005 (a DependsOn that a GetAtt/Ref already implies) is left out: CDK emits such DependsOn on
 * purpose (a function waits for its role's policy), and the redundancy is harmless.
 */
const ignoredChecks = ['W3005'];

describe.runIf(cfnLintAvailable)(`cfn-lint ${cfnLint.stdout?.trim()}`, () => {
  const outdirs: string[] = [];
  afterAll(() => {
    for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['cdk.json defaults', {}],
    ['kms, destroy, alarm e-mail', { encryption: 'kms', removalPolicy: 'destroy', alarmEmail: 'ops@example.com', transformSchedule: 'rate(6 hours)' }],
  ])('finds nothing in the templates (%s)', (_name, context) => {
    const outdir = mkdtempSync(join(tmpdir(), 'lifecycle-lake-cfn-lint-'));
    outdirs.push(outdir);
    synthesizeApp({ context, outdir });
    const result = spawnSync(
      'cfn-lint',
      ['--ignore-checks', ...ignoredChecks, '--', join(outdir, 'Data.template.json'), join(outdir, 'Pipeline.template.json')],
      { encoding: 'utf8' },
    );
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });
});
