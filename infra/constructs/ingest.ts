import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeNotificationHandler } from '../nag.ts';
import { LakeFunction, type FunctionSize } from './lake-function.ts';

export interface IngestPipelineProps {
  /**
   * Uploads land here; every object created in it is ingested. A bucket of this stack, or an imported
   * reference (for a bucket of another stack: configuring the notification from the bucket's own
   * stack would make the two stacks reference each other).
   */
  readonly rawBucket: s3.IBucket;
  readonly lakeBucket: s3.IBucket;
  readonly architecture: lambda.Architecture;
  readonly size: FunctionSize & { readonly batchSize: number; readonly maxConcurrency: number };
  /** PIPELINE_CONFIG: the validated pipeline config as JSON. */
  readonly pipelineConfigJson: string;
  /** Encrypts both queues when given; SQS-managed encryption (SSE-SQS) otherwise. */
  readonly queueKey?: kms.IKey;
  readonly logRetention?: logs.RetentionDays;
  readonly removalPolicy?: RemovalPolicy;
}

/** Deliveries of one notification before it moves to the dead-letter queue. */
export const ingestMaxReceiveCount = 3;

/**
 * Raw bucket object-created → SQS (dead-letter queue after three receives) → ingest Lambda, which
 * reports failed messages individually so one bad file does not send a whole batch back.
 */
export class IngestPipeline extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly lakeFunction: LakeFunction;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    if (props.size.batchSize > 10) throw new Error(`batchSize ${props.size.batchSize}: at most 10 without a batching window`);
    const encryption = props.queueKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.queueKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...encryption,
      enforceSSL: true,
      // AWS's advice for Lambda event sources: at least six times the function timeout, so a message
      // is not handed out again while a slow invocation (and its retries) still works on it.
      visibilityTimeout: Duration.seconds(Math.min(6 * props.size.timeoutSeconds, 43_200)),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: ingestMaxReceiveCount },
    });

    props.rawBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue));
    acknowledgeNotificationHandler(this);

    this.lakeFunction = new LakeFunction(this, 'Ingest', {
      entry: 'lambdas/ingest/handler.ts',
      description: 'lifecycle-lake ingest: validates uploaded transaction files into curated Parquet and quarantine',
      architecture: props.architecture,
      size: props.size,
      withDuckDb: true,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        LAKE_BUCKET: props.lakeBucket.bucketName,
        RAW_BUCKET: props.rawBucket.bucketName,
        PIPELINE_CONFIG: props.pipelineConfigJson,
      },
    });
    const fn = this.lakeFunction.function;
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.size.batchSize,
        maxConcurrency: props.size.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    this.lakeFunction.grantObjects(props.rawBucket, 'read', '', 'reads uploaded files from the raw bucket, which holds nothing else');
    this.lakeFunction.grantObjects(props.lakeBucket, 'read-write', 'curated/', 'writes curated Parquet');
    this.lakeFunction.grantObjects(props.lakeBucket, 'read-write', 'quarantine/', 'writes rejected rows');
    this.lakeFunction.grantObjects(props.lakeBucket, 'read-write', '_manifests/ingest/', 'keeps the per-file ingest ledger');
  }
}
