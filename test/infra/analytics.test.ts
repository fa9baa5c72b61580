import { beforeAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { analystQueries } from '../../infra/analyst-queries.ts';
import { AnalyticsWorkgroup } from '../../infra/constructs/analytics.ts';
import { cohortMatrixViewSql, customer360ViewSql, latestTransactionsViewSql } from '../../lambdas/adapters/athena.ts';
import { allTables } from '../../lambdas/core/schema/tables.ts';
import { openCatalogOnDuckDb } from '../support/athena-duckdb.ts';
import { synthesizeApp, type SynthesizedApp } from './app-fixture.ts';

describe('AnalyticsWorkgroup', () => {
  let synth: SynthesizedApp;

  beforeAll(() => {
    synth = synthesizeApp({ context: { athenaBytesScannedCutoff: 50_000_000 } });
  });

  it('enforces its configuration: engine 3, metrics, scan cutoff, encrypted results in the results bucket', () => {
    const resultsBucket = Object.keys(synth.dataTemplate.findResources('AWS::S3::Bucket')).find((id) => id.includes('AthenaResults'));
    synth.dataTemplate.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'lifecycle-lake',
      State: 'ENABLED',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 50_000_000,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: resultsBucket }, '/athena/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
        },
      },
    });
    synth.dataTemplate.hasResource('AWS::Athena::WorkGroup', { DeletionPolicy: 'Retain' });
  });

  it('encrypts results with the data key when encryption is kms', () => {
    const kms = synthesizeApp({ context: { encryption: 'kms' } });
    const keyId = Object.keys(kms.dataTemplate.findResources('AWS::KMS::Key'))[0];
    kms.dataTemplate.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: {
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [keyId, 'Arn'] } } },
      },
    });
  });

  it('saves every analyst query in the workgroup with the lake database as default', () => {
    const saved = Object.values(synth.dataTemplate.findResources('AWS::Athena::NamedQuery')).map(
      (r) => (r as { Properties: { Name: string; Database: string; QueryString: string; WorkGroup: unknown } }).Properties,
    );
    expect(saved.map((q) => q.Name).sort()).toEqual(analystQueries.map((q) => q.name).sort());
    for (const query of saved) {
      expect(query.Database).toBe('lifecycle_lake');
      expect(query.WorkGroup).toEqual({ Ref: expect.stringMatching(/^AnalyticsWorkGroup/) });
    }
  });

  it('rejects a scan cutoff below Athena’s minimum', () => {
    const stack = new Stack(new App(), 'Test');
    expect(
      () =>
        new AnalyticsWorkgroup(stack, 'A', {
          workGroupName: 'wg',
          databaseName: 'db',
          resultsBucket: new s3.Bucket(stack, 'R'),
          bytesScannedCutoffPerQuery: 1_000,
        }),
    ).toThrow('bytesScannedCutoffPerQuery 1000: Athena needs a whole number of bytes, at least 10000000');
  });
});

describe('analyst queries', () => {
  it('each runs against the catalog and the views (checked on DuckDB, whose SQL here matches Athena’s)', async () => {
    const duck = await openCatalogOnDuckDb('lifecycle_lake', allTables);
    try {
      await duck.connection.run(customer360ViewSql('lifecycle_lake', '2024-05-01'));
      await duck.connection.run(cohortMatrixViewSql('lifecycle_lake', '2024-05-01'));
      await duck.connection.run(latestTransactionsViewSql('lifecycle_lake'));
      for (const query of analystQueries) {
        await expect(duck.connection.run(query.sql), query.name).resolves.toBeDefined();
      }
    } finally {
      duck.close();
    }
  });
});
