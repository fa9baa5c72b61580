/** The bench's results: their shape in bench/results/<date>.json, medians, and the Markdown tables. */
import { readFile } from 'node:fs/promises';
import type { BaselineMeasurement, LakeWriteMeasurement, IngestMeasurement, TransformMeasurement } from './measure.ts';
import { currentStages, type TransformStages } from './stages.ts';
import { FUNCTION_DEFAULTS } from '../infra/config.ts';
import { GENERATE_DEFAULTS } from '../lambdas/core/generate.ts';
import { DUCKDB_MEMORY_SHARE } from '../lambdas/shared/env.ts';
import { heldWithinMargin, overScaledFreeCores, ranAsDerived, type CheckedJob, type JobCheck, type LambdaCheck } from './lambda-check.ts';
import { HEADROOM, MEMORY_STEP_MB, type LambdaFunction, type SizingRow } from './sizing.ts';
import type { SplitFiles } from './split.ts';

/** Issue 5's targets, checked at 10M transactions. */
export const TARGETS = { rows: 10_000_000, maxRatio: 6, maxRssBytes: 4e9, maxIncrementalShare: 0.15, memoryLimitBytes: 1e9 } as const;

/** One pipeline run: an ingest process, then a transform process on the same lake. */
export interface PipelineRun {
  readonly ingest: IngestMeasurement;
  readonly transform: TransformMeasurement;
}

/** Field-by-field medians of pipeline runs (so the stages need not add up exactly to the total). */
export interface PipelineSummary {
  /** Ingest plus transform. */
  readonly seconds: number;
  readonly ingestSeconds: number;
  readonly transformSeconds: number;
  readonly stages: TransformStages;
  /** The larger of the two processes' peaks. */
  readonly maxRssBytes: number;
  readonly ingestMaxRssBytes: number;
  readonly transformMaxRssBytes: number;
  readonly transformPeakJsBytes: number;
  readonly lakeBytes: TransformMeasurement['lakeBytes'];
  readonly modes: readonly TransformMeasurement['mode'][];
  readonly modeReason: string;
  readonly lastModelInPublish?: string;
}

export interface SizeResult {
  readonly size: string;
  readonly rows: number;
  readonly customers: number;
  readonly fileBytes: number;
  readonly repeat: number;
  readonly baseline: { readonly seconds: number; readonly maxRssBytes: number; readonly runs: readonly BaselineMeasurement[] };
  /** The curated-lake write reference (bench/measure.ts `lakeWrite`); absent in results saved before it existed. */
  readonly lakeWrite?: { readonly seconds: number; readonly maxRssBytes: number; readonly runs: readonly LakeWriteMeasurement[] };
  readonly full?: PipelineSummary & { readonly runs: readonly PipelineRun[] };
  readonly ratioToBaseline?: number;
  readonly incremental?: PipelineSummary & {
    readonly split: SplitFiles;
    /** The full run over the history that seeded each incremental run's lake. */
    readonly history: PipelineRun;
    readonly runs: readonly PipelineRun[];
    readonly transformShareOfFull: number;
    readonly runShareOfFull: number;
  };
  readonly memoryLimited?: {
    readonly memoryLimit: string;
    readonly memoryLimitBytes: number;
    readonly completed: boolean;
    readonly error?: string;
    readonly summary?: PipelineSummary;
    readonly runs: readonly PipelineRun[];
  };
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly os: string;
  readonly node: string;
  readonly duckdb: string;
  readonly duckdbNodeApi: string;
  readonly commit: string;
  /** Set when the measured code changed while the bench ran: its figures then mix versions. */
  readonly commitAtEnd?: string;
  /** os.loadavg() (1, 5, 15 minutes) before the first measurement. */
  readonly loadAverageBefore: readonly number[];
}

