import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDuckDb, quoteLiteral } from '../../lambdas/core/duckdb.ts';
import type { FileKindName } from '../../lambdas/core/ingest/ingest.ts';
import { lakeKeys } from '../../lambdas/core/lake.ts';
import { quarantineTable, transactionsTable, type ColumnType } from '../../lambdas/core/schema/tables.ts';
import { ingestFiles, transform } from '../../lambdas/core/pipeline.ts';
import { fixturesDir, queryLake, repoRoot, source, tempLake } from '../support/pipeline.ts';

const badInput = join(fixturesDir, 'bad-input');
// Ingest "now" is fixed so the future-date rule is deterministic: tolerance 24 h after 2025-01-10.
const NOW = new Date('2025-01-10T12:00:00Z');

describe('ingest', () => {
  let env: Awaited<ReturnType<typeof tempLake>> | undefined;
  afterEach(async () => {
    await env?.cleanup();
    env = undefined;
  });

  /** Writes `content` as file `name` in the test's folder and ingests it as `kind`. */
  async function ingestContent(name: string, content: string | Buffer, kind?: FileKindName) {
    const path = join(env!.root, name);
    await writeFile(path, content);
    const [result] = await ingestFiles(env!.deps, [source(path, name)], kind);
    return result!;
  }

  it('splits a mixed CSV (BOM, CRLF, quoted commas, extra columns) into curated rows and reasoned quarantine', async () => {
    env = await tempLake({}, NOW);
    const [result] = await ingestFiles(env.deps, [source(join(badInput, 'mixed.csv'), 'mixed.csv')]);

    // Rows 1, 2, 9 and 11 are valid; the other seven each break one rule (see the fixture).
    expect(result).toMatchObject({ status: 'ingested', rowsRead: 11, rowsCurated: 4, rowsQuarantined: 7 });
    expect(result!.rowsRead).toBe(result!.rowsCurated + result!.rowsQuarantined);

    const curated = await queryLake(
      env.deps,
      'select transaction_id, customer_id, amount, currency, is_return, source_row from transactions_all order by source_row',
    );
    expect(curated).toEqual([
      { transaction_id: 't1', customer_id: 'c1', amount: 10, currency: 'USD', is_return: false, source_row: 1n },
      { transaction_id: 't2', customer_id: 'c2', amount: 20.5, currency: 'USD', is_return: false, source_row: 2n },
      { transaction_id: 't8', customer_id: 'c7', amount: -3, currency: 'USD', is_return: true, source_row: 9n },
      { transaction_id: 't10', customer_id: 'c9', amount: 7.25, currency: 'USD', is_return: false, source_row: 11n },
    ]);

    const rejected = await queryLake(
      env.deps,
      'select source_row, reason, customer_id_raw, amount_raw, record_json from quarantine_transactions order by source_row',
    );
    expect(rejected.map((r) => [Number(r.source_row), r.reason])).toEqual([
      [3, 'missing customer_id'],
      [4, "unparseable order_ts '31/12/2024'"],
      [5, "non-numeric amount 'ten'"],
      [6, 'duplicate transaction_id within file (first at row 1)'],
      [7, 'order_ts 2025-03-01 00:00:00 is in the future (more than 24 h after ingest)'],
      [8, 'currency EUR is not the base currency USD and no FX rate is configured'],
      [10, expect.stringMatching(/^malformed CSV row: too many columns/)],
    ]);
    // Original values are kept, extra columns included.
    expect(JSON.parse(String(rejected[2]?.record_json))).toMatchObject({ customer_id: 'c4', amount: 'ten', note: 'x' });
    expect(String(rejected[6]?.record_json)).toContain('c8,t9,2024-12-08,5.00,USD,x,extra');

    const manifest = JSON.parse((await env.lake.getText(lakeKeys.ingestManifest(result!.fileId)))!);
    expect(manifest).toMatchObject({ status: 'ingested', rowsRead: 11, rowsCurated: 4, rowsQuarantined: 7 });
    expect(manifest.reasons).toEqual({
      'missing customer_id': 1,
      'unparseable order_ts': 1,
      'non-numeric amount': 1,
      'duplicate transaction_id within file': 1,
      'order_ts in the future': 1,
      'currency not the base currency': 1,
      'malformed CSV row: too many columns': 1,
    });
  });

  it("writes curated and quarantine files in the Parquet types Glue declares for the schema's columns", async () => {
    env = await tempLake({}, NOW);
    const [result] = await ingestFiles(env.deps, [source(join(badInput, 'mixed.csv'), 'mixed.csv')]);
    // The Parquet spec's physical and converted type for each schema type, as Athena reads them.
    const parquetTypes: Record<ColumnType, [string, string | null]> = {
      VARCHAR: ['BYTE_ARRAY', 'UTF8'],
      DATE: ['INT32', 'DATE'],
      TIMESTAMP: ['INT64', 'TIMESTAMP_MICROS'],
      INTEGER: ['INT32', 'INT_32'],
      BIGINT: ['INT64', 'INT_64'],
      DOUBLE: ['DOUBLE', null],
      BOOLEAN: ['BOOLEAN', null],
      'DECIMAL(18,2)': ['INT64', 'DECIMAL'],
    };
    const duck = await openDuckDb();
    try {
      for (const [folder, spec] of [
        ['curated/transactions', transactionsTable],
        ['quarantine/transactions', quarantineTable],
      ] as const) {
        const files = join(env.root, 'lake', folder, '**', '*.parquet');
        const columns = (
          await duck.connection.runAndReadAll(
            `select name, type, converted_type from parquet_schema(${quoteLiteral(files)}) where name <> 'duckdb_schema'`,
          )
        ).getRowObjectsJS();
        const expected = spec.columns.map((c) => ({ name: c.name, type: parquetTypes[c.type][0], converted_type: parquetTypes[c.type][1] }));
        expect(new Set(columns.map((c) => JSON.stringify(c)))).toEqual(new Set(expected.map((c) => JSON.stringify(c))));
      }
    } finally {
      duck.close();
    }
    const lineage = await queryLake(env.deps, 'select distinct file_id, source_file from transactions_all');
    expect(lineage).toEqual([{ file_id: result!.fileId, source_file: 'mixed.csv' }]);
  });

  it('numbers rows by their place in the file around consecutive malformed lines', async () => {
    env = await tempLake({}, NOW);
    const result = await ingestContent(
      'gappy.csv',
      'customer_id,transaction_id,order_ts,amount\nc1,t1,2024-12-01,1\nc2,t2,2024-12-01,2,x\nc3,t3,2024-12-01,3,x\n' +
        'c4,t4,2024-12-01,4\nc5,t5,2024-12-01,5,x\nc6,t6,2024-12-01,6\nc7,t7,2024-12-01,7\n',
    );
    expect(result).toMatchObject({ rowsRead: 7, rowsCurated: 4, rowsQuarantined: 3 });
    const kept = await queryLake(env.deps, 'select transaction_id, source_row::integer as row from transactions_all order by 2');
    expect(kept).toEqual([
      { transaction_id: 't1', row: 1 },
      { transaction_id: 't4', row: 4 },
      { transaction_id: 't6', row: 6 },
      { transaction_id: 't7', row: 7 },
    ]);
    const rejected = await queryLake(env.deps, 'select source_row::integer as row from quarantine_transactions order by 1');
    expect(rejected.map((r) => r.row)).toEqual([2, 3, 5]);
  });

  it('converts ISO timestamps with a UTC offset to UTC', async () => {
    env = await tempLake({}, NOW);
    await ingestContent(
      'offsets.csv',
      'customer_id,transaction_id,order_ts,amount\nc1,t1,2024-12-02T01:15:00+02:00,1\nc1,t2,2024-12-02T22:30:00-05:00,1\n' +
        'c1,t3,2024-12-02T10:00:00Z,1\nc1,t4,2024-12-02 10:00:00,1\n',
    );
    const rows = await queryLake(
      env.deps,
      "select transaction_id, strftime(order_ts, '%Y-%m-%d %H:%M') as ts, strftime(order_date, '%Y-%m-%d') as d from transactions order by 1",
    );
    expect(rows).toEqual([
      { transaction_id: 't1', ts: '2024-12-01 23:15', d: '2024-12-01' },
      { transaction_id: 't2', ts: '2024-12-03 03:30', d: '2024-12-03' },
      { transaction_id: 't3', ts: '2024-12-02 10:00', d: '2024-12-02' },
      { transaction_id: 't4', ts: '2024-12-02 10:00', d: '2024-12-02' },
    ]);
  });

  it('reports an empty and a binary file by name and still loads the other files', async () => {
    env = await tempLake({}, NOW);
    const results = await ingestFiles(env.deps, [
      source(join(badInput, 'empty.csv'), 'empty.csv'),
      source(join(badInput, 'binary.csv'), 'binary.csv'),
      source(join(badInput, 'mixed.csv'), 'mixed.csv'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['failed', 'failed', 'ingested']);
    expect(results[0]?.error).toBe('empty.csv: the file is empty');
    expect(results[1]?.error).toMatch(/^binary\.csv: binary content/);
    expect(results[2]?.rowsCurated).toBe(4);
    // A failed file is recorded, not dropped: its manifest says why.
    const manifest = JSON.parse((await env.lake.getText(lakeKeys.ingestManifest(results[1]!.fileId)))!);
    expect(manifest).toMatchObject({ status: 'failed', source: 'binary.csv' });
  });

  it('names a missing mapped column and the columns it found', async () => {
    env = await tempLake({ input: { columns: { amount: 'total' } } }, NOW);
    const [result] = await ingestFiles(env.deps, [source(join(badInput, 'mixed.csv'), 'mixed.csv')]);
    expect(result?.status).toBe('failed');
    expect(result?.error).toContain('mixed.csv: missing column(s) total (found: customer_id, transaction_id, order_ts, amount, currency, note)');
  });

  it('reads JSON Lines, quarantining a malformed line and a missing amount', async () => {
    env = await tempLake({}, NOW);
    const [result] = await ingestFiles(env.deps, [source(join(badInput, 'lines.jsonl'), 'lines.jsonl')]);
    expect(result).toMatchObject({ status: 'ingested', rowsRead: 4, rowsCurated: 2, rowsQuarantined: 2 });
    const rejected = await queryLake(env.deps, 'select source_row, reason from quarantine_transactions order by 1');
    expect(rejected).toEqual([
      { source_row: 3n, reason: 'malformed JSON line' },
      { source_row: 4n, reason: 'missing amount' },
    ]);
  });

  it('reads a JSON Lines file and a CSV file in one batch', async () => {
    env = await tempLake({}, NOW);
    const results = await ingestFiles(env.deps, [
      source(join(badInput, 'lines.jsonl'), 'lines.jsonl'),
      source(join(badInput, 'mixed.csv'), 'mixed.csv'),
    ]);
    expect(results.map((r) => [r.status, r.rowsCurated, r.rowsQuarantined])).toEqual([
      ['ingested', 2, 2],
      ['ingested', 4, 7],
    ]);
  });

  it('trims spaces, including non-ASCII ones, around every value before checking it', async () => {
    env = await tempLake({}, NOW);
    const nbsp = '\u00a0';
    const ideographicSpace = '\u3000';
    const result = await ingestContent(
      'padded.csv',
      'customer_id,transaction_id,order_ts,amount,currency\n' +
        ` c1 ,t1, 2024-12-01 , 5.00 ,usd \n` +
        `c2${nbsp},${ideographicSpace}t2,2024-12-02${nbsp},${nbsp}7,${nbsp}USD\n` +
        // Only spaces around the id: still the same transaction as t1, so a duplicate.
        `c3,  t1  ,2024-12-03,1,\n`,
    );
    expect(result).toMatchObject({ rowsRead: 3, rowsCurated: 2, rowsQuarantined: 1 });
    const curated = await queryLake(
      env.deps,
      "select customer_id, transaction_id, strftime(order_date, '%Y-%m-%d') as d, amount, currency from transactions order by 2",
    );
    expect(curated).toEqual([
      { customer_id: 'c1', transaction_id: 't1', d: '2024-12-01', amount: 5, currency: 'USD' },
      { customer_id: 'c2', transaction_id: 't2', d: '2024-12-02', amount: 7, currency: 'USD' },
    ]);
    const rejected = await queryLake(env.deps, 'select source_row, reason from quarantine_transactions');
    expect(rejected).toEqual([{ source_row: 3n, reason: 'duplicate transaction_id within file (first at row 1)' }]);
  });

  it('judges repeated transaction_ids among the rows that pass every other check', async () => {
    env = await tempLake({}, NOW);
    const result = await ingestContent(
      'repeats.csv',
      'customer_id,transaction_id,order_ts,amount\n' +
        // t1: the first copy is rejected for its amount, so the second is the transaction, not a duplicate.
        'c1,t1,2024-12-01,ten\nc1,t1,2024-12-01,10\n' +
        // t2 three times: the first valid copy is kept, the other two point at it.
        'c2,t2,2024-12-02,1\nc2,t2,2024-12-02,2\nc3,t3,2024-12-03,3\nc2,t2,2024-12-02,4\n',
    );
    expect(result).toMatchObject({ rowsRead: 6, rowsCurated: 3, rowsQuarantined: 3 });
    const curated = await queryLake(env.deps, 'select transaction_id, amount, source_row::integer as row from transactions_all order by row');
    expect(curated).toEqual([
      { transaction_id: 't1', amount: 10, row: 2 },
      { transaction_id: 't2', amount: 1, row: 3 },
      { transaction_id: 't3', amount: 3, row: 5 },
    ]);
    const rejected = await queryLake(env.deps, 'select source_row::integer as row, reason from quarantine_transactions order by row');
    expect(rejected).toEqual([
      { row: 1, reason: "non-numeric amount 'ten'" },
      { row: 4, reason: 'duplicate transaction_id within file (first at row 3)' },
      { row: 6, reason: 'duplicate transaction_id within file (first at row 3)' },
    ]);
  });

  it('names a variable a validation file reads but the ingest does not set', async () => {
    env = await tempLake({}, NOW);
    const sqlDir = join(env.root, 'sql');
    await cp(join(repoRoot, 'sql'), sqlDir, { recursive: true });
    const validation = join(sqlDir, 'ingest', 'validate_transactions.sql');
    // A misspelt variable would read as NULL and silently pass the currency check.
    await writeFile(validation, (await readFile(validation, 'utf8')).replace("<> getvariable('base_currency')", "<> getvariable('base_curency')"));
    await expect(ingestFiles({ ...env.deps, sqlDir }, [source(join(badInput, 'mixed.csv'), 'mixed.csv')])).rejects.toThrow(
      'ingest/validate_transactions.sql: unknown variable(s) base_curency',
    );
  });

  it('checks a customers file: signup dates, a missing id and a repeated one', async () => {
    env = await tempLake({}, NOW);
    const result = await ingestContent(
      'crm.csv',
      'customer_id,signup_ts\nc1,2024-01-05\nc2,not-a-date\nc1,2024-02-01\n,2024-03-01\nc3,\n',
      'customers',
    );
    expect(result).toMatchObject({ status: 'ingested', rowsRead: 5, rowsCurated: 2, rowsQuarantined: 3 });
    const duck = await openDuckDb();
    try {
      const lake = join(env.root, 'lake');
      const curated = await duck.connection.runAndReadAll(
        `select customer_id, strftime(signup_date, '%Y-%m-%d') as signup, source_row::integer as row
         from read_parquet(${quoteLiteral(join(lake, 'curated', 'customers', '**', '*.parquet'))}) order by row`,
      );
      expect(curated.getRowObjectsJS()).toEqual([
        { customer_id: 'c1', signup: '2024-01-05', row: 1 },
        { customer_id: 'c3', signup: null, row: 5 },
      ]);
      const rejected = await duck.connection.runAndReadAll(
        `select source_row::integer as row, reason
         from read_parquet(${quoteLiteral(join(lake, 'quarantine', 'customers', '**', '*.parquet'))}) order by row`,
      );
      expect(rejected.getRowObjectsJS()).toEqual([
        { row: 2, reason: "unparseable signup_ts 'not-a-date'" },
        { row: 3, reason: 'duplicate customer_id within file (first at row 1)' },
        { row: 4, reason: 'missing customer_id' },
      ]);
    } finally {
      duck.close();
    }
  });

  it('reads Parquet with mapped column names and strptime formats', async () => {
    env = await tempLake(
      { input: { columns: { customer_id: 'cust', transaction_id: 'order_no', order_ts: 'placed', amount: 'total' }, timestampFormats: ['%d.%m.%Y'] } },
      NOW,
    );
    const path = join(env.root, 'orders.parquet');
    const duck = await openDuckDb();
    await duck.connection.run(`copy (select * from (values ('a', 1, '05.12.2024', 10.5), ('b', 2, '2024-12-06', 3.0))
      t(cust, order_no, placed, total)) to ${quoteLiteral(path)} (format parquet)`);
    duck.close();
    const [result] = await ingestFiles(env.deps, [source(path, 'orders.parquet')]);
    expect(result).toMatchObject({ rowsRead: 2, rowsCurated: 1, rowsQuarantined: 1 });
    const [row] = await queryLake(env.deps, "select transaction_id, strftime(order_date, '%Y-%m-%d') as d from transactions");
    expect(row).toEqual({ transaction_id: '1', d: '2024-12-05' });
  });

  it('reads gzip-compressed CSV', async () => {
    env = await tempLake({}, NOW);
    const { gzipSync } = await import('node:zlib');
    const result = await ingestContent('mixed.csv.gz', gzipSync(await readFile(join(badInput, 'mixed.csv'))));
    expect(result).toMatchObject({ status: 'ingested', rowsRead: 11, rowsCurated: 4, rowsQuarantined: 7 });
  });

  it('skips content already ingested, whatever the file name, and leaves transactions unchanged', async () => {
    env = await tempLake({}, NOW);
    await ingestFiles(env.deps, [source(join(badInput, 'mixed.csv'), 'mixed.csv')]);
    const before = await queryLake(env.deps, 'select * from transactions_all order by transaction_id');
    const [again] = await ingestFiles(env.deps, [source(join(badInput, 'mixed.csv'), 'renamed-copy.csv')]);
    expect(again).toMatchObject({ status: 'skipped', rowsCurated: 4 });
    expect(await queryLake(env.deps, 'select * from transactions_all order by transaction_id')).toEqual(before);
  });

  it('lets a later file replace a repeated transaction_id', async () => {
    env = await tempLake({}, NOW);
    const first = join(env.root, 'first.csv');
    const second = join(env.root, 'second.csv');
    await writeFile(first, 'customer_id,transaction_id,order_ts,amount\nc1,t1,2024-11-01,10\nc2,t2,2024-11-02,20\n');
    await writeFile(second, 'customer_id,transaction_id,order_ts,amount\nc1,t1,2024-12-01,15\n');
    await ingestFiles(env.deps, [source(first)]);
    await ingestFiles({ ...env.deps, now: () => new Date(NOW.getTime() + 60_000) }, [source(second)]);
    await transform(env.deps);
    const rows = await queryLake(env.deps, 'select transaction_id, amount from transactions order by 1');
    expect(rows).toEqual([
      { transaction_id: 't1', amount: 15 },
      { transaction_id: 't2', amount: 20 },
    ]);
    const [c1] = await queryLake(env.deps, "select monetary, frequency from customer_rfm where customer_id = 'c1'");
    expect(c1).toEqual({ monetary: 15, frequency: 1 });
  });
});
