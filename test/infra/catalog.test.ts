import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { LakeCatalog, tableFolder } from '../../infra/constructs/catalog.ts';
import { lakeKeys } from '../../lambdas/core/lake.ts';
import { allTables, martTables, type ColumnType, type TableSpec } from '../../lambdas/core/schema/tables.ts';
import { synthesizeApp, type SynthesizedApp } from './app-fixture.ts';

/** How Athena must see each schema type (written out here, independently of the construct's map). */
const expectedGlueType: Record<ColumnType, string> = {
  VARCHAR: 'string',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  INTEGER: 'int',
  BIGINT: 'bigint',
  DOUBLE: 'double',
  BOOLEAN: 'boolean',
  'DECIMAL(18,2)': 'decimal(18,2)',
};

interface TableInput {
  Name: string;
  Description: string;
  Parameters: Record<string, string>;
  PartitionKeys: { Name: string; Type: string; Comment: string }[];
  StorageDescriptor: {
    Location: { 'Fn::Join': [string, unknown[]] };
    Columns: { Name: string; Type: string; Comment: string }[];
    InputFormat: string;
    OutputFormat: string;
    SerdeInfo: { SerializationLibrary: string };
  };
}

describe('LakeCatalog', () => {
  let synth: SynthesizedApp;
  let tables: Map<string, TableInput>;

  beforeAll(() => {
    synth = synthesizeApp({ context: { transactionsFromMonth: '1997-01', ingestDatesFrom: '2025-03-01' } });
    const resources = synth.dataTemplate.findResources('AWS::Glue::Table') as Record<string, { Properties: { TableInput: TableInput } }>;
    tables = new Map(Object.values(resources).map((r) => [r.Properties.TableInput.Name, r.Properties.TableInput]));
  });

  it('defines the database and one table per table of the schema source', () => {
    synth.dataTemplate.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'lifecycle_lake' } });
    expect([...tables.keys()].sort()).toEqual(allTables.map((t) => t.name).sort());
  });

  it.each(allTables.map((t) => [t.name, t] as const))('%s: columns, types and comments are the schema source’s', (_name, spec: TableSpec) => {
    const table = tables.get(spec.name);
    expect(table?.Description).toBe(spec.description);
    expect(table?.StorageDescriptor.Columns).toEqual(
      spec.columns.map((c) => ({ Name: c.name, Type: expectedGlueType[c.type], Comment: c.description })),
    );
    expect(table?.PartitionKeys).toEqual([
      { Name: spec.partition.name, Type: expectedGlueType[spec.partition.type], Comment: spec.partition.description },
    ]);
  });

  it('reads Parquet with the Hive Parquet SerDe', () => {
    for (const table of tables.values()) {
      expect(table.Parameters.classification).toBe('parquet');
      expect(table.StorageDescriptor.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
      expect(table.StorageDescriptor.OutputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat');
      expect(table.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    }
  });

  it('projects order_month monthly and ingest_date daily from the configured starts, into the lake folders', () => {
    const transactions = tables.get('transactions');
    expect(transactions?.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.order_month.type': 'date',
      'projection.order_month.format': 'yyyy-MM',
      'projection.order_month.range': '1997-01,NOW',
      'projection.order_month.interval': '1',
      'projection.order_month.interval.unit': 'MONTHS',
    });
    for (const name of ['customers', 'acquisition_costs', 'quarantine_transactions']) {
      expect(tables.get(name)?.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.ingest_date.type': 'date',
        'projection.ingest_date.format': 'yyyy-MM-dd',
        'projection.ingest_date.range': '2025-03-01,NOW',
        'projection.ingest_date.interval.unit': 'DAYS',
      });
    }
    // The template is the table location plus the partition folder: s3://<lake>/curated/transactions/order_month=${order_month}/
    const template = transactions?.Parameters['storage.location.template'] as unknown;
    expect(JSON.stringify(template)).toContain('curated/transactions/order_month=${order_month}/');
  });

  it('gives marts explicit as_of_date partitions (set at publish time), not a projection', () => {
    for (const mart of martTables) {
      const table = tables.get(mart.name);
      expect(table?.PartitionKeys.map((k) => [k.Name, k.Type])).toEqual([['as_of_date', 'date']]);
      expect(Object.keys(table?.Parameters ?? {}).filter((k) => k.startsWith('projection.') || k.startsWith('storage.'))).toEqual([]);
    }
  });

  it('places each table where the pipeline writes it (lakeKeys)', () => {
    const written: Record<string, string> = {
      transactions: lakeKeys.curatedTransactions,
      customers: lakeKeys.curatedCustomers,
      acquisition_costs: lakeKeys.curatedAcquisitionCosts,
      quarantine_transactions: lakeKeys.quarantineFile('transactions', '2024-01-01', 'f'),
      ...Object.fromEntries(martTables.map((t) => [t.name, lakeKeys.martFile(t.name, '2024-01-01', 'r')])),
    };
    for (const table of allTables) {
      expect(written[table.name]?.startsWith(tableFolder(table))).toBe(true);
      const location = tables.get(table.name)?.StorageDescriptor.Location['Fn::Join'][1];
      expect(location?.at(-1)).toBe(`/${tableFolder(table)}`);
    }
  });

  it('retains the database and tables: mart partitions registered at run time live in them', () => {
    synth.dataTemplate.allResources('AWS::Glue::Table', { DeletionPolicy: 'Retain' });
    synth.dataTemplate.allResources('AWS::Glue::Database', { DeletionPolicy: 'Retain' });
  });

  it('rejects a description Glue cannot store as a comment, naming the column and the file to fix', () => {
    const stack = new Stack(new App(), 'Test');
    const longDescription: TableSpec = {
      ...martTables[0]!,
      columns: [{ name: 'wordy', type: 'VARCHAR', description: 'x'.repeat(256) }],
    };
    expect(() => new LakeCatalog(stack, 'Catalog', { databaseName: 'db', lakeBucket: new s3.Bucket(stack, 'B'), tables: [longDescription] })).toThrow(
      'customer_rfm.wordy: description is 256 characters, Glue allows 255; shorten it in lambdas/core/schema/tables.ts',
    );
  });
});