export interface BenchReport {
  readonly date: string;
  readonly machine: Machine;
  readonly seed: number;
  /** The samples' history in months (`--months`); absent in results saved before it was an option: 24. */
  readonly months?: number;
  readonly memoryLimit?: string;
  readonly newShare: number;
  readonly baselineOnly: boolean;
  /** Highest 1-minute load average seen when a measurement started. */
  readonly maxLoadAverage: number;
  readonly results: readonly SizeResult[];
  readonly sizing: readonly SizingRow[];
  /** Absent in results saved before it was derived; `--render` adds it. */
  readonly ingestSizing?: readonly SizingRow[];
  /** The sizing run in function-sized control groups (`--check-lambda`); absent until checked. */
  readonly lambdaCheck?: LambdaCheck;
}

/** A bench run saved by `npm run bench`, with stages in the current shape whenever it was measured. */
export async function readSavedReport(jsonPath: string): Promise<BenchReport> {
  return JSON.parse(await readFile(jsonPath, 'utf8'), currentStages) as BenchReport;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarise(runs: readonly PipelineRun[]): PipelineSummary {
  const of = (pick: (run: PipelineRun) => number) => median(runs.map(pick));
  const first = runs[0]!.transform;
  return {
    seconds: of((r) => r.ingest.seconds + r.transform.seconds),
    ingestSeconds: of((r) => r.ingest.seconds),
    transformSeconds: of((r) => r.transform.seconds),
    stages: {
      setup: of((r) => r.transform.stages.setup),
      models: of((r) => r.transform.stages.models),
      sqlModels: of((r) => r.transform.stages.sqlModels),
      clvFit: of((r) => r.transform.stages.clvFit),
      publish: of((r) => r.transform.stages.publish),
    },
    maxRssBytes: of((r) => Math.max(r.ingest.maxRssBytes, r.transform.maxRssBytes)),
    ingestMaxRssBytes: of((r) => r.ingest.maxRssBytes),
    transformMaxRssBytes: of((r) => r.transform.maxRssBytes),
    transformPeakJsBytes: of((r) => r.transform.peakJsBytes),
    lakeBytes: first.lakeBytes,
    modes: [...new Set(runs.map((r) => r.transform.mode))],
    modeReason: first.modeReason,
    ...(first.lastModelInPublish ? { lastModelInPublish: first.lastModelInPublish } : {}),
  };
}

const MIB = 2 ** 20;
const formatBytes = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${Math.round(bytes / 1e6)} MB`);
const formatSeconds = (seconds: number) => (seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1));
export const formatCount = (n: number) => Math.round(n).toLocaleString('en-US');
const formatShare = (share: number) => `${(share * 100).toFixed(1)} %`;
const formatRatio = (ratio: number | undefined) => (ratio === undefined ? '—' : `${ratio.toFixed(2)}×`);

function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function machineLine(report: BenchReport): string {
  const m = report.machine;
  return (
    `Machine: ${m.cpu}, ${m.cores} cores, ${formatBytes(m.memoryBytes)} RAM, ${m.os}; Node ${m.node}, DuckDB ${m.duckdb} ` +
    `(@duckdb/node-api ${m.duckdbNodeApi}); commit ${m.commit}` +
    `${m.commitAtEnd ? ` at the start, **${m.commitAtEnd} at the end: the code changed during the run**` : ''}. Load average (1, 5, 15 min) before the run: ` +
    `${m.loadAverageBefore.join(', ')}; highest 1-minute load when a measurement started: ${report.maxLoadAverage.toFixed(2)} ` +
    `(a load near ${m.cores} means other work shared the cores).`
  );
}

function targetsTable(results: readonly SizeResult[]): string {
  const at = results.find((r) => Math.abs(r.rows / TARGETS.rows - 1) < 0.05);
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : '**not met**');
  const limited = at?.memoryLimited;
  const incremental = at?.incremental;
  return markdownTable(
    ['target (10M transactions)', 'measured', 'verdict'],
    [
      [
        `full run ≤ ${TARGETS.maxRatio}× baseline`,
        at?.ratioToBaseline === undefined ? '—' : `${at.ratioToBaseline.toFixed(1)}×`,
        verdict(at?.ratioToBaseline === undefined ? undefined : at.ratioToBaseline <= TARGETS.maxRatio),
      ],
      [
        'peak RSS ≤ 4 GB',
        at?.full ? formatBytes(at.full.maxRssBytes) : '—',
        verdict(at?.full ? at.full.maxRssBytes <= TARGETS.maxRssBytes : undefined),
      ],
      [
        `incremental run (1 % new: ingest + transform) ≤ ${TARGETS.maxIncrementalShare * 100} % of the full run`,
        incremental
          ? `${formatShare(incremental.runShareOfFull)} (${incremental.modes.join(', ')}; the transform alone: ` +
            `${formatShare(incremental.transformShareOfFull)} of the full transform)`
          : '—',
        verdict(
          incremental
            ? incremental.runShareOfFull <= TARGETS.maxIncrementalShare && incremental.modes.join() === 'incremental'
            : undefined,
        ),
      ],
      [
        'completes with memory_limit 1GB',
        limited ? `${limited.completed ? 'yes' : 'no'} (${limited.memoryLimit})` : '—',
        verdict(limited ? limited.completed && limited.memoryLimitBytes <= TARGETS.memoryLimitBytes : undefined),
      ],
    ],
  );
}

/** DuckDB's share of a function's memory as the tables state it. */
const duckdbShare = `${DUCKDB_MEMORY_SHARE * 100} %`;

/** The rules shared by both sizing tables (bench/sizing.ts), after what each function keeps on /tmp. */
const sizingRules = (fn: 'ingest' | 'transform', stored: string, durations: string) =>
  "From the memory-limited runs that spilled (DuckDB at its limit L): the memory outside DuckDB (peak RSS − L) and " +
  'what DuckDB would use unlimited (L + spill), scaled linearly with transactions (through zero from a single ' +
  'measured size). Memory: the smallest size (256 MB steps) holding DuckDB at L plus the memory outside it within ' +
  `${HEADROOM * 100} %, grown while /tmp would exceed 10,240 MB. The function gives DuckDB ${duckdbShare} of its memory unless ` +
  `\`lambda.${fn}.duckdbMemoryLimit\` is set (or \`pipeline.duckdb.memoryLimit\`, which both functions share); ` +
  'the table names the limit to set where that share would give DuckDB more than L at the smallest size (the memory ' +
  `outside DuckDB was measured at L and grows with the limit) or would not leave room for the rest. ` +
  `Ephemeral storage: 1.5 × (${stored} + spill at that limit), in 512 MB steps. Durations: ${durations} measured ` +
  'here on 2 cores, scaled by 2 ÷ vCPUs below 3,538 MB (Lambda gives a vCPU per 1,769 MB; no gain assumed above ' +
  '2). On the default function, where it holds the run: the run with no memory limit when DuckDB\'s default share ' +
  'holds what it would use unlimited, else the memory-limited run (an upper bound), scaled the same way. ' +
  'Nothing is derived past twice the largest size measured.';

/** A function's default size as the tables state it (infra/config.ts). */
const asDeployed = (fn: LambdaFunction) =>
  `${formatCount(fn.memoryMb)} MB, /tmp ${formatCount(fn.ephemeralStorageMb)} MB, ${fn.timeoutSeconds} s, ${duckdbShare} to DuckDB`;

const orDash = (value: number | undefined, format: (n: number) => string) => (value === undefined ? '—' : format(value));

type DurationColumn = { readonly heading: string; readonly of: (row: SizingRow) => number | undefined };

/**
 * A Lambda sizing table: the columns every function shares, with the durations where the rows differ:
 * at the recommended size, then on the function as deployed by default.
 */
function sizingTable(
  sizing: readonly SizingRow[],
  sizeHeading: string,
  durations: { readonly recommended: readonly DurationColumn[]; readonly onDefault: readonly DurationColumn[] },
  checks: readonly JobCheckAtSize[],
): string {
  const columns = (row: SizingRow, of: readonly DurationColumn[]) => of.map((d) => orDash(d.of(row), formatCount));
  const checked = (row: SizingRow) => {
    const atRow = checks.filter((check) => check.transactions === row.transactions).map(({ job }) => job);
    return [...new Set(atRow.map((job) => job.job))]
      .map((name) => {
        const ofJob = atRow.filter((job) => job.job === name);
        const verdicts = ofJob.filter((job) => ranAsDerived(job, row)).map(checkVerdict);
        // One verdict with the peaks of every check that reached it, e.g. "held (30.3 %, 32.9 %)".
        const peaksByVerdict = new Map<string, string[]>();
        for (const { verdict, peak } of verdicts) peaksByVerdict.set(verdict, [...(peaksByVerdict.get(verdict) ?? []), ...(peak ? [peak] : [])]);
        const found = [...peaksByVerdict].map(([verdict, peaks]) => (peaks.length > 0 ? `${verdict} (${peaks.join(', ')})` : verdict));
        const earlier = ofJob.length - verdicts.length;
        const notCounted = `${earlier} ${earlier > 1 ? 'checks' : 'check'} of an earlier derivation (not counted)`;
        if (verdicts.length === 0) return `${name}: ${notCounted}`;
        return `${name}: ${found.join(', ')}${verdicts.length > 1 ? ` in ${verdicts.length} checks` : ''}${earlier > 0 ? `, besides ${notCounted}` : ''}`;
      })
      .join('; ');
  };
  return markdownTable(
    [
      sizeHeading,
      'basis',
      'memory MB',
      'DuckDB memory limit',
      'ephemeral storage MB',
      ...durations.recommended.map((d) => d.heading),
      'default function holds it',
      ...durations.onDefault.map((d) => `default function: ${d.heading}`),
      ...(checks.length > 0 ? ['checked in a cgroup (peak RSS of memory)'] : []),
      'note',
    ],
    sizing.map((row) => [
      formatCount(row.transactions),
      row.basis,
      orDash(row.memoryMb, formatCount),
      row.memoryMb === undefined ? '—' : (row.duckdbMemoryLimit ?? `default (${duckdbShare})`),
      orDash(row.ephemeralStorageMb, formatCount),
      ...columns(row, durations.recommended),
      row.fitsDefaultFunction === undefined ? '—' : row.fitsDefaultFunction ? 'yes' : 'no',
      ...columns(row, durations.onDefault),
      ...(checks.length > 0 ? [checked(row) || '—'] : []),
      row.note ?? '',
    ]),
  );
}

/** What one check of a job found: held at the derived size, needed a larger one, or held at none it tried. */
function checkVerdict(job: JobCheck): { readonly verdict: string; readonly peak?: string } {
  const heldAt = job.attempts.find(heldWithinMargin);
  if (!heldAt) return { verdict: `not held up to ${formatCount(job.attempts.at(-1)?.memoryMb ?? job.derivedMemoryMb)} MB` };
  const peak = heldAt.maxRssBytes === undefined ? {} : { peak: formatShare(heldAt.maxRssBytes / (heldAt.memoryMb * MIB)) };
  return { verdict: heldAt === job.attempts[0] ? 'held' : `needed ${formatCount(heldAt.memoryMb)} MB`, ...peak };
}

const CHECKED_COLUMN =
  ' Checked in a cgroup: the sizing check below, which ran each measured size in a control group with the memory ' +
  "and CPU share of this row's function (held: its peak RSS stayed within the margin), or the size that held it. " +
  'Checks of a size add up, as a peak moves between runs: the largest size any check needed is the size to deploy. ' +
  'Checks that ran another memory or DuckDB limit than the row now derives are not counted.';

/** A checked job with the sizing row's size it checked. */
interface JobCheckAtSize {
  readonly transactions: number;
  /** The measured code at the check. */
  readonly commit: string;
  readonly job: JobCheck;
}

/** The jobs of a sizing check that check one function, by the sizing rows' sizes. */
export function checksOf(check: LambdaCheck | undefined, jobs: readonly CheckedJob[]): JobCheckAtSize[] {
  return (check?.sizes ?? []).flatMap((size) =>
    size.jobs.filter((job) => jobs.includes(job.job)).map((job) => ({ transactions: size.transactions, commit: size.commit, job })),
  );
}

/** The transform function's sizing table with the rules that derive it. */
export function sizingMarkdown(sizing: readonly SizingRow[], check?: LambdaCheck): string {
  const checks = checksOf(check, ['full transform', 'daily transform']);
  return [
    sizingTable(sizing, 'transactions', {
      recommended: [
        { heading: 'full rebuild s', of: (row) => row.seconds },
        { heading: 'daily incremental (1 % new) s', of: (row) => row.incrementalSeconds },
      ],
      onDefault: [
        { heading: 'full rebuild s', of: (row) => row.defaultFunctionSeconds },
        { heading: 'daily s', of: (row) => row.defaultFunctionIncrementalSeconds },
      ],
    }, checks),
    'Derived from the transform processes above, not measured on Lambda. ' +
      sizingRules(
        'transform',
        'curated files + marts + state',
        'the memory-limited full transform and the incremental transform',
      ) +
      ` Default function: the transform Lambda as deployed (${asDeployed(FUNCTION_DEFAULTS.transform)}).` +
      (checks.length > 0 ? CHECKED_COLUMN : ''),
  ].join('\n\n');
}

/** The ingest function's sizing table, per uploaded file, with the rules that derive it. */
export function ingestSizingMarkdown(sizing: readonly SizingRow[], check?: LambdaCheck): string {
  const checks = checksOf(check, ['ingest']);
  return [
    sizingTable(
      sizing,
      'transactions in the file',
      {
        recommended: [{ heading: 'ingest s', of: (row) => row.seconds }],
        onDefault: [{ heading: 'ingest s', of: (row) => row.defaultFunctionSeconds }],
      },
      checks,
    ),
    'Derived from the ingest processes of the memory-limited runs above (one CSV file each), not measured on Lambda. ' +
      sizingRules('ingest', 'the downloaded file + the curated and quarantine files it writes', 'the memory-limited ingest') +
      ` Default function: the ingest Lambda as deployed (${asDeployed(FUNCTION_DEFAULTS.ingest)}). An invocation ` +
      'ingests its files one at a time, so it needs room for the largest.' +
      (checks.length > 0 ? CHECKED_COLUMN : ''),
  ].join('\n\n');
}

/** Each run of the sizing check, with what the derived tables estimated, and the rules it ran by. */
export function lambdaCheckMarkdown(check: LambdaCheck): string {
  const margin = `${HEADROOM * 100} %`;
  // Checks are kept in the order they ran: a size's n-th is its n-th check.
  const ordinal = (index: number) => check.sizes.slice(0, index + 1).filter((s) => s.transactions === check.sizes[index]!.transactions).length;
  const rows = check.sizes.flatMap((size, index) =>
    size.jobs.flatMap((job) =>
      job.attempts.map((run, attempt) => [
        formatCount(size.transactions),
        `${ordinal(index)} (${size.commit})`,
        job.job,
        attempt === 0 ? `${formatCount(run.memoryMb)} (derived)` : formatCount(run.memoryMb),
        run.cpuShare.toFixed(2),
        run.duckdbMemoryLimit,
        heldWithinMargin(run) ? 'held' : run.completed ? `completed, above ${margin}` : `failed: ${run.error ?? ''}`,
        run.maxRssBytes === undefined ? '—' : formatBytes(run.maxRssBytes),
        run.maxRssBytes === undefined ? '—' : formatShare(run.maxRssBytes / (run.memoryMb * MIB)),
        run.seconds === undefined ? '—' : formatSeconds(run.seconds),
        attempt === 0 && job.estimateSeconds !== undefined ? formatSeconds(job.estimateSeconds) : '—',
        attempt === 0 && job.freeCoresSeconds !== undefined ? formatSeconds(job.freeCoresSeconds) : '—',
        attempt === 0 && job.freeCoresMaxRssBytes !== undefined ? formatBytes(job.freeCoresMaxRssBytes) : '—',
        formatRatio(overScaledFreeCores(job, run, check.machineCores)),
      ]),
    ),
  );
  // Once per size and reason, however many checks of the size skipped it.
  const skipped = [...new Set(check.sizes.flatMap((size) => size.skipped.map((reason) => `${formatCount(size.transactions)}: ${reason}`)))];
  const distinct = (values: readonly string[]) => [...new Set(values)].join(', ');
  const commitsOf = (commits: readonly string[]) => `${new Set(commits).size > 1 ? 'commits' : 'commit'} ${distinct(commits)}`;
  return [
    `Checked ${distinct(check.sizes.map((size) => size.date))} at ${commitsOf(check.sizes.map((size) => size.commit))}, ` +
      `on ${check.machineCores} cores.`,
    markdownTable(
      [
        'transactions',
        'check (commit)',
        'job',
        'memory MB',
        'CPU cores',
        'DuckDB memory limit',
        'result',
        'peak RSS',
        'of memory',
        's',
        'table estimate s',
        `on ${check.machineCores} free cores s`,
        'peak RSS there',
        `s ÷ (free cores s × ${check.machineCores} ÷ CPU cores)`,
      ],
      rows,
    ),
    'Each job ran in a Linux control group holding it to the memory of the size shown (page cache counted, no swap) ' +
      'and to its CPU share (a vCPU per 1,769 MB, at most the cores here), with the DuckDB memory limit that function ' +
      `sets: the table's, else ${duckdbShare} of its memory. The first run of a job is at the size the tables above derive; a run ` +
      `that failed or peaked above ${margin} of its memory ran again ${MEMORY_STEP_MB} MB larger. A size checked again keeps its ` +
      'earlier checks, numbered in the order they ran; the tables above take the largest size needed by those that ran the memory ' +
      'and DuckDB limit the tables now derive. The ingest took the sample ' +
      'file, the full transform the lake it ingested, the daily transform a lake seeded with the rows before the cut ' +
      'date with the new file ingested (seeding ran outside any group). /tmp was not limited. ' +
      `Free cores: the same job run just before outside any group, on this machine's ${check.machineCores} cores with the ` +
      "derived size's DuckDB limit; the last column scales it to the group's CPU share as the tables scale durations to a " +
      "function's vCPUs, so it measures that rule at the time of the check, whatever the machine's speed then (the " +
      "table estimate comes from the bench's own runs); its peak RSS beside the groups' shows what a group's CPU share and " +
      'memory add. Checks saved before these were measured show dashes there.' +
      (skipped.length > 0 ? ` Not checked: ${skipped.join('; ')}.` : ''),
  ].join('\n\n');
}

/** The samples' history in months; runs saved before `--months` existed used the generator's default. */
export function sampleMonths(report: Pick<BenchReport, 'months'>): number {
  return report.months ?? GENERATE_DEFAULTS.months;
}

/** The samples' transactions per customer, as the tables state it: "~10.1". */
export function transactionsPerCustomer(results: readonly SizeResult[]): string {
  const sum = (pick: (r: SizeResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  return `~${(sum((r) => r.rows) / sum((r) => r.customers)).toFixed(1)}`;
}

export function renderMarkdown(report: BenchReport): string {
  const { results } = report;
  const perCustomer = transactionsPerCustomer(results);
  const withFull = results.filter((r) => r.full);
  const parts: string[] = [
    `# Benchmark ${report.date}`,
    machineLine(report),
    'Each figure is the median of the runs shown (baselines at least 3), each process fresh; seconds are wall time ' +
      'after module loading; peak RSS is the process\'s maxRSS. A pipeline run is an ingest process then a transform ' +
      'process on the same local lake, as the ingest and transform Lambdas run, so each has its own peak. Data: ' +
      `\`lifecycle-lake generate\`, seed ${report.seed}, ${sampleMonths(report)} months, ` +
      `${perCustomer} transactions per customer.`,
    '## Full run against the baseline',
    markdownTable(
      [
        'transactions',
        'runs',
        'full run s',
        'rows/s',
        'peak RSS',
        'baseline s',
        'baseline RSS',
        'full run ÷ baseline',
        'curated-lake write s',
        'curated-lake write ÷ baseline',
      ],
      results.map((r) => [
        formatCount(r.rows),
        String(r.repeat),
        r.full ? formatSeconds(r.full.seconds) : '—',
        r.full ? formatCount(r.rows / r.full.seconds) : '—',
        r.full ? formatBytes(r.full.maxRssBytes) : '—',
        formatSeconds(r.baseline.seconds),
        formatBytes(r.baseline.maxRssBytes),
        r.ratioToBaseline === undefined ? '—' : `${r.ratioToBaseline.toFixed(1)}×`,
        r.lakeWrite ? formatSeconds(r.lakeWrite.seconds) : '—',
        r.lakeWrite ? `${(r.lakeWrite.seconds / r.baseline.seconds).toFixed(1)}×` : '—',
      ]),
    ),
    'Full run: ingest (validation, quarantine, curated Parquet) plus transform (every mart, the CLV fit, SQL tests, ' +
      'publication) into an empty local lake, as `lifecycle-lake run` without its printed summary. Baseline: one DuckDB ' +
      '`read_csv` + `GROUP BY customer_id` computing recency, frequency and monetary over the same CSV, measured in the ' +
      'same bench run. Curated-lake write: the same CSV loaded typed and written as the curated lake (month-partitioned ' +
      'Parquet with the curated columns and ingest\'s compression) with no checks, the least any run keeping the lake ' +
      'layout does before computing anything; also measured in the same run, as many times as the baseline.',
  ];
  if (withFull.length > 0) {
    parts.push(
      '## Stages of the full run (seconds)',
      markdownTable(
        ['transactions', 'ingest', 'transform setup', 'SQL models', 'CLV fit', 'models (side by side)', 'publish', 'transform', 'peak RSS ingest', 'peak RSS transform'],
        withFull.map((r) => {
          const f = r.full!;
          return [
            formatCount(r.rows),
            formatSeconds(f.ingestSeconds),
            formatSeconds(f.stages.setup),
            formatSeconds(f.stages.sqlModels),
            formatSeconds(f.stages.clvFit),
            formatSeconds(f.stages.models),
            formatSeconds(f.stages.publish),
            formatSeconds(f.transformSeconds),
            formatBytes(f.ingestMaxRssBytes),
            formatBytes(f.transformMaxRssBytes),
          ];
        }),
      ),
      'SQL models: their own times added up (they run one at a time), each mart and state table written to Parquet ' +
        '(and its upload started) in its model. CLV fit: the CLV program\'s own time (`clv_predictions`: the fits and ' +
        'the forecasts per (x, T) pair), which runs beside the SQL models that do not read it. Models: the wall time ' +
        'from the first model to the SQL tests, less than the two added where they overlap. Setup, models and publish ' +
        'come from the steps the pipeline reports, each lasting until the next, and add up to the transform. Publish: ' +
        'the SQL tests, waiting for the uploads begun as files were written, and moving the pointer' +
        (withFull[0]!.full!.lastModelInPublish
          ? `, plus the last model (\`${withFull[0]!.full!.lastModelInPublish}\`), because the pipeline reports nothing ` +
            'between it and publication'
          : '') +
        '. Setup: listing curated files, choosing the mode, reading the previous state.',
    );
  }

  const incremental = results.filter((r) => r.incremental);
  if (incremental.length > 0) {
    parts.push(
      '## Incremental run',
      markdownTable(
        ['transactions', 'cut date', 'new rows', 'mode', 'ingest s', 'transform s', 'full transform s', 'transform ÷ full transform', 'run ÷ full run', 'peak RSS transform'],
        incremental.map((r) => {
          const inc = r.incremental!;
          return [
            formatCount(r.rows),
            inc.split.cutDate,
            `${formatCount(inc.split.newRows)} (${formatShare(inc.split.newRows / r.rows)})`,
            inc.modes.join(', '),
            formatSeconds(inc.ingestSeconds),
            formatSeconds(inc.transformSeconds),
            formatSeconds(r.full!.transformSeconds),
            formatShare(inc.transformShareOfFull),
            formatShare(inc.runShareOfFull),
            formatBytes(inc.transformMaxRssBytes),
          ];
        }),
      ),
      'A lake is seeded with a full run over the rows ordered before the cut date; the rows from the cut date on (the ' +
        'sample\'s last days) are then ingested as a new file and transformed, merging into the previous state. The full ' +
        'transform and full run are those of the first table (all rows, empty lake).',
    );
  }

  const limited = results.filter((r) => r.memoryLimited);
  if (limited.length > 0) {
    parts.push(
      `## Memory limit (DuckDB memory_limit ${report.memoryLimit})`,
      markdownTable(
        [
          'transactions',
          'completed',
          'full run s',
          'vs no limit',
          'ingest s',
          'transform s',
          'peak RSS ingest',
          'peak RSS transform',
          'peak spill ingest',
          'peak spill transform',
        ],
        limited.map((r) => {
          const run = r.memoryLimited!;
          const s = run.summary;
          const dash = '—';
          // From the runs, which every saved result holds, so older results render the same columns.
          const spill = (process: 'ingest' | 'transform') => formatBytes(median(run.runs.map((x) => x[process].peakSpillBytes)));
          return [
            formatCount(r.rows),
            run.completed ? 'yes' : `no: ${run.error ?? ''}`,
            s ? formatSeconds(s.seconds) : dash,
            s && r.full ? `${(s.seconds / r.full.seconds).toFixed(2)}×` : dash,
            s ? formatSeconds(s.ingestSeconds) : dash,
            s ? formatSeconds(s.transformSeconds) : dash,
            s ? formatBytes(s.ingestMaxRssBytes) : dash,
            s ? formatBytes(s.transformMaxRssBytes) : dash,
            s ? spill('ingest') : dash,
            s ? spill('transform') : dash,
          ];
        }),
      ),
      'The same full run with a config file setting `duckdb.memoryLimit` and `duckdb.tempDirectory` (under the OS temp ' +
        "folder). Peak spill: the largest size of each process's DuckDB spill folder, sampled every 250 ms. RSS above the limit is " +
        'memory DuckDB does not count: Node and V8, the CLV arrays, allocator overhead.',
    );
  }

  parts.push('## Targets (issue 5)', targetsTable(results));
  const atTarget = results.find((r) => Math.abs(r.rows / TARGETS.rows - 1) < 0.05);
  if (atTarget?.lakeWrite) {
    const share = atTarget.lakeWrite.seconds / atTarget.baseline.seconds;
    parts.push(
      `Writing the curated lake alone, with no checks and no model, takes ${share.toFixed(1)}× the baseline at this size: a ` +
        `full run within ${TARGETS.maxRatio}× would leave ${(TARGETS.maxRatio - share).toFixed(1)}× the baseline for ` +
        'validation, quarantine and every model, the CLV fit and publication.',
    );
  }
  if (report.sizing.length > 0) {
    parts.push(`## Lambda sizing for the transform function (derived, ${perCustomer} transactions per customer)`, sizingMarkdown(report.sizing, report.lambdaCheck));
  }
  if (report.ingestSizing && report.ingestSizing.length > 0) {
    parts.push('## Lambda sizing for the ingest function (derived)', ingestSizingMarkdown(report.ingestSizing, report.lambdaCheck));
  }
  if (report.lambdaCheck) parts.push('## Lambda sizing checked in function-sized control groups', lambdaCheckMarkdown(report.lambdaCheck));
  return `${parts.join('\n\n')}\n`;
}
