import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { synthesizeApp } from './app-fixture.ts';

const configurations = {
  'cdk.json defaults': {},
  'kms, destroy, x86_64, alarm e-mail, no schedule': {
    encryption: 'kms',
    removalPolicy: 'destroy',
    alarmEmail: 'ops@example.com',
    transformSchedule: 'off',
    lambda: { architecture: 'x86_64' },
  },
};

/** Every acknowledgement in the tree: construct path, rule id, reason. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ path: construct.node.path, id, reason })),
      ),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  it.each(Object.entries(configurations))('leave no unacknowledged finding (%s)', (_name, context) => {
    const { app } = synthesizeApp({ context });
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('accept only reviewed kinds of finding, each with a specific reason', () => {
    const { app } = synthesizeApp({ context: configurations['kms, destroy, x86_64, alarm e-mail, no schedule'] });
    const acknowledged = acknowledgements(app);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason, path } of acknowledged) {
      // Wildcards of prefix-scoped grants, CDK's notification handler policy, the pinned runtime, the log bucket itself.
      expect(id, path).toMatch(/^(Annotation::)?AwsSolutions-(IAM5\[(Action::(s3|kms):[A-Za-z]+\*|Resource::.+\/\*)\]|IAM4\[Policy::.+AWSLambdaBasicExecutionRole\]|L1|S1)$/);
      expect(reason.length, `${path} ${id}`).toBeGreaterThan(50);
    }
  });

  it('do run over the app: an insecure bucket added to it is reported', () => {
    const { app, data } = synthesizeApp();
    new s3.Bucket(data, 'CarelessBucket');
    const rules = new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});
