import { RemovalPolicy } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { AnalystQuery } from '../analyst-queries.ts';

export interface AnalyticsWorkgroupProps {
  readonly workGroupName: string;
  /** Default database of the saved queries. */
  readonly databaseName: string;
  readonly resultsBucket: s3.IBucket;
  /** Results are encrypted with this key (SSE-KMS) when given, else with S3-managed keys (SSE-S3). */
  readonly resultsKey?: kms.IKey;
  /** Queries scanning more bytes than this are cancelled. Athena's minimum is 10 MB. */
  readonly bytesScannedCutoffPerQuery: number;
  readonly namedQueries?: readonly AnalystQuery[];
  /** Default RETAIN (the workgroup keeps query history). */
  readonly removalPolicy?: RemovalPolicy;
}

/** Athena engine version 3 (Trino): required for the views' SQL and for execution parameters. */
export const athenaEngineVersion = 'Athena engine version 3';

/**
 * The one workgroup BI tools, analysts and the Lambdas use. Its settings are enforced, so no client
 * can send results elsewhere, unencrypted, or skip the scan limit; it publishes CloudWatch metrics.
 */
export class AnalyticsWorkgroup extends Construct {
  public readonly workGroup: athena.CfnWorkGroup;
  public readonly workGroupName: string;
  /** Where query results go: s3://<results bucket>/athena/. */
  public readonly outputLocation: string;

  constructor(scope: Construct, id: string, props: AnalyticsWorkgroupProps) {
    super(scope, id);
    if (!Number.isInteger(props.bytesScannedCutoffPerQuery) || props.bytesScannedCutoffPerQuery < 10_000_000) {
      throw new Error(`bytesScannedCutoffPerQuery ${props.bytesScannedCutoffPerQuery}: Athena needs a whole number of bytes, at least 10000000`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.workGroupName = props.workGroupName;
    this.outputLocation = props.resultsBucket.s3UrlForObject('athena/');
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.workGroupName,
      description: 'lifecycle-lake: BI tools, analysts and the pipeline Lambdas',
      state: 'ENABLED',
      recursiveDeleteOption: removalPolicy === RemovalPolicy.DESTROY,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        requesterPaysEnabled: false,
        engineVersion: { selectedEngineVersion: athenaEngineVersion },
        resultConfiguration: {
          outputLocation: this.outputLocation,
          encryptionConfiguration: props.resultsKey
            ? { encryptionOption: 'SSE_KMS', kmsKey: props.resultsKey.keyArn }
            : { encryptionOption: 'SSE_S3' },
        },
      },
    });
    this.workGroup.applyRemovalPolicy(removalPolicy);

    for (const query of props.namedQueries ?? []) {
      new athena.CfnNamedQuery(this, `Query-${query.name}`, {
        name: query.name,
        description: query.description,
        database: props.databaseName,
        queryString: query.sql,
        workGroup: this.workGroup.ref,
      });
    }
  }
}
