import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { openLake } from '../adapters/open-lake.ts';
import { loadConfigFile, parseConfig, type PipelineConfig } from '../core/config.ts';
import { firstLine, openDuckDb, queryRows, quoteLiteral } from '../core/duckdb.ts';
import {
  ExportRequestError,
  exportFilterDimensions,
  lifecycleStages,
  rfmSegments,
  valueTiers,
  type ExportFilterDimension,
} from '../core/exports.ts';
import { exportFromLake } from '../core/lake-export.ts';
import { segmentSummaryTable } from '../core/schema/tables.ts';
import { generateTransactions, GENERATE_DEFAULTS } from '../core/generate.ts';
import { formatFromName } from '../core/ingest/source-file.ts';
import type { Lake } from '../core/lake.ts';
import { ingestFiles, transform, type IngestFileResult, type PipelineDeps, type SourceFile, type TransformReport } from '../core/pipeline.ts';
import { queryLake } from '../core/query.ts';
import { printIngestResults, printRows, printTransformSummary, type OutputFormat } from './output.ts';
import { createProgress } from './progress.ts';

/** Scratch space for downloads (S3 lakes), staging and DuckDB spill files; removed when the command ends. */
const scratchDir = join(tmpdir(), 'lifecycle-lake', `${process.pid}`);

/** A failure to report in one line, exit code 1. */
class CliError extends Error {
  override readonly name = 'CliError';
}

function isoDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new InvalidArgumentError('expected a date as YYYY-MM-DD');
  }
  return value;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/** Files named on the command line; folders contribute every file of a known format, sorted. */
async function expandInputs(inputs: readonly string[]): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (const input of inputs) {
    const path = resolve(input);
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new CliError(`input ${input} does not exist`);
    }
    if (info.isDirectory()) {
      const entries = await readdir(path, { recursive: true, withFileTypes: true });
      const found = entries
        .filter((e) => e.isFile() && formatFromName(e.name) !== undefined)
        .map((e) => join(e.parentPath, e.name))
        .sort();
      if (found.length === 0) throw new CliError(`input folder ${input} holds no .csv, .jsonl or .parquet files`);
      files.push(...found.map((p) => ({ name: p, path: p })));
    } else {
      files.push({ name: input, path });
    }
  }
  return files;
}

interface LakeOptions {
  readonly lake: string;
  readonly config?: string;
  readonly memoryLimit?: string;
}

interface IngestOptions extends LakeOptions {
  readonly input: readonly string[];
  readonly customers?: readonly string[];
  readonly acquisitionCosts?: readonly string[];
}

async function ingestAll(deps: PipelineDeps, options: IngestOptions): Promise<IngestFileResult[]> {
  const results: IngestFileResult[] = [];
  if (options.customers) results.push(...(await ingestFiles(deps, await expandInputs(options.customers), 'customers')));
  if (options.acquisitionCosts) {
    results.push(...(await ingestFiles(deps, await expandInputs(options.acquisitionCosts), 'acquisition_costs')));
  }
  results.push(...(await ingestFiles(deps, await expandInputs(options.input))));
  return results;
}

function ingestCommand(command: Command): Command {
  return command
    .requiredOption('--input <file|dir...>', 'transaction files or folders (.csv, .tsv, .jsonl, .parquet; .gz allowed)')
    .option('--customers <file|dir...>', 'customers files (customer_id, optional signup_ts): adds prospects')
    .option('--acquisition-costs <file|dir...>', 'acquisition-cost files (customer_id, acquisition_cost): CLV net of cost');
}

async function buildDeps(options: LakeOptions, showProgress: boolean): Promise<{ deps: PipelineDeps; done: () => void }> {
  const fromFile = await loadConfigFile(options.config);
  const config: PipelineConfig = options.memoryLimit
    ? parseConfig({ ...fromFile, duckdb: { ...fromFile.duckdb, memoryLimit: options.memoryLimit } }, '--memory-limit')
    : fromFile;
  const lake: Lake = openLake(options.lake);
  const progress = createProgress(showProgress);
  return {
    deps: {
      lake,
      config,
      workDir: scratchDir,
      report: (event) => {
        if (event.kind === 'step') progress.step(event.message);
        else if (event.kind === 'file') progress.step(`ingested ${event.result.source}`);
      },
    },
    done: () => progress.stop(),
  };
}

/** Each export filter's command-line option, as commander names its value: --rfm-segment is rfmSegment. */
const filterOptions = {
  rfm_segment: 'rfmSegment',
  lifecycle_stage: 'lifecycleStage',
  value_tier: 'valueTier',
  cohort_month: 'cohortMonth',
} as const satisfies Record<ExportFilterDimension, string>;

type ExportOptions = { readonly lake: string; readonly name: string; readonly columns?: readonly string[] } & {
  readonly [option in (typeof filterOptions)[ExportFilterDimension]]?: readonly string[];
};

