/**
 * Checks the derived Lambda sizing by running it: for each measured size, the ingest, the full
 * transform and the daily incremental transform each run in a control group with the memory and CPU
 * share of the function size the tables recommend (bench/cgroup.ts) and the DuckDB limit that function
 * would set. A run that is killed, or whose peak RSS leaves less than the sizing's margin, is run
 * again 256 MB larger, so the check also finds the size that does hold it. /tmp is not limited: its
 * sizing is arithmetic on bytes the runs report, which CPU and memory do not change.
 * Each job also runs once outside any group just before, so its times in the groups are judged
 * against this machine's speed at the time of the check, not its speed when the bench ran.
 */
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lambdaDuckDbSettings } from '../lambdas/shared/env.ts';
import { functionCpuShare, type FunctionCgroup } from './cgroup.ts';
import { failureSummary } from './child.ts';
import type { IngestMeasurement, MeasureRequest, Measurement, TransformMeasurement } from './measure.ts';
import { HEADROOM, LAMBDA_MAX_MB, MEMORY_STEP_MB, sameSize, type SizingRow } from './sizing.ts';
import type { SplitFiles } from './split.ts';

const MIB = 2 ** 20;
/** Runs per job: the derived size and up to three steps above it. */
const MAX_ATTEMPTS = 4;

/** One run inside a function-sized control group. */
export interface EmulatedRun {
  readonly memoryMb: number;
  /** Cores of CPU time per second the group was given. */
  readonly cpuShare: number;
  readonly duckdbMemoryLimit: string;
  readonly completed: boolean;
  /** Why it did not complete: the kernel's out-of-memory kill, or the run's own error. */
  readonly error?: string;
  readonly seconds?: number;
  readonly maxRssBytes?: number;
  /** The group's peak: the process and its page cache, which the kernel reclaims before killing. */
  readonly peakGroupBytes: number;
}

export type CheckedJob = 'ingest' | 'full transform' | 'daily transform';

export interface JobCheck {
  readonly job: CheckedJob;
  /** The sizing table's memory for this job's function. */
  readonly derivedMemoryMb: number;
  /** The sizing table's duration at that memory. */
  readonly estimateSeconds?: number;
  /**
   * The same job run just before on this machine's cores, outside any group, with the derived size's
   * DuckDB limit: what the sizing scales by the function's vCPUs. Absent in checks saved before it was.
   */
  readonly freeCoresSeconds?: number;
  /** That run's peak RSS: against the groups' peaks, what the group's CPU share and memory add. */
  readonly freeCoresMaxRssBytes?: number;
  /** The first at the derived memory, each next one MEMORY_STEP_MB larger. */
  readonly attempts: readonly EmulatedRun[];
}

export interface SizeCheck {
  readonly date: string;
  /** The measured code (as the bench records it) when this size was checked. */
  readonly commit: string;
  /** The sizing rows' size and the sample's actual rows. */
  readonly transactions: number;
  readonly rows: number;
  readonly jobs: readonly JobCheck[];
  /** Jobs not checked, with the reason (e.g. no function size holds the file). */
  readonly skipped: readonly string[];
}

export interface LambdaCheck {
  readonly machineCores: number;
  readonly sizes: readonly SizeCheck[];
}

/**
 * A saved check's sizes but those the same (sameSize) as one in `replaced`: sizes checked again, or measured
 * again so that the check no longer matches their runs.
 */
export function checksBesides(check: LambdaCheck | undefined, replaced: readonly number[]): SizeCheck[] {
  return check?.sizes.filter((size) => !replaced.some((rows) => sameSize(rows, size.transactions))) ?? [];
}

/**
 * The saved check with `checked` added. Checks of a size accumulate: a job's peak moves between runs by
 * a tenth of the function's memory and more, so the size to deploy is the largest any check needed. Checks
 * saved on a machine with other cores are dropped, as their times were judged against those cores.
 */
export function withChecks(saved: LambdaCheck | undefined, checked: readonly SizeCheck[], machineCores: number): LambdaCheck {
  const kept = saved?.machineCores === machineCores ? saved.sizes : [];
  return { machineCores, sizes: [...kept, ...checked].sort((a, b) => a.transactions - b.transactions) };
}

/** DuckDB's limit in a function of `memoryMb` set up as `row` says: the row's named limit, else the function's share. */
export function functionDuckDbLimit(row: SizingRow, memoryMb: number): string {
  return row.duckdbMemoryLimit ?? lambdaDuckDbSettings({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb) }).memoryLimit!;
}

