import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIGEST_HOURS_ENV } from '../../functions/digest/handler-env';
import type { InfraConfig } from '../config';
import { acknowledge, acknowledgePrefixWildcards } from '../nag';
import { resourceNames } from '../names';
import { digestRoleStatements } from '../policies';
import { PROJECT_ROOT } from './copy-functions';
import { deadLetterQueue } from './triggers';

export interface EventsDigestProps {
  config: InfraConfig;
  /** The deployment's S3XCOPY_* environment (CopyFunctions.environment). */
  environment: Record<string, string>;
  topicKeyArn: string;
  functionsDir?: string;
}

/**
 * The direct event path's digest (s3Events.digestHours, daily by default): an EventBridge Scheduler
 * schedule invokes a small function that sums the events function's metrics over the period, writes
 * reports/events/<day>.json to the state bucket and publishes one summary to the topic. Successful
 * batches write and send nothing themselves: at one event per invocation that would cost $5 per million.
 */
export class EventsDigest extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly scheduleRole: iam.Role;
  readonly schedule: scheduler.Schedule;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: EventsDigestProps) {
    super(scope, id);
    const { config } = props;
    const names = resourceNames(config);
    const hours = config.s3Events.digestHours;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${names.digestFunction}`,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      roleName: names.digestRole,
      description: 's3xcopy events digest function',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        'digest-access': new iam.PolicyDocument({
          statements: [
            ...digestRoleStatements(config, props.topicKeyArn).map((statement) =>
              iam.PolicyStatement.fromJson(statement),
            ),
            new iam.PolicyStatement({
              sid: 'WriteOwnLogs',
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      functionName: names.digestFunction,
      description: 's3xcopy: sums the events function metrics of a period into one report and one message',
      entry: path.join(props.functionsDir ?? path.join(PROJECT_ROOT, 'functions'), 'digest', 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(1),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: 's3xcopy-digest',
        [DIGEST_HOURS_ENV]: String(hours),
      },
      bundling: { sourceMap: true, keepNames: true, minify: true, target: 'node24', forceDockerBundling: false },
    });
    this.deadLetters = deadLetterQueue(this, 'DeadLetters');
    // Its own role (not the one the stack's schedules share), so its grant stays on this construct.
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      description: 's3xcopy: the events digest schedule',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': config.source.account } },
      }),
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `s3xcopy: the events digest, every ${hours} hour(s)`,
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(hours)),
      target: new schedulerTargets.LambdaInvoke(this.function, {
        deadLetterQueue: this.deadLetters,
        retryAttempts: 3,
        role: this.scheduleRole,
      }),
    });
    this.acknowledgeFindings(config);
  }

  private acknowledgeFindings(config: InfraConfig): void {
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'cloudwatch:GetMetricData, and xray:PutTraceSegments/PutTelemetryRecords (active tracing), have no ' +
        'resource-level permissions in IAM; they can only be granted on "*".',
    );
    acknowledgePrefixWildcards(
      this.role,
      digestRoleStatements(config, ''),
      'Digests are written under reports/events/ of the state bucket, one object per period.',
    );
    acknowledge(
      this.role,
      'Serverless-LambdaStarPermissions',
      'The only "*" resources are cloudwatch:GetMetricData and the X-Ray actions, which IAM cannot scope.',
    );
    // Scheduler's Lambda target grants invoke on the function and its versions (`<arn>:*`).
    const functionId = Stack.of(this).getLogicalId(this.function.node.defaultChild as lambda.CfnFunction);
    acknowledge(
      this.scheduleRole,
      `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      'The schedule may invoke the digest function and its versions, nothing else.',
    );
    acknowledge(
      this.deadLetters,
      'AwsSolutions-SQS3',
      "This is the digest schedule's dead-letter queue (Scheduler DeadLetterConfig), which cdk-nag cannot see as a DLQ.",
    );
    acknowledge(
      this.function,
      'Serverless-LambdaDLQ',
      "Only its schedule invokes it; invocations Scheduler cannot deliver go to the schedule's dead-letter queue.",
    );
  }
}
