import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesizeApp, type SynthesizedApp } from './app-fixture.ts';
import { lambdaFunction, roleStatements, s3ObjectGrants, type FunctionResource } from './pipeline-support.ts';

describe('IngestPipeline', () => {
  let synth: SynthesizedApp;
  let ingest: FunctionResource;
  let queueId: string;
  let dlqId: string;

  beforeAll(() => {
    synth = synthesizeApp();
    ingest = lambdaFunction(synth.pipelineTemplate, 'IngestFunction');
    const queues = Object.keys(synth.pipelineTemplate.findResources('AWS::SQS::Queue'));
    queueId = queues.find((id) => id.startsWith('IngestQueue'))!;
    dlqId = queues.find((id) => id.startsWith('IngestDeadLetterQueue'))!;
  });

  it('sends a notification to the queue for every object created in the raw bucket', () => {
    synth.pipelineTemplate.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { 'Fn::ImportValue': 'lifecycle-lake:RawBucketName' },
      NotificationConfiguration: { QueueConfigurations: [{ Events: ['s3:ObjectCreated:*'], QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] } }] },
      // Unmanaged: notifications other tools put on the bucket are kept.
      Managed: false,
    });
    synth.pipelineTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::ImportValue': 'lifecycle-lake:RawBucketArn' } } },
          }),
        ]),
      },
    });
  });

  it('moves a message to the dead-letter queue after three receives; both queues encrypted and SSL-only', () => {
    synth.pipelineTemplate.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 },
      // Six times the 900 s function timeout.
      VisibilityTimeout: 5400,
      SqsManagedSseEnabled: true,
    });
    synth.pipelineTemplate.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true });
    for (const id of [queueId, dlqId]) {
      synth.pipelineTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    }
  });

  it('feeds the function in batches, reporting failed messages one by one', () => {
    synth.pipelineTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: ingest.id },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('runs on Node.js 22, arm64, with the configured size and the lake settings in its environment', () => {
    expect(ingest.properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 3008,
      EphemeralStorage: { Size: 4096 },
      Timeout: 900,
    });
    expect(ingest.properties.Environment.Variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'lifecycle-lake',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      LAKE_BUCKET: { 'Fn::ImportValue': 'lifecycle-lake:LakeBucketName' },
      RAW_BUCKET: { 'Fn::ImportValue': 'lifecycle-lake:RawBucketName' },
      PIPELINE_CONFIG: JSON.stringify(synth.config.pipeline),
    });
  });

  it("passes each function its own DuckDB memory limit when one is configured, and none otherwise", () => {
    const sized = synthesizeApp({ context: { lambda: { ingest: { duckdbMemoryLimit: '1.1GB' }, transform: { duckdbMemoryLimit: '2.5GB' } } } });
    expect(lambdaFunction(sized.pipelineTemplate, 'IngestFunction').properties.Environment.Variables.DUCKDB_MEMORY_LIMIT).toBe('1.1GB');
    expect(lambdaFunction(sized.pipelineTemplate, 'TransformFunction').properties.Environment.Variables.DUCKDB_MEMORY_LIMIT).toBe(
      '2.5GB',
    );
    expect(lambdaFunction(synth.pipelineTemplate, 'TransformFunction').properties.Environment.Variables).not.toHaveProperty(
      'DUCKDB_MEMORY_LIMIT',
    );
  });

  it('may read the raw bucket and write only the curated, quarantine and ingest-ledger prefixes of the lake', () => {
    const statements = roleStatements(synth.pipelineTemplate, ingest);
    expect(s3ObjectGrants(statements, 's3:GetObject*')).toEqual([
      'lifecycle-lake:LakeBucketArn/_manifests/ingest/*',
      'lifecycle-lake:LakeBucketArn/curated/*',
      'lifecycle-lake:LakeBucketArn/quarantine/*',
      'lifecycle-lake:RawBucketArn/*',
    ]);
    expect(s3ObjectGrants(statements, 's3:PutObject')).toEqual([
      'lifecycle-lake:LakeBucketArn/_manifests/ingest/*',
      'lifecycle-lake:LakeBucketArn/curated/*',
      'lifecycle-lake:LakeBucketArn/quarantine/*',
    ]);
  });

  it('uses a key of the pipeline stack for both queues when encryption is kms', () => {
    const kms = synthesizeApp({ context: { encryption: 'kms' } });
    const key = Object.keys(kms.pipelineTemplate.findResources('AWS::KMS::Key'));
    expect(key).toHaveLength(1);
    const queues = Object.values(kms.pipelineTemplate.findResources('AWS::SQS::Queue'));
    expect(queues.map((q) => (q as { Properties: { KmsMasterKeyId: unknown } }).Properties.KmsMasterKeyId)).toEqual([
      { 'Fn::GetAtt': [key[0], 'Arn'] },
      { 'Fn::GetAtt': [key[0], 'Arn'] },
    ]);
  });
});