/**
 * Whether a check ran `row` as the sizing derives it now: its first run at the row's memory and DuckDB
 * limit. Checks of a derivation since changed say nothing about the size to deploy.
 */
export function ranAsDerived(job: JobCheck, row: SizingRow): boolean {
  const first = job.attempts[0];
  return row.memoryMb !== undefined && first?.memoryMb === row.memoryMb && first.duckdbMemoryLimit === functionDuckDbLimit(row, row.memoryMb);
}

/** Whether a run completed with its peak RSS within the sizing's margin of the function's memory. */
export function heldWithinMargin(run: EmulatedRun): boolean {
  return run.completed && run.maxRssBytes !== undefined && run.maxRssBytes <= HEADROOM * run.memoryMb * MIB;
}

/** The memory of the next attempt, or undefined when this one held (or no Lambda size is larger). */
export function nextMemoryMb(run: EmulatedRun): number | undefined {
  if (heldWithinMargin(run)) return undefined;
  const next = run.memoryMb + MEMORY_STEP_MB;
  return next <= LAMBDA_MAX_MB ? next : undefined;
}

/**
 * A run's time in its group over the job's time on the machine's free cores scaled by cores ÷ the
 * group's CPU share, as the sizing scales the bench's durations to a function's vCPUs: above 1, the
 * function runs slower than the tables' rule says.
 */
export function overScaledFreeCores(job: JobCheck, run: EmulatedRun, machineCores: number): number | undefined {
  if (!run.completed || run.seconds === undefined || job.freeCoresSeconds === undefined) return undefined;
  return run.seconds / ((job.freeCoresSeconds * machineCores) / run.cpuShare);
}

export interface CheckDeps {
  readonly machineCores: number;
  /** A folder for lakes, configs and spill; the caller removes it. */
  readonly scratch: string;
  /** Runs bench/measure.ts in a fresh process, started through `prefix` when given. */
  measure<M extends Measurement>(request: MeasureRequest, prefix?: readonly string[]): Promise<M>;
  /** A control group for a function of `memoryMb` (bench/cgroup.ts functionCgroup). */
  cgroup(memoryMb: number): Promise<FunctionCgroup>;
  progress(message: string): void;
}

/** What a sizing check needs of one measured size. */
export interface SizeToCheck {
  readonly date: string;
  readonly commit: string;
  readonly rows: number;
  readonly samplePath: string;
  readonly split: SplitFiles;
  readonly transform: SizingRow;
  readonly ingest?: SizingRow;
}

/** Runs `job` in function-sized groups from `row`'s memory up until it holds (see nextMemoryMb). */
async function checkJob(
  deps: CheckDeps,
  job: CheckedJob,
  row: SizingRow & { readonly memoryMb: number },
  estimateSeconds: number | undefined,
  runOnce: (config: string, prefix: readonly string[]) => Promise<IngestMeasurement | TransformMeasurement>,
): Promise<JobCheck> {
  const duckdbLimitAt = (memoryMb: number) => functionDuckDbLimit(row, memoryMb);
  const tempDirectory = join(deps.scratch, 'spill');
  const configWith = async (duckdbMemoryLimit: string) => {
    const config = join(deps.scratch, 'function-config.json');
    await writeFile(config, JSON.stringify({ duckdb: { memoryLimit: duckdbMemoryLimit, tempDirectory } }));
    return config;
  };

  deps.progress(`${job} on this machine's ${deps.machineCores} cores, outside any group (DuckDB ${duckdbLimitAt(row.memoryMb)})`);
  let reference: IngestMeasurement | TransformMeasurement;
  try {
    reference = await runOnce(await configWith(duckdbLimitAt(row.memoryMb)), []);
  } finally {
    await rm(tempDirectory, { recursive: true, force: true });
  }

  const attempts: EmulatedRun[] = [];
  let memoryMb: number | undefined = row.memoryMb;
  while (memoryMb !== undefined && attempts.length < MAX_ATTEMPTS) {
    const duckdbMemoryLimit = duckdbLimitAt(memoryMb);
    const cpuShare = functionCpuShare(memoryMb, deps.machineCores);
    deps.progress(`${job} in ${memoryMb} MB (${cpuShare.toFixed(2)} cores, DuckDB ${duckdbMemoryLimit})`);
    const config = await configWith(duckdbMemoryLimit);
    const group = await deps.cgroup(memoryMb);
    let run: EmulatedRun;
    try {
      const measured = await runOnce(config, group.enter);
      run = {
        memoryMb,
        cpuShare,
        duckdbMemoryLimit,
        completed: true,
        seconds: measured.seconds,
        maxRssBytes: measured.maxRssBytes,
        peakGroupBytes: await group.peakBytes(),
      };
    } catch (error) {
      const killed = (await group.oomKills()) > 0;
      run = {
        memoryMb,
        cpuShare,
        duckdbMemoryLimit,
        completed: false,
        error: killed ? 'killed by the out-of-memory killer' : failureSummary((error as Error).message),
        peakGroupBytes: await group.peakBytes(),
      };
    } finally {
      await group.remove();
      await rm(tempDirectory, { recursive: true, force: true });
    }
    attempts.push(run);
    memoryMb = nextMemoryMb(run);
  }
  return {
    job,
    derivedMemoryMb: row.memoryMb,
    ...(estimateSeconds !== undefined ? { estimateSeconds } : {}),
    freeCoresSeconds: reference.seconds,
    freeCoresMaxRssBytes: reference.maxRssBytes,
    attempts,
  };
}

