/**
 * The end-to-end benchmark: `npm run bench -- [--sizes 1m,10m] [--seed 1] [--repeat 1] [--baseline-only]`.
 *
 * For each size (transactions; k and m suffixes) it generates a sample once into bench/data/ (reused
 * while the generator and its options are unchanged), then measures, each in a fresh process so peak
 * RSS is per measurement (bench/measure.ts): the whole `lifecycle-lake run` into a new lake, and a bare
 * DuckDB read_csv + GROUP BY computing recency, frequency and monetary over the same file. Prints a
 * table and the machine, and writes bench/results/<YYYY-MM-DD>.json (UTC date; -baseline-only.json for
 * a run with --baseline-only).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { openDuckDb, queryRows } from '../lambdas/core/duckdb.ts';
import { GENERATE_DEFAULTS, generateTransactions, type GenerateResult } from '../lambdas/core/generate.ts';
import type { Measurement } from './measure.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..');
const dataDir = join(benchDir, 'data');
const resultsDir = join(benchDir, 'results');
/** The generator's defaults give about 10 rows per customer over 24 months (checked in its tests). */
const ROWS_PER_CUSTOMER = 10;
const generatorSources = ['lambdas/core/generate.ts', 'lambdas/core/random.ts'];

interface Sample {
  readonly path: string;
  readonly bytes: number;
  readonly generated: GenerateResult;
}

