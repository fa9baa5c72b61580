import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDuckDb, queryRows } from '../../lambdas/core/duckdb.ts';
import { loadModels, modelsUpstreamOf, orderByDependency, referencedRelations, runModels } from '../../lambdas/core/models/runner.ts';

describe('model runner', () => {
  let dir: string | undefined;
  let db: Awaited<ReturnType<typeof openDuckDb>> | undefined;
  afterEach(async () => {
    db?.close();
    db = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A DuckDB connection with its files under the test's folder, closed after the test. */
  async function connect(): Promise<DuckDBConnection> {
    db = await openDuckDb({ tempDirectory: join(dir as string, 'duckdb') });
    return db.connection;
  }

  /**
   * A program model `a_program` (named to come first in dependency order) that makes a table of `rows`
   * rows on the connection it is given, once `first` has run.
   */
  function tableProgram(rows: number, first: (on: DuckDBConnection) => Promise<unknown> = async () => undefined) {
    return {
      name: 'a_program',
      dependsOn: [],
      run: async (on: DuckDBConnection) => {
        await first(on);
        await on.run(`create table a_program as select * from range(${rows})`);
      },
    };
  }

  /** Rejects after `ms` with `message`: a wait that would otherwise hang the test when it fails. */
  function failAfter(ms: number, message: string): Promise<never> {
    return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms));
  }

  /** Every table and view but the test's source table, with its kind. */
  async function relationKinds(connection: DuckDBConnection) {
    return queryRows(
      connection,
      "select table_name, table_type from information_schema.tables where table_name <> 'source_table' order by 1",
    );
  }

  async function sqlDirWith(models: Record<string, string>): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), 'models-'));
    for (const [path, sql] of Object.entries(models)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), sql);
    }
    return dir;
  }

  it('finds relations after FROM and JOIN, ignoring CTEs, table functions and comments', () => {
    const sql = `-- from commented_out
      with a as (select * from stg_x), b as (select * from range(3))
      select * from a join int_y using (id) left join b on true cross join params`;
    expect(referencedRelations(sql)).toEqual(['int_y', 'params', 'stg_x']);
  });

  it('orders models so each runs after the models it selects from', async () => {
    const sqlDir = await sqlDirWith({
      'marts/m.sql': 'select * from int_b join stg_a using (id)',
      'intermediate/int_b.sql': 'select * from stg_a',
      'staging/stg_a.sql': 'select * from source_table',
    });
    const models = await loadModels(sqlDir, ['source_table']);
    expect(orderByDependency(models).map((m) => m.name)).toEqual(['stg_a', 'int_b', 'm']);
  });

  it('selects the models some targets need: the targets and everything upstream, nothing downstream or beside', async () => {
    const sqlDir = await sqlDirWith({
      'marts/m.sql': 'select * from int_b',
      'intermediate/int_b.sql': 'select * from stg_a join stg_c using (id)',
      'intermediate/int_d.sql': 'select * from stg_a',
      'staging/stg_a.sql': 'select * from source_table',
      'staging/stg_c.sql': 'select * from source_table',
    });
    const models = await loadModels(sqlDir, ['source_table']);
    expect(modelsUpstreamOf(models, ['int_b']).map((m) => m.name).sort()).toEqual(['int_b', 'stg_a', 'stg_c']);
    expect(() => modelsUpstreamOf(models, ['int_missing'])).toThrow('no SQL model int_missing');
  });

  it('reports a cycle with its path', async () => {
    const sqlDir = await sqlDirWith({
      'staging/a.sql': 'select * from c',
      'staging/b.sql': 'select * from a',
      'staging/c.sql': 'select * from b',
    });
    const models = await loadModels(sqlDir, []);
    expect(() => orderByDependency(models)).toThrow('models form a cycle: a -> c -> b -> a');
  });

  it('reports a relation that is neither a model nor a source', async () => {
    const sqlDir = await sqlDirWith({ 'marts/m.sql': 'select * from stg_missing' });
    await expect(loadModels(sqlDir, ['params'])).rejects.toThrow(
      'model m (marts/m.sql) selects from stg_missing, which is not a model or a source (sources: params)',
    );
  });

  it('drops each table no kept model needs once its last reader has run, keeping what a kept view reads', async () => {
    const sqlDir = await sqlDirWith({
      'staging/stg_a.sql': 'select * from source_table',
      'intermediate/int_b.sql': 'select id * 2 as id from stg_a',
      'intermediate/int_v.sql': '-- materialized: view\nselect * from int_w',
      'intermediate/int_w.sql': 'select * from stg_a',
      'marts/m.sql': 'select * from int_b',
    });
    const models = await loadModels(sqlDir, ['source_table']);
    const connection = await connect();
    await connection.run('create table source_table as select 1 as id');
    const tables = async () =>
      (await queryRows(connection, "select table_name from information_schema.tables where table_name <> 'source_table' order by 1")).map(
        (r) => String(r.table_name),
      );
    await runModels(connection, models, [], { keep: ['m', 'int_v'] });
    // stg_a goes after its last reader (int_w), int_b after m; int_w stays for the kept view int_v.
    expect(await tables()).toEqual(['int_v', 'int_w', 'm']);
    expect(orderByDependency(models).map((m) => m.name)).toEqual(['stg_a', 'int_b', 'int_w', 'int_v', 'm']);
    expect(await queryRows(connection, 'select id from m')).toEqual([{ id: 2 }]);
  });

  it('creates a model marked `-- materialized: view` as a view and every other model as a table', async () => {
    const sqlDir = await sqlDirWith({
      'staging/stg_a.sql': '-- materialized: view\nselect * from source_table',
      'intermediate/int_b.sql': '-- a model that mentions materialized: view in prose stays a table\nselect * from stg_a',
    });
    const models = await loadModels(sqlDir, ['source_table']);
    const connection = await connect();
    await connection.run('create table source_table as select 1 as id');
    await runModels(connection, models);
    expect(await relationKinds(connection)).toEqual([
      { table_name: 'int_b', table_type: 'BASE TABLE' },
      { table_name: 'stg_a', table_type: 'VIEW' },
    ]);
  });

  it('writes a model through writeModel and makes it a view of the file, read back by the models after it', async () => {
    const sqlDir = await sqlDirWith({
      'staging/stg_a.sql': 'select * from source_table',
      'marts/m.sql': 'select id * 10 as id from stg_a',
      'marts/n.sql': 'select id + 1 as id from m',
    });
    const models = await loadModels(sqlDir, ['source_table']);
    const connection = await connect();
    await connection.run('create table source_table as select id::integer as id from range(1, 4) as t(id)');
    const path = join(dir as string, 'm.parquet');
    await runModels(connection, models, [], {
      writeModel: async (model) => {
        if (model.name !== 'm') return undefined;
        await connection.run(`copy (${model.sql}) to '${path}' (format parquet)`);
        return `select * from read_parquet('${path}')`;
      },
    });
    expect(await relationKinds(connection)).toEqual([
      { table_name: 'm', table_type: 'VIEW' },
      { table_name: 'n', table_type: 'BASE TABLE' },
      { table_name: 'stg_a', table_type: 'BASE TABLE' },
    ]);
    // The file holds the rows, so replacing the source afterwards changes nothing downstream of m.
    await connection.run('delete from source_table');
    expect(await queryRows(connection, `select id from read_parquet('${path}') order by id`)).toEqual([{ id: 10 }, { id: 20 }, { id: 30 }]);
    expect(await queryRows(connection, 'select id from m order by id')).toEqual([{ id: 10 }, { id: 20 }, { id: 30 }]);
    expect(await queryRows(connection, 'select id from n order by id')).toEqual([{ id: 11 }, { id: 21 }, { id: 31 }]);
  });

  it('drops a program model that made a view once its last reader has run', async () => {
    const sqlDir = await sqlDirWith({ 'marts/m.sql': 'select count(*)::integer as n from program_view' });
    const connection = await connect();
    const program = {
      name: 'program_view',
      dependsOn: [],
      run: async () => {
        await connection.run('create view program_view as select * from range(5)');
      },
    };
    const models = await loadModels(sqlDir, [], [program]);
    await runModels(connection, models, [program], { keep: ['m'] });
    expect(await relationKinds(connection)).toEqual([{ table_name: 'm', table_type: 'BASE TABLE' }]);
    expect(await queryRows(connection, 'select n from m')).toEqual([{ n: 5 }]);
  });

  it('runs a program model beside the SQL models that do not read it, on a connection of its own', async () => {
    const sqlDir = await sqlDirWith({
      'marts/independent.sql': 'select 1 as id',
      'marts/reads_program.sql': 'select count(*)::integer as n from a_program',
    });
    const connection = await connect();
    let independentStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (independentStarted = resolve));
    let programConnection: DuckDBConnection | undefined;
    // Run one at a time, the program would wait here for a model that only starts after it.
    const program = tableProgram(3, (on) => {
      programConnection = on;
      return Promise.race([started, failAfter(2000, 'the SQL model did not start beside the program')]);
    });
    const models = await loadModels(sqlDir, [], [program]);
    const order: string[] = [];
    let independentConnection: DuckDBConnection | undefined;
    await runModels(connection, models, [program], {
      connect: () => db!.connect(),
      writeModel: async (model, on) => {
        if (model.name === 'independent') independentConnection = on;
        return undefined;
      },
      onModel: (name) => {
        order.push(name);
        if (name === 'independent') independentStarted();
      },
    });
    expect(order).toEqual(['a_program', 'independent', 'reads_program']);
    expect(programConnection).toBeDefined();
    expect(independentConnection).toBeDefined();
    expect(programConnection).not.toBe(independentConnection);
    expect(await queryRows(connection, 'select n from reads_program')).toEqual([{ n: 3 }]);
  });

  it('reports a failing program model once the SQL model beside it has finished, and runs nothing after', async () => {
    const sqlDir = await sqlDirWith({
      'marts/independent.sql': 'select count(*)::integer as n from range(200000)',
      'marts/reads_program.sql': 'select count(*)::integer as n from a_program',
    });
    const connection = await connect();
    const program = {
      name: 'a_program',
      dependsOn: [],
      run: async () => {
        throw new Error('the fit diverged');
      },
    };
    const models = await loadModels(sqlDir, [], [program]);
    await expect(runModels(connection, models, [program], { connect: () => db!.connect() })).rejects.toThrow(
      'model a_program failed: the fit diverged',
    );
    expect(await relationKinds(connection)).toEqual([{ table_name: 'independent', table_type: 'BASE TABLE' }]);
  });

  it('reports a connection that cannot be opened as the failure of the model that needed it, after the one beside it', async () => {
    const sqlDir = await sqlDirWith({ 'marts/independent.sql': 'select 1 as id' });
    const connection = await connect();
    const program = tableProgram(3);
    const models = await loadModels(sqlDir, [], [program]);
    await expect(
      runModels(connection, models, [program], { connect: () => Promise.reject(new Error('no more connections')) }),
    ).rejects.toThrow('model independent failed: no more connections');
    expect(await relationKinds(connection)).toEqual([{ table_name: 'a_program', table_type: 'BASE TABLE' }]);
  });

  it('reports each model once as it finishes, with its own wall time', async () => {
    const sqlDir = await sqlDirWith({ 'marts/m.sql': 'select count(*)::integer as n from a_program' });
    const connection = await connect();
    const program = tableProgram(2, () => new Promise((resolve) => setTimeout(resolve, 60)));
    const models = await loadModels(sqlDir, [], [program]);
    const done: [string, number][] = [];
    await runModels(connection, models, [program], {
      connect: () => db!.connect(),
      onModelDone: (name, seconds) => done.push([name, seconds]),
    });
    expect(done.map(([name]) => name)).toEqual(['a_program', 'm']);
    // The program's own time covers its 60 ms wait.
    expect(done[0]![1]).toBeGreaterThanOrEqual(0.05);
  });
});
