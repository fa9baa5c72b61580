import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkSize,
  checksBesides,
  nextMemoryMb,
  overScaledFreeCores,
  withChecks,
  type EmulatedRun,
  type LambdaCheck,
  type SizeCheck,
} from '../../bench/lambda-check.ts';
import type { MeasureRequest } from '../../bench/measure.ts';
import { lambdaCheckMarkdown, sizingMarkdown } from '../../bench/report.ts';
import type { SizingRow } from '../../bench/sizing.ts';

const MIB = 2 ** 20;

const run = (memoryMb: number, fields: Partial<EmulatedRun>): EmulatedRun => ({
  memoryMb,
  cpuShare: 1,
  duckdbMemoryLimit: '1GB',
  completed: true,
  peakGroupBytes: 0,
  ...fields,
});

describe('nextMemoryMb', () => {
  it('stops at a run within 85 % of its memory; goes 256 MB up after one above it or one that failed', () => {
    expect(nextMemoryMb(run(1536, { maxRssBytes: 0.84 * 1536 * MIB }))).toBeUndefined();
    expect(nextMemoryMb(run(1536, { maxRssBytes: 0.86 * 1536 * MIB }))).toBe(1792);
    expect(nextMemoryMb(run(1536, { maxRssBytes: 0.95 * 1536 * MIB }))).toBe(1792);
    expect(nextMemoryMb(run(1536, { completed: false, error: 'killed by the out-of-memory killer' }))).toBe(1792);
  });

  it('stops at the largest Lambda size', () => {
    expect(nextMemoryMb(run(10_240, { completed: false, error: 'killed' }))).toBeUndefined();
  });
});

describe('overScaledFreeCores', () => {
  const job = { job: 'full transform' as const, derivedMemoryMb: 1792, freeCoresSeconds: 20, attempts: [] };

  it("is the group's time over the free-core time scaled by the machine's cores ÷ the group's share", () => {
    // 20 s on 2 free cores; at 1.013 cores the rule expects 20 × 2 / 1.013 = 39.49 s, so 44 s is 1.114×.
    expect(overScaledFreeCores(job, run(1792, { seconds: 44, cpuShare: 1.013 }), 2)).toBeCloseTo(44 / 39.487, 3);
    // At the machine's full 2 cores the rule expects the free-core time itself.
    expect(overScaledFreeCores(job, run(4096, { seconds: 25, cpuShare: 2 }), 2)).toBe(1.25);
  });

  it('is undefined for a run that did not complete or a check saved without a free-core run', () => {
    expect(overScaledFreeCores(job, run(1792, { completed: false }), 2)).toBeUndefined();
    expect(overScaledFreeCores({ ...job, freeCoresSeconds: undefined }, run(1792, { seconds: 44 }), 2)).toBeUndefined();
  });
});

const sizeCheck = (transactions: number, commit = 'abc1234'): SizeCheck => ({ date: '2026-11-23', commit, transactions, rows: transactions, jobs: [], skipped: [] });

describe('withChecks', () => {
  const saved: LambdaCheck = { machineCores: 2, sizes: [sizeCheck(10e6), sizeCheck(50e6)] };

  it("keeps a size's earlier checks before the new one, sizes in order", () => {
    const merged = withChecks(saved, [sizeCheck(10e6, 'def5678'), sizeCheck(1e6, 'def5678')], 2);
    expect(merged.sizes.map((c) => [c.transactions, c.commit])).toEqual([
      [1e6, 'def5678'],
      [10e6, 'abc1234'],
      [10e6, 'def5678'],
      [50e6, 'abc1234'],
    ]);
    expect(withChecks(undefined, [sizeCheck(10e6)], 2)).toEqual({ machineCores: 2, sizes: [sizeCheck(10e6)] });
  });

  it('drops checks saved on a machine with other cores, whose times were judged against those cores', () => {
    expect(withChecks(saved, [sizeCheck(10e6, 'def5678')], 4)).toEqual({ machineCores: 4, sizes: [sizeCheck(10e6, 'def5678')] });
  });
});

