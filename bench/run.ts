/**
 * The benchmark: `npm run bench -- [--sizes 1m,10m] [--repeat N] [--memory-limit 1GB|off] [--new-share 0.01]
 * [--seed 1] [--months 24] [--baseline-only] [--add-to bench/results/<date>.json]`, or `-- --render bench/results/<date>.json`
 * to rewrite a saved run's Markdown and sizing without measuring, or `-- --check-lambda bench/results/<date>.json
 * [--sizes 10m]` to run that sizing in function-sized control groups (Linux, root; bench/lambda-check.ts), or
 * `-- --size-for 30m --customers 5m [--largest-file 2m] [--from a.json,b.json]` to size the functions for one lake
 * from saved runs (bench/size-for.ts). `--add-to` measures the sizes given and
 * merges them into a saved run of the same code and settings (e.g. a slow 100M after 1m,10m,50m). Sizes are transactions (k and m suffixes; 50m works, it is just slow).
 * `--months` sets the samples' history: the default 24 give about 10 transactions per customer, 3 about 3.5
 * (customer-heavy data); a run of other than 24 months is saved as bench/results/<date>-<N>months.{json,md}.
 *
 * For each size it generates a sample once into bench/data/ (reused while the generator is unchanged),
 * then measures, each measurement in a fresh process so peak RSS is its own (bench/measure.ts):
 *
 * 1. the full pipeline into a new lake: an ingest process, then a transform process (as the two
 *    Lambdas run), the transform per stage;
 * 2. the baseline: a bare DuckDB read_csv + GROUP BY customer (recency, frequency, monetary) over the
 *    same file, and the ratio full run / baseline; beside it, the curated-lake write: the file loaded
 *    typed and written as month-partitioned curated Parquet, the least a run keeping the lake does;
 * 3. an incremental run: a lake seeded with a full run over the sample's history, then the last
 *    `--new-share` of the rows (by order date) ingested as a new file and transformed;
 * 4. the full pipeline again with DuckDB's memory_limit set to `--memory-limit`, spilling under the
 *    OS temp folder.
 *
 * Each figure is the median of the runs: `--repeat` runs each (default 3 up to 10M transactions, 1
 * above; 1m,10m takes about eight minutes on 2 cores), baselines at least 3 (they take seconds).
 * Writes bench/results/<YYYY-MM-DD>.json (every run) and .md (the tables, also printed).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openDuckDb, queryRows } from '../lambdas/core/duckdb.ts';
import { GENERATE_DEFAULTS, generateTransactions, type GenerateResult } from '../lambdas/core/generate.ts';
import type { BaselineMeasurement, IngestMeasurement, LakeWriteMeasurement, TransformMeasurement } from './measure.ts';
import { functionCgroup } from './cgroup.ts';
import { failureSummary, measureInChild } from './child.ts';
import { sizingOf } from './points.ts';
import { measuredProfile, newestRunPerProfile, sizeForLake } from './size-for.ts';
import { checkSize, checksBesides, withChecks, type CheckDeps, type SizeCheck } from './lambda-check.ts';
import {
  lambdaCheckMarkdown,
  median,
  readSavedReport,
  renderMarkdown,
  sampleMonths,
  summarise,
  type BenchReport,
  type Machine,
  type PipelineRun,
  type SizeResult,
} from './report.ts';
import { sameSize, type SizingRow } from './sizing.ts';
import { splitByOrderDate } from './split.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..');
const dataDir = join(benchDir, 'data');
const resultsDir = join(benchDir, 'results');
/**
 * Customers per sample: the generator's default 24 months give about 10 transactions per customer
 * (10.1 in the 1M and 10M samples), so 10M transactions are a million customers. Shorter histories
 * give fewer per customer (3 months: about 3.5, near CDNOW's 3), measured on a small sample first.
 */
const DEFAULT_ROWS_PER_CUSTOMER = 10;
const CALIBRATION_CUSTOMERS = 20_000;
const generatorSources = ['lambdas/core/generate.ts', 'lambdas/core/random.ts'];