const hasMemory = (row: SizingRow | undefined): row is SizingRow & { readonly memoryMb: number } =>
  row?.memoryMb !== undefined;

/** Checks one measured size: its ingest, full transform and daily transform in function-sized groups. */
export async function checkSize(deps: CheckDeps, size: SizeToCheck): Promise<SizeCheck> {
  const { scratch } = deps;
  let counter = 0;
  const files = () => {
    counter += 1;
    return { result: join(scratch, `check-${counter}.json`), workDir: join(scratch, `check-work-${counter}`) };
  };
  const ingested = join(scratch, 'ingested-lake');
  const history = join(scratch, 'history-lake');
  const jobs: JobCheck[] = [];
  const skipped: string[] = [];
  const checkedAt = { date: size.date, commit: size.commit, transactions: size.transform.transactions, rows: size.rows };
  try {
    const ingestInto = (lake: string, input: string, config?: string, prefix?: readonly string[]) =>
      deps.measure<IngestMeasurement>({ kind: 'ingest', input, lake, ...files(), ...(config ? { config } : {}) }, prefix);
    const transformCopyOf = async (lake: string, config: string, prefix: readonly string[]) => {
      const copy = join(scratch, 'transformed-lake');
      await rm(copy, { recursive: true, force: true });
      await cp(lake, copy, { recursive: true });
      try {
        return await deps.measure<TransformMeasurement>({ kind: 'transform', lake: copy, ...files(), config }, prefix);
      } finally {
        await rm(copy, { recursive: true, force: true });
      }
    };

    if (hasMemory(size.ingest)) {
      jobs.push(
        await checkJob(deps, 'ingest', size.ingest, size.ingest.seconds, async (config, prefix) => {
          await rm(ingested, { recursive: true, force: true });
          return ingestInto(ingested, size.samplePath, config, prefix);
        }),
      );
    } else {
      skipped.push(`ingest: ${size.ingest?.note ?? 'no ingest sizing row for this size'}`);
    }
    if (!jobs.some((job) => job.attempts.at(-1)?.completed)) {
      deps.progress('ingesting outside any group, for the transforms');
      await rm(ingested, { recursive: true, force: true });
      await ingestInto(ingested, size.samplePath);
    }
    if (!hasMemory(size.transform)) {
      skipped.push(`transforms: ${size.transform.note ?? 'no function size holds them'}`);
      return { ...checkedAt, jobs, skipped };
    }
    jobs.push(
      await checkJob(deps, 'full transform', size.transform, size.transform.seconds, (config, prefix) =>
        transformCopyOf(ingested, config, prefix),
      ),
    );
    await rm(ingested, { recursive: true, force: true });

    deps.progress(`seeding a lake with the rows before ${size.split.cutDate}, outside any group`);
    await ingestInto(history, size.split.historyPath);
    await deps.measure<TransformMeasurement>({ kind: 'transform', lake: history, ...files() });
    await ingestInto(history, size.split.newPath);
    jobs.push(
      await checkJob(deps, 'daily transform', size.transform, size.transform.incrementalSeconds, (config, prefix) =>
        transformCopyOf(history, config, prefix),
      ),
    );
    return { ...checkedAt, jobs, skipped };
  } finally {
    await rm(ingested, { recursive: true, force: true });
    await rm(history, { recursive: true, force: true });
  }
}
