import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { latestTransactionsView } from '../../lambdas/adapters/athena.ts';
import { cohortMatrixView } from '../../lambdas/core/bi-views.ts';
import { customer360View } from '../../lambdas/core/exports.ts';
import { martTables } from '../../lambdas/core/schema/tables.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import { LakeFunction, glueArns, type FunctionSize } from './lake-function.ts';

export interface TransformPipelineProps {
  readonly lakeBucket: s3.IBucket;
  readonly athenaResultsBucket: s3.IBucket;
  readonly databaseName: string;
  readonly workGroupName: string;
  readonly architecture: lambda.Architecture;
  readonly size: FunctionSize;
  readonly pipelineConfigJson: string;
  /** EventBridge schedule expression, or undefined for on-demand runs only. */
  readonly schedule?: string;
  readonly logRetention?: logs.RetentionDays;
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The transform Lambda: computes and publishes the marts, then points the Glue partitions at the new
 * snapshot and refreshes the Athena views. Reserved concurrency 1 keeps runs one at a time (a second
 * invocation is throttled and, when asynchronous, retried by Lambda later). Runs on a schedule and on
 * demand (`aws lambda invoke`).
 */
export class TransformPipeline extends Construct {
  public readonly lakeFunction: LakeFunction;
  public readonly schedule?: events.Rule;

  constructor(scope: Construct, id: string, props: TransformPipelineProps) {
    super(scope, id);
    this.lakeFunction = new LakeFunction(this, 'Transform', {
      entry: 'lambdas/transform/handler.ts',
      description: 'lifecycle-lake transform: builds and publishes the marts, updates Glue partitions and Athena views',
      architecture: props.architecture,
      size: props.size,
      withDuckDb: true,
      reservedConcurrentExecutions: 1,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        LAKE_BUCKET: props.lakeBucket.bucketName,
        PIPELINE_CONFIG: props.pipelineConfigJson,
        GLUE_DATABASE: props.databaseName,
        ATHENA_WORKGROUP: props.workGroupName,
      },
    });
    const fn = this.lakeFunction.function;
    // A failed run is not retried blindly (it fails the same way for up to 15 minutes); the errors
    // alarm reports it and the next scheduled or on-demand run starts afresh.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(6) });

    this.lakeFunction.grantObjects(props.lakeBucket, 'read', 'curated/', 'reads curated transactions and customers');
    this.lakeFunction.grantObjects(props.lakeBucket, 'read-write', 'marts/', 'writes each run\'s mart snapshot');
    this.lakeFunction.grantObjects(props.lakeBucket, 'read-write', 'state/', 'reads the previous snapshot\'s state and writes the next');
    this.lakeFunction.grantObjects(
      props.lakeBucket,
      'read-write',
      '_manifests/',
      'reads the ingest ledger, keeps its catalogue, and writes run manifests and the publication pointer',
    );
    this.lakeFunction.grantObjects(
      props.athenaResultsBucket,
      'read-put',
      'athena/',
      'lets Athena write the results of the view DDL with the caller\'s permissions (no delete)',
    );

    const glue = glueArns(this, props.databaseName);
    const views = [customer360View, cohortMatrixView, latestTransactionsView];
    this.lakeFunction.allowAthenaQueries(props.workGroupName);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables'],
        resources: [glue.catalog, glue.database, glue.table('*')],
      }),
    );
    acknowledgeWildcardResource(
      this.lakeFunction.role,
      glue.table('*'),
      'Reads (only) the definitions of the tables and views of the lifecycle-lake database: Athena resolves every table a view refers to.',
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetPartitions', 'glue:BatchCreatePartition', 'glue:BatchUpdatePartition'],
        resources: [glue.catalog, glue.database, ...martTables.map((t) => glue.table(t.name))],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['glue:CreateTable', 'glue:UpdateTable'],
        resources: [glue.catalog, glue.database, ...views.map((view) => glue.table(view))],
      }),
    );

    if (props.schedule !== undefined) {
      this.schedule = new events.Rule(this, 'Schedule', {
        description: 'Scheduled lifecycle-lake transform',
        schedule: events.Schedule.expression(props.schedule),
        targets: [new targets.LambdaFunction(fn, { event: events.RuleTargetInput.fromObject({}), retryAttempts: 2 })],
      });
    }
  }
}
