import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { firstLine, quoteIdent, queryRows } from '../duckdb.ts';
import { readSqlFile } from '../sql-files.ts';

export const MODEL_LAYERS = ['staging', 'intermediate', 'marts'] as const;

/** A model computed in TypeScript (e.g. the CLV fit) that SQL models can select from by name. */
export interface ProgramModel {
  readonly name: string;
  /** Further tables the program writes besides `name`; SQL models may select from them too. */
  readonly alsoProduces?: readonly string[];
  readonly dependsOn: readonly string[];
  run(connection: DuckDBConnection): Promise<void>;
}

export interface SqlModel {
  readonly name: string;
  readonly layer: string;
  readonly path: string;
  readonly sql: string;
  readonly dependsOn: readonly string[];
  /** `view` when the SQL has a `-- materialized: view` line (read once downstream, so not worth copying); else `table`. */
  readonly materialized: 'table' | 'view';
}

const VIEW_DIRECTIVE = /^--\s*materialized:\s*view\s*$/m;

export class ModelGraphError extends Error {
  override readonly name = 'ModelGraphError';
}

export class ModelRunError extends Error {
  override readonly name = 'ModelRunError';
}

export interface SqlTestFailure {
  readonly test: string;
  readonly failingRows: number;
  readonly sample: readonly Record<string, unknown>[];
}

export class SqlTestsFailedError extends Error {
  override readonly name = 'SqlTestsFailedError';
  constructor(readonly failures: readonly SqlTestFailure[]) {
    super(
      `${failures.length} SQL test(s) failed: ` +
        failures
          .map((f) => `${f.test} (${f.failingRows} failing rows, e.g. ${JSON.stringify(f.sample.slice(0, 3), jsonSafe)})`)
          .join('; '),
    );
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

/** Relations a query reads: identifiers after FROM/JOIN that are not its own CTEs or table functions. */
export function referencedRelations(sql: string): string[] {
  const text = stripComments(sql).toLowerCase();
  const ctes = new Set([...text.matchAll(/\b([a-z_][a-z0-9_]*)\s+as\s*(?:not\s+)?(?:materialized\s+)?\(/g)].map((m) => m[1]));
  const found = new Set<string>();
  for (const m of text.matchAll(/\b(?:from|join)\s+([a-z_][a-z0-9_]*)\b(?!\s*\()/g)) {
    const name = m[1] as string;
    if (!ctes.has(name)) found.add(name);
  }
  return [...found].sort();
}

async function sqlFilesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Loads the models under sql/{staging,intermediate,marts}, finds each one's dependencies from its SQL,
 * and orders them. Relations that are neither models, program models nor declared sources are errors.
 */
export async function loadModels(
  sqlDir: string,
  sources: readonly string[],
  programModels: readonly ProgramModel[] = [],
): Promise<SqlModel[]> {
  const models: SqlModel[] = [];
  for (const layer of MODEL_LAYERS) {
    for (const file of await sqlFilesIn(join(sqlDir, layer))) {
      const sql = await readSqlFile(sqlDir, join(layer, file));
      const materialized = VIEW_DIRECTIVE.test(sql) ? 'view' : 'table';
      models.push({ name: basename(file, '.sql'), layer, path: join(layer, file), sql, dependsOn: [], materialized });
    }
  }
  // A table written by a program model stands for that program in the dependency graph.
  const producer = new Map<string, string>([
    ...models.map((m): [string, string] => [m.name, m.name]),
    ...programModels.flatMap((p) => [p.name, ...(p.alsoProduces ?? [])].map((t): [string, string] => [t, p.name])),
  ]);
  const known = new Set(producer.keys());
  const sourceSet = new Set(sources);
  return models.map((model) => {
    const refs = referencedRelations(model.sql);
    const unknown = refs.filter((r) => !known.has(r) && !sourceSet.has(r));
    if (unknown.length > 0) {
      throw new ModelGraphError(
        `model ${model.name} (${model.path}) selects from ${unknown.join(', ')}, which is not a model or a source ` +
          `(sources: ${[...sourceSet].join(', ')})`,
      );
    }
    return { ...model, dependsOn: [...new Set(refs.filter((r) => known.has(r)).map((r) => producer.get(r) as string))] };
  });
}

type Node = { readonly name: string; readonly dependsOn: readonly string[]; readonly layer?: string };

/** Where a node starts the depth-first walk: by layer (program models with the marts), then by name. */
function walkRank(node: Node): number {
  const index = MODEL_LAYERS.indexOf((node.layer ?? 'marts') as (typeof MODEL_LAYERS)[number]);
  return index === -1 ? MODEL_LAYERS.length : index;
}

/**
 * Dependency order: depth-first from each layer's models in turn (staging, intermediate, marts), by
 * name within a layer, so every intermediate model runs before the marts and the large tables they
 * read can be dropped early. A cycle is reported with its path.
 */
export function orderByDependency<T extends Node>(nodes: readonly T[]): T[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: T[] = [];
  const visit = (node: T, path: string[]): void => {
    const s = state.get(node.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(node.name)), node.name];
      throw new ModelGraphError(`models form a cycle: ${cycle.join(' -> ')}`);
    }
    state.set(node.name, 'visiting');
    for (const dep of node.dependsOn) {
      const target = byName.get(dep);
      if (!target) throw new ModelGraphError(`model ${node.name} depends on ${dep}, which does not exist`);
      visit(target, [...path, node.name]);
    }
    state.set(node.name, 'done');
    ordered.push(node);
  };
  for (const node of [...nodes].sort((a, b) => walkRank(a) - walkRank(b) || a.name.localeCompare(b.name))) visit(node, []);
  return ordered;
}

/** The models `targets` need: the targets and every model upstream of them, in their given order. */
export function modelsUpstreamOf(models: readonly SqlModel[], targets: readonly string[]): SqlModel[] {
  const byName = new Map(models.map((m) => [m.name, m]));
  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name)) return;
    const model = byName.get(name);
    if (!model) throw new ModelGraphError(`no SQL model ${name}`);
    needed.add(name);
    model.dependsOn.forEach(visit);
  };
  targets.forEach(visit);
  return models.filter((m) => needed.has(m.name));
}

