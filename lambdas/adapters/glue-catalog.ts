import { posix } from 'node:path';
import {
  BatchCreatePartitionCommand,
  BatchUpdatePartitionCommand,
  GetTableCommand,
  paginateGetPartitions,
  type GlueClient,
  type PartitionError,
  type PartitionInput,
  type StorageDescriptor,
} from '@aws-sdk/client-glue';
import { lakeKeys } from '../core/lake.ts';
import type { PublishedSnapshot } from '../core/snapshots.ts';

/**
 * Makes Athena see exactly the published snapshots. Each transform writes its marts under a folder of
 * its own (marts/<table>/as_of_date=D/run_id=R/) and publishes by pointer; here the Glue partition of
 * each (table, as_of_date) is pointed at the published run's folder.
 *
 * Why explicit partitions rather than partition projection for the marts: a projection derives the
 * location from a template, and the template cannot know which run_id is current, so Athena would
 * read every run's files for a date (failed and superseded runs included) or the runs would have to
 * overwrite one folder in place, which exposes half-written snapshots. With explicit partitions a
 * failed run never gets a partition, a new run becomes visible in one UpdatePartition per table, and
 * queries already running keep reading the previous run's files, which stay where they are.
 */

export interface LakeBucketLocation {
  readonly bucket: string;
  /** Key prefix of the lake in the bucket: '' or ending with '/'. */
  readonly prefix: string;
}

export interface SnapshotPartitionsTarget {
  readonly database: string;
  readonly lake: LakeBucketLocation;
  /** as_of_date → published snapshot, as in _manifests/published.json: the new one, or all to resync. */
  readonly snapshots: Readonly<Record<string, PublishedSnapshot>>;
}

export interface PartitionChange {
  readonly table: string;
  readonly asOfDate: string;
  readonly location: string;
  readonly action: 'created' | 'updated' | 'unchanged';
}

/** BatchCreatePartition and BatchUpdatePartition take at most 100 entries. */
const glueBatchSize = 100;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

function describeErrors(table: string, errors: readonly PartitionError[] | undefined): string | undefined {
  if (!errors || errors.length === 0) return undefined;
  return errors
    .map((e) => `${table} as_of_date=${e.PartitionValues?.join('/') ?? '?'}: ${e.ErrorDetail?.ErrorCode ?? 'error'} ${e.ErrorDetail?.ErrorMessage ?? ''}`.trim())
    .join('; ');
}

/** The partition's folder for a published file, checked against the lake layout so no partition points elsewhere. */
function partitionLocation(lake: LakeBucketLocation, table: string, asOfDate: string, snapshot: PublishedSnapshot): string {
  const key = snapshot.tables[table];
  const expected = lakeKeys.martFile(table, asOfDate, snapshot.runId);
  if (key !== expected) {
    throw new Error(`published key for ${table} on ${asOfDate} is ${key}, not the run's folder ${expected}: partition not changed`);
  }
  return `s3://${lake.bucket}/${lake.prefix}${posix.dirname(key)}/`;
}

/** The table's storage settings (columns, SerDe, formats) for a partition at `location`. */
function partitionInput(asOfDate: string, table: StorageDescriptor, location: string): PartitionInput {
  return {
    Values: [asOfDate],
    StorageDescriptor: {
      Columns: table.Columns,
      InputFormat: table.InputFormat,
      OutputFormat: table.OutputFormat,
      SerdeInfo: table.SerdeInfo,
      Compressed: table.Compressed,
      Parameters: table.Parameters,
      Location: location,
    },
  };
}

/**
 * Creates or updates each mart table's as_of_date partition so it points at the published run's
 * folder; partitions already pointing there are left alone, so calling it again changes nothing.
 */
export async function publishSnapshotPartitions(glue: GlueClient, target: SnapshotPartitionsTarget): Promise<PartitionChange[]> {
  const wanted = new Map<string, Map<string, string>>();
  for (const [asOfDate, snapshot] of Object.entries(target.snapshots)) {
    for (const table of Object.keys(snapshot.tables)) {
      const byDate = wanted.get(table) ?? new Map<string, string>();
      byDate.set(asOfDate, partitionLocation(target.lake, table, asOfDate, snapshot));
      wanted.set(table, byDate);
    }
  }

  const changes: PartitionChange[] = [];
  for (const [table, byDate] of wanted) {
    const { Table: glueTable } = await glue.send(new GetTableCommand({ DatabaseName: target.database, Name: table }));
    const storage = glueTable?.StorageDescriptor;
    if (!storage) throw new Error(`Glue table ${target.database}.${table} has no storage descriptor`);

    const current = new Map<string, string | undefined>();
    const pages = paginateGetPartitions({ client: glue }, { DatabaseName: target.database, TableName: table, ExcludeColumnSchema: true });
    for await (const page of pages) {
      for (const partition of page.Partitions ?? []) {
        const value = partition.Values?.[0];
        if (value !== undefined) current.set(value, partition.StorageDescriptor?.Location);
      }
    }

    const toCreate: PartitionInput[] = [];
    const toUpdate: PartitionInput[] = [];
    for (const [asOfDate, location] of [...byDate].sort(([a], [b]) => a.localeCompare(b))) {
      const action = !current.has(asOfDate) ? 'created' : current.get(asOfDate) === location ? 'unchanged' : 'updated';
      if (action === 'created') toCreate.push(partitionInput(asOfDate, storage, location));
      if (action === 'updated') toUpdate.push(partitionInput(asOfDate, storage, location));
      changes.push({ table, asOfDate, location, action });
    }

    for (const batch of chunks(toCreate, glueBatchSize)) {
      const result = await glue.send(
        new BatchCreatePartitionCommand({ DatabaseName: target.database, TableName: table, PartitionInputList: batch }),
      );
      const problems = describeErrors(table, result.Errors);
      if (problems) throw new Error(`Glue could not create partitions: ${problems}`);
    }
    for (const batch of chunks(toUpdate, glueBatchSize)) {
      const result = await glue.send(
        new BatchUpdatePartitionCommand({
          DatabaseName: target.database,
          TableName: table,
          Entries: batch.map((input) => ({ PartitionValueList: input.Values, PartitionInput: input })),
        }),
      );
      const problems = result.Errors?.map((e) => ({ PartitionValues: e.PartitionValueList, ErrorDetail: e.ErrorDetail }));
      const message = describeErrors(table, problems);
      if (message) throw new Error(`Glue could not update partitions: ${message}`);
    }
  }
  return changes;
}
