/**
 * Lambda sizing for the transform and ingest functions, derived from the bench's measured scaling (never
 * measured on Lambda itself). The rules, also stated beside the tables the bench writes (report.ts):
 *
 * - What a run needs, from the memory-limited runs that spilled (there DuckDB was at its limit L): the
 *   memory outside DuckDB (peak RSS − L: Node, V8, the CLV arrays, allocator overhead) and what DuckDB
 *   would have used unlimited (L + spill). Both scale linearly with transactions between measured
 *   sizes and along the last two beyond them (through zero from a single size).
 * - Memory M: the smallest (256 MB steps) holding DuckDB at L plus the memory outside it within 85 %
 *   of M, grown while /tmp would exceed Lambda's 10,240 MB. The function gives DuckDB 70 % of M
 *   (lambdas/shared/env.ts) unless its `lambda.<function>.duckdbMemoryLimit` is set. The row names the
 *   limit to set at the smallest M where 70 % is more than L (the memory outside DuckDB was measured
 *   at L, and runs by hand found it grows with the limit), and wherever 70 % would not leave room
 *   (85 % of M less the memory outside DuckDB).
 * - Ephemeral storage: 1.5 × (what the function keeps on /tmp + spill), in 512 MB steps; spill is
 *   what DuckDB would use unlimited less the limit it gets. The transform keeps the curated files,
 *   marts and state; the ingest the downloaded file and the files it writes.
 * - Duration: the memory-limited run (a full rebuild for the transform) and the incremental transform
 *   as measured on the bench machine (2 cores); Lambda gives one vCPU per 1,769 MB, so below 3,538 MB
 *   times are scaled by 2 / vCPUs (no gain is assumed from more than 2).
 * - Duration on the function as deployed (what most users run): the run with no DuckDB limit where
 *   DuckDB's default share holds what it would use unlimited, else the memory-limited run (an upper
 *   bound: it spills less there than at the measured limit); scaled by the default size's vCPUs.
 * - Nothing is derived for more than twice the largest size measured: a straight line from small runs
 *   (from one that never spilled, the RSS per row) says little about a lake ten times larger.
 * - A lake's own customers (`npm run bench -- --size-for`): each run's samples have one ratio of
 *   customers to transactions, so two runs of different ratios (`--months`) give what a run needs at
 *   two customer counts per size, taken linearly in customers between them (deriveSizingByCustomers).
 */

import { DUCKDB_MEMORY_SHARE } from '../lambdas/shared/env.ts';

/** A function's size as deployed by default (infra/config.ts FUNCTION_DEFAULTS). */
export interface LambdaFunction {
  readonly memoryMb: number;
  readonly ephemeralStorageMb: number;
  readonly timeoutSeconds: number;
}

export interface ScalingPoint {
  readonly rows: number;
  /** Distinct customers in the sample: needed only to size by customers too (deriveSizingByCustomers). */
  readonly customers?: number;
  /** Bytes the function keeps on /tmp besides DuckDB's spill (see the rules above). */
  readonly storedBytes: number;
  /** The daily incremental transform (transform points only), with no DuckDB limit. */
  readonly incrementalSeconds?: number;
  /** The same run as `limited` with no DuckDB limit; absent when it was not measured. */
  readonly unlimitedSeconds?: number;
  /** The run with DuckDB's memory_limit set. */
  readonly limited: {
    readonly memoryLimitBytes: number;
    readonly seconds: number;
    readonly maxRssBytes: number;
    readonly peakSpillBytes: number;
  };
}

