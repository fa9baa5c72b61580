import { Annotations, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { infraContextKeys, parseInfraConfig, unknownContextKeys, type InfraConfig } from './config.ts';
import { LakeDataStack } from './stacks/data-stack.ts';
import { LakePipelineStack } from './stacks/pipeline-stack.ts';

/** Reads and validates the app's context once; a key that is not ours is reported as a warning. */
export function readInfraConfig(app: App): InfraConfig {
  const context = app.node.getAllContext() as Record<string, unknown>;
  for (const key of unknownContextKeys(context)) {
    Annotations.of(app).addWarningV2('lifecycle-lake:unknown-context-key', `cdk.json context key "${key}" is not used (known keys: ${infraContextKeys.join(', ')})`);
  }
  const ours = Object.fromEntries(infraContextKeys.filter((key) => context[key] !== undefined).map((key) => [key, context[key]]));
  return parseInfraConfig(ours);
}

export interface LifecycleLakeStacks {
  readonly data: LakeDataStack;
  readonly pipeline: LakePipelineStack;
}

/**
 * The two stacks with cdk-nag's AwsSolutions checks: synthesis fails on any finding that is not
 * acknowledged with a reason. Construct ids never change (a new id would replace the buckets).
 */
export function buildLifecycleLake(app: App, config: InfraConfig): LifecycleLakeStacks {
  const data = new LakeDataStack(app, 'Data', {
    stackName: `${config.namePrefix}-data`,
    description: 'lifecycle-lake stateful resources: buckets, Glue catalog, Athena workgroup',
    config,
  });
  const pipeline = new LakePipelineStack(app, 'Pipeline', {
    stackName: `${config.namePrefix}-pipeline`,
    description: 'lifecycle-lake pipeline: ingest, transform and export Lambdas, queues, schedule, alarms',
    config,
  });
  pipeline.addStackDependency(data, 'imports the buckets through the data stack exports');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { data, pipeline };
}
