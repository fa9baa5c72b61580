/**
 * `npm run bench -- --size-for <transactions> --customers <n> [--largest-file <transactions>] [--from a.json,b.json]`:
 * the transform (and ingest) function sizes for one lake, from saved bench runs of different
 * transactions per customer (by default the newest run of each `--months`), blended in customers
 * between the two enclosing the lake's (bench/sizing.ts deriveSizingByCustomers). Where those runs'
 * sizing checks (`--check-lambda`) needed more memory than derived at the checked sizes around the
 * lake's, the size to deploy grows by the largest such shortfall.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FUNCTION_DEFAULTS } from '../infra/config.ts';
import { DUCKDB_MEMORY_SHARE } from '../lambdas/shared/env.ts';
import { heldWithinMargin, overScaledFreeCores, ranAsDerived, type CheckedJob, type JobCheck, type LambdaCheck } from './lambda-check.ts';
import { ingestScalingPoints, transformScalingPoints } from './points.ts';
import { checksOf, formatCount, readSavedReport, sampleMonths, type BenchReport } from './report.ts';
import {
  customersPerTransaction,
  deriveSizing,
  deriveSizingByCustomers,
  formatRows,
  LAMBDA_MAX_MB,
  MEMORY_STEP_MB,
  SAME_SIZE,
  type CustomerSizing,
  type LambdaFunction,
  type Profile,
  type ScalingPoint,
  type SizingRow,
} from './sizing.ts';

/** A saved bench run and where it was read from. */
export interface SavedRun {
  readonly path: string;
  readonly report: BenchReport;
}

/** What sizing a lake needs of one saved run: its measured points and its sizing check. */
export interface MeasuredProfile {
  readonly path: string;
  /** The measured code (bench/run.ts measuredCode). */
  readonly commit: string;
  readonly transform: readonly ScalingPoint[];
  readonly ingest: readonly ScalingPoint[];
  readonly lambdaCheck?: LambdaCheck;
}

export function measuredProfile({ path, report }: SavedRun): MeasuredProfile {
  return {
    path,
    commit: report.machine.commit,
    transform: transformScalingPoints(report.results),
    ingest: ingestScalingPoints(report.results),
    ...(report.lambdaCheck ? { lambdaCheck: report.lambdaCheck } : {}),
  };
}

export interface Lake {
  readonly transactions: number;
  readonly customers: number;
  /** The largest file uploaded at once, to size the ingest function; omitted: not sized. */
  readonly largestFile?: number;
}

const SAVED_RUN = /^\d{4}-\d{2}-\d{2}(?:-\d+months)?\.json$/;

/** The newest saved run of each sample history (`--months`) in `resultsDir`. */
export async function newestRunPerProfile(resultsDir: string): Promise<SavedRun[]> {
  const names = (await readdir(resultsDir)).filter((name) => SAVED_RUN.test(name)).sort();
  const newest = new Map<number, SavedRun>();
  for (const name of names) {
    const path = join(resultsDir, name);
    const report = await readSavedReport(path);
    newest.set(sampleMonths(report), { path, report });
  }
  return [...newest.values()];
}

/** What a function's sizing checks found at the checked sizes nearest a lake's (one below, one above). */
interface CheckedShortfall {
  /** The largest memory that held over the memory derived then; 1 when every check held as derived. */
  readonly ratio: number;
  /** Each check that needed more or held nowhere, and each run not checked, as the output names them. */
  readonly evidence: readonly string[];
  /** Whether some job held at no size tried, so the shortfall is a lower bound. */
  readonly unresolved: boolean;
  /**
   * Per job, each check's time at the derived memory over its own run on free cores scaled to the
   * group's CPU share (overScaledFreeCores): how far the tables' duration rule held at the check.
   */
  readonly durationRatios: ReadonlyMap<CheckedJob, readonly number[]>;
}