export interface RunModelsOptions {
  readonly onModel?: (name: string) => void;
  /** Called as each model finishes, with its own wall time (models may run beside each other). */
  readonly onModelDone?: (name: string, seconds: number) => void;
  /**
   * The models whose tables are read after the run (written or tested). Given it, every other table
   * is dropped as soon as the last model reading it has run, so its memory serves the steps after it;
   * a view keeps the tables it reads. Without it, every table stays.
   */
  readonly keep?: readonly string[];
  /**
   * Writes a model's rows to a file as they are computed (on `connection`, the one the model runs on)
   * and returns a query reading them back, or undefined to materialise the model as usual. A written
   * model becomes a view of that query: a table that is only written out and read a few times costs
   * more to build in memory than to read back.
   */
  readonly writeModel?: (model: SqlModel, connection: DuckDBConnection) => Promise<string | undefined>;
  /**
   * Opens another connection to the same database. Given it, a program model runs beside the SQL
   * models that do not depend on it, on a connection of its own: its JavaScript holds Node's one
   * thread while DuckDB's threads work on the SQL. SQL models still run one at a time, as one query
   * already keeps every DuckDB thread busy and two would only hold more memory.
   */
  readonly connect?: () => Promise<DuckDBConnection>;
}

/** `keep` and every model a kept view reads, through views of views. */
function keptThroughViews(models: readonly SqlModel[], keep: readonly string[]): Set<string> {
  const byName = new Map(models.map((m) => [m.name, m]));
  const kept = new Set<string>();
  const visit = (name: string): void => {
    if (kept.has(name)) return;
    kept.add(name);
    const model = byName.get(name);
    if (model?.materialized === 'view') model.dependsOn.forEach(visit);
  };
  keep.forEach(visit);
  return kept;
}

type Runnable = Node & {
  readonly kind: 'sql' | 'program';
  readonly relations: readonly string[];
  run: (connection: DuckDBConnection) => Promise<void>;
};

/**
 * Runs SQL and program models in dependency order, each SQL model materialised as a table or a view;
 * with `options.connect`, program models run beside SQL models (see there).
 */
