import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardActions, acknowledgeWildcardResource } from '../nag.ts';

/** The repository root: entries, the lockfile and sql/ are found from here. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const lambdaRuntime = lambda.Runtime.NODEJS_22_X;

export interface FunctionSize {
  readonly memoryMb: number;
  readonly ephemeralStorageMb: number;
  readonly timeoutSeconds: number;
  /** DuckDB's memory_limit in this function (DUCKDB_MEMORY_LIMIT); functions with DuckDB only. */
  readonly duckdbMemoryLimit?: string;
}

export interface LakeFunctionProps {
  /** The handler file, relative to the repository root (e.g. lambdas/ingest/handler.ts). */
  readonly entry: string;
  readonly description: string;
  readonly architecture: lambda.Architecture;
  readonly size: FunctionSize;
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Ship DuckDB: @duckdb/node-api installed into the asset with the native binding for `architecture`
   * (not the build machine's), and the sql/ folder beside the handler. Default false.
   */
  readonly withDuckDb?: boolean;
  /** Default one year. */
  readonly logRetention?: logs.RetentionDays;
  /** Of the log group. Default RETAIN. */
  readonly removalPolicy?: RemovalPolicy;
  /** Default: none (the account's unreserved pool). */
  readonly reservedConcurrentExecutions?: number;
}

/** read-put: read and write without delete (what Athena needs on a results location). */
export type ObjectAccess = 'read' | 'read-write' | 'put' | 'read-put';

/** The wildcard action families CDK's bucket grants use (grantRead, grantReadWrite, grantPut). */
const grantActionFamilies: Record<ObjectAccess, readonly string[]> = {
  read: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
  'read-write': ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'],
  put: ['s3:Abort*'],
  'read-put': ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:Abort*'],
};
/** What those grants add for a KMS-encrypted bucket. */
const grantKeyActionFamilies = ['kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/** npm's names for the Lambda architectures, for the asset's .npmrc. */
const npmCpu: Record<string, string> = { [lambda.Architecture.ARM_64.name]: 'arm64', [lambda.Architecture.X86_64.name]: 'x64' };

/** ARNs of the Glue catalog, a database and tables in it, for grants. */
export function glueArns(scope: Construct, databaseName: string) {
  const stack = Stack.of(scope);
  const arn = (resource: string) => stack.formatArn({ service: 'glue', resource, resourceName: undefined });
  return {
    catalog: arn('catalog'),
    database: arn(`database/${databaseName}`),
    table: (table: string) => arn(`table/${databaseName}/${table}`),
  };
}

export function workGroupArn(scope: Construct, workGroupName: string): string {
  return Stack.of(scope).formatArn({ service: 'athena', resource: 'workgroup', resourceName: workGroupName });
}

/**
 * A Node.js 22 Lambda bundled locally with esbuild (no Docker): ESM, AWS SDK bundled at the pinned
 * versions, source maps on, its own log group and a role that can write to that log group only;
 * callers add grants for what it touches.
 */
export class LakeFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  public readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: LakeFunctionProps) {
    super(scope, id);
    const cpu = npmCpu[props.architecture.name];
    if (cpu === undefined) throw new Error(`architecture ${props.architecture.name}: use arm64 or x86_64`);
    this.timeout = Duration.seconds(props.size.timeoutSeconds);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(this.role);

    const withDuckDb = props.withDuckDb ?? false;
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: join(projectRoot, props.entry),
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      description: props.description,
      runtime: lambdaRuntime,
      architecture: props.architecture,
      memorySize: props.size.memoryMb,
      ephemeralStorageSize: Size.mebibytes(props.size.ephemeralStorageMb),
      timeout: this.timeout,
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'lifecycle-lake',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...(props.size.duckdbMemoryLimit === undefined ? {} : { DUCKDB_MEMORY_LIMIT: props.size.duckdbMemoryLimit }),
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // esbuild's ESM output has no `require`; some bundled CommonJS dependencies still call it.
        banner: "import { createRequire as __lakeCreateRequire } from 'node:module'; const require = __lakeCreateRequire(import.meta.url);",
        externalModules: [],
        sourceMap: true,
        minify: true,
        keepNames: true,
        forceDockerBundling: false,
        ...(withDuckDb && { nodeModules: ['@duckdb/node-api'] }),
        commandHooks: {
          beforeBundling: () => [],
          // npm installs optional native packages for the machine it runs on unless told otherwise:
          // this makes `npm ci` in the asset pick @duckdb/node-bindings-linux-<cpu>, the function's.
          // prefer-offline: packages already in npm's cache are used without asking the registry.
          beforeInstall: (_inputDir, outputDir) => [`printf 'os=linux\\ncpu=${cpu}\\nlibc=glibc\\nprefer-offline=true\\n' > "${join(outputDir, '.npmrc')}"`],
          afterBundling: (inputDir, outputDir) => (withDuckDb ? [`cp -R "${join(inputDir, 'sql')}" "${join(outputDir, 'sql')}"`] : []),
        },
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime this project is built and tested for (DESIGN.md §6); a newer runtime is adopted deliberately, with the DuckDB binding re-tested.',
    });
  }

  /** Lets the function start, watch and stop queries in one Athena workgroup. */
  allowAthenaQueries(workGroupName: string): void {
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
        resources: [workGroupArn(this, workGroupName)],
      }),
    );
  }

  /**
   * Grants access to objects under `prefix` ('' = the whole bucket) with CDK's bucket grants, and
   * acknowledges the wildcards those grants contain: the action families and the `prefix*` resource.
   */
  grantObjects(bucket: s3.IBucket, access: ObjectAccess, prefix: string, purpose: string): void {
    const objects = `${prefix}*`;
    if (access === 'read' || access === 'read-put') bucket.grantRead(this.function, objects);
    if (access === 'put' || access === 'read-put') bucket.grantPut(this.function, objects);
    if (access === 'read-write') bucket.grantReadWrite(this.function, objects);
    const where = prefix === '' ? 'any object of the bucket' : `objects under ${prefix} only`;
    acknowledgeWildcardResource(this.role, bucket.arnForObjects(objects), `The function ${purpose}: ${where}.`);
    acknowledgeWildcardActions(
      this.role,
      [...grantActionFamilies[access], ...(bucket.encryptionKey ? grantKeyActionFamilies : [])],
      'Action families of CDK bucket grants; every statement is limited to one bucket and the object prefixes this function needs.',
    );
  }
}