interface Sample {
  readonly path: string;
  readonly bytes: number;
  readonly fingerprint: string;
  readonly generated: GenerateResult;
}

const formatSize = (rows: number) => (rows >= 1e6 ? `${rows / 1e6}M` : rows >= 1e3 ? `${rows / 1e3}k` : String(rows));

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!match) throw new Error(`size "${text}" is not a number of transactions such as 500k, 1m or 2500000`);
  const factor = { '': 1, k: 1e3, m: 1e6 }[match[2]!.toLowerCase() as '' | 'k' | 'm'];
  return Math.round(Number(match[1]) * factor);
}

/** DuckDB's units: KB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024. */
function memoryLimitBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.exec(text.trim());
  if (!match) throw new Error(`--memory-limit must be a DuckDB size such as 1GB or 512MiB, or off; got ${text}`);
  const unit = match[2]!.toLowerCase();
  const power = ['k', 'm', 'g', 't'].indexOf(unit[0]!) + 1;
  return Number(match[1]) * (unit.includes('i') ? 1024 : 1000) ** power;
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number, got ${text}`);
  return value;
}

/** Transactions per customer in samples of `months`: the default's round 10, else measured on 20,000 customers. */
async function rowsPerCustomer(months: number, seed: number): Promise<number> {
  if (months === GENERATE_DEFAULTS.months) return DEFAULT_ROWS_PER_CUSTOMER;
  const folder = await mkdtemp(join(os.tmpdir(), 'lifecycle-lake-calibration-'));
  try {
    const out = join(folder, 'sample.csv');
    const { rows } = await generateTransactions({ customers: CALIBRATION_CUSTOMERS, seed, start: GENERATE_DEFAULTS.start, months, out });
    return rows / CALIBRATION_CUSTOMERS;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** A sample for these options, generated unless bench/data holds one from the same generator source. */
async function sample(customers: number, seed: number, months: number): Promise<Sample> {
  const options = { customers, seed, start: GENERATE_DEFAULTS.start, months };
  const name = `transactions-${customers}c-seed${seed}-${options.start}-${options.months}m`;
  const path = join(dataDir, `${name}.csv`);
  const metaPath = join(dataDir, `${name}.json`);
  const hash = createHash('sha256');
  for (const source of generatorSources) hash.update(await readFile(join(repoRoot, source)));
  const fingerprint = hash.digest('hex');

  try {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as Sample;
    if (meta.fingerprint === fingerprint && (await stat(path)).size === meta.bytes) {
      console.error(`reusing ${path}`);
      return { path, bytes: meta.bytes, fingerprint, generated: meta.generated };
    }
  } catch {
    // No usable cached sample: generate it below.
  }
  console.error(`generating ${path} (${customers.toLocaleString('en-US')} customers)`);
  const start = performance.now();
  const generated = await generateTransactions({ ...options, out: path });
  const bytes = (await stat(path)).size;
  console.error(`  ${generated.rows.toLocaleString('en-US')} rows in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  await writeFile(metaPath, JSON.stringify({ path, bytes, generated, fingerprint, options }, null, 2));
  return { path, bytes, fingerprint, generated };
}

/**
 * The commit, plus a hash of any uncommitted change to the measured code (lambdas/, sql/): read at the
 * start and again at the end, so a run that straddles an edit says so.
 */