/** Option values may also be comma-separated: `--value-tier A,B` is `--value-tier A B`. */
const splitValues = (values: readonly string[]) => values.flatMap((value) => value.split(',')).filter((value) => value !== '');

/** The export request the options describe, as the export Lambda takes it (checked by exportFromLake). */
function exportRequestOf(options: ExportOptions): unknown {
  const filters = Object.fromEntries(
    exportFilterDimensions.flatMap((dimension) => {
      const values = options[filterOptions[dimension]];
      return values === undefined ? [] : [[dimension, splitValues(values)]];
    }),
  );
  return { name: options.name, filters, ...(options.columns ? { columns: splitValues(options.columns) } : {}) };
}

/** A request field as the command's option: `filters.value_tier.0` is `--value-tier`, `columns.1` is `--columns`. */
const requestField = new RegExp(`\\b(?:filters\\.)?(${[...exportFilterDimensions, 'columns', 'name'].join('|')})(?:\\.\\d+)?:`, 'g');

/** A request error in the command's terms. */
function withOptionNames(message: string): string {
  return message.replace(requestField, (_, field: string) => `--${field.replaceAll('_', '-')}:`);
}

/** ingest + transform + summary: the `run` command and the demo. */
interface TransformFlags {
  readonly asOf?: string;
  readonly full?: boolean;
}

const transformOptions = (flags: TransformFlags) => ({
  ...(flags.asOf ? { asOfDate: flags.asOf } : {}),
  ...(flags.full ? { full: true } : {}),
});

async function runPipeline(options: IngestOptions & TransformFlags): Promise<void> {
  const { deps, done } = await buildDeps(options, true);
  try {
    const ingested = await ingestAll(deps, options);
    done();
    printIngestResults(ingested);
    const result = await transform(deps, transformOptions(options));
    done();
    await summarise(deps, result);
  } finally {
    done();
  }
}

/** Prints the run summary from the segment_summary file this run published (nothing else is read). */
async function summarise(deps: PipelineDeps, result: TransformReport): Promise<void> {
  const key = result.tables.find((t) => t.name === segmentSummaryTable.name)?.key;
  if (key === undefined) throw new CliError(`the run published no ${segmentSummaryTable.name}`);
  const [path] = await deps.lake.fetch([key], join(deps.workDir, 'summary'));
  const duck = await openDuckDb();
  try {
    const segments = await queryRows(
      duck.connection,
      `select dimension, segment, customers, round(customer_share * 100, 1) as customer_pct, revenue,
              round(revenue_share * 100, 1) as revenue_pct, predicted_clv, round(predicted_clv_share * 100, 1) as clv_pct
       from read_parquet(${quoteLiteral(path as string)}, hive_partitioning = false) order by dimension desc, revenue desc`,
    );
    printTransformSummary(result, segments);
  } finally {
    duck.close();
  }
}

function lakeCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .requiredOption('--lake <dir|s3://bucket/prefix>', 'the lake: a local folder (created if missing) or an S3 location')
    .option('--config <file>', 'pipeline config JSON (column mapping, thresholds); defaults apply when absent')
    .option('--memory-limit <size>', "DuckDB's memory limit, e.g. 1GB (beyond it DuckDB spills to disk); overrides the config");
}