export interface SizingRow {
  /** Transactions in the lake (transform) or in one uploaded file (ingest). */
  readonly transactions: number;
  /** 'not derived': more than MAX_EXTRAPOLATION times the largest size measured; the row holds no figures. */
  readonly basis: 'measured' | 'interpolated' | 'extrapolated' | 'not derived';
  /** Lambda MB (MiB); absent when no Lambda size fits. */
  readonly memoryMb?: number;
  /** The function's `lambda.<function>.duckdbMemoryLimit` to set; absent when its 70 % default fits. */
  readonly duckdbMemoryLimit?: string;
  readonly ephemeralStorageMb?: number;
  /** The run at that size: a full rebuild for the transform, the file for the ingest. */
  readonly seconds?: number;
  readonly incrementalSeconds?: number;
  /** Whether the function's default size (70 % of its memory to DuckDB) holds it. */
  readonly fitsDefaultFunction?: boolean;
  /** The run on the function as deployed by default, where it holds the run. */
  readonly defaultFunctionSeconds?: number;
  readonly defaultFunctionIncrementalSeconds?: number;
  readonly note?: string;
}

export const SIZING_TARGETS = [1e6, 5e6, 10e6, 25e6, 50e6, 100e6, 200e6] as const;

const MIB = 2 ** 20;
export const LAMBDA_MAX_MB = 10_240;
const LAMBDA_MAX_STORAGE_MB = 10_240;
const LAMBDA_TIMEOUT_SECONDS = 900;
/** Lambda gives one vCPU per this many MB of memory. */
export const MB_PER_VCPU = 1_769;
/**
 * The share of a function's memory a run may use: the rest is margin. 85 %, not 90 %: run in a cgroup
 * with a function's CPU share (bench/lambda-check.ts), 10M and 50M transforms sized for 90 % from the
 * 2-core runs peaked at up to 96 % and 92 %, and a 50M ingest so sized was killed.
 */
export const HEADROOM = 0.85;
const STORAGE_MARGIN = 1.5;
export const MEMORY_STEP_MB = 256;
/** A measured size counts as the target size within this relative distance. */
export const SAME_SIZE = 0.05;

/** Whether two sizes (or ratios) are the same within SAME_SIZE. */
export const sameSize = (a: number, b: number) => Math.abs(a / b - 1) < SAME_SIZE;
/** How far past the largest measured size rows are derived. */
export const MAX_EXTRAPOLATION = 2;

/** y at `rows` along measured (rows, y) points: linear between them, the last segment's line beyond. */
export function scale(points: readonly { rows: number; y: number }[], rows: number): number {
  const sorted = [...points].sort((a, b) => a.rows - b.rows);
  if (sorted.length === 0) throw new Error('no measured points to scale from');
  if (sorted.length === 1) return (sorted[0]!.y * rows) / sorted[0]!.rows;
  let upper = sorted.findIndex((p, i) => i > 0 && rows <= p.rows);
  if (upper === -1) upper = sorted.length - 1;
  const a = sorted[upper - 1]!;
  const b = sorted[upper]!;
  return a.y + ((b.y - a.y) * (rows - a.rows)) / (b.rows - a.rows);
}

const roundUp = (value: number, step: number) => Math.ceil(value / step) * step;

/** How much slower than the 2-core bench machine a function of `memoryMb` runs (no gain past 2 vCPUs). */
function slowdownAt(memoryMb: number): number {
  const vcpus = Math.min(memoryMb, LAMBDA_MAX_MB) / MB_PER_VCPU;
  return vcpus < 2 ? 2 / vcpus : 1;
}

/** A DuckDB memory_limit value, rounded down to 0.1 GB. */
const duckdbSize = (bytes: number) => `${(Math.floor(bytes / 1e8) / 10).toFixed(1)}GB`;

/** What a run of `rows` transactions needs, scaled from the measured points. */
interface Needs {
  /** Process memory beyond DuckDB's limit. */
  readonly beyondDuckDb: number;
  /** Memory DuckDB would use with no limit (its limit plus what it spilled); 0 when it never spilled. */
  readonly duckdb: number;
  /** Peak RSS when DuckDB never reached its limit (then there is no spill to reason about). */
  readonly unspilledRss: number;
  readonly storedBytes: number;
}

/** What a run of some size needs and how long it takes, scaled from one data profile's measured points. */
interface Scaled {
  readonly needs: Needs;
  readonly limitedSeconds: number;
  readonly incrementalSeconds?: number;
  readonly unlimitedSeconds?: number;
}