function checkedShortfall(runs: readonly MeasuredProfile[], fn: 'transform' | 'ingest', jobs: readonly CheckedJob[], rows: number): CheckedShortfall {
  let ratio = 1;
  let unresolved = false;
  const evidence: string[] = [];
  const durationRatios = new Map<CheckedJob, number[]>();
  for (const run of runs) {
    const { path, lambdaCheck } = run;
    // Only checks of the size the run's own table derives now (ranAsDerived) count.
    const asDerived = ({ transactions, job }: { readonly transactions: number; readonly job: JobCheck }) => {
      const [row] = deriveSizing(run[fn], FUNCTION_DEFAULTS[fn], [transactions]);
      return row !== undefined && ranAsDerived(job, row);
    };
    const checks = checksOf(lambdaCheck, jobs).filter(asDerived);
    if (lambdaCheck === undefined || checks.length === 0) {
      const what = lambdaCheck === undefined ? 'not checked' : 'not checked as the sizing now derives it';
      evidence.push(`${basename(path)}: ${what} (npm run bench -- --check-lambda ${path})`);
      continue;
    }
    const sizes = [...new Set(checks.map((c) => c.transactions))];
    const below = Math.max(...sizes.filter((size) => size <= rows * (1 + SAME_SIZE)));
    const above = Math.min(...sizes.filter((size) => size >= rows * (1 - SAME_SIZE)));
    for (const { transactions, commit, job } of checks.filter((c) => c.transactions === below || c.transactions === above)) {
      const where = `${formatRows(transactions)} in ${basename(path)} (checked at ${commit}), ${job.job}`;
      const atDerived = job.attempts[0];
      const overScaled = atDerived && overScaledFreeCores(job, atDerived, lambdaCheck.machineCores);
      if (overScaled !== undefined) durationRatios.set(job.job, [...(durationRatios.get(job.job) ?? []), overScaled]);
      const heldAt = job.attempts.find(heldWithinMargin);
      if (!heldAt) {
        unresolved = true;
        evidence.push(`${where}: not held up to ${formatCount(job.attempts.at(-1)?.memoryMb ?? job.derivedMemoryMb)} MB`);
      } else if (heldAt.memoryMb > job.derivedMemoryMb) {
        ratio = Math.max(ratio, heldAt.memoryMb / job.derivedMemoryMb);
        evidence.push(`${where}: needed ${formatCount(heldAt.memoryMb)} MB where ${formatCount(job.derivedMemoryMb)} MB was derived`);
      }
    }
  }
  return { ratio, evidence, unresolved, durationRatios };
}

const ratioRange = (ratios: readonly number[]) => {
  const [low, high] = [Math.min(...ratios), Math.max(...ratios)].map((r) => `${r.toFixed(1)}×`);
  return low === high ? low : `${low}-${high}`;
};
const perCustomer = (profile: Profile) => `~${(1 / customersPerTransaction(profile)).toFixed(1)}`;
const seconds = (value: number | undefined) => (value === undefined ? '—' : `${value < 10 ? value.toFixed(1) : Math.round(value)} s`);

/** One function's sizing as text lines, with its cdk.json settings. */
function functionLines(
  name: 'transform' | 'ingest',
  fn: LambdaFunction,
  row: SizingRow,
  shortfall: CheckedShortfall,
  durations: readonly { readonly label: string; readonly job: CheckedJob; readonly recommended?: number; readonly onDefault?: number }[],
): string[] {
  const lines: string[] = [];
  if (row.memoryMb === undefined || row.ephemeralStorageMb === undefined) {
    lines.push(`  no size derived: ${row.note ?? 'no Lambda size holds it'}`);
    return lines;
  }
  // Rounded to whole MB first so that a ratio of two sizes gives back the larger one exactly.
  const deploy = Math.min(LAMBDA_MAX_MB, Math.ceil(Math.round(row.memoryMb * shortfall.ratio) / MEMORY_STEP_MB) * MEMORY_STEP_MB);
  lines.push(`  basis: ${row.basis} in transactions`);
  lines.push(
    deploy > row.memoryMb
      ? `  memory: ${formatCount(deploy)} MB (derived ${formatCount(row.memoryMb)} MB, grown ${Math.round((shortfall.ratio - 1) * 100)} %` +
          ': the sizing check needed that much more at the nearest sizes it ran)'
      : `  memory: ${formatCount(deploy)} MB`,
  );
  for (const line of shortfall.evidence) lines.push(`    check: ${line}`);
  if (shortfall.unresolved) lines.push('    a check held at no size it tried: this memory may be short; run the check at this size');
  lines.push(
    `  DuckDB memory limit: ${row.duckdbMemoryLimit ?? `the function's default (${DUCKDB_MEMORY_SHARE * 100} % of its memory)`}`,
  );
  lines.push(`  ephemeral storage: ${formatCount(row.ephemeralStorageMb)} MB`);
  for (const d of durations) {
    const ratios = shortfall.durationRatios.get(d.job) ?? [];
    const range =
      ratios.length === 0
        ? ''
        : ` (at the nearest sizes checked, the function took ${ratioRange(ratios)} its own time on free cores × cores ÷ vCPUs, the rule behind this figure)`;
    lines.push(`  ${d.label}: ${seconds(d.recommended)}${range}`);
  }
  lines.push(
    `  the default function (${formatCount(fn.memoryMb)} MB, /tmp ${formatCount(fn.ephemeralStorageMb)} MB): ` +
      (row.fitsDefaultFunction
        ? `holds it; ${durations.map((d) => `${d.label} ${seconds(d.onDefault)}`).join(', ')}`
        : 'does not hold it'),
  );
  if (row.note) lines.push(`  note: ${row.note}`);
  const settings = {
    memoryMb: deploy,
    ephemeralStorageMb: row.ephemeralStorageMb,
    ...(row.duckdbMemoryLimit ? { duckdbMemoryLimit: row.duckdbMemoryLimit } : {}),
  };
  lines.push(`  cdk.json context, lambda.${name}: ${JSON.stringify(settings)}`);
  return lines;
}