export async function runModels(
  connection: DuckDBConnection,
  models: readonly SqlModel[],
  programModels: readonly ProgramModel[] = [],
  options: RunModelsOptions = {},
): Promise<void> {
  const runnables: Runnable[] = [
    ...models.map((m): Runnable => ({
      name: m.name,
      layer: m.layer,
      kind: 'sql',
      dependsOn: m.dependsOn,
      relations: m.materialized === 'table' ? [m.name] : [],
      run: async (on) => {
        const writtenRows = await options.writeModel?.(m, on);
        await on.run(
          writtenRows === undefined
            ? `create or replace ${m.materialized} ${quoteIdent(m.name)} as ${m.sql}`
            : `create or replace view ${quoteIdent(m.name)} as ${writtenRows}`,
        );
      },
    })),
    ...programModels.map((p): Runnable => ({
      name: p.name,
      kind: 'program',
      dependsOn: p.dependsOn,
      relations: [p.name, ...(p.alsoProduces ?? [])],
      run: (on) => p.run(on),
    })),
  ];
  const ordered = orderByDependency(runnables);
  const kept = options.keep && keptThroughViews(models, options.keep);
  const readersLeft = new Map<string, number>();
  for (const node of ordered) for (const dep of node.dependsOn) readersLeft.set(dep, (readersLeft.get(dep) ?? 0) + 1);
  const byName = new Map(ordered.map((n) => [n.name, n]));

  const idle = [connection];
  const opened: DuckDBConnection[] = [];
  const done = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let failure: unknown;

  // Sequential without `connect`; with it, one model of each kind at a time.
  const mayStart = (node: Runnable): boolean =>
    node.dependsOn.every((dep) => done.has(dep)) &&
    (options.connect ? ![...running.keys()].some((name) => byName.get(name)?.kind === node.kind) : running.size === 0);

  const finish = async (node: Runnable, on: DuckDBConnection): Promise<void> => {
    done.add(node.name);
    if (!kept) return;
    for (const dep of node.dependsOn) {
      const left = (readersLeft.get(dep) ?? 0) - 1;
      readersLeft.set(dep, left);
      if (left > 0 || kept.has(dep)) continue;
      for (const relation of byName.get(dep)?.relations ?? []) await dropRelation(on, relation);
    }
  };

  const start = (node: Runnable): void => {
    const task = (async () => {
      let on: DuckDBConnection | undefined;
      try {
        on = idle.pop() ?? (await openAnother(options.connect, opened));
        options.onModel?.(node.name);
        const started = performance.now();
        await node.run(on);
        options.onModelDone?.(node.name, (performance.now() - started) / 1000);
        await finish(node, on);
      } catch (error) {
        // A writeModel hook may already have said what failed.
        failure ??=
          error instanceof ModelGraphError || error instanceof ModelRunError
            ? error
            : new ModelRunError(`model ${node.name} failed: ${firstLine(error)}`);
      } finally {
        if (on !== undefined) idle.push(on);
        running.delete(node.name);
      }
    })();
    running.set(node.name, task);
  };

  try {
    for (;;) {
      if (failure === undefined) {
        for (const node of ordered) if (!done.has(node.name) && !running.has(node.name) && mayStart(node)) start(node);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    for (const extra of opened) extra.closeSync();
  }
  if (failure !== undefined) throw failure;
}

/** A further connection for a model running beside another. */
async function openAnother(
  connect: (() => Promise<DuckDBConnection>) | undefined,
  opened: DuckDBConnection[],
): Promise<DuckDBConnection> {
  if (connect === undefined) throw new ModelRunError('a second model started without a way to open a connection');
  const another = await connect();
  opened.push(another);
  return another;
}

/** Drops a table or a view (a program model may make either), if it is there. */
async function dropRelation(connection: DuckDBConnection, name: string): Promise<void> {
  const [found] = await queryRows(connection, `select table_type from information_schema.tables where table_name = $name`, { name });
  if (found === undefined) return;
  await connection.run(`drop ${found.table_type === 'VIEW' ? 'view' : 'table'} ${quoteIdent(name)}`);
}

/** The relations the SQL tests read (models must keep them until the tests have run). */
export async function relationsSqlTestsRead(sqlDir: string): Promise<string[]> {
  const relations = new Set<string>();
  for (const file of await sqlFilesIn(join(sqlDir, 'tests'))) {
    for (const relation of referencedRelations(await readSqlFile(sqlDir, join('tests', file)))) relations.add(relation);
  }
  return [...relations].sort();
}

/** Runs every sql/tests/*.sql (each returns the rows that break an invariant); throws when any returns rows. */
export async function runSqlTests(connection: DuckDBConnection, sqlDir: string): Promise<number> {
  const failures: SqlTestFailure[] = [];
  const files = await sqlFilesIn(join(sqlDir, 'tests'));
  for (const file of files) {
    const sql = await readSqlFile(sqlDir, join('tests', file));
    const test = basename(file, '.sql');
    const [{ n } = { n: 0 }] = await queryRows(connection, `select count(*)::integer as n from (${sql})`);
    if (Number(n) > 0) {
      failures.push({ test, failingRows: Number(n), sample: await queryRows(connection, `select * from (${sql}) limit 5`) });
    }
  }
  if (failures.length > 0) throw new SqlTestsFailedError(failures);
  return files.length;
}
