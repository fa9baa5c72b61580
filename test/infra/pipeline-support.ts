import type { Template } from 'aws-cdk-lib/assertions';

export interface FunctionResource {
  readonly id: string;
  readonly properties: Record<string, unknown> & {
    Environment: { Variables: Record<string, unknown> };
    Role: { 'Fn::GetAtt': [string, string] };
  };
}

/** The Lambda function whose logical id starts with `prefix` (the construct path, e.g. `Transform`). */
export function lambdaFunction(template: Template, prefix: string): FunctionResource {
  const matches = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`expected one function ${prefix}*, found ${matches.length}`);
  const [id, resource] = matches[0]!;
  return { id, properties: (resource as { Properties: FunctionResource['properties'] }).Properties };
}

export interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** Every statement of the policies attached to a function's role. */
export function roleStatements(template: Template, fn: FunctionResource): PolicyStatement[] {
  const roleId = fn.properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .map((p) => (p as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: PolicyStatement[] } } }).Properties)
    .filter((p) => p.Roles.some((r) => r.Ref === roleId))
    .flatMap((p) => p.PolicyDocument.Statement);
}

const asList = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** Object-level S3 resources (`<bucket arn>/<prefix>*`) a statement allowing `action` covers, as `<export name>/<prefix>*`. */
export function s3ObjectGrants(statements: readonly PolicyStatement[], action: string): string[] {
  return statements
    .filter((s) => s.Effect === 'Allow' && asList(s.Action).includes(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
    .flatMap((r) => {
      const join = (r as { 'Fn::Join'?: [string, [{ 'Fn::ImportValue': string }, string]] })['Fn::Join'];
      return join ? [`${join[1][0]['Fn::ImportValue']}${join[1][1]}`] : [];
    })
    .sort();
}
