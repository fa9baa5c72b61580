import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface MonitoredFunction {
  /** Short name used in alarm names, e.g. `ingest`. */
  readonly name: string;
  readonly function: lambda.IFunction;
  readonly timeout: Duration;
}

export interface PipelineMonitoringProps {
  readonly alarmNamePrefix: string;
  readonly functions: readonly MonitoredFunction[];
  /** Any message here is a file that failed to ingest three times. */
  readonly deadLetterQueues: readonly { readonly name: string; readonly queue: sqs.IQueue }[];
  /** Work queues whose oldest message should not wait longer than `maxAge`. */
  readonly workQueues?: readonly { readonly name: string; readonly queue: sqs.IQueue; readonly maxAge: Duration }[];
  /** Subscribed to the alarm topic by e-mail when given. */
  readonly alarmEmail?: string;
  /** Encrypts the topic when given (CloudWatch is allowed to use it). */
  readonly topicKey?: kms.IKey;
}

/** Alarm on the maximum duration once it passes this share of the timeout. */
export const durationAlarmShareOfTimeout = 0.9;
const period = Duration.minutes(5);

/**
 * The alarm topic and alarms: per function errors, throttles and duration near the timeout; a
 * message in a dead-letter queue; a work queue falling behind. Each alarm notifies the topic when it
 * fires and when it recovers.
 */
export class PipelineMonitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${props.alarmNamePrefix} alarms`,
      enforceSSL: true,
      masterKey: props.topicKey,
    });
    if (props.topicKey) {
      props.topicKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    }
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (id: string, name: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const created = new cloudwatch.Alarm(this, id, {
        alarmName: `${props.alarmNamePrefix}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new actions.SnsAction(this.topic));
      created.addOkAction(new actions.SnsAction(this.topic));
      alarms.push(created);
    };

    for (const { name, function: fn, timeout } of props.functions) {
      alarm(`${name}-Errors`, `${name}-errors`, `The ${name} function failed`, fn.metricErrors({ period, statistic: 'Sum' }), 1);
      alarm(
        `${name}-Throttles`,
        `${name}-throttles`,
        `The ${name} function was throttled (concurrency limit reached)`,
        fn.metricThrottles({ period, statistic: 'Sum' }),
        1,
      );
      alarm(
        `${name}-Duration`,
        `${name}-duration`,
        `The ${name} function ran for over ${durationAlarmShareOfTimeout * 100} % of its ${timeout.toSeconds()} s timeout`,
        fn.metricDuration({ period, statistic: 'Maximum' }),
        Math.round(timeout.toMilliseconds() * durationAlarmShareOfTimeout),
      );
    }
    for (const { name, queue } of props.deadLetterQueues) {
      alarm(
        `${name}-Messages`,
        `${name}-messages`,
        `Messages in ${name}: inputs that failed repeatedly; inspect, fix and redrive them`,
        queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        1,
      );
    }
    for (const { name, queue, maxAge } of props.workQueues ?? []) {
      alarm(
        `${name}-Age`,
        `${name}-age`,
        `The oldest message in ${name} has waited over ${maxAge.toHumanString()}`,
        queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
        maxAge.toSeconds(),
      );
    }
    this.alarms = alarms;
  }
}