interface SizeResult {
  readonly size: string;
  readonly customers: number;
  readonly rows: number;
  readonly fileBytes: number;
  readonly pipeline?: Measurement;
  readonly baseline: Measurement;
}

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!match) throw new Error(`size "${text}" is not a number of transactions such as 500k, 1m or 2500000`);
  const factor = { '': 1, k: 1e3, m: 1e6 }[match[2]!.toLowerCase() as '' | 'k' | 'm'];
  return Math.round(Number(match[1]) * factor);
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number, got ${text}`);
  return value;
}

/** A sample for these options, generated unless bench/data holds one from the same generator source. */
async function sample(customers: number, seed: number): Promise<Sample> {
  const options = { customers, seed, start: GENERATE_DEFAULTS.start, months: GENERATE_DEFAULTS.months };
  const name = `transactions-${customers}c-seed${seed}-${options.start}-${options.months}m`;
  const path = join(dataDir, `${name}.csv`);
  const metaPath = join(dataDir, `${name}.json`);
  const hash = createHash('sha256');
  for (const source of generatorSources) hash.update(await readFile(join(repoRoot, source)));
  const fingerprint = hash.digest('hex');

  try {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as Sample & { fingerprint: string };
    if (meta.fingerprint === fingerprint && (await stat(path)).size === meta.bytes) {
      console.error(`reusing ${path}`);
      return { path, bytes: meta.bytes, generated: meta.generated };
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
  return { path, bytes, generated };
}

/** Runs bench/measure.ts in a fresh Node process and reads what it measured. */
async function measureInChild(args: readonly string[], resultPath: string): Promise<Measurement> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, 'measure.ts'), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exitCode = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  if (exitCode !== 0) throw new Error(`measure.ts ${args[0]} exited with ${exitCode}:\n${output}`);
  return JSON.parse(await readFile(resultPath, 'utf8')) as Measurement;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median seconds and median peak RSS of repeated measurements. */
function summarise(measurements: readonly Measurement[]): Measurement {
  const summary: Measurement = {
    mode: measurements[0]!.mode,
    seconds: median(measurements.map((m) => m.seconds)),
    maxRssBytes: median(measurements.map((m) => m.maxRssBytes)),
  };
  const customers = measurements[0]!.customers;
  return customers === undefined ? summary : { ...summary, customers };
}

async function describeMachine(): Promise<Record<string, string | number>> {
  const duck = await openDuckDb();
  let duckdb: string;
  try {
    const [row] = await queryRows(duck.connection, 'SELECT version() AS version');
    duckdb = String(row!.version);
  } finally {
    duck.close();
  }
  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout: the results still stand, without a commit.
  }
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
    // Other work on the machine skews timings: a load above the core count means they are shared.
    loadAverage1mAtStart: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}

function formatSize(rows: number): string {
  return rows >= 1e6 ? `${rows / 1e6}M` : rows >= 1e3 ? `${rows / 1e3}k` : String(rows);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1m,10m' },
      seed: { type: 'string', default: String(GENERATE_DEFAULTS.seed) },
      repeat: { type: 'string', default: '1' },
      'baseline-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const sizes = values.sizes.split(',').map(parseSize);
  const seed = positiveInteger('seed', values.seed);
  const repeat = positiveInteger('repeat', values.repeat);
  const baselineOnly = values['baseline-only'];

  await mkdir(dataDir, { recursive: true });
  const machine = await describeMachine();
  const scratch = await mkdtemp(join(os.tmpdir(), 'lifecycle-lake-bench-'));
  const results: SizeResult[] = [];
  try {
    for (const rows of sizes) {
      const customers = Math.max(1, Math.round(rows / ROWS_PER_CUSTOMER));
      const data = await sample(customers, seed);
      const baselines: Measurement[] = [];
      const pipelines: Measurement[] = [];
      for (let run = 1; run <= repeat; run++) {
        const label = `${formatSize(rows)}, run ${run}/${repeat}`;
        console.error(`baseline (${label})`);
        const baselineResult = join(scratch, `baseline-${rows}-${run}.json`);
        baselines.push(await measureInChild(['baseline', data.path, baselineResult], baselineResult));
        if (baselineOnly) continue;
        console.error(`pipeline (${label})`);
        const pipelineResult = join(scratch, `pipeline-${rows}-${run}.json`);
        const lake = join(scratch, `lake-${rows}-${run}`);
        pipelines.push(await measureInChild(['pipeline', data.path, pipelineResult, lake], pipelineResult));
        await rm(lake, { recursive: true, force: true });
      }
      results.push({
        size: formatSize(rows),
        customers,
        rows: data.generated.rows,
        fileBytes: data.bytes,
        baseline: summarise(baselines),
        ...(baselineOnly ? {} : { pipeline: summarise(pipelines) }),
      });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const table = new Table({
    head: ['size', 'rows', 'run s', 'rows/s', 'peak RSS', 'baseline s', 'baseline RSS', 'run/baseline'],
    // Plain text, so the table can be pasted into the README as it is.
    style: { head: [], border: [] },
  });
  for (const result of results) {
    const run = result.pipeline;
    table.push([
      result.size,
      result.rows.toLocaleString('en-US'),
      run ? run.seconds.toFixed(1) : '—',
      run ? Math.round(result.rows / run.seconds).toLocaleString('en-US') : '—',
      run ? formatBytes(run.maxRssBytes) : '—',
      result.baseline.seconds.toFixed(1),
      formatBytes(result.baseline.maxRssBytes),
      run ? `${(run.seconds / result.baseline.seconds).toFixed(1)}×` : '—',
    ]);
  }
  console.log(table.toString());
  console.log(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${formatBytes(Number(machine.memoryBytes))} RAM, ${machine.os}; ` +
      `Node ${machine.node}, DuckDB ${machine.duckdb} (@duckdb/node-api ${machine.duckdbNodeApi}); commit ${machine.commit}; ` +
      `load average ${machine.loadAverage1mAtStart} at start`,
  );
  console.log(
    `seconds are wall time inside the measuring process (modules loaded); RSS is its peak; ${repeat} run(s), median` +
      (baselineOnly ? '; pipeline not measured (--baseline-only)' : ''),
  );

  const date = new Date().toISOString().slice(0, 10);
  await mkdir(resultsDir, { recursive: true });
  // A baseline-only dry run never replaces the day's full results.
  const resultsPath = join(resultsDir, baselineOnly ? `${date}-baseline-only.json` : `${date}.json`);
  await writeFile(
    resultsPath,
    `${JSON.stringify({ date, machine, seed, repeat, baselineOnly, rowsPerCustomerTarget: ROWS_PER_CUSTOMER, results }, null, 2)}\n`,
  );
  console.log(`results written to ${resultsPath}`);
}

try {
  await main();
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
