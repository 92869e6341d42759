import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../functions/shared/config';
import { type FunctionKind, FUNCTION_SIZING as SHARED_SIZING } from '../../functions/shared/function-sizing';
import { bucketRegions, type InfraConfig, isSameAccount } from '../config';
import { acknowledge, acknowledgePrefixWildcards } from '../nag';
import { resourceArns, resourceNames } from '../names';
import { copyRoleStatements, listRoleStatements, type PolicyStatementJson } from '../policies';

/** The repository root, where functions/ and package-lock.json live. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export type { FunctionKind };

/**
 * Memory and timeout per function (functions/shared/function-sizing.ts says why each). The state
 * machine's Task for each function must allow longer than the function's timeout (checked at synth, see
 * copy-state-machine.ts).
 */
export const FUNCTION_SIZING: Record<FunctionKind, { memorySize: number; timeout: Duration; description: string }> =
  Object.fromEntries(
    Object.entries(SHARED_SIZING).map(([kind, { memoryMB, timeoutSeconds, description }]) => [
      kind,
      { memorySize: memoryMB, timeout: Duration.seconds(timeoutSeconds), description },
    ]),
  ) as Record<FunctionKind, { memorySize: number; timeout: Duration; description: string }>;

export interface CopyFunctionsProps {
  config: InfraConfig;
  /** Where `<kind>/handler.ts` live; functions/ by default (tests point it at a fixture). */
  functionsDir?: string;
  /** Notify's statements: they name the topic's KMS key, which the notifications construct creates. */
  notifyStatements: PolicyStatementJson[];
}

/** The deployment's S3XCOPY_* settings, which every function reads once at cold start (functions/shared/config.ts). */
function functionEnvironment(config: InfraConfig): Record<string, string> {
  const names = resourceNames(config);
  const arns = resourceArns(config);
  return {
    [ENV.sourceBucket]: config.source.bucket,
    [ENV.sourcePrefix]: config.source.prefix,
    [ENV.targetBucket]: config.target.bucket,
    [ENV.targetPrefix]: config.target.prefix,
    ...(isSameAccount(config) ? {} : { [ENV.targetRoleArn]: arns.targetRole }),
    ...(config.target.externalId ? { [ENV.externalId]: config.target.externalId } : {}),
    [ENV.defaultOptions]: JSON.stringify(config.defaultOptions),
    [ENV.stateBucket]: names.stateBucket,
    [ENV.topicArn]: arns.topic,
    [ENV.notifyOnSuccess]: String(config.notifyOnSuccess),
    [ENV.allowAcl]: String(config.allowAcl),
    [ENV.bucketRegions]: JSON.stringify(bucketRegions(config)),
    [ENV.mapMaxConcurrency]: String(config.mapMaxConcurrency),
    POWERTOOLS_METRICS_NAMESPACE: 's3xcopy',
    // Stack traces point at the TypeScript sources through the bundled source maps.
    NODE_OPTIONS: '--enable-source-maps',
  };
}

/**
 * The three functions with one set of settings: Node.js 24 on arm64, esbuild bundles with source maps
 * and kept names, active tracing, a log group with retention each, and roles with fixed names (the target
 * account trusts them by name) that hold exactly the statements from infra/policies.ts.
 */
export class CopyFunctions extends Construct {
  readonly list: nodejs.NodejsFunction;
  readonly copy: nodejs.NodejsFunction;
  readonly notify: nodejs.NodejsFunction;
  readonly roles: Record<FunctionKind, iam.Role>;
  /** The environment every function gets (the deployment's S3XCOPY_* settings); the events function shares it. */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: CopyFunctionsProps) {
    super(scope, id);
    const { config } = props;
    const names = resourceNames(config);
    const functionsDir = props.functionsDir ?? path.join(PROJECT_ROOT, 'functions');
    const environment = functionEnvironment(config);
    this.environment = environment;
    const statements: Record<FunctionKind, PolicyStatementJson[]> = {
      list: listRoleStatements(config),
      copy: copyRoleStatements(config),
      notify: props.notifyStatements,
    };
    const roleNames: Record<FunctionKind, string> = {
      list: names.listRole,
      copy: names.copyRole,
      notify: names.notifyRole,
    };
    const functionNames: Record<FunctionKind, string> = {
      list: names.listFunction,
      copy: names.copyFunction,
      notify: names.notifyFunction,
    };

    const make = (kind: FunctionKind) => {
      const logGroup = new logs.LogGroup(this, `${capitalize(kind)}Logs`, {
        logGroupName: `/aws/lambda/${functionNames[kind]}`,
        retention: config.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const role = new iam.Role(this, `${capitalize(kind)}Role`, {
        roleName: roleNames[kind],
        description: `s3xcopy ${kind} function`,
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        inlinePolicies: {
          [`${kind}-access`]: new iam.PolicyDocument({
            statements: [
              ...statements[kind].map((statement) => iam.PolicyStatement.fromJson(statement)),
              // Only its own log group, instead of AWSLambdaBasicExecutionRole's logs on every group.
              new iam.PolicyStatement({
                sid: 'WriteOwnLogs',
                actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                resources: [`${logGroup.logGroupArn}`],
              }),
            ],
          }),
        },
      });
      const fn = new nodejs.NodejsFunction(this, capitalize(kind), {
        functionName: functionNames[kind],
        description: FUNCTION_SIZING[kind].description,
        entry: path.join(functionsDir, kind, 'handler.ts'),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: FUNCTION_SIZING[kind].memorySize,
        timeout: FUNCTION_SIZING[kind].timeout,
        tracing: lambda.Tracing.ACTIVE,
        role,
        logGroup,
        environment: { ...environment, POWERTOOLS_SERVICE_NAME: `s3xcopy-${kind}` },
        bundling: {
          sourceMap: true,
          keepNames: true,
          minify: true,
          target: 'node24',
          forceDockerBundling: false,
        },
      });
      acknowledge(
        role,
        'AwsSolutions-IAM5[Resource::*]',
        'xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) have no resource-level ' +
          'permissions in IAM; they can only be granted on "*".',
      );
      acknowledgePrefixWildcards(
        role,
        statements[kind],
        `Object ARNs under fixed prefixes (manifests/, results/, or the configured source/target prefixes): the ${kind} ` +
          'function reads or writes keys named per job at run time, never outside those prefixes.',
      );
      acknowledge(
        fn,
        'Serverless-LambdaDLQ',
        'Only the state machine invokes this function, synchronously (lambda:invoke task); a DLQ applies to ' +
          'asynchronous invocations only. Failures are Task errors that the state machine retries, catches and notifies.',
      );
      return { fn, role };
    };

    const list = make('list');
    const copy = make('copy');
    const notify = make('notify');
    this.list = list.fn;
    this.copy = copy.fn;
    this.notify = notify.fn;
    this.roles = { list: list.role, copy: copy.role, notify: notify.role };
  }

  /** The functions, keyed by kind. */
  get all(): Record<FunctionKind, nodejs.NodejsFunction> {
    return { list: this.list, copy: this.copy, notify: this.notify };
  }
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
