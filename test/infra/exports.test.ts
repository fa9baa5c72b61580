import { beforeAll, describe, expect, it } from 'vitest';
import { synthesizeApp, type SynthesizedApp } from './app-fixture.ts';
import { lambdaFunction, roleStatements, s3ObjectGrants, type FunctionResource } from './pipeline-support.ts';

describe('MarketingExports', () => {
  let synth: SynthesizedApp;
  let exporter: FunctionResource;

  beforeAll(() => {
    synth = synthesizeApp({ context: { lambda: { architecture: 'x86_64', export: { memoryMb: 1024, timeoutSeconds: 600 } } } });
    exporter = lambdaFunction(synth.pipelineTemplate, 'ExportsExportFunction');
  });

  it('runs with the configured architecture and size and knows the lake, database and workgroup', () => {
    expect(exporter.properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['x86_64'], MemorySize: 1024, Timeout: 600 });
    expect(exporter.properties.Environment.Variables).toMatchObject({
      LAKE_BUCKET: { 'Fn::ImportValue': 'lifecycle-lake:LakeBucketName' },
      GLUE_DATABASE: 'lifecycle_lake',
      ATHENA_WORKGROUP: 'lifecycle-lake',
    });
    expect(exporter.properties.Environment.Variables).not.toHaveProperty('PIPELINE_CONFIG');
  });

  it('lets Athena read the marts for it and writes only under exports/ and the Athena results prefix', () => {
    const statements = roleStatements(synth.pipelineTemplate, exporter);
    expect(s3ObjectGrants(statements, 's3:GetObject*')).toEqual([
      'lifecycle-lake:AthenaResultsBucketArn/athena/*',
      'lifecycle-lake:LakeBucketArn/marts/*',
    ]);
    expect(s3ObjectGrants(statements, 's3:PutObject')).toEqual([
      'lifecycle-lake:AthenaResultsBucketArn/athena/*',
      'lifecycle-lake:LakeBucketArn/exports/*',
    ]);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.startsWith('glue:')).sort()).toEqual([
      'glue:BatchGetPartition',
      'glue:GetDatabase',
      'glue:GetPartition',
      'glue:GetPartitions',
      'glue:GetTable',
    ]);
    expect(actions).not.toContain('s3:DeleteObject*');
  });
});
