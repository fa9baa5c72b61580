import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { constantText, openDuckDb, queryRows, quoteLiteral } from '../../lambdas/core/duckdb.ts';

describe('DuckDB settings', () => {
  it('applies the memory limit, threads and a spill folder under the given temp directory, in UTC', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duckdb-settings-'));
    const duck = await openDuckDb({ memoryLimit: '256MB', threads: 1, tempDirectory: dir });
    try {
      const [row] = await queryRows(
        duck.connection,
        `select current_setting('memory_limit') as memory, current_setting('threads')::integer as threads,
                current_setting('temp_directory') as spill, current_setting('TimeZone') as tz,
                current_setting('autoinstall_known_extensions') as autoinstall`,
      );
      // DuckDB reports 256 MB as 244.1 MiB.
      expect(row).toEqual({ memory: '244.1 MiB', threads: 1, spill: join(dir, 'spill'), tz: 'UTC', autoinstall: false });
    } finally {
      duck.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('spills instead of failing when a sort exceeds the memory limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duckdb-spill-'));
    const duck = await openDuckDb({ memoryLimit: '64MB', threads: 1, tempDirectory: dir });
    try {
      // About 3M rows of 64-character keys: several times 64 MB to sort, written out in order.
      const sorted = join(dir, 'sorted.parquet');
      await duck.connection.run(
        `copy (select md5(range::varchar) || md5((range * 7)::varchar) as k from range(3000000) order by k)
         to '${sorted}' (format parquet)`,
      );
      // Checked on an instance without the limit.
      const check = await openDuckDb({ tempDirectory: join(dir, 'check') });
      try {
        const [row] = await queryRows(
          check.connection,
          `select count(*)::integer as n, bool_and(k >= previous) as ascending
           from (select k, lag(k, 1, '') over (order by file_row_number) as previous
                 from read_parquet('${sorted}', file_row_number = true))`,
        );
        expect(row).toEqual({ n: 3_000_000, ascending: true });
      } finally {
        check.close();
      }
    } finally {
      duck.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('constantText', () => {
  it('writes a constant, quotes included, as a plain UTF-8 string column that reads back as the text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifecycle-lake-constant-'));
    const duck = await openDuckDb();
    try {
      const path = join(dir, 'constant.parquet');
      await duck.connection.run(
        `copy (select ${constantText("it's.csv")} as source_file from range(3)) to ${quoteLiteral(path)} (format parquet)`,
      );
      const schema = await queryRows(
        duck.connection,
        `select type, converted_type, logical_type from parquet_schema(${quoteLiteral(path)}) where name = 'source_file'`,
      );
      expect(schema).toEqual([{ type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: null }]);
      const values = await queryRows(
        duck.connection,
        `select typeof(source_file) as type, source_file from read_parquet(${quoteLiteral(path)})`,
      );
      expect(values).toEqual(Array(3).fill({ type: 'VARCHAR', source_file: "it's.csv" }));
    } finally {
      duck.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
