import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag acknowledgements. cdk-nag 3 names each wildcard finding exactly (`AwsSolutions-IAM5[Resource::…]`),
 * so the ids are computed here from the same resolved values cdk-nag reads; every acknowledgement
 * carries the reason the finding is accepted.
 */

/** The id cdk-nag gives a wildcard resource of a policy statement in `scope`'s stack. */
export function wildcardResourceFinding(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(arn))}]`;
}

export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: wildcardResourceFinding(scope, arn), reason });
}

export function acknowledgeWildcardActions(scope: IConstruct, actions: readonly string[], reason: string): void {
  for (const action of actions) Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
}

/**
 * CDK's S3 bucket notification handler (one per stack, created by addEventNotification on an imported
 * bucket) uses the AWS-managed basic execution policy; it is CDK's code, not configurable here.
 */
export function acknowledgeNotificationHandler(scope: IConstruct): void {
  const stack = Stack.of(scope);
  const handler = stack.node.children.find((child) => child.node.id.startsWith('BucketNotificationsHandler'));
  if (!handler) throw new Error('no BucketNotificationsHandler in the stack: call after addEventNotification');
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      "CDK's BucketNotificationsHandler (configures the raw bucket's notification at deploy time) only writes its own logs with the AWS-managed basic execution policy; its role is not configurable.",
  });
}
