import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { InfraConfig } from '../../infra/config.ts';
import { buildLifecycleLake, readInfraConfig, type LifecycleLakeStacks } from '../../infra/lifecycle-lake.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');

/** cdk.json's context: the settings and feature flags `cdk synth` uses. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(resolve(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context;
}

export interface SynthesizedApp extends LifecycleLakeStacks {
  readonly app: App;
  readonly config: InfraConfig;
  readonly dataTemplate: Template;
  readonly pipelineTemplate: Template;
}

export interface SynthesizeOptions {
  /** Top-level context keys replacing cdk.json's (as `cdk synth -c key=value` would). */
  readonly context?: Record<string, unknown>;
  /** Where the cloud assembly goes; a temporary folder when absent. */
  readonly outdir?: string;
}

/**
 * The app as `cdk synth` builds it from cdk.json, but without bundling the Lambda assets (context
 * `aws:cdk:bundling-stacks: []`) or CDK's built-in template validation: templates in about two
 * seconds instead of tens. cdk-nag runs as in `cdk synth`: an unacknowledged finding fails here too.
 */
export function synthesizeApp(options: SynthesizeOptions = {}): SynthesizedApp {
  const app = new App({
    context: { ...cdkJsonContext(), ...options.context, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
  });
  const config = readInfraConfig(app);
  const stacks = buildLifecycleLake(app, config);
  app.synth();
  return {
    app,
    config,
    ...stacks,
    dataTemplate: Template.fromStack(stacks.data),
    pipelineTemplate: Template.fromStack(stacks.pipeline),
  };
}
