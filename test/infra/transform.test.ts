import { beforeAll, describe, expect, it } from 'vitest';
import { martTables } from '../../lambdas/core/schema/tables.ts';
import { synthesizeApp, type SynthesizedApp } from './app-fixture.ts';
import { lambdaFunction, roleStatements, s3ObjectGrants, type FunctionResource, type PolicyStatement } from './pipeline-support.ts';

/** Tables of the lifecycle_lake database among a statement's resources (catalog and database ARNs left out). */
function tablesOf(statement: PolicyStatement | undefined): string[] {
  return (statement?.Resource as { 'Fn::Join': [string, unknown[]] }[])
    .map((arn) => String(arn['Fn::Join'][1].at(-1)))
    .filter((tail) => tail.startsWith(':table/lifecycle_lake/'))
    .map((tail) => tail.slice(':table/lifecycle_lake/'.length))
    .sort();
}

function statementFor(statements: readonly PolicyStatement[], action: string): PolicyStatement | undefined {
  return statements.find((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action));
}

describe('TransformPipeline', () => {
  let synth: SynthesizedApp;
  let transform: FunctionResource;

  beforeAll(() => {
    synth = synthesizeApp({ context: { transformSchedule: 'cron(30 2 * * ? *)' } });
    transform = lambdaFunction(synth.pipelineTemplate, 'TransformFunction');
  });

  it('runs one transform at a time, with the configured size and the catalog settings', () => {
    expect(transform.properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 1,
      MemorySize: 10_240,
      EphemeralStorage: { Size: 10_240 },
      Timeout: 900,
    });
    expect(transform.properties.Environment.Variables).toMatchObject({
      LAKE_BUCKET: { 'Fn::ImportValue': 'lifecycle-lake:LakeBucketName' },
      PIPELINE_CONFIG: JSON.stringify(synth.config.pipeline),
      GLUE_DATABASE: 'lifecycle_lake',
      ATHENA_WORKGROUP: 'lifecycle-lake',
    });
  });

  it('is invoked by the configured schedule with an empty event, and a failed run is not retried automatically', () => {
    synth.pipelineTemplate.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(30 2 * * ? *)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [transform.id, 'Arn'] }, Input: '{}', RetryPolicy: { MaximumRetryAttempts: 2 } }],
    });
    synth.pipelineTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: transform.id },
      MaximumRetryAttempts: 0,
    });
  });

  it('has no schedule when transformSchedule is "off"', () => {
    const onDemand = synthesizeApp({ context: { transformSchedule: 'off' } });
    onDemand.pipelineTemplate.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('reads curated data and writes only marts, state, manifests and Athena results', () => {
    const statements = roleStatements(synth.pipelineTemplate, transform);
    expect(s3ObjectGrants(statements, 's3:GetObject*')).toEqual([
      'lifecycle-lake:AthenaResultsBucketArn/athena/*',
      'lifecycle-lake:LakeBucketArn/_manifests/*',
      'lifecycle-lake:LakeBucketArn/curated/*',
      'lifecycle-lake:LakeBucketArn/marts/*',
      'lifecycle-lake:LakeBucketArn/state/*',
    ]);
    expect(s3ObjectGrants(statements, 's3:PutObject')).toEqual([
      'lifecycle-lake:AthenaResultsBucketArn/athena/*',
      'lifecycle-lake:LakeBucketArn/_manifests/*',
      'lifecycle-lake:LakeBucketArn/marts/*',
      'lifecycle-lake:LakeBucketArn/state/*',
    ]);
    // Replaced runs' mart and state files are removed a generation later.
    expect(s3ObjectGrants(statements, 's3:DeleteObject*')).toEqual([
      'lifecycle-lake:LakeBucketArn/_manifests/*',
      'lifecycle-lake:LakeBucketArn/marts/*',
      'lifecycle-lake:LakeBucketArn/state/*',
    ]);
  });

  it('may change partitions of the mart tables only, and create or update only the three views', () => {
    const statements = roleStatements(synth.pipelineTemplate, transform);
    const partitions = statementFor(statements, 'glue:BatchUpdatePartition');
    expect([partitions?.Action].flat().sort()).toEqual(['glue:BatchCreatePartition', 'glue:BatchUpdatePartition', 'glue:GetPartitions']);
    expect(tablesOf(partitions)).toEqual(martTables.map((t) => t.name).sort());
    const views = statementFor(statements, 'glue:CreateTable');
    expect([views?.Action].flat().sort()).toEqual(['glue:CreateTable', 'glue:UpdateTable']);
    expect(tablesOf(views)).toEqual(['cohort_matrix', 'customer_360', 'latest_transactions']);
    expect(statementFor(statements, 'glue:DeleteTable')).toBeUndefined();
    expect(statementFor(statements, 'athena:StartQueryExecution')?.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':athena:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':workgroup/lifecycle-lake']],
    });
  });
});