export function buildProgram(): Command {
  const program = new Command('lifecycle-lake')
    .description('Customer lifecycle analytics: RFM, lifecycle stages, cohorts and CLV from transaction files.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  ingestCommand(lakeCommand(program, 'run', 'ingest transaction files, then compute and publish every mart'))
    .option('--as-of <YYYY-MM-DD>', 'snapshot date (inclusive); default: the latest order date in the lake', isoDate)
    .option('--full', 'rebuild from every curated file instead of merging new data into the previous snapshot')
    .action((options: IngestOptions & TransformFlags) => runPipeline(options));

  ingestCommand(lakeCommand(program, 'ingest', 'validate transaction files into curated Parquet; bad rows go to quarantine'))
    .action(async (options: IngestOptions) => {
      const { deps, done } = await buildDeps(options, true);
      try {
        const results = await ingestAll(deps, options);
        done();
        printIngestResults(results);
      } finally {
        done();
      }
    });

  lakeCommand(program, 'transform', 'compute every mart for a snapshot date and publish it')
    .option('--as-of <YYYY-MM-DD>', 'snapshot date (inclusive); default: the latest order date in the lake', isoDate)
    .option('--full', 'rebuild from every curated file instead of merging new data into the previous snapshot')
    .action(async (options: LakeOptions & TransformFlags) => {
      const { deps, done } = await buildDeps(options, true);
      try {
        const result = await transform(deps, transformOptions(options));
        done();
        await summarise(deps, result);
      } finally {
        done();
      }
    });

  program
    .command('query')
    .description(
      'run SQL over the lake: <table> is the latest snapshot of each mart, <table>_history every published ' +
        'snapshot (filter on as_of_date), transactions the current curated rows, quarantine_transactions the rejects',
    )
    .requiredOption('--lake <dir|s3://bucket/prefix>', 'the lake')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .argument('<sql>', 'the query, e.g. "select rfm_segment, count(*) from customer_rfm group by all"')
    .action(async (sql: string, options: { lake: string; format: OutputFormat }) => {
      const lake = openLake(options.lake);
      const duck = await openDuckDb();
      try {
        const reader = await queryLake(duck.connection, lake, join(scratchDir, 'query'), sql);
        printRows(reader.columnNames(), reader.getRowObjectsJson(), options.format);
      } catch (error) {
        throw new CliError(`query failed: ${firstLine(error)}`);
      } finally {
        duck.close();
      }
    });

  program
    .command('export')
    .description(
      'write a marketing export: the customers of the latest snapshot that match every filter given (any of ' +
        "its values), as CSV with a header row under exports/<name>/<date>/ in the lake; the columns are customer_360's",
    )
    .requiredOption('--lake <dir|s3://bucket/prefix>', 'the lake')
    .requiredOption('--name <name>', 'folder under exports/: lowercase letters, digits, - and _')
    .option('--rfm-segment <segments...>', rfmSegments.join(', '))
    .option('--lifecycle-stage <stages...>', lifecycleStages.join(', '))
    .option('--value-tier <tiers...>', valueTiers.join(', '))
    .option('--cohort-month <months...>', 'month of the first order, YYYY-MM')
    .option('--columns <columns...>', 'customer_360 columns (default: customer_id, rfm_segment, lifecycle_stage, value_tier, cohort_month)')
    .action(async (options: ExportOptions) => {
      const lake = openLake(options.lake);
      const duck = await openDuckDb();
      try {
        const result = await exportFromLake(duck.connection, lake, join(scratchDir, 'export'), exportRequestOf(options));
        console.log(
          `exported ${result.rows.toLocaleString('en-US')} customer(s) of the ${result.asOfDate} snapshot ` +
            `(${result.bytes.toLocaleString('en-US')} bytes) to ${result.location}`,
        );
      } catch (error) {
        if (error instanceof ExportRequestError) throw new CliError(withOptionNames(error.message));
        throw error;
      } finally {
        duck.close();
      }
    });

  program
    .command('generate')
    .description('write synthetic transactions with realistic customer behaviour (deterministic for a seed)')
    .requiredOption('--customers <n>', 'number of customers', positiveInteger)
    .requiredOption('--out <file>', 'output CSV (.csv or .csv.gz)')
    .option('--seed <n>', 'random seed', positiveInteger, GENERATE_DEFAULTS.seed)
    .option('--start <YYYY-MM-DD>', 'first possible order date', isoDate, GENERATE_DEFAULTS.start)
    .option('--months <n>', 'length of the period in months', positiveInteger, GENERATE_DEFAULTS.months)
    .action(async (options: { customers: number; out: string; seed: number; start: string; months: number }) => {
      const progress = createProgress(true);
      const result = await generateTransactions(options, (rows) => progress.step(`${rows.toLocaleString('en-US')} rows`));
      progress.stop();
      console.log(
        `wrote ${result.rows.toLocaleString('en-US')} transactions of ${result.customers.toLocaleString('en-US')} customers ` +
          `(${result.returns.toLocaleString('en-US')} returns, ${result.firstDate} to ${result.lastDate}) to ${options.out}`,
      );
    });

  program
    .command('demo')
    .description('generate a sample, run the whole pipeline on it into ./.lake/demo, and print the summary')
    .option('--customers <n>', 'customers in the sample', positiveInteger, 5000)
    .action(async (options: { customers: number }) => {
      const lakeDir = resolve('.lake', 'demo');
      const sample = resolve('.lake', `demo-transactions-${options.customers}.csv`);
      const generated = await generateTransactions({ customers: options.customers, out: sample, ...GENERATE_DEFAULTS });
      console.log(`sample: ${generated.rows.toLocaleString('en-US')} transactions in ${sample}`);
      await runPipeline({ input: [sample], lake: lakeDir });
      console.log(`\nexplore it: npx lifecycle-lake query --lake ${lakeDir} "select * from customer_rfm limit 10"`);
      console.log(`export a segment: npx lifecycle-lake export --lake ${lakeDir} --name champions --rfm-segment champions`);
    });

  return program;
}

/** Runs the command line; returns the exit code. Failures print one line naming the reason. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode;
    }
    console.error(`lifecycle-lake: ${firstLine(error)}`);
    return 1;
  } finally {
    // This process's downloads and DuckDB spill files; the lake itself lives elsewhere.
    await rm(scratchDir, { recursive: true, force: true });
  }
}