function measuredCode(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' });
    const changes = git('diff', 'HEAD', '--', 'lambdas', 'sql') + git('ls-files', '--others', '--exclude-standard', '--', 'lambdas', 'sql');
    // The last commit of the measured folders: commits to bench/ or docs do not change what is measured.
    const head = git('log', '-1', '--format=%h', '--', 'lambdas', 'sql').trim();
    return changes === '' ? head : `${head} + uncommitted changes in lambdas/ or sql/ (${createHash('sha256').update(changes).digest('hex').slice(0, 8)})`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function describeMachine(): Promise<Machine> {
  const duck = await openDuckDb();
  let duckdb: string;
  try {
    const [row] = await queryRows(duck.connection, 'select version() as version');
    duckdb = String(row!.version);
  } finally {
    duck.close();
  }
  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const commit = measuredCode();
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    duckdb,
    duckdbNodeApi: manifest.dependencies['@duckdb/node-api'] ?? 'unknown',
    commit,
    // Other work on the machine skews timings: a load near or above the core count means it was shared.
    loadAverageBefore: os.loadavg().map((load) => Number(load.toFixed(2))),
  };
}

/** Rewrites a saved run's Markdown (and sizing) from its JSON, e.g. after the report's wording changed. */
async function render(jsonPath: string): Promise<void> {
  const saved = await readSavedReport(jsonPath);
  const report: BenchReport = { ...saved, ...sizingOf(saved.results) };
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(jsonPath.replace(/\.json$/, '.md'), renderMarkdown(report));
  console.log(`rewrote ${jsonPath} and its .md`);
}

/**
 * Runs the derived sizing of a saved run's measured sizes (all, or those in `sizes`) in function-sized
 * control groups (bench/lambda-check.ts) and saves the check into the run, beside its earlier checks (withChecks).
 */
