import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { InfraConfig } from './config';
import { ManagedSourceBucket, StateBucket } from './constructs/buckets';
import { CopyFunctions } from './constructs/copy-functions';
import { CopyStateMachine } from './constructs/copy-state-machine';
import { CopyDashboard } from './constructs/dashboard';
import { DirectEventCopy } from './constructs/event-copy';
import { EventsDigest } from './constructs/event-digest';
import { Alarms, Notifications, type WatchedDeadLetterQueue } from './constructs/notifications';
import { CopySchedule, ObjectCreatedTrigger } from './constructs/triggers';
import { notifyRoleStatements } from './policies';

export interface SourceStackProps extends StackProps {
  config: InfraConfig;
  /** Where `<kind>/handler.ts` live (tests use a fixture); functions/ by default. */
  functionsDir?: string;
  /** The ASL file; statemachine/copy.asl.json by default. */
  definitionPath?: string;
}

/**
 * The account that runs the workflow: functions, state bucket, state machine, topic, alarms, triggers,
 * and (when the stack owns it) the source bucket with its policy for the target role.
 */
export class SourceStack extends Stack {
  readonly functions: CopyFunctions;
  readonly stateBucket: StateBucket;
  readonly notifications: Notifications;
  readonly copyStateMachine: CopyStateMachine;
  readonly sourceBucket?: ManagedSourceBucket;
  readonly schedule?: CopySchedule;
  readonly objectCreated?: ObjectCreatedTrigger;
  /** The direct event path (s3Events.delivery "lambda"): events copied by the events function. */
  readonly directEvents?: DirectEventCopy;
  /** The direct event path's periodic digest (s3Events.digestHours > 0). */
  readonly eventsDigest?: EventsDigest;
  readonly dashboard: CopyDashboard;

  constructor(scope: Construct, id: string, props: SourceStackProps) {
    super(scope, id, {
      ...props,
      env: { account: props.config.source.account, region: props.config.source.region },
      description: 's3xcopy: copies S3 objects across accounts with Step Functions (source account)',
    });
    const { config } = props;
    if (config.source.createBucket) {
      this.sourceBucket = new ManagedSourceBucket(this, 'SourceBucket', { config });
    }
    this.stateBucket = new StateBucket(this, 'State', { config });
    this.notifications = new Notifications(this, 'Notifications', { config });
    this.functions = new CopyFunctions(this, 'Functions', {
      config,
      ...(props.functionsDir ? { functionsDir: props.functionsDir } : {}),
      notifyStatements: notifyRoleStatements(config, this.notifications.key.keyArn),
    });
    this.copyStateMachine = new CopyStateMachine(this, 'Workflow', {
      config,
      ...(props.definitionPath ? { definitionPath: props.definitionPath } : {}),
    });
    // The definition names the functions by their fixed ARNs; create them first so no execution can start
    // against a function that does not exist yet.
    this.copyStateMachine.node.addDependency(this.functions);
    const stateMachine = this.copyStateMachine.stateMachine;
    const deadLetterQueues: Record<string, WatchedDeadLetterQueue> = {};
    if (config.schedule) {
      this.schedule = new CopySchedule(this, 'Schedule', { schedule: config.schedule, stateMachine });
      deadLetterQueues.Schedule = {
        queue: this.schedule.deadLetters,
        meaning: 'scheduled runs that EventBridge Scheduler could not start (see the message for the error)',
      };
    }
    const functions: Record<string, lambda.IFunction> = { ...this.functions.all };
    if (config.s3Events.enabled && config.s3Events.delivery === 'lambda') {
      this.directEvents = new DirectEventCopy(this, 'DirectEvents', {
        config,
        environment: this.functions.environment,
        topicKeyArn: this.notifications.key.keyArn,
        ...(props.functionsDir ? { functionsDir: props.functionsDir } : {}),
      });
      functions.events = this.directEvents.function;
      // S3 checks that it may send to the queue when the notification is set: the queue policy comes first.
      const queuePolicy = this.directEvents.queuePolicy;
      if (this.sourceBucket && queuePolicy) this.sourceBucket.node.addDependency(queuePolicy);
      if (config.s3Events.digestHours > 0) {
        this.eventsDigest = new EventsDigest(this, 'EventsDigest', {
          config,
          environment: this.functions.environment,
          topicKeyArn: this.notifications.key.keyArn,
          ...(props.functionsDir ? { functionsDir: props.functionsDir } : {}),
        });
        functions.digest = this.eventsDigest.function;
        deadLetterQueues.EventsDigest = {
          queue: this.eventsDigest.deadLetters,
          meaning: 'scheduled events digests that EventBridge Scheduler could not deliver to the digest function',
        };
      }
      deadLetterQueues.DirectEvents = {
        queue: this.directEvents.deadLetters,
        meaning:
          'object-created events whose objects failed on every delivery (the topic got a message naming them, ' +
          'and reports/events/ in the state bucket has them all) or that the rule could not deliver; fix the ' +
          'cause, then redrive the queue',
      };
    } else if (config.s3Events.enabled) {
      this.objectCreated = new ObjectCreatedTrigger(this, 'ObjectCreated', { config, stateMachine });
      // The one failure path of the event trigger: the rule's delivery failures and, through the queue's
      // redrive policy, batches the pipe could not start an execution with (a pipe with an SQS source has
      // no dead-letter queue of its own).
      deadLetterQueues.ObjectCreated = {
        queue: this.objectCreated.deadLetters,
        meaning:
          'object-created events that never started an execution; copy those keys with s3xcopy start, then redrive or purge the queue',
      };
    }
    const alarms = new Alarms(this, 'Alarms', {
      config,
      topic: this.notifications.topic,
      functions,
      stateMachine,
      deadLetterQueues,
    });
    this.dashboard = new CopyDashboard(this, 'Dashboard', {
      config,
      functions,
      stateMachine,
      deadLetterQueues: Object.fromEntries(Object.entries(deadLetterQueues).map(([name, { queue }]) => [name, queue])),
      alarms: alarms.alarms,
    });
  }
}