describe('checksBesides', () => {
  const saved: LambdaCheck = { machineCores: 2, sizes: [sizeCheck(10e6), sizeCheck(50e6)] };

  it('keeps the checks of sizes not measured or checked again, matching sizes within 5 %', () => {
    // A 50M sample has 49,479,170 rows: measuring it again replaces the 50M check.
    expect(checksBesides(saved, [49_479_170]).map((c) => c.transactions)).toEqual([10e6]);
    expect(checksBesides(saved, [100e6]).map((c) => c.transactions)).toEqual([10e6, 50e6]);
    expect(checksBesides(saved, [10e6, 50e6])).toEqual([]);
    expect(checksBesides(undefined, [10e6])).toEqual([]);
  });
});

describe('checkSize', () => {
  let scratch: string | undefined;
  afterEach(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('runs each job in groups from the derived size up until it holds, with the DuckDB limit the function sets', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lambda-check-'));
    const calls: { kind: string; memoryMb?: number; duckdbLimit?: string; lake: string }[] = [];
    let killed = 0;
    let groupedTransforms = 0;
    const measure = async <M,>(request: MeasureRequest, prefix?: readonly string[]): Promise<M> => {
      const memoryMb = prefix && prefix.length > 0 ? Number(prefix[1]) : undefined;
      const config = 'config' in request && request.config ? (JSON.parse(await readFile(request.config, 'utf8')) as { duckdb: { memoryLimit: string } }) : undefined;
      if (request.kind !== 'ingest' && request.kind !== 'transform') throw new Error('only pipeline jobs are checked');
      calls.push({ kind: request.kind, lake: request.lake, ...(memoryMb ? { memoryMb } : {}), ...(config ? { duckdbLimit: config.duckdb.memoryLimit } : {}) });
      if (request.kind === 'ingest') {
        await mkdir(request.lake, { recursive: true });
        await writeFile(join(request.lake, `${calls.length}.parquet`), 'rows');
      }
      // The first transform in a group (the full one, at the derived size) is killed; every other run peaks
      // at half its memory.
      if (request.kind === 'transform' && memoryMb !== undefined && ++groupedTransforms === 1) {
        killed += 1;
        throw new Error('measure.ts (transform) exited with null');
      }
      return { seconds: memoryMb ? 2 : 1, maxRssBytes: memoryMb ? 0.5 * memoryMb * MIB : 1e9 } as M;
    };
    const transform: SizingRow = { transactions: 10e6, basis: 'measured', memoryMb: 1536, duckdbMemoryLimit: '1.0GB', seconds: 23, incrementalSeconds: 9 };
    const ingest: SizingRow = { transactions: 10e6, basis: 'measured', memoryMb: 1536, seconds: 13 };
    const check = await checkSize(
      {
        machineCores: 2,
        scratch,
        measure,
        cgroup: async (memoryMb) => {
          const killsBefore = killed;
          return { enter: ['group', String(memoryMb)], oomKills: async () => killed - killsBefore, peakBytes: async () => memoryMb * MIB, remove: async () => undefined };
        },
        progress: () => undefined,
      },
      {
        date: '2026-11-23',
        commit: 'abc1234',
        rows: 10_098_287,
        samplePath: 'sample.csv',
        split: { historyPath: 'history.csv', newPath: 'new.csv', cutDate: '2024-12-26', historyRows: 1, newRows: 1 },
        transform,
        ingest,
      },
    );

    expect(check.jobs.map((job) => [job.job, job.attempts.map((a) => [a.memoryMb, a.completed, a.duckdbMemoryLimit])])).toEqual([
      // 70 % of 1,536 MB, as the function sets it when its row names no limit.
      ['ingest', [[1536, true, '1075MB']]],
      ['full transform', [[1536, false, '1.0GB'], [1792, true, '1.0GB']]],
      ['daily transform', [[1536, true, '1.0GB']]],
    ]);
    expect(check.jobs[1]?.attempts[0]?.error).toBe('killed by the out-of-memory killer');
    expect(check.jobs.map((job) => job.estimateSeconds)).toEqual([13, 23, 9]);
    // Outside any group: each job once before its groups, with the derived size's DuckDB limit, and the seeding of
    // the daily lake (ingest, transform, ingest) with none.
    expect(calls.filter((c) => c.memoryMb === undefined).map((c) => [c.kind, c.duckdbLimit])).toEqual([
      ['ingest', '1075MB'],
      ['transform', '1.0GB'],
      ['ingest', undefined],
      ['transform', undefined],
      ['ingest', undefined],
      ['transform', '1.0GB'],
    ]);
    expect(check.jobs.map((job) => job.freeCoresSeconds)).toEqual([1, 1, 1]);
    expect(check.jobs.map((job) => job.freeCoresMaxRssBytes)).toEqual([1e9, 1e9, 1e9]);
    expect(check.skipped).toEqual([]);
  });
});