function scaledAt(points: readonly ScalingPoint[], rows: number): Scaled {
  const along = (from: readonly ScalingPoint[], pick: (p: ScalingPoint) => number) =>
    Math.max(0, scale(from.map((p) => ({ rows: p.rows, y: pick(p) })), rows));
  // Only runs that spilled had DuckDB at its limit, so only there is RSS − limit the memory outside it.
  const spilled = points.filter((p) => p.limited.peakSpillBytes > 0);
  const storedBytes = along(points, (p) => p.storedBytes);
  const needs: Needs =
    spilled.length > 0
      ? {
          beyondDuckDb: along(spilled, (p) => p.limited.maxRssBytes - p.limited.memoryLimitBytes),
          duckdb: along(spilled, (p) => p.limited.memoryLimitBytes + p.limited.peakSpillBytes),
          unspilledRss: 0,
          storedBytes,
        }
      : { beyondDuckDb: 0, duckdb: 0, unspilledRss: along(points, (p) => p.limited.maxRssBytes), storedBytes };
  const incrementalPoints = points.filter((p) => p.incrementalSeconds !== undefined);
  const unlimitedPoints = points.filter((p) => p.unlimitedSeconds !== undefined);
  return {
    needs,
    limitedSeconds: along(points, (p) => p.limited.seconds),
    ...(incrementalPoints.length > 0 ? { incrementalSeconds: along(incrementalPoints, (p) => p.incrementalSeconds!) } : {}),
    ...(unlimitedPoints.length > 0 ? { unlimitedSeconds: along(unlimitedPoints, (p) => p.unlimitedSeconds!) } : {}),
  };
}

/** DuckDB's share of a function of `memoryMb`, the /tmp it needs, and whether the process fits. */
function plan(needs: Needs, memoryMb: number, duckdbLimit?: number) {
  const memoryBytes = memoryMb * MIB;
  const duckdbBytes = duckdbLimit ?? DUCKDB_MEMORY_SHARE * memoryBytes;
  const spillBytes = Math.max(0, needs.duckdb - duckdbBytes);
  const rss = needs.unspilledRss > 0 ? needs.unspilledRss : needs.beyondDuckDb + Math.min(needs.duckdb, duckdbBytes);
  return {
    duckdbBytes,
    spillBytes,
    ephemeralStorageMb: Math.max(512, roundUp((STORAGE_MARGIN * (needs.storedBytes + spillBytes)) / MIB, 512)),
    fitsMemory: rss <= HEADROOM * memoryBytes,
  };
}

type Sized = Omit<SizingRow, 'transactions' | 'basis'>;

