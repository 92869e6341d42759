import { Duration, TimeZone } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { InfraConfig } from '../config';
import { acknowledge } from '../nag';

/**
 * The Pipe's input template, applied to each SQS record of a batch: an EventBridge "Object Created" event
 * cut down to its type, bucket and object, a shape the list function accepts as it is
 * (functions/list/s3-events.ts). Pipes parse a JSON SQS body implicitly, so `$.body.detail...` reaches
 * into the event.
 *
 * Pipes insert a value taken by a path as it is, without escaping it: a key holding `"` or `\` inside a
 * quoted placeholder would make the execution input invalid JSON, and the whole batch would go to the
 * dead-letter queue. So the bucket and the object (whose key is the only free text) go in as unquoted
 * placeholders, which Pipes fill with the JSON of the object they name, escaped as JSON. Only the type is
 * quoted: the rule passes only "Object Created", which needs no escaping.
 *
 * A full record is about 1.5-2.5 KiB (receipt handle, attributes, the whole event as an escaped string);
 * trimmed, it is the key plus about 250 bytes (size, ETag, sequencer, version), so 50 records with
 * 1,024-byte keys sent fully percent-encoded (3,072 characters each) stay near 170 KB of Step Functions'
 * 256 KiB execution input.
 */
export const PIPE_RECORD_TEMPLATE =
  '{"detail-type":"<$.body.detail-type>","detail":{"bucket":<$.body.detail.bucket>,"object":<$.body.detail.object>}}';

/** The EventBridge pattern of S3's Object Created events for a bucket, under a key prefix ("" for all). */
export function objectCreatedPattern(bucket: string, keyPrefix: string): events.EventPattern {
  return {
    source: ['aws.s3'],
    detailType: ['Object Created'],
    detail: {
      bucket: { name: [bucket] },
      ...(keyPrefix === '' ? {} : { object: { key: events.Match.prefix(keyPrefix) } }),
    },
  };
}

/** SQS queue settings shared by the event queue and the dead-letter queues. */
export const QUEUE_DEFAULTS: sqs.QueueProps = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
};

/** A dead-letter queue: kept 14 days (SQS's maximum) so someone can look at what failed. */
export function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, { ...QUEUE_DEFAULTS, retentionPeriod: Duration.days(14) });
  acknowledge(
    queue,
    'Serverless-SQSRedrivePolicy',
    'This queue is itself a dead-letter queue, the last stop: a redrive policy on it would only move failures further.',
  );
  return queue;
}

/**
 * An EventBridge Scheduler schedule that starts the configured job. Its input is validated at synth
 * by the job schema; the deployment defaults fill in whatever the job leaves out.
 */
export class CopySchedule extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly deadLetters: sqs.Queue;

  constructor(
    scope: Construct,
    id: string,
    props: { schedule: NonNullable<InfraConfig['schedule']>; stateMachine: sfn.IStateMachine },
  ) {
    super(scope, id);
    const { expression, timezone, job } = props.schedule;
    const deadLetters = deadLetterQueue(this, 'DeadLetters');
    this.deadLetters = deadLetters;
    acknowledge(
      deadLetters,
      'AwsSolutions-SQS3',
      "This is the schedule's dead-letter queue (Scheduler DeadLetterConfig), which cdk-nag cannot see as a DLQ.",
    );
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 's3xcopy: starts the configured copy job',
      schedule: scheduler.ScheduleExpression.expression(expression, timezone ? TimeZone.of(timezone) : undefined),
      target: new schedulerTargets.StepFunctionsStartExecution(props.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject(job),
        deadLetterQueue: deadLetters,
        retryAttempts: 3,
      }),
    });
  }
}

export interface ObjectCreatedTriggerProps {
  config: InfraConfig;
  stateMachine: sfn.IStateMachine;
}

/**
 * Starts copies when objects are created: S3 EventBridge notifications -> a rule for Object Created under
 * the prefix -> an SQS queue (with a DLQ) -> an EventBridge Pipe that batches up to `batchSize` events
 * over `batchWindowSeconds` -> one StartExecution per batch. A burst of a million uploads becomes
 * thousands of executions, not a million.
 */
export class ObjectCreatedTrigger extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly rule: events.Rule;
  readonly pipe: pipes.CfnPipe;
  readonly pipeRole: iam.Role;

  constructor(scope: Construct, id: string, props: ObjectCreatedTriggerProps) {
    super(scope, id);
    const { config, stateMachine } = props;
    const { batchSize, batchWindowSeconds } = config.s3Events;
    const keyPrefix = config.s3Events.prefix ?? config.source.prefix;

    this.deadLetters = deadLetterQueue(this, 'DeadLetters');
    this.queue = new sqs.Queue(this, 'Events', {
      ...QUEUE_DEFAULTS,
      // Longer than the batching window plus the StartExecution call, so a batch is not delivered twice.
      visibilityTimeout: Duration.seconds(Math.max(60, batchWindowSeconds * 2 + 30)),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: 5 },
    });
    this.rule = new events.Rule(this, 'ObjectCreated', {
      description: `s3xcopy: objects created in s3://${config.source.bucket}/${keyPrefix}`,
      eventPattern: objectCreatedPattern(config.source.bucket, keyPrefix),
      targets: [new eventTargets.SqsQueue(this.queue, { deadLetterQueue: this.deadLetters, retryAttempts: 8 })],
    });

    this.pipeRole = new iam.Role(this, 'PipeRole', {
      description: 's3xcopy: the pipe that batches object-created events into executions',
      assumedBy: new iam.ServicePrincipal('pipes.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': config.source.account } },
      }),
      inlinePolicies: {
        'pipe-access': new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'ReadEvents',
              actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
              resources: [this.queue.queueArn],
            }),
            new iam.PolicyStatement({
              sid: 'StartExecutions',
              actions: ['states:StartExecution'],
              resources: [stateMachine.stateMachineArn],
            }),
          ],
        }),
      },
    });
    this.pipe = new pipes.CfnPipe(this, 'Pipe', {
      description: 's3xcopy: a batch of object-created events per execution',
      roleArn: this.pipeRole.roleArn,
      source: this.queue.queueArn,
      sourceParameters: {
        sqsQueueParameters: { batchSize, maximumBatchingWindowInSeconds: batchWindowSeconds },
      },
      target: stateMachine.stateMachineArn,
      targetParameters: {
        // Each SQS record is trimmed to what List needs; the execution input is the array of trimmed records.
        inputTemplate: PIPE_RECORD_TEMPLATE,
        stepFunctionStateMachineParameters: { invocationType: 'FIRE_AND_FORGET' },
      },
    });
  }
}