function blendLine(sizing: CustomerSizing, runs: readonly MeasuredProfile[]): string {
  const label = (profile: Profile) => `${profile.label} (${perCustomer(profile)} per customer)`;
  const [first, second] = sizing.profiles;
  const commits = [...new Set(runs.map((run) => run.commit))];
  const code = commits.length > 1 ? ` They measured different code (${commits.join(', ')}).` : '';
  if (second === undefined) {
    return sizing.upperBound
      ? `From ${label(first!)}, the run with the fewest customers per transaction: more customers than this lake has, so an upper bound.`
      : `From ${label(first!)}.`;
  }
  return `Between ${label(first!)} and ${label(second)}: ${Math.round(sizing.weight * 100)} % of the way in customers.${code}`;
}

/** The sizing for `lake` from saved runs of different transactions per customer, as text. */
export function sizeForLake(runs: readonly MeasuredProfile[], lake: Lake): string {
  if (!(lake.transactions >= 1) || (lake.largestFile !== undefined && !(lake.largestFile >= 1))) {
    throw new Error('--size-for and --largest-file must be at least 1 transaction');
  }
  if (!(lake.customers >= 1 && lake.customers <= lake.transactions)) {
    throw new Error(`--customers must be at least 1 and at most the transactions (${lake.transactions}), got ${lake.customers}`);
  }
  const names = runs.map((run) => basename(run.path));
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw new Error(`two runs are named ${repeated}: the sizing names runs by file name`);
  const profilesOf = (points: (run: MeasuredProfile) => Profile['points']) => runs.map((run) => ({ label: basename(run.path), points: points(run) }));
  // The runs blended, in the sizing's order (fewest customers per transaction first).
  const runsOf = (sizing: CustomerSizing) => sizing.profiles.map((p) => runs.find((run) => basename(run.path) === p.label)!);
  const transform = deriveSizingByCustomers(profilesOf((run) => run.transform), lake, FUNCTION_DEFAULTS.transform);
  const transformRow = transform.row;
  const lines = [
    `A lake of ${formatCount(lake.transactions)} transactions and ${formatCount(lake.customers)} customers ` +
      `(${(lake.transactions / lake.customers).toFixed(1)} transactions per customer).`,
    '',
    'Transform function:',
    `  ${blendLine(transform, runsOf(transform))}`,
    ...functionLines('transform', FUNCTION_DEFAULTS.transform, transformRow, checkedShortfall(runsOf(transform), 'transform', ['full transform', 'daily transform'], lake.transactions), [
      { label: 'full rebuild', job: 'full transform', recommended: transformRow.seconds, onDefault: transformRow.defaultFunctionSeconds },
      { label: 'daily run (1 % new)', job: 'daily transform', recommended: transformRow.incrementalSeconds, onDefault: transformRow.defaultFunctionIncrementalSeconds },
    ]),
    '',
  ];
  if (lake.largestFile === undefined) {
    lines.push('Ingest function: give --largest-file <transactions> (the largest file uploaded at once) to size it.');
  } else {
    // A file's customers per row are taken as the lake's: the ingest works row by row, so they matter little.
    const ingest = deriveSizingByCustomers(
      profilesOf((run) => run.ingest),
      { transactions: lake.largestFile, customers: lake.largestFile * (lake.customers / lake.transactions) },
      FUNCTION_DEFAULTS.ingest,
    );
    const ingestRow = ingest.row;
    lines.push(
      `Ingest function, for a file of ${formatCount(lake.largestFile)} transactions:`,
      `  ${blendLine(ingest, runsOf(ingest))}`,
      ...functionLines('ingest', FUNCTION_DEFAULTS.ingest, ingestRow, checkedShortfall(runsOf(ingest), 'ingest', ['ingest'], lake.largestFile), [
        { label: 'ingest', job: 'ingest', recommended: ingestRow.seconds, onDefault: ingestRow.defaultFunctionSeconds },
      ]),
    );
  }
  lines.push(
    '',
    'Derived from the bench runs named, not measured on Lambda (the rules: "Lambda sizing" under Benchmarks in the README).',
    'Durations are for the derived memory; more memory is no slower.',
  );
  return `${lines.join('\n')}\n`;
}
