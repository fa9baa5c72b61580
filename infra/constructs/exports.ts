import type { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag.ts';
import { LakeFunction, glueArns, type FunctionSize } from './lake-function.ts';

export interface MarketingExportsProps {
  readonly lakeBucket: s3.IBucket;
  readonly athenaResultsBucket: s3.IBucket;
  readonly databaseName: string;
  readonly workGroupName: string;
  readonly architecture: lambda.Architecture;
  readonly size: FunctionSize;
  readonly logRetention?: logs.RetentionDays;
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The export Lambda: queries customer_360 in the workgroup and copies the CSV result under exports/.
 * Athena reads the marts and writes results with the caller's permissions, hence the read grant on
 * marts/ and the results grant.
 */
export class MarketingExports extends Construct {
  public readonly lakeFunction: LakeFunction;

  constructor(scope: Construct, id: string, props: MarketingExportsProps) {
    super(scope, id);
    this.lakeFunction = new LakeFunction(this, 'Export', {
      entry: 'lambdas/export/handler.ts',
      description: 'lifecycle-lake export: writes a filtered customer list as CSV under exports/',
      architecture: props.architecture,
      size: props.size,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        LAKE_BUCKET: props.lakeBucket.bucketName,
        GLUE_DATABASE: props.databaseName,
        ATHENA_WORKGROUP: props.workGroupName,
      },
    });
    const fn = this.lakeFunction.function;

    this.lakeFunction.grantObjects(props.lakeBucket, 'read', 'marts/', 'lets Athena read the marts behind customer_360 with the caller\'s permissions');
    this.lakeFunction.grantObjects(props.lakeBucket, 'put', 'exports/', 'writes the export CSVs');
    this.lakeFunction.grantObjects(
      props.athenaResultsBucket,
      'read-put',
      'athena/',
      'lets Athena write query results with the caller\'s permissions (no delete), then reads the CSV to copy it',
    );

    const glue = glueArns(this, props.databaseName);
    this.lakeFunction.allowAthenaQueries(props.workGroupName);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
        resources: [glue.catalog, glue.database, glue.table('*')],
      }),
    );
    acknowledgeWildcardResource(
      this.lakeFunction.role,
      glue.table('*'),
      'Reads (only) table, view and partition definitions of the lifecycle-lake database: Athena resolves customer_360 and the marts it joins.',
    );
  }
}
