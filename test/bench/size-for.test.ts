import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LambdaCheck } from '../../bench/lambda-check.ts';
import { newestRunPerProfile, sizeForLake, type MeasuredProfile } from '../../bench/size-for.ts';
import { customerHeavyAt10M, spilledAt10M } from '../support/scaling-points.ts';

const MIB = 2 ** 20;

/**
 * The sizing check of that size: the full transform killed at the derived 1,792 MB and held at 2,048 MB;
 * the daily one held in 12 s at 1 core, after 5 s on the 2 free cores.
 */
const checkAt10M: LambdaCheck = {
  machineCores: 2,
  sizes: [
    {
      date: '2026-11-23',
      commit: 'abc1234',
      transactions: 10e6,
      rows: 10e6,
      skipped: [],
      jobs: [
        {
          job: 'full transform',
          derivedMemoryMb: 1792,
          attempts: [
            { memoryMb: 1792, cpuShare: 1, duckdbMemoryLimit: '1.0GB', completed: false, error: 'killed', peakGroupBytes: 1792 * MIB },
            { memoryMb: 2048, cpuShare: 1.2, duckdbMemoryLimit: '1.0GB', completed: true, maxRssBytes: 0.8 * 2048 * MIB, peakGroupBytes: 0 },
          ],
        },
        {
          job: 'daily transform',
          derivedMemoryMb: 1792,
          estimateSeconds: 10,
          freeCoresSeconds: 5,
          attempts: [
            { memoryMb: 1792, cpuShare: 1, duckdbMemoryLimit: '1.0GB', completed: true, seconds: 12, maxRssBytes: 0.5 * 1792 * MIB, peakGroupBytes: 0 },
          ],
        },
      ],
    },
  ],
};

const profile = (fields: Partial<MeasuredProfile> = {}): MeasuredProfile => ({
  path: 'bench/results/2026-11-23.json',
  commit: 'abc1234',
  transform: [spilledAt10M],
  ingest: [],
  ...fields,
});

