import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { allTables, type ColumnSpec, type ColumnType, type TableSpec } from '../../lambdas/core/schema/tables.ts';

/** Hive/Glue type of each schema type, as Athena reads DuckDB's Parquet output. */
const glueTypes: Record<ColumnType, string> = {
  VARCHAR: 'string',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  INTEGER: 'int',
  BIGINT: 'bigint',
  DOUBLE: 'double',
  BOOLEAN: 'boolean',
  'DECIMAL(18,2)': 'decimal(18,2)',
};

/** Glue limits a column comment to 255 characters. */
const maxCommentLength = 255;

function glueColumn(table: TableSpec, column: ColumnSpec): glue.CfnTable.ColumnProperty {
  if (column.description.length > maxCommentLength) {
    throw new Error(
      `${table.name}.${column.name}: description is ${column.description.length} characters, Glue allows ${maxCommentLength}; shorten it in lambdas/core/schema/tables.ts`,
    );
  }
  return { name: column.name, type: glueTypes[column.type], comment: column.description };
}

/** Where each table's files live: the lake layout of DESIGN.md §3 (lakeKeys). */
export function tableFolder(table: TableSpec): string {
  switch (table.layer) {
    case 'curated':
      return `curated/${table.name}/`;
    case 'quarantine':
      return `quarantine/${table.name.replace(/^quarantine_/, '')}/`;
    case 'mart':
      return `marts/${table.name}/`;
    case 'state':
      return `state/${table.name}/`;
  }
}

export interface LakeCatalogProps {
  readonly databaseName: string;
  readonly lakeBucket: s3.IBucket;
  /** Tables to define; default every table of the schema source. */
  readonly tables?: readonly TableSpec[];
  /** First month (YYYY-MM) projected for order_month partitions. Default 1990-01. */
  readonly transactionsFromMonth?: string;
  /** First day (YYYY-MM-DD) projected for ingest_date partitions. Default 2024-01-01. */
  readonly ingestDatesFrom?: string;
  /** Default RETAIN: mart partitions are registered at run time and would be lost with the table. */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Glue database and one Parquet table per schema-source table, columns and comments generated
 * from lambdas/core/schema/tables.ts. Curated and quarantine tables use partition projection
 * (order_month by month, ingest_date by day): their folders are named by the partition value alone,
 * so Athena computes them and nothing registers partitions. Marts use explicit as_of_date partitions,
 * pointed at the published run's folder at publish time (lambdas/adapters/glue-catalog.ts explains
 * why a projection cannot do that).
 */
export class LakeCatalog extends Construct {
  public readonly database: glue.CfnDatabase;
  public readonly databaseName: string;
  public readonly tables: Readonly<Record<string, glue.CfnTable>>;

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    if (!/^[a-z0-9_]{1,255}$/.test(props.databaseName)) {
      throw new Error(`databaseName "${props.databaseName}": Athena needs lowercase letters, digits and underscores`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const account = Stack.of(this).account;
    this.databaseName = props.databaseName;
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: {
        name: props.databaseName,
        description: 'lifecycle-lake: curated transactions, quarantine and customer-analytics marts',
      },
    });
    this.database.applyRemovalPolicy(removalPolicy);

    const projections: Readonly<Record<string, Readonly<Record<string, string>>>> = {
      order_month: {
        type: 'date',
        format: 'yyyy-MM',
        range: `${props.transactionsFromMonth ?? '1990-01'},NOW`,
        interval: '1',
        'interval.unit': 'MONTHS',
      },
      ingest_date: {
        type: 'date',
        format: 'yyyy-MM-dd',
        range: `${props.ingestDatesFrom ?? '2024-01-01'},NOW`,
        interval: '1',
        'interval.unit': 'DAYS',
      },
    };

    const tables: Record<string, glue.CfnTable> = {};
    for (const spec of props.tables ?? allTables) {
      const location = props.lakeBucket.s3UrlForObject(tableFolder(spec));
      const partition = spec.partition.name;
      const projection = spec.layer === 'mart' ? undefined : projections[partition];
      if (spec.layer !== 'mart' && projection === undefined) {
        throw new Error(`${spec.name}: no partition projection for ${partition}; add one to LakeCatalog`);
      }
      const table = new glue.CfnTable(this, `Table-${spec.name}`, {
        catalogId: account,
        databaseName: props.databaseName,
        tableInput: {
          name: spec.name,
          description: spec.description,
          tableType: 'EXTERNAL_TABLE',
          parameters: {
            classification: 'parquet',
            EXTERNAL: 'TRUE',
            ...(projection && {
              'projection.enabled': 'true',
              ...Object.fromEntries(Object.entries(projection).map(([k, v]) => [`projection.${partition}.${k}`, v])),
              'storage.location.template': `${location}${partition}=\${${partition}}/`,
            }),
          },
          partitionKeys: [glueColumn(spec, spec.partition)],
          storageDescriptor: {
            location,
            columns: spec.columns.map((column) => glueColumn(spec, column)),
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: {
              serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
              parameters: { 'serialization.format': '1' },
            },
          },
        },
      });
      table.addResourceDependency(this.database);
      table.applyRemovalPolicy(removalPolicy);
      tables[spec.name] = table;
    }
    this.tables = tables;
  }
}