async function checkLambda(jsonPath: string, sizes: readonly number[] | undefined): Promise<void> {
  const saved = await readSavedReport(jsonPath);
  const report: BenchReport = { ...saved, ...sizingOf(saved.results) };
  const cores = os.cpus().length;
  const groupName = 'lifecycle-lake-bench';
  // Fails here, before any sample is prepared, on a machine without root or the memory and cpu cgroup controllers.
  await (await functionCgroup(groupName, 128, cores)).remove();
  const commit = measuredCode();
  const date = new Date().toISOString().slice(0, 10);
  const scratch = await mkdtemp(join(os.tmpdir(), 'lifecycle-lake-check-'));
  const checked: SizeCheck[] = [];
  try {
    for (const result of report.results) {
      if (!result.full || (sizes && !sizes.some((size) => sameSize(result.rows, size)))) continue;
      const measuredRow = (rows: readonly SizingRow[] | undefined) =>
        rows?.find((row) => row.basis === 'measured' && sameSize(result.rows, row.transactions));
      const transform = measuredRow(report.sizing);
      if (!transform) continue;
      const ingest = measuredRow(report.ingestSizing);
      const data = await sample(result.customers, report.seed, sampleMonths(report));
      const split = await splitByOrderDate(data, report.newShare, join(scratch, 'split'));
      const deps: CheckDeps = {
        machineCores: cores,
        scratch,
        measure: measureInChild,
        cgroup: (memoryMb) => functionCgroup(groupName, memoryMb, cores),
        progress: (message) => console.error(`${result.size}: ${message}`),
      };
      const size = { date, commit, rows: result.rows, samplePath: data.path, split, transform, ...(ingest ? { ingest } : {}) };
      checked.push(await checkSize(deps, size));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  if (saved.lambdaCheck && saved.lambdaCheck.machineCores !== cores) {
    console.error(`the checks saved on ${saved.lambdaCheck.machineCores} cores are dropped: this machine has ${cores}`);
  }
  const lambdaCheck = withChecks(saved.lambdaCheck, checked, cores);
  const markdown = renderMarkdown({ ...report, lambdaCheck });
  await writeFile(jsonPath, `${JSON.stringify({ ...report, lambdaCheck }, null, 2)}\n`);
  await writeFile(jsonPath.replace(/\.json$/, '.md'), markdown);
  console.log(lambdaCheckMarkdown(lambdaCheck));
  console.log(`the check is saved in ${jsonPath} and its .md`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string' },
      seed: { type: 'string', default: String(GENERATE_DEFAULTS.seed) },
      months: { type: 'string', default: String(GENERATE_DEFAULTS.months) },
      repeat: { type: 'string' },
      'memory-limit': { type: 'string', default: '1GB' },
      'new-share': { type: 'string', default: '0.01' },
      'baseline-only': { type: 'boolean', default: false },
      render: { type: 'string' },
      'add-to': { type: 'string' },
      'check-lambda': { type: 'string' },
      'size-for': { type: 'string' },
      customers: { type: 'string' },
      'largest-file': { type: 'string' },
      from: { type: 'string' },
    },
    strict: true,
  });
  if (values.render) return render(values.render);
  if (values['size-for']) {
    if (!values.customers) throw new Error('--size-for needs --customers: the distinct customer_ids in the lake');
    const runs = values.from
      ? await Promise.all(values.from.split(',').map(async (path) => ({ path, report: await readSavedReport(path) })))
      : await newestRunPerProfile(resultsDir);
    const lake = {
      transactions: parseSize(values['size-for']),
      customers: parseSize(values.customers),
      ...(values['largest-file'] ? { largestFile: parseSize(values['largest-file']) } : {}),
    };
    process.stdout.write(sizeForLake(runs.map(measuredProfile), lake));
    return;
  }
  if (values['check-lambda']) return checkLambda(values['check-lambda'], values.sizes?.split(',').map(parseSize));
  const sizes = (values.sizes ?? '1m,10m').split(',').map(parseSize);
  const seed = positiveInteger('seed', values.seed);
  const months = positiveInteger('months', values.months);
  const repeatFor = (rows: number) => (values.repeat ? positiveInteger('repeat', values.repeat) : rows <= 10e6 ? 3 : 1);
  const memoryLimit = values['memory-limit'] === 'off' ? undefined : values['memory-limit'];
  if (memoryLimit !== undefined) memoryLimitBytes(memoryLimit);
  const newShare = Number(values['new-share']);
  if (!(newShare > 0 && newShare < 0.5)) throw new Error(`--new-share must be above 0 and below 0.5, got ${values['new-share']}`);
  const baselineOnly = values['baseline-only'];
  const addTo = values['add-to'] ? await savedRunToExtend(values['add-to'], { seed, months, memoryLimit, newShare, baselineOnly }) : undefined;

  await mkdir(dataDir, { recursive: true });
  const perCustomer = await rowsPerCustomer(months, seed);
  const machine = addTo?.machine ?? (await describeMachine());
  const scratch = await mkdtemp(join(os.tmpdir(), 'lifecycle-lake-bench-'));
  const loads: number[] = [];
  let counter = 0;
  const nextFiles = () => {
    counter += 1;
    return { result: join(scratch, `result-${counter}.json`), workDir: join(scratch, `work-${counter}`) };
  };
  const measureBaseline = async (input: string): Promise<BaselineMeasurement> => {
    const measured = await measureInChild<BaselineMeasurement>({ kind: 'baseline', input, ...nextFiles() });
    loads.push(measured.loadAverage1mAtStart);
    return measured;
  };
  const measureLakeWrite = async (input: string): Promise<LakeWriteMeasurement> => {
    const files = nextFiles();
    try {
      const measured = await measureInChild<LakeWriteMeasurement>({ kind: 'lakeWrite', input, ...files });
      loads.push(measured.loadAverage1mAtStart);
      return measured;
    } finally {
      await rm(files.workDir, { recursive: true, force: true });
    }
  };
  /** Ingests `input` into `lake`, then transforms it, each in its own process; the lake is removed unless `keepLake`. */
  const measurePipeline = async (
    input: string,
    lake: string,
    options: { config?: string; keepLake?: boolean } = {},
  ): Promise<PipelineRun> => {
    const config = options.config ? { config: options.config } : {};
    try {
      const ingest = await measureInChild<IngestMeasurement>({ kind: 'ingest', input, lake, ...nextFiles(), ...config });
      const transform = await measureInChild<TransformMeasurement>({ kind: 'transform', lake, ...nextFiles(), ...config });
      loads.push(ingest.loadAverage1mAtStart, transform.loadAverage1mAtStart);
      return { ingest, transform };
    } finally {
      if (!options.keepLake) await rm(lake, { recursive: true, force: true });
    }
  };

  const results: SizeResult[] = [];
  try {
    for (const rows of sizes) {
      const size = formatSize(rows);
      const repeat = repeatFor(rows);
      const customers = Math.max(1, Math.round(rows / perCustomer));
      const data = await sample(customers, seed, months);
      const baselines: BaselineMeasurement[] = [];
      const lakeWrites: LakeWriteMeasurement[] = [];
      const fulls: PipelineRun[] = [];
      for (let run = 1; run <= Math.max(repeat, 3); run++) {
        console.error(`${size}: baseline and curated-lake write, run ${run}`);
        baselines.push(await measureBaseline(data.path));
        lakeWrites.push(await measureLakeWrite(data.path));
        if (baselineOnly || run > repeat) continue;
        console.error(`${size}: full run ${run}/${repeat}`);
        fulls.push(await measurePipeline(data.path, join(scratch, `lake-${rows}-${run}`)));
      }
      const baseline = { seconds: median(baselines.map((b) => b.seconds)), maxRssBytes: median(baselines.map((b) => b.maxRssBytes)), runs: baselines };
      const lakeWrite = { seconds: median(lakeWrites.map((w) => w.seconds)), maxRssBytes: median(lakeWrites.map((w) => w.maxRssBytes)), runs: lakeWrites };
      if (baselineOnly) {
        results.push({ size, rows: data.generated.rows, customers, fileBytes: data.bytes, repeat, baseline, lakeWrite });
        continue;
      }
      const full = { ...summarise(fulls), runs: fulls };

      const split = await splitByOrderDate(data, newShare, join(scratch, 'split'));
      console.error(`${size}: seeding a lake with the rows before ${split.cutDate}`);
      const historyLake = join(scratch, `history-lake-${rows}`);
      const history = await measurePipeline(split.historyPath, historyLake, { keepLake: true });
      const incrementalRuns: PipelineRun[] = [];
      for (let run = 1; run <= repeat; run++) {
        console.error(`${size}: incremental run ${run}/${repeat} (${split.newRows.toLocaleString('en-US')} new rows)`);
        const lake = join(scratch, `incremental-lake-${rows}-${run}`);
        await cp(historyLake, lake, { recursive: true });
        incrementalRuns.push(await measurePipeline(split.newPath, lake));
      }
      await rm(historyLake, { recursive: true, force: true });
      const incrementalSummary = summarise(incrementalRuns);
      if (incrementalSummary.modes.join() !== 'incremental') {
        console.error(`warning: the incremental runs ran as ${incrementalSummary.modes.join(', ')}: ${incrementalSummary.modeReason}`);
      }

      let memoryLimited: SizeResult['memoryLimited'];
      if (memoryLimit !== undefined) {
        const config = join(scratch, `config-${rows}.json`);
        const tempDirectory = join(scratch, `duckdb-limited-${rows}`);
        await writeFile(config, JSON.stringify({ duckdb: { memoryLimit, tempDirectory } }));
        const runs: PipelineRun[] = [];
        let error: string | undefined;
        for (let run = 1; run <= repeat && error === undefined; run++) {
          console.error(`${size}: full run with memory_limit ${memoryLimit}, run ${run}/${repeat}`);
          try {
            runs.push(await measurePipeline(data.path, join(scratch, `limited-lake-${rows}-${run}`), { config }));
          } catch (failure) {
            console.error((failure as Error).message);
            error = failureSummary((failure as Error).message);
          } finally {
            await rm(tempDirectory, { recursive: true, force: true });
          }
        }
        memoryLimited = {
          memoryLimit,
          memoryLimitBytes: memoryLimitBytes(memoryLimit),
          completed: error === undefined,
          ...(error === undefined ? { summary: summarise(runs) } : { error }),
          runs,
        };
      }

      results.push({
        size,
        rows: data.generated.rows,
        customers,
        fileBytes: data.bytes,
        repeat,
        baseline,
        lakeWrite,
        full,
        ratioToBaseline: full.seconds / baseline.seconds,
        incremental: {
          ...incrementalSummary,
          split,
          history,
          runs: incrementalRuns,
          transformShareOfFull: incrementalSummary.transformSeconds / full.transformSeconds,
          runShareOfFull: incrementalSummary.seconds / full.seconds,
        },
        ...(memoryLimited ? { memoryLimited } : {}),
      });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const codeAtEnd = measuredCode();
  if (codeAtEnd !== machine.commit) {
    console.error(`warning: the measured code changed during the run (${machine.commit} at the start, ${codeAtEnd} at the end)`);
  }
  const measuredSizes = new Set(results.map((r) => r.rows));
  const allResults = [...(addTo?.results.filter((r) => !measuredSizes.has(r.rows)) ?? []), ...results].sort((a, b) => a.rows - b.rows);
  const date = addTo?.date ?? new Date().toISOString().slice(0, 10);
  // The saved run's sizing checks stay, but for sizes measured again: those no longer match their runs.
  const keptChecks = checksBesides(addTo?.lambdaCheck, results.map((r) => r.rows));
  const report: BenchReport = {
    date,
    machine: { ...machine, ...(codeAtEnd === machine.commit ? {} : { commitAtEnd: codeAtEnd }) },
    seed,
    months,
    ...(memoryLimit ? { memoryLimit } : {}),
    newShare,
    baselineOnly,
    maxLoadAverage: Math.max(...loads, addTo?.maxLoadAverage ?? 0),
    results: allResults,
    ...sizingOf(allResults),
    ...(keptChecks.length > 0 ? { lambdaCheck: { machineCores: addTo!.lambdaCheck!.machineCores, sizes: keptChecks } } : {}),
  };
  const markdown = renderMarkdown(report);
  console.log(markdown);

  await mkdir(resultsDir, { recursive: true });
  // A baseline-only dry run never replaces the day's full results.
  // Another history length is another kind of data: its results sit beside the default's, not over them.
  const name = `${date}${months === GENERATE_DEFAULTS.months ? '' : `-${months}months`}${baselineOnly ? '-baseline-only' : ''}`;
  const stem = addTo ? values['add-to']!.replace(/\.json$/, '') : join(resultsDir, name);
  await writeFile(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${stem}.md`, markdown);
  console.log(`results written to ${stem}.json and ${stem}.md`);
}

/**
 * A saved run that `--add-to` extends with more sizes: only when it measured the same code with the
 * same settings, so every row of the merged tables compares like with like.
 */
async function savedRunToExtend(
  jsonPath: string,
  settings: { seed: number; months: number; memoryLimit: string | undefined; newShare: number; baselineOnly: boolean },
): Promise<BenchReport> {
  const saved = await readSavedReport(jsonPath);
  const code = measuredCode();
  const differences = [
    saved.machine.commitAtEnd !== undefined || saved.machine.commit !== code ? `code ${saved.machine.commit} there, ${code} here` : '',
    saved.seed !== settings.seed ? `seed ${saved.seed} there, ${settings.seed} here` : '',
    sampleMonths(saved) !== settings.months ? `${sampleMonths(saved)} months there, ${settings.months} here` : '',
    saved.memoryLimit !== settings.memoryLimit ? `memory limit ${saved.memoryLimit ?? 'off'} there, ${settings.memoryLimit ?? 'off'} here` : '',
    saved.newShare !== settings.newShare ? `new share ${saved.newShare} there, ${settings.newShare} here` : '',
    saved.baselineOnly !== settings.baselineOnly ? 'one of the runs is baseline-only' : '',
  ].filter((d) => d !== '');
  if (differences.length > 0) throw new Error(`cannot add to ${jsonPath}: ${differences.join('; ')}`);
  return saved;
}

try {
  await main();
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
