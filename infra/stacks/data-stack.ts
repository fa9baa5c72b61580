import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { analystQueries } from '../analyst-queries.ts';
import type { InfraConfig } from '../config.ts';
import { AnalyticsWorkgroup } from '../constructs/analytics.ts';
import { LakeCatalog } from '../constructs/catalog.ts';
import { LakeStorage } from '../constructs/storage.ts';

/**
 * The data stack's contract with the pipeline stack: CloudFormation exports with fixed names. The
 * pipeline imports them by name, so the data stack's construct tree can change without breaking
 * the references, and the references (and cdk-nag's findings on them) read the same in every synth.
 */
export interface LakeDataExportNames {
  readonly rawBucketName: string;
  readonly rawBucketArn: string;
  readonly lakeBucketName: string;
  readonly lakeBucketArn: string;
  readonly athenaResultsBucketName: string;
  readonly athenaResultsBucketArn: string;
  /** Only exported when encryption is `kms`. */
  readonly dataKeyArn: string;
}

export function lakeDataExportNames(namePrefix: string): LakeDataExportNames {
  const name = (value: string) => `${namePrefix}:${value}`;
  return {
    rawBucketName: name('RawBucketName'),
    rawBucketArn: name('RawBucketArn'),
    lakeBucketName: name('LakeBucketName'),
    lakeBucketArn: name('LakeBucketArn'),
    athenaResultsBucketName: name('AthenaResultsBucketName'),
    athenaResultsBucketArn: name('AthenaResultsBucketArn'),
    dataKeyArn: name('DataKeyArn'),
  };
}

export interface LakeDataStackProps extends StackProps {
  readonly config: InfraConfig;
}

export function removalPolicyOf(config: InfraConfig): RemovalPolicy {
  return config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}

/** Names Athena and Glue need: the database takes underscores, the workgroup the prefix itself. */
export function catalogNames(config: InfraConfig): { databaseName: string; workGroupName: string } {
  return { databaseName: config.namePrefix.replaceAll('-', '_'), workGroupName: config.namePrefix };
}

/**
 * The stateful stack: buckets, Glue catalog and Athena workgroup. Termination protection is on unless
 * the removal policy is `destroy` (a throwaway deployment).
 */
export class LakeDataStack extends Stack {
  public readonly storage: LakeStorage;
  public readonly catalog: LakeCatalog;
  public readonly analytics: AnalyticsWorkgroup;

  constructor(scope: Construct, id: string, props: LakeDataStackProps) {
    const removalPolicy = removalPolicyOf(props.config);
    super(scope, id, { terminationProtection: removalPolicy === RemovalPolicy.RETAIN, ...props });
    const { config } = props;
    const names = catalogNames(config);

    this.storage = new LakeStorage(this, 'Storage', {
      encryption: config.encryption,
      removalPolicy,
      athenaResultsExpirationDays: config.athenaResultsExpirationDays,
      exportsExpirationDays: config.exportsExpirationDays,
    });
    this.catalog = new LakeCatalog(this, 'Catalog', {
      databaseName: names.databaseName,
      lakeBucket: this.storage.lakeBucket,
      transactionsFromMonth: config.transactionsFromMonth,
      ingestDatesFrom: config.ingestDatesFrom,
      removalPolicy,
    });
    this.analytics = new AnalyticsWorkgroup(this, 'Analytics', {
      workGroupName: names.workGroupName,
      databaseName: names.databaseName,
      resultsBucket: this.storage.athenaResultsBucket,
      resultsKey: this.storage.key,
      bytesScannedCutoffPerQuery: config.athenaBytesScannedCutoff,
      namedQueries: analystQueries,
      removalPolicy,
    });

    const exportNames = lakeDataExportNames(config.namePrefix);
    const output = (id: string, value: string, exportName: string, description: string) =>
      new CfnOutput(this, id, { value, exportName, description });
    const { rawBucket, lakeBucket, athenaResultsBucket, key } = this.storage;
    output('RawBucketName', rawBucket.bucketName, exportNames.rawBucketName, 'Upload transaction files here');
    output('RawBucketArn', rawBucket.bucketArn, exportNames.rawBucketArn, 'Raw bucket ARN');
    output('LakeBucketName', lakeBucket.bucketName, exportNames.lakeBucketName, 'Curated data, marts and exports');
    output('LakeBucketArn', lakeBucket.bucketArn, exportNames.lakeBucketArn, 'Lake bucket ARN');
    output('AthenaResultsBucketName', athenaResultsBucket.bucketName, exportNames.athenaResultsBucketName, 'Athena query results');
    output('AthenaResultsBucketArn', athenaResultsBucket.bucketArn, exportNames.athenaResultsBucketArn, 'Athena results bucket ARN');
    if (key) output('DataKeyArn', key.keyArn, exportNames.dataKeyArn, 'KMS key of the buckets');
    new CfnOutput(this, 'GlueDatabase', { value: names.databaseName, description: 'Glue database to query' });
    new CfnOutput(this, 'AthenaWorkGroup', { value: names.workGroupName, description: 'Athena workgroup for BI tools and analysts' });
  }
}