/** The size of `defaults`' function a run needing `scaled` calls for, DuckDB having been measured at `limit`. */
function sizeFor({ needs, limitedSeconds, incrementalSeconds: measuredIncremental, unlimitedSeconds }: Scaled, limit: number, defaults: LambdaFunction): Sized {
  // The smallest function holding DuckDB at the measured limit, then larger while /tmp would not fit.
  const processBytes = needs.unspilledRss > 0 ? needs.unspilledRss : limit + needs.beyondDuckDb;
  const smallestMb = roundUp(Math.max(limit / DUCKDB_MEMORY_SHARE, processBytes / HEADROOM) / MIB, MEMORY_STEP_MB);
  let memoryMb = smallestMb;
  // At the smallest size, DuckDB gets the limit the runs were measured at: the memory outside DuckDB
  // was measured there and grows with the limit. Larger sizes, needed for /tmp, give it what fits.
  const duckdbLimitFor = (mb: number) =>
    Math.min(DUCKDB_MEMORY_SHARE * mb * MIB, HEADROOM * mb * MIB - needs.beyondDuckDb, mb === smallestMb ? limit : Infinity);
  while (memoryMb <= LAMBDA_MAX_MB && plan(needs, memoryMb, duckdbLimitFor(memoryMb)).ephemeralStorageMb > LAMBDA_MAX_STORAGE_MB) {
    memoryMb += MEMORY_STEP_MB;
  }
  const duckdbBytes = duckdbLimitFor(memoryMb);
  const { ephemeralStorageMb } = plan(needs, memoryMb, duckdbBytes);
  const seconds = limitedSeconds * slowdownAt(memoryMb);
  const incrementalSeconds = measuredIncremental === undefined ? undefined : measuredIncremental * slowdownAt(memoryMb);
  const holds = (planned: ReturnType<typeof plan>) => planned.fitsMemory && planned.ephemeralStorageMb <= defaults.ephemeralStorageMb;
  const byDefault = plan(needs, defaults.memoryMb);
  const defaultSlowdown = slowdownAt(defaults.memoryMb);
  const unspilledByDefault = byDefault.spillBytes === 0 && unlimitedSeconds !== undefined;
  const defaultSeconds = (unspilledByDefault ? unlimitedSeconds : limitedSeconds) * defaultSlowdown;
  const fitsLambda = memoryMb <= LAMBDA_MAX_MB;
  const fast = seconds <= 0.75 * Math.min(defaults.timeoutSeconds, LAMBDA_TIMEOUT_SECONDS);

  const notes: string[] = [];
  if (!fitsLambda) notes.push('no Lambda size holds it: memory or /tmp above 10,240 MB');
  if (fitsLambda && fast && !holds(byDefault)) {
    const limited = plan(needs, defaults.memoryMb, duckdbLimitFor(defaults.memoryMb));
    notes.push(
      holds(limited)
        ? `the default size holds it with a DuckDB memory limit of ${duckdbSize(duckdbLimitFor(defaults.memoryMb))} (${DUCKDB_MEMORY_SHARE * 100} % leaves too little for the rest)`
        : 'set the memory and storage of this row',
    );
  }
  if (!fast) notes.push("near or past the function's time limit");
  const defaultHolds = holds(byDefault) && fast;
  return {
    ...(fitsLambda ? { memoryMb, ephemeralStorageMb } : {}),
    ...(fitsLambda && duckdbBytes < DUCKDB_MEMORY_SHARE * memoryMb * MIB ? { duckdbMemoryLimit: duckdbSize(duckdbBytes) } : {}),
    // These durations are for the recommended size: none where no size holds the run.
    ...(fitsLambda ? { seconds } : {}),
    ...(fitsLambda && incrementalSeconds !== undefined ? { incrementalSeconds } : {}),
    fitsDefaultFunction: defaultHolds,
    ...(defaultHolds ? { defaultFunctionSeconds: defaultSeconds } : {}),
    ...(defaultHolds && measuredIncremental !== undefined
      ? { defaultFunctionIncrementalSeconds: measuredIncremental * defaultSlowdown }
      : {}),
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

/** The DuckDB limit every point was measured at (the bench runs them all at one `--memory-limit`). */
function measuredLimit(points: readonly ScalingPoint[]): number {
  return Math.max(...points.map((p) => p.limited.memoryLimitBytes));
}

/** Sizing rows for `targets` from `sizedAt`, with the largest size the default function holds added to rows it does not. */
function rowsFor(
  targets: readonly number[],
  smallest: number,
  largest: number,
  basisAt: (rows: number) => SizingRow['basis'],
  sizedAt: (rows: number) => Sized,
): SizingRow[] {
  const rowAt = (rows: number): SizingRow =>
    rows > MAX_EXTRAPOLATION * largest
      ? {
          transactions: rows,
          basis: 'not derived',
          note: `over ${MAX_EXTRAPOLATION}× the largest size measured: run the bench with --sizes up to at least ${rows / MAX_EXTRAPOLATION / 1e6}m`,
        }
      : // Below the smallest size measured, that size's needs: lines drawn further down reach zero for small lakes.
        { transactions: rows, basis: basisAt(rows), ...sizedAt(Math.max(rows, smallest)) };
  const held = largestHeldByDefault((rows) => rowAt(rows).fitsDefaultFunction === true, smallest, MAX_EXTRAPOLATION * largest);
  return targets.map((rows) => {
    const row = rowAt(rows);
    if (row.fitsDefaultFunction !== false || held === undefined) return row;
    const heldNote = `the default size holds up to about ${formatRows(held)} transactions`;
    return { ...row, note: row.note === undefined ? heldNote : `${row.note}; ${heldNote}` };
  });
}

/** Whether `rows` was measured in `points`, lies between them or beyond. */
function basisIn(points: readonly ScalingPoint[], rows: number): SizingRow['basis'] {
  const all = points.map((p) => p.rows);
  if (all.some((measured) => sameSize(measured, rows))) return 'measured';
  return rows > Math.min(...all) && rows < Math.max(...all) ? 'interpolated' : 'extrapolated';
}

/** The sizing of `defaults`' function for each target size, from its measured points. */
export function deriveSizing(
  points: readonly ScalingPoint[],
  defaults: LambdaFunction,
  targets: readonly number[] = SIZING_TARGETS,
): SizingRow[] {
  if (points.length === 0) return [];
  const limit = measuredLimit(points);
  const rows = points.map((p) => p.rows);
  return rowsFor(targets, Math.min(...rows), Math.max(...rows), (at) => basisIn(points, at), (at) => sizeFor(scaledAt(points, at), limit, defaults));
}

/** One bench run's measured points: a data profile, named for the sizing's notes. */
export interface Profile {
  readonly label: string;
  readonly points: readonly ScalingPoint[];
}

/** Customers per transaction over a profile's samples. */
export function customersPerTransaction({ label, points }: Profile): number {
  const customers = points.map((p) => p.customers);
  if (points.length === 0 || customers.some((c) => c === undefined)) throw new Error(`${label}: its measured points do not give their customers`);
  return customers.reduce((a, b) => a! + b!, 0)! / points.reduce((a, p) => a + p.rows, 0);
}

/** A lake's sizing blended from the two profiles whose customers per transaction enclose the lake's. */
export interface CustomerSizing {
  readonly row: SizingRow;
  /** The profiles blended: one when the lake's customers are at or below the fewest measured. */
  readonly profiles: readonly Profile[];
  /** How far the lake's customers per transaction lie from the first profile's to the second's (0 with one). */
  readonly weight: number;
  /** Whether the lake has fewer customers per transaction than any profile, so the one used overstates it. */
  readonly upperBound: boolean;
}

/**
 * The sizing for a lake of `transactions` with `customers`, from the profiles measured up to at least
 * 1 ÷ MAX_EXTRAPOLATION of its size (all of them when none is). The two enclosing the lake's customers
 * per transaction are scaled along their transactions as deriveSizing does; what the run needs and
 * takes is then taken linearly in customers between them (the state, the marts and the CLV forecasts
 * are per customer). Fewer customers than any profile: that profile's sizing, an upper bound; more than
 * all: none, since a straight line says little past what was measured.
 */
export function deriveSizingByCustomers(
  profiles: readonly Profile[],
  { transactions, customers }: { readonly transactions: number; readonly customers: number },
  defaults: LambdaFunction,
): CustomerSizing {
  const perTransaction = customers / transactions;
  const reaching = profiles.filter((p) => MAX_EXTRAPOLATION * Math.max(...p.points.map((point) => point.rows)) >= transactions);
  const byRatio = [...(reaching.length > 0 ? reaching : profiles)].sort((a, b) => customersPerTransaction(a) - customersPerTransaction(b));
  if (byRatio.length === 0) throw new Error('no bench run to size from');
  const most = byRatio.at(-1)!;
  if (perTransaction > customersPerTransaction(most) * (1 + SAME_SIZE)) {
    throw new Error(
      `${(1 / perTransaction).toFixed(1)} transactions per customer is fewer than any bench run measured ` +
        `(the fewest: ~${(1 / customersPerTransaction(most)).toFixed(1)}, ${most.label}); ` +
        'measure such data first with `npm run bench -- --months N`, fewer months giving fewer transactions per customer',
    );
  }
  const same = byRatio.find((profile) => sameSize(customersPerTransaction(profile), perTransaction));
  const upper = byRatio.findIndex((profile) => customersPerTransaction(profile) >= perTransaction);
  const blended = same ? [same] : upper === 0 ? [byRatio[0]!] : [byRatio[upper - 1]!, byRatio[upper]!];
  const [first, second] = blended;
  const weight =
    second === undefined
      ? 0
      : (perTransaction - customersPerTransaction(first!)) / (customersPerTransaction(second) - customersPerTransaction(first!));
  const limits = new Set(blended.map((profile) => measuredLimit(profile.points)));
  if (limits.size > 1) throw new Error(`${blended.map((p) => p.label).join(' and ')} were measured at different DuckDB memory limits`);
  const [limit] = limits;
  const scaledFor = (rows: number) => {
    const [a, b] = blended.map((profile) => scaledAt(profile.points, rows));
    return b === undefined ? a! : blend(a!, b, weight);
  };
  const basisAt = (rows: number): SizingRow['basis'] => {
    const each = blended.map((profile) => basisIn(profile.points, rows));
    if (each.includes('extrapolated')) return 'extrapolated';
    return each.every((basis) => basis === 'measured') && second === undefined ? 'measured' : 'interpolated';
  };
  const smallest = Math.max(...blended.map((profile) => Math.min(...profile.points.map((p) => p.rows))));
  const largest = Math.min(...blended.map((profile) => Math.max(...profile.points.map((p) => p.rows))));
  const [row] = rowsFor([transactions], smallest, largest, basisAt, (rows) => sizeFor(scaledFor(rows), limit!, defaults));
  return { row: row!, profiles: blended, weight, upperBound: !same && upper === 0 };
}

/** What `a` gives plus `weight` of the way to what `b` gives. */
function blend(a: Scaled, b: Scaled, weight: number): Scaled {
  if (a.needs.unspilledRss > 0 !== b.needs.unspilledRss > 0) {
    throw new Error('cannot blend a profile whose memory-limited runs spilled with one whose runs never did');
  }
  const mix = (x: number, y: number) => x + (y - x) * weight;
  const mixOptional = (x: number | undefined, y: number | undefined) => (x === undefined || y === undefined ? undefined : mix(x, y));
  const incrementalSeconds = mixOptional(a.incrementalSeconds, b.incrementalSeconds);
  const unlimitedSeconds = mixOptional(a.unlimitedSeconds, b.unlimitedSeconds);
  return {
    needs: {
      beyondDuckDb: mix(a.needs.beyondDuckDb, b.needs.beyondDuckDb),
      duckdb: mix(a.needs.duckdb, b.needs.duckdb),
      unspilledRss: mix(a.needs.unspilledRss, b.needs.unspilledRss),
      storedBytes: mix(a.needs.storedBytes, b.needs.storedBytes),
    },
    limitedSeconds: mix(a.limitedSeconds, b.limitedSeconds),
    ...(incrementalSeconds === undefined ? {} : { incrementalSeconds }),
    ...(unlimitedSeconds === undefined ? {} : { unlimitedSeconds }),
  };
}

/**
 * The largest size (to two significant digits, rounded down) the default function holds, found by
 * bisection between the sizes derived; undefined when it holds none of them or all of them.
 */
function largestHeldByDefault(holds: (rows: number) => boolean, from: number, to: number): number | undefined {
  if (!holds(from) || holds(to)) return undefined;
  let [low, high] = [from, to];
  while (high - low > from / 100) {
    const middle = (low + high) / 2;
    if (holds(middle)) low = middle;
    else high = middle;
  }
  const unit = 10 ** (Math.floor(Math.log10(low)) - 1);
  return Math.floor(low / unit) * unit;
}

/** A transaction count as the notes give it: 31M, 2.5M, 800k. */
export function formatRows(rows: number): string {
  return rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1e3}k`;
}