describe('sizeForLake', () => {
  it('deploys the memory the sizing check needed beyond the derived size, and says why', () => {
    const text = sizeForLake([profile({ lambdaCheck: checkAt10M })], { transactions: 10e6, customers: 1e6 });
    expect(text).toContain('From 2026-11-23.json (~10.0 per customer).');
    expect(text).toContain('memory: 2,048 MB (derived 1,792 MB, grown 14 %');
    expect(text).toContain('check: 10M in 2026-11-23.json (checked at abc1234), full transform: needed 2,048 MB where 1,792 MB was derived');
    // Storage and DuckDB limit as derived by hand in sizing.test.ts: 2,560 MB and 1.0GB.
    expect(text).toContain('cdk.json context, lambda.transform: {"memoryMb":2048,"ephemeralStorageMb":2560,"duckdbMemoryLimit":"1.0GB"}');
    expect(text).toContain('Ingest function: give --largest-file');
    // 5 s measured daily on 2 cores, scaled by 2 × 1,769 / 1,792. Its check took 12 s in a 1-core group after 5 s on
    // the 2 free cores, which the rule scales to 10 s: 1.2×.
    expect(text).toContain(
      'daily run (1 % new): 9.9 s (at the nearest sizes checked, the function took 1.2× its own time on free cores × cores ÷ vCPUs, the rule behind this figure)',
    );
    // The full transform's check has no time at the derived size (killed there): no ratio.
    expect(text).toContain('full rebuild: 39 s\n');
  });

  it('grows by the largest need of several checks of a size', () => {
    const [size] = checkAt10M.sizes;
    const heldAsDerived = { ...size!, jobs: [size!.jobs[1]!] };
    const neededMore = {
      ...size!,
      commit: 'def5678',
      jobs: [
        {
          ...size!.jobs[0]!,
          attempts: [
            ...size!.jobs[0]!.attempts,
            { memoryMb: 2304, cpuShare: 1.3, duckdbMemoryLimit: '1.0GB', completed: true, maxRssBytes: 0.8 * 2304 * MIB, peakGroupBytes: 0 },
          ].map((attempt) => (attempt.memoryMb === 2048 ? { ...attempt, maxRssBytes: 0.9 * 2048 * MIB } : attempt)),
        },
      ],
    };
    const lambdaCheck: LambdaCheck = { machineCores: 2, sizes: [checkAt10M.sizes[0]!, neededMore, heldAsDerived] };
    const text = sizeForLake([profile({ lambdaCheck })], { transactions: 10e6, customers: 1e6 });
    // 2,304 ÷ 1,792 = 1.286: the second check needed two steps where the first needed one.
    expect(text).toContain('memory: 2,304 MB (derived 1,792 MB, grown 29 %');
    expect(text).toContain('(checked at abc1234), full transform: needed 2,048 MB where 1,792 MB was derived');
    expect(text).toContain('(checked at def5678), full transform: needed 2,304 MB where 1,792 MB was derived');
  });

  it('does not grow by a check that ran another DuckDB limit than the run now derives', () => {
    const [size] = checkAt10M.sizes;
    const otherLimit: LambdaCheck = {
      ...checkAt10M,
      sizes: [{ ...size!, jobs: size!.jobs.map((job) => ({ ...job, attempts: job.attempts.map((a) => ({ ...a, duckdbMemoryLimit: '1.2GB' })) })) }],
    };
    const text = sizeForLake([profile({ lambdaCheck: otherLimit })], { transactions: 10e6, customers: 1e6 });
    expect(text).toContain('memory: 1,792 MB\n');
    expect(text).toContain(
      'check: 2026-11-23.json: not checked as the sizing now derives it (npm run bench -- --check-lambda bench/results/2026-11-23.json)',
    );
  });

  it('gives no duration ratio from a check saved without a run on free cores', () => {
    const [size] = checkAt10M.sizes;
    const withoutFreeCores: LambdaCheck = {
      ...checkAt10M,
      sizes: [{ ...size!, jobs: size!.jobs.map(({ freeCoresSeconds: _dropped, ...job }) => job) }],
    };
    const text = sizeForLake([profile({ lambdaCheck: withoutFreeCores })], { transactions: 10e6, customers: 1e6 });
    expect(text).toContain('daily run (1 % new): 9.9 s\n');
  });

  it('keeps the derived memory of a run never checked and says how to check it', () => {
    const text = sizeForLake([profile()], { transactions: 10e6, customers: 1e6 });
    expect(text).toContain('memory: 1,792 MB\n');
    expect(text).toContain('2026-11-23.json: not checked (npm run bench -- --check-lambda bench/results/2026-11-23.json)');
    expect(text).toContain('"memoryMb":1792');
  });

  it('blends two runs of different transactions per customer, naming both and the code each measured', () => {
    const customerHeavy = profile({ path: 'bench/results/2026-11-23-3months.json', commit: 'def5678', transform: [customerHeavyAt10M] });
    const text = sizeForLake([customerHeavy, profile()], { transactions: 10e6, customers: 2e6 });
    expect(text).toContain(
      'Between 2026-11-23.json (~10.0 per customer) and 2026-11-23-3months.json (~3.3 per customer): 50 % of the way in customers. ' +
        'They measured different code (abc1234, def5678).',
    );
    // Halfway, as sizing.test.ts derives by hand: 2,048 MB, 4,096 MB of /tmp, DuckDB limited to 1.0GB.
    expect(text).toContain('cdk.json context, lambda.transform: {"memoryMb":2048,"ephemeralStorageMb":4096,"duckdbMemoryLimit":"1.0GB"}');
  });

  it('refuses more customers than transactions', () => {
    expect(() => sizeForLake([profile()], { transactions: 10e6, customers: 11e6 })).toThrow(/--customers must be at least 1 and at most/);
  });
});

describe('newestRunPerProfile', () => {
  let folder: string | undefined;
  afterEach(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('takes the newest saved run of each sample history and ignores other result files', async () => {
    folder = await mkdtemp(join(tmpdir(), 'size-for-'));
    const saved = { results: [], sizing: [] };
    await writeFile(join(folder, '2026-11-22.json'), JSON.stringify(saved));
    await writeFile(join(folder, '2026-11-23.json'), JSON.stringify({ ...saved, months: 24 }));
    await writeFile(join(folder, '2026-11-21-3months.json'), JSON.stringify({ ...saved, months: 3 }));
    await writeFile(join(folder, '2026-11-23-200m-lambda-defaults.json'), JSON.stringify({ months: 7 }));
    await writeFile(join(folder, '2026-11-23.md'), '');
    const runs = await newestRunPerProfile(folder);
    expect(runs.map((run) => basename(run.path)).sort()).toEqual(['2026-11-21-3months.json', '2026-11-23.json']);
  });
});
