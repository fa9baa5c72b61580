/**
 * The Glue Data Catalog has no local equivalent, so client-glue is mocked (aws-sdk-client-mock):
 * these tests pin which partitions are created, updated or left alone, and the requests' shapes.
 */
import {
  BatchCreatePartitionCommand,
  BatchUpdatePartitionCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GlueClient,
  type StorageDescriptor,
} from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { publishSnapshotPartitions } from '../../lambdas/adapters/glue-catalog.ts';

const glue = mockClient(GlueClient);
const client = new GlueClient({ region: 'eu-west-1' });

const tableStorage: StorageDescriptor = {
  Columns: [
    { Name: 'customer_id', Type: 'string', Comment: 'Customer identifier from the source.' },
    { Name: 'recency_days', Type: 'int', Comment: 'Days from last_order_date to as_of_date.' },
  ],
  Location: 's3://lake-bucket/prefix/marts/customer_rfm/',
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe', Parameters: { 'serialization.format': '1' } },
  Compressed: false,
};

const snapshot = (runId: string, asOfDate: string) => ({
  runId,
  publishedAt: `${asOfDate}T03:00:00Z`,
  tables: { customer_rfm: `marts/customer_rfm/as_of_date=${asOfDate}/run_id=${runId}/customer_rfm.parquet` },
});

const target = {
  database: 'lifecycle_lake',
  lake: { bucket: 'lake-bucket', prefix: 'prefix/' },
};

const folder = (asOfDate: string, runId: string) => `s3://lake-bucket/prefix/marts/customer_rfm/as_of_date=${asOfDate}/run_id=${runId}/`;

function partition(asOfDate: string, location: string) {
  return { Values: [asOfDate], StorageDescriptor: { ...tableStorage, Location: location } };
}

beforeEach(() => {
  glue.reset();
  glue.on(GetTableCommand).resolves({ Table: { Name: 'customer_rfm', DatabaseName: 'lifecycle_lake', StorageDescriptor: tableStorage } });
  glue.on(BatchCreatePartitionCommand).resolves({});
  glue.on(BatchUpdatePartitionCommand).resolves({});
});

describe('publishSnapshotPartitions', () => {
  it('creates missing partitions, repoints changed ones at the published run and leaves current ones alone', async () => {
    glue
      .on(GetPartitionsCommand)
      .resolvesOnce({
        Partitions: [{ Values: ['2024-04-01'], StorageDescriptor: { Location: folder('2024-04-01', 'r0') } }],
        NextToken: 'page-2',
      })
      .resolvesOnce({ Partitions: [{ Values: ['2024-05-01'], StorageDescriptor: { Location: folder('2024-05-01', 'r1') } }] });

    const changes = await publishSnapshotPartitions(client, {
      ...target,
      snapshots: { '2024-04-01': snapshot('r0', '2024-04-01'), '2024-05-01': snapshot('r2', '2024-05-01'), '2024-06-01': snapshot('r3', '2024-06-01') },
    });

    expect(changes).toEqual([
      { table: 'customer_rfm', asOfDate: '2024-04-01', location: folder('2024-04-01', 'r0'), action: 'unchanged' },
      { table: 'customer_rfm', asOfDate: '2024-05-01', location: folder('2024-05-01', 'r2'), action: 'updated' },
      { table: 'customer_rfm', asOfDate: '2024-06-01', location: folder('2024-06-01', 'r3'), action: 'created' },
    ]);
    expect(glue.commandCalls(GetTableCommand)[0]?.args[0].input).toEqual({ DatabaseName: 'lifecycle_lake', Name: 'customer_rfm' });
    // Both pages were read: 2024-04-01 (page 1) is unchanged, 2024-05-01 (page 2) is repointed.
    expect(glue.commandCalls(GetPartitionsCommand)).toHaveLength(2);
    expect(glue.commandCalls(GetPartitionsCommand)[0]?.args[0].input).toMatchObject({
      DatabaseName: 'lifecycle_lake',
      TableName: 'customer_rfm',
      ExcludeColumnSchema: true,
    });
    expect(glue.commandCalls(BatchCreatePartitionCommand).map((c) => c.args[0].input)).toEqual([
      { DatabaseName: 'lifecycle_lake', TableName: 'customer_rfm', PartitionInputList: [partition('2024-06-01', folder('2024-06-01', 'r3'))] },
    ]);
    expect(glue.commandCalls(BatchUpdatePartitionCommand).map((c) => c.args[0].input)).toEqual([
      {
        DatabaseName: 'lifecycle_lake',
        TableName: 'customer_rfm',
        Entries: [{ PartitionValueList: ['2024-05-01'], PartitionInput: partition('2024-05-01', folder('2024-05-01', 'r2')) }],
      },
    ]);
  });

  it('changes nothing when every partition already points at its published run', async () => {
    glue.on(GetPartitionsCommand).resolves({ Partitions: [{ Values: ['2024-05-01'], StorageDescriptor: { Location: folder('2024-05-01', 'r2') } }] });
    const changes = await publishSnapshotPartitions(client, { ...target, snapshots: { '2024-05-01': snapshot('r2', '2024-05-01') } });
    expect(changes.map((c) => c.action)).toEqual(['unchanged']);
    expect(glue.commandCalls(BatchCreatePartitionCommand)).toHaveLength(0);
    expect(glue.commandCalls(BatchUpdatePartitionCommand)).toHaveLength(0);
  });

  it('sends at most 100 partitions per batch request', async () => {
    glue.on(GetPartitionsCommand).resolves({ Partitions: [] });
    const dates = Array.from({ length: 150 }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10));
    await publishSnapshotPartitions(client, { ...target, snapshots: Object.fromEntries(dates.map((d) => [d, snapshot('r', d)])) });
    expect(glue.commandCalls(BatchCreatePartitionCommand).map((c) => c.args[0].input.PartitionInputList?.length)).toEqual([100, 50]);
  });

  it('throws with the table, partition and Glue’s reason when a batch entry fails', async () => {
    glue.on(GetPartitionsCommand).resolves({ Partitions: [] });
    glue.on(BatchCreatePartitionCommand).resolves({
      Errors: [{ PartitionValues: ['2024-06-01'], ErrorDetail: { ErrorCode: 'AlreadyExistsException', ErrorMessage: 'Partition already exists.' } }],
    });
    await expect(publishSnapshotPartitions(client, { ...target, snapshots: { '2024-06-01': snapshot('r3', '2024-06-01') } })).rejects.toThrow(
      'Glue could not create partitions: customer_rfm as_of_date=2024-06-01: AlreadyExistsException Partition already exists.',
    );
  });

  it('refuses to point a partition anywhere but the run’s own folder', async () => {
    const stray = { ...snapshot('r3', '2024-06-01'), tables: { customer_rfm: 'marts/customer_rfm/latest/customer_rfm.parquet' } };
    await expect(publishSnapshotPartitions(client, { ...target, snapshots: { '2024-06-01': stray } })).rejects.toThrow(
      'not the run\'s folder marts/customer_rfm/as_of_date=2024-06-01/run_id=r3/customer_rfm.parquet',
    );
    expect(glue.commandCalls(GetTableCommand)).toHaveLength(0);
  });
});
