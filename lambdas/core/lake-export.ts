import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from './duckdb.ts';
import { customer360View, exportCsvKey, exportSelect, parseExportRequest } from './exports.ts';
import type { Lake } from './lake.ts';
import { createLakeViewsFor } from './query.ts';
import { latestPublishedDate, readPublishedIndex } from './snapshots.ts';
import { newRunId } from './transform.ts';

export interface LakeExportResult {
  /** Where the CSV is: the lake's location and the key under it. */
  readonly location: string;
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  /** The snapshot the customers come from: the latest published. */
  readonly asOfDate: string;
}

export class NoSnapshotError extends Error {
  override readonly name = 'NoSnapshotError';
}

/**
 * A marketing export run on DuckDB over the lake itself, for a lake without Athena (a local folder, or
 * S3 from the CLI): the request is checked and turned into SQL as for the export Lambda (exports.ts),
 * run over the same customer_360 columns, and its CSV (header row first, ordered by customer_id) goes to
 * exports/<name>/<UTC date>/<run id>/<name>.csv, a new folder each time, so a re-run never overwrites
 * an export someone has picked up.
 */
export async function exportFromLake(
  connection: DuckDBConnection,
  lake: Lake,
  workDir: string,
  rawRequest: unknown,
  now: Date = new Date(),
): Promise<LakeExportResult> {
  const request = parseExportRequest(rawRequest);
  const asOfDate = latestPublishedDate(await readPublishedIndex(lake));
  if (asOfDate === undefined) throw new NoSnapshotError(`no published snapshot in ${lake.location}: run transform first`);

  const { sql, values } = exportSelect(request, quoteIdent(customer360View));
  await createLakeViewsFor(connection, lake, join(workDir, 'lake'), sql);
  const folder = join(workDir, 'export');
  await mkdir(folder, { recursive: true });
  const csvPath = join(folder, `${request.name}.csv`);
  try {
    const copied = await connection.runAndReadAll(`copy (${sql}) to ${quoteLiteral(csvPath)} (format csv, header)`, [...values]);
    const key = exportCsvKey(request.name, now.toISOString().slice(0, 10), newRunId(now));
    await lake.upload(csvPath, key);
    return {
      location: `${lake.location.replace(/\/$/, '')}/${key}`,
      key,
      rows: Number(copied.getRows()[0]?.[0] ?? 0),
      bytes: (await stat(csvPath)).size,
      asOfDate,
    };
  } finally {
    await rm(csvPath, { force: true });
  }
}