/** A check of the 10M size with these jobs. */
const checkAt10M = (jobs: LambdaCheck['sizes'][number]['jobs'], skipped: readonly string[] = []): LambdaCheck => ({
  machineCores: 2,
  sizes: [{ date: '2026-11-23', commit: 'abc1234', transactions: 10e6, rows: 10_098_287, jobs, skipped }],
});

describe('lambdaCheckMarkdown', () => {
  it('shows every run with its verdict, its peak as a share of the memory, and what the table estimated', () => {
    const check = checkAt10M(
      [
        {
          job: 'full transform',
          derivedMemoryMb: 1536,
          estimateSeconds: 23,
          freeCoresSeconds: 10,
          freeCoresMaxRssBytes: 1.2e9,
          attempts: [
            run(1536, { maxRssBytes: 0.95 * 1536 * MIB, seconds: 24.2, cpuShare: 0.868 }),
            run(1792, { maxRssBytes: 0.8 * 1792 * MIB, seconds: 21, cpuShare: 1.013 }),
          ],
        },
        { job: 'daily transform', derivedMemoryMb: 1536, attempts: [run(1536, { completed: false, error: 'killed by the out-of-memory killer' })] },
      ],
      ['ingest: no Lambda size holds it'],
    );
    const markdown = lambdaCheckMarkdown(check);
    // 10 s on 2 free cores: 24.2 / (10 × 2 / 0.868) = 1.05; 21 / (10 × 2 / 1.013) = 1.06.
    expect(markdown).toContain(
      '| 10,000,000 | 1 (abc1234) | full transform | 1,536 (derived) | 0.87 | 1GB | completed, above 85 % | 1.53 GB | 95.0 % | 24.2 | 23.0 | 10.0 | 1.20 GB | 1.05× |',
    );
    expect(markdown).toContain('| 10,000,000 | 1 (abc1234) | full transform | 1,792 | 1.01 | 1GB | held | 1.50 GB | 80.0 % | 21.0 | — | — | — | 1.06× |');
    expect(markdown).toContain(
      '| 10,000,000 | 1 (abc1234) | daily transform | 1,536 (derived) | 1.00 | 1GB | failed: killed by the out-of-memory killer | — | — | — | — | — | — | — |',
    );
    expect(markdown).toContain('| on 2 free cores s | peak RSS there | s ÷ (free cores s × 2 ÷ CPU cores) |');
    expect(markdown).toContain('Not checked: 10,000,000: ingest: no Lambda size holds it.');
    const twice = lambdaCheckMarkdown({ ...check, sizes: [check.sizes[0]!, { ...check.sizes[0]!, commit: 'def5678' }] });
    expect(twice).toContain('Not checked: 10,000,000: ingest: no Lambda size holds it.');
    expect(markdown).toContain('commit abc1234');
  });

  it("adds what the check found to the derived table's rows of the sizes it checked", () => {
    const check = checkAt10M([
      { job: 'ingest', derivedMemoryMb: 1536, attempts: [run(1536, { maxRssBytes: 0.5 * 1536 * MIB })] },
      {
        job: 'full transform',
        derivedMemoryMb: 1536,
        attempts: [run(1536, { completed: false, error: 'killed' }), run(1792, { maxRssBytes: 0.75 * 1792 * MIB })],
      },
      { job: 'daily transform', derivedMemoryMb: 1536, attempts: [run(1536, { maxRssBytes: 0.5 * 1536 * MIB })] },
    ]);
    const rows: SizingRow[] = [
      { transactions: 10e6, basis: 'measured', memoryMb: 1536, duckdbMemoryLimit: '1GB' },
      { transactions: 20e6, basis: 'extrapolated', memoryMb: 2048, duckdbMemoryLimit: '1GB' },
    ];
    const table = sizingMarkdown(rows, check);
    expect(table).toContain('| full transform: needed 1,792 MB (75.0 %); daily transform: held (50.0 %) |');
    // The ingest is the ingest table's; a size not checked has a dash.
    expect(table).not.toContain('ingest: held');
    expect(table).toMatch(/\| 20,000,000 \|.*\| — \|  \|$/m);
    const notHeld = { ...check, sizes: [{ ...check.sizes[0]!, jobs: [{ ...check.sizes[0]!.jobs[1]!, attempts: [run(1536, { completed: false })] }] }] };
    expect(sizingMarkdown(rows, notHeld)).toContain('| full transform: not held up to 1,536 MB |');
    expect(sizingMarkdown(rows)).not.toContain('checked in a cgroup');
  });

  it("lists every check of a size, each against the row's memory, so the largest need shows", () => {
    const held = (memoryMb: number, share: number) => run(memoryMb, { maxRssBytes: share * memoryMb * MIB });
    const first = checkAt10M([{ job: 'full transform', derivedMemoryMb: 1792, attempts: [held(1792, 0.8)] }]).sizes[0]!;
    const second = checkAt10M([
      { job: 'full transform', derivedMemoryMb: 1792, attempts: [held(1792, 0.9), held(2048, 0.78)] },
    ]).sizes[0]!;
    // Derived by older rules: at 2,048 MB, and at the row's 1,792 MB with another DuckDB limit.
    const olderRules = checkAt10M([{ job: 'full transform', derivedMemoryMb: 2048, attempts: [held(2048, 0.7)] }]).sizes[0]!;
    const otherLimit = checkAt10M([
      { job: 'full transform', derivedMemoryMb: 1792, attempts: [{ ...held(1792, 0.95), duckdbMemoryLimit: '1.2GB' }, held(2048, 0.8)] },
    ]).sizes[0]!;
    const rows: SizingRow[] = [{ transactions: 10e6, basis: 'measured', memoryMb: 1792, duckdbMemoryLimit: '1GB' }];
    const check = { machineCores: 2, sizes: [first, { ...second, commit: 'def5678' }, olderRules, otherLimit] };
    expect(sizingMarkdown(rows, check)).toContain(
      '| full transform: held (80.0 %), needed 2,048 MB (78.0 %) in 2 checks, besides 2 checks of an earlier derivation (not counted) |',
    );
    expect(sizingMarkdown(rows, { machineCores: 2, sizes: [olderRules] })).toContain(
      '| full transform: 1 check of an earlier derivation (not counted) |',
    );
    // Checks with the same verdict share it, each peak shown.
    const again = { machineCores: 2, sizes: [first, { ...first, commit: 'def5678', jobs: [{ ...first.jobs[0]!, attempts: [held(1792, 0.75)] }] }] };
    expect(sizingMarkdown(rows, again)).toContain('| full transform: held (80.0 %, 75.0 %) in 2 checks |');
    const markdown = lambdaCheckMarkdown(check);
    expect(markdown).toMatch(/\| 10,000,000 \| 1 \(abc1234\) \| full transform \| 1,792 \(derived\) \|.*\| held \|/);
    expect(markdown).toMatch(/\| 10,000,000 \| 2 \(def5678\) \| full transform \| 1,792 \(derived\) \|.*\| completed, above 85 % \|/);
    expect(markdown).toMatch(/\| 10,000,000 \| 3 \(abc1234\) \| full transform \| 2,048 \(derived\) \|.*\| held \|/);
  });
});
