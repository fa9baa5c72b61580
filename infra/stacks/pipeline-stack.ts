import { CfnOutput, Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { InfraConfig } from '../config.ts';
import { MarketingExports } from '../constructs/exports.ts';
import { IngestPipeline } from '../constructs/ingest.ts';
import { PipelineMonitoring } from '../constructs/monitoring.ts';
import { TransformPipeline } from '../constructs/transform.ts';
import { catalogNames, lakeDataExportNames, removalPolicyOf } from './data-stack.ts';

export interface LakePipelineStackProps extends StackProps {
  readonly config: InfraConfig;
}

/** How long an upload may wait in the ingest queue before the backlog alarm fires. */
const ingestBacklogAlarmAge = Duration.hours(1);

/**
 * The compute: ingest, transform and export Lambdas, the ingest queues, the schedule and the alarms.
 * The data stack's buckets and key come in through its named exports (deploy the data stack first;
 * the app declares the dependency).
 */
export class LakePipelineStack extends Stack {
  public readonly ingest: IngestPipeline;
  public readonly transform: TransformPipeline;
  public readonly exports: MarketingExports;
  public readonly monitoring: PipelineMonitoring;
  /** Encrypts the queues and the alarm topic when encryption is `kms`. */
  public readonly messagingKey?: kms.Key;

  constructor(scope: Construct, id: string, props: LakePipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = removalPolicyOf(config);
    const architecture = config.lambda.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const pipelineConfigJson = JSON.stringify(config.pipeline);
    const names = catalogNames(config);

    const exported = lakeDataExportNames(config.namePrefix);
    const dataKey = config.encryption === 'kms' ? kms.Key.fromKeyArn(this, 'DataKey', Fn.importValue(exported.dataKeyArn)) : undefined;
    const importBucket = (id: string, nameExport: string, arnExport: string) =>
      s3.Bucket.fromBucketAttributes(this, id, {
        bucketName: Fn.importValue(nameExport),
        bucketArn: Fn.importValue(arnExport),
        encryptionKey: dataKey,
      });
    const rawBucket = importBucket('RawBucket', exported.rawBucketName, exported.rawBucketArn);
    const lakeBucket = importBucket('LakeBucket', exported.lakeBucketName, exported.lakeBucketArn);
    const athenaResultsBucket = importBucket('AthenaResultsBucket', exported.athenaResultsBucketName, exported.athenaResultsBucketArn);

    if (config.encryption === 'kms') {
      // A key of this stack: S3 (notifications) and CloudWatch (alarms) must be allowed in its key
      // policy, which the data stack's key could only get by referencing this stack back.
      this.messagingKey = new kms.Key(this, 'MessagingKey', {
        description: 'Encrypts the lifecycle-lake ingest queues and alarm topic',
        enableKeyRotation: true,
        removalPolicy,
      });
    }

    this.ingest = new IngestPipeline(this, 'Ingest', {
      rawBucket,
      lakeBucket,
      architecture,
      size: config.lambda.ingest,
      pipelineConfigJson,
      queueKey: this.messagingKey,
      logRetention,
      removalPolicy,
    });
    this.transform = new TransformPipeline(this, 'Transform', {
      lakeBucket,
      athenaResultsBucket,
      databaseName: names.databaseName,
      workGroupName: names.workGroupName,
      architecture,
      size: config.lambda.transform,
      pipelineConfigJson,
      schedule: config.transformSchedule === 'off' ? undefined : config.transformSchedule,
      logRetention,
      removalPolicy,
    });
    this.exports = new MarketingExports(this, 'Exports', {
      lakeBucket,
      athenaResultsBucket,
      databaseName: names.databaseName,
      workGroupName: names.workGroupName,
      architecture,
      size: config.lambda.export,
      logRetention,
      removalPolicy,
    });
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      alarmNamePrefix: config.namePrefix,
      functions: [
        { name: 'ingest', function: this.ingest.lakeFunction.function, timeout: this.ingest.lakeFunction.timeout },
        { name: 'transform', function: this.transform.lakeFunction.function, timeout: this.transform.lakeFunction.timeout },
        { name: 'export', function: this.exports.lakeFunction.function, timeout: this.exports.lakeFunction.timeout },
      ],
      deadLetterQueues: [{ name: 'ingest-dlq', queue: this.ingest.deadLetterQueue }],
      workQueues: [{ name: 'ingest-queue', queue: this.ingest.queue, maxAge: ingestBacklogAlarmAge }],
      alarmEmail: config.alarmEmail,
      topicKey: this.messagingKey,
    });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('TransformFunctionName', this.transform.lakeFunction.function.functionName, 'Run a transform now: aws lambda invoke --function-name <this>');
    output('ExportFunctionName', this.exports.lakeFunction.function.functionName, 'Marketing exports: aws lambda invoke --function-name <this>');
    output('IngestDeadLetterQueueUrl', this.ingest.deadLetterQueue.queueUrl, 'Uploads that failed to ingest three times');
    output('AlarmTopicArn', this.monitoring.topic.topicArn, 'Subscribe here to receive the alarms');
  }
}
