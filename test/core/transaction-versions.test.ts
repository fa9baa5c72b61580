import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDuckDb, queryRows } from '../../lambdas/core/duckdb.ts';
import { latestTransactionVersionsSql, supersededTransactionVersionsSql } from '../../lambdas/core/transaction-versions.ts';

describe('latestTransactionVersionsSql', () => {
  it('keeps one row per transaction_id: the latest ingest, then the higher file id, then the later row', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'versions-'));
    const db = await openDuckDb({ tempDirectory: dir });
    try {
      await db.connection.run(`create table versions as select * from (values
        ('t1', 10, timestamp '2024-01-01 00:00:00', 'f1', 1),
        ('t1', 11, timestamp '2024-01-03 00:00:00', 'f3', 9),
        ('t1', 12, timestamp '2024-01-02 00:00:00', 'f2', 5),
        ('t2', 20, timestamp '2024-01-01 00:00:00', 'fa', 2),
        ('t2', 21, timestamp '2024-01-01 00:00:00', 'fb', 1),
        ('t3', 30, timestamp '2024-01-01 00:00:00', 'f1', 3),
        ('t3', 31, timestamp '2024-01-01 00:00:00', 'f1', 4),
        ('t4', 40, timestamp '2024-01-01 00:00:00', 'f1', 6)
      ) as v(transaction_id, amount, ingested_at, file_id, source_row)`);
      const rows = await queryRows(
        db.connection,
        `select transaction_id, amount from (${latestTransactionVersionsSql('versions')}) order by transaction_id`,
      );
      // t1: latest ingest (01-03); t2: same ingest, higher file id fb; t3: same file, later row 4; t4: alone.
      expect(rows).toEqual([
        { transaction_id: 't1', amount: 11 },
        { transaction_id: 't2', amount: 21 },
        { transaction_id: 't3', amount: 31 },
        { transaction_id: 't4', amount: 40 },
      ]);
      // The superseded rows are exactly the others, so leaving them out of any batch leaves the latest.
      const superseded = await queryRows(
        db.connection,
        `select file_id, source_row::integer as source_row from (${supersededTransactionVersionsSql('versions')}) order by all`,
      );
      expect(superseded).toEqual([
        { file_id: 'f1', source_row: 1 },
        { file_id: 'f1', source_row: 3 },
        { file_id: 'f2', source_row: 5 },
        { file_id: 'fa', source_row: 2 },
      ]);
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
