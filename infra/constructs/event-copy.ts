import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IDependable } from 'constructs';
import { HAND_OVER_BYTES_ENV, MAX_RECEIVE_COUNT_ENV, STATE_MACHINE_ARN_ENV } from '../../functions/events/handler-env';
import { EVENTS_FUNCTION_SIZING } from '../../functions/shared/function-sizing';
import type { InfraConfig } from '../config';
import { acknowledge, acknowledgePrefixWildcards } from '../nag';
import { resourceArns, resourceNames } from '../names';
import { eventKeyPrefix, eventsQueueStatements, eventsRoleStatements, type PolicyStatementJson } from '../policies';
import { PROJECT_ROOT } from './copy-functions';
import { deadLetterQueue, objectCreatedPattern, QUEUE_DEFAULTS } from './triggers';

/** Deliveries of one event before it moves to the dead-letter queue (each failed delivery retries it). */
export const EVENTS_MAX_RECEIVE_COUNT = 5;

export interface DirectEventCopyProps {
  config: InfraConfig;
  /** The deployment's S3XCOPY_* environment (CopyFunctions.environment). */
  environment: Record<string, string>;
  /** The topic key, for the role's kms statements (final failures are published to the topic). */
  topicKeyArn: string;
  /** Where `events/handler.ts` lives; functions/ by default (tests point it at a fixture). */
  functionsDir?: string;
}

/**
 * The direct event path (s3Events.delivery "lambda"): the source bucket's event notifications (or, with
 * s3Events.source "eventbridge", an EventBridge rule) send Object Created events under the prefix to an
 * SQS queue (with a dead-letter queue) -> an event source mapping batches up to `batchSize` events over
 * `batchWindowSeconds` -> the events function copies the batch itself and reports failed messages back
 * (partial batch responses), so only those are delivered again. No Step Functions execution runs: at one
 * event per invocation the orchestration is a few SQS requests and one short Lambda invocation
 * (docs/cost.md).
 */
export class DirectEventCopy extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  /** Only with s3Events.source "eventbridge" (default: the bucket notifies the queue itself). */
  readonly rule?: events.Rule;
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  /** The queue policy that lets the source bucket send (absent with EventBridge): the bucket waits for it. */
  readonly queuePolicy?: IDependable;

  constructor(scope: Construct, id: string, props: DirectEventCopyProps) {
    super(scope, id);
    const { config } = props;
    const names = resourceNames(config);
    const { batchSize, batchWindowSeconds } = config.s3Events;
    const timeout = Duration.seconds(EVENTS_FUNCTION_SIZING.timeoutSeconds);

    this.deadLetters = deadLetterQueue(this, 'DeadLetters');
    this.queue = new sqs.Queue(this, 'Queue', {
      ...QUEUE_DEFAULTS,
      queueName: names.eventsQueue,
      // AWS's advice for an SQS event source: at least six times the function's timeout, so a batch still
      // being copied (or retried by Lambda after throttling) is not delivered to a second invocation.
      visibilityTimeout: Duration.seconds(EVENTS_FUNCTION_SIZING.timeoutSeconds * 6),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT },
    });
    for (const statement of eventsQueueStatements(config)) {
      const added = this.queue.addToResourcePolicy(iam.PolicyStatement.fromJson(statement));
      this.queuePolicy = added.policyDependable;
    }
    if (config.s3Events.source === 'eventbridge') this.rule = this.eventBridgeRule(config);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${names.eventsFunction}`,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const statements = eventsRoleStatements(config, props.topicKeyArn);
    this.role = new iam.Role(this, 'Role', {
      roleName: names.eventsRole,
      description: 's3xcopy events function',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        'events-access': new iam.PolicyDocument({
          statements: [
            ...statements.map((statement) => iam.PolicyStatement.fromJson(statement)),
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
      functionName: names.eventsFunction,
      description: EVENTS_FUNCTION_SIZING.description,
      entry: path.join(props.functionsDir ?? path.join(PROJECT_ROOT, 'functions'), 'events', 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: EVENTS_FUNCTION_SIZING.memoryMB,
      timeout,
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: 's3xcopy-events',
        [MAX_RECEIVE_COUNT_ENV]: String(EVENTS_MAX_RECEIVE_COUNT),
        // By its fixed name, not a reference: the state machine's definition does not depend on this function.
        [STATE_MACHINE_ARN_ENV]: resourceArns(config).stateMachine,
        ...(config.s3Events.handOverSize ? { [HAND_OVER_BYTES_ENV]: String(config.s3Events.handOverSize) } : {}),
      },
      bundling: { sourceMap: true, keepNames: true, minify: true, target: 'node24', forceDockerBundling: false },
    });
    this.function.addEventSource(
      new lambdaEventSources.SqsEventSource(this.queue, {
        batchSize,
        // Lambda requires a batching window of at least 1 s for batches over 10; a trickle still starts
        // within the window.
        maxBatchingWindow: Duration.seconds(batchSize > 10 ? Math.max(1, batchWindowSeconds) : batchWindowSeconds),
        reportBatchItemFailures: true,
      }),
    );
    this.acknowledgeFindings(statements);
  }

  /** cdk-nag findings that do not apply to this function, each with the reason. */
  private acknowledgeFindings(statements: PolicyStatementJson[]): void {
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) have no resource-level ' +
        'permissions in IAM; they can only be granted on "*".',
    );
    acknowledgePrefixWildcards(
      this.role,
      statements,
      'Object ARNs under fixed prefixes (reports/events/ in the state bucket, or the configured source/target ' +
        'prefixes): the events function copies keys named by events, never outside those prefixes.',
    );
    acknowledge(
      this.function,
      'Serverless-LambdaEventSourceMappingDestination',
      'Lambda offers on-failure destinations for stream and Kafka event sources, not for SQS: a message that ' +
        "fails on every delivery moves to the queue's dead-letter queue (its redrive policy), whose alarm " +
        'notifies the topic.',
    );
    acknowledge(
      this.function,
      'Serverless-LambdaDLQ',
      "Only its SQS event source mapping invokes this function; failed messages go to the queue's own " +
        'dead-letter queue (redrive policy), whose alarm notifies the topic. A function DLQ applies to ' +
        'asynchronous invocations only.',
    );
  }

  /** With s3Events.source "eventbridge": an EventBridge rule for Object Created under the prefix -> the queue. */
  private eventBridgeRule(config: InfraConfig): events.Rule {
    const keyPrefix = eventKeyPrefix(config);
    return new events.Rule(this, 'ObjectCreated', {
      description: `s3xcopy: objects created in s3://${config.source.bucket}/${keyPrefix} (copied by the events function)`,
      eventPattern: objectCreatedPattern(config.source.bucket, keyPrefix),
      targets: [new eventTargets.SqsQueue(this.queue, { deadLetterQueue: this.deadLetters, retryAttempts: 8 })],
    });
  }
}
