import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesizeApp, type SynthesizedApp } from './app-fixture.ts';
import { lambdaFunction } from './pipeline-support.ts';

interface AlarmProperties {
  AlarmName: string;
  MetricName: string;
  Namespace: string;
  Statistic: string;
  Threshold: number;
  ComparisonOperator: string;
  TreatMissingData: string;
  Dimensions: { Name: string; Value: unknown }[];
  AlarmActions: unknown[];
  OKActions: unknown[];
}

describe('PipelineMonitoring', () => {
  let synth: SynthesizedApp;
  let alarms: Map<string, AlarmProperties>;
  let topicId: string;

  beforeAll(() => {
    synth = synthesizeApp({ context: { alarmEmail: 'data-team@example.com', lambda: { transform: { timeoutSeconds: 600 } } } });
    const resources = synth.pipelineTemplate.findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: AlarmProperties }>;
    alarms = new Map(Object.values(resources).map((r) => [r.Properties.AlarmName, r.Properties]));
    topicId = Object.keys(synth.pipelineTemplate.findResources('AWS::SNS::Topic'))[0]!;
  });

  it('alarms on errors, throttles and duration of every function, a dead letter and a backlog', () => {
    expect([...alarms.keys()].sort()).toEqual(
      [
        ...['ingest', 'transform', 'export'].flatMap((f) => [`lifecycle-lake-${f}-errors`, `lifecycle-lake-${f}-throttles`, `lifecycle-lake-${f}-duration`]),
        'lifecycle-lake-ingest-dlq-messages',
        'lifecycle-lake-ingest-queue-age',
      ].sort(),
    );
    for (const alarm of alarms.values()) {
      expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
      expect(alarm.TreatMissingData).toBe('notBreaching');
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it('fires on the first error or throttle of a function', () => {
    const transform = lambdaFunction(synth.pipelineTemplate, 'TransformFunction');
    expect(alarms.get('lifecycle-lake-transform-errors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Threshold: 1,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: transform.id } }],
    });
    expect(alarms.get('lifecycle-lake-transform-throttles')).toMatchObject({ MetricName: 'Throttles', Statistic: 'Sum', Threshold: 1 });
  });

  it('fires when the longest run passes 90 % of the timeout', () => {
    // 90 % of the 600 s transform timeout and of the 900 s ingest timeout, in milliseconds.
    expect(alarms.get('lifecycle-lake-transform-duration')).toMatchObject({ MetricName: 'Duration', Statistic: 'Maximum', Threshold: 540_000 });
    expect(alarms.get('lifecycle-lake-ingest-duration')).toMatchObject({ Threshold: 810_000 });
  });

  it('fires on any message in the dead-letter queue and on uploads waiting over an hour', () => {
    const queues = Object.keys(synth.pipelineTemplate.findResources('AWS::SQS::Queue'));
    const dlq = queues.find((id) => id.startsWith('IngestDeadLetterQueue'));
    const queue = queues.find((id) => id.startsWith('IngestQueue'));
    expect(alarms.get('lifecycle-lake-ingest-dlq-messages')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
    });
    expect(alarms.get('lifecycle-lake-ingest-queue-age')).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 3600,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
    });
  });

  it('mails the alarm topic, which refuses plain HTTP publishers', () => {
    synth.pipelineTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'data-team@example.com',
      TopicArn: { Ref: topicId },
    });
    synth.pipelineTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('has no subscription without an alarm e-mail, and an encrypted topic CloudWatch may use when encryption is kms', () => {
    const kms = synthesizeApp({ context: { encryption: 'kms' } });
    kms.pipelineTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
    const keyId = Object.keys(kms.pipelineTemplate.findResources('AWS::KMS::Key'))[0];
    kms.pipelineTemplate.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    kms.pipelineTemplate.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: Match.arrayWith(['cloudwatch.amazonaws.com']) },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    expect(synth.pipelineTemplate.findResources('AWS::SNS::Topic')[topicId]?.Properties?.KmsMasterKeyId).toBeUndefined();
  });
});
