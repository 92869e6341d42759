import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { COPY_INVOCATION_METRICS } from '../../functions/shared/metric-names';
import type { InfraConfig } from '../config';
import { acknowledge } from '../nag';
import { COPY_MAP_LABEL, resourceArns, resourceNames } from '../names';
import { topicKeyStatements, topicPublishStatements } from '../policies';
import { METRICS_NAMESPACE, serviceOf } from './dashboard';

/**
 * The SNS topic that job reports and alarms go to: encrypted with a customer-managed key (CloudWatch
 * alarms cannot publish to a topic under the AWS-managed SNS key), SSL-only, with the configured emails.
 */
export class Notifications extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: { config: InfraConfig }) {
    super(scope, id);
    this.key = new kms.Key(this, 'TopicKey', {
      description: 's3xcopy notifications topic',
      enableKeyRotation: true,
    });
    // Alarms publish through CloudWatch, which must be able to use the key (only for this deployment's alarms).
    for (const statement of topicKeyStatements(props.config)) {
      this.key.addToResourcePolicy(iam.PolicyStatement.fromJson(statement));
    }
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: resourceNames(props.config).topic,
      displayName: 's3xcopy',
      masterKey: this.key,
      enforceSSL: true,
    });
    // enforceSSL writes a topic policy, which replaces SNS's default one: allow the alarms explicitly.
    for (const statement of topicPublishStatements(props.config)) {
      this.topic.addToResourcePolicy(iam.PolicyStatement.fromJson(statement));
    }
    for (const email of props.config.alarmEmails) {
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(email));
      acknowledge(
        subscription,
        'Serverless-SNSRedrivePolicy',
        `Email subscription ${email}: SNS retries email delivery itself, and a failed report is still in the ` +
          'execution history and logs; a DLQ of undelivered emails would have no consumer.',
      );
    }
  }
}

/** A dead-letter queue to watch, and what a message in it means (the alarm's description). */
export interface WatchedDeadLetterQueue {
  queue: sqs.IQueue;
  meaning: string;
}

export interface AlarmsProps {
  config: InfraConfig;
  topic: sns.ITopic;
  functions: Record<string, lambda.IFunction>;
  stateMachine: sfn.IStateMachine;
  /** Dead-letter queues by a short name: a message in any of them is something that never ran. */
  deadLetterQueues?: Record<string, WatchedDeadLetterQueue>;
}

/**
 * Alarms to the topic: any list or notify function error, any copy invocation that really failed (its
 * own metric: a hand-over to the next invocation is not a failure), any copy batch that failed after its
 * retries, any execution that failed, timed out or was aborted, and any message in a dead-letter queue
 * (an event or a schedule run that never started an execution raises no other alarm). Missing data means
 * nothing ran, which is not an alarm.
 */
export class Alarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const action = new actions.SnsAction(props.topic);
    const add = (alarmId: string, metric: cloudwatch.IMetric, description: string) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        // A fixed name under the deployment's prefix: the topic and key policies allow exactly these alarms.
        alarmName: `${resourceNames(props.config).alarmPrefix}${alarmId}`,
        metric,
        alarmDescription: description,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };
    const period = Duration.minutes(1);
    for (const [kind, fn] of Object.entries(props.functions)) {
      // The copy function throws by design when a large object hands over to the next invocation, and
      // Lambda counts that as an error: its alarm watches the function's own count of real failures.
      if (kind === 'copy') continue;
      add(
        `${kind}Errors`,
        fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        `s3xcopy ${kind} function reported errors: see its log group`,
      );
    }
    add(
      'copyInvocationsFailed',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: COPY_INVOCATION_METRICS.failed,
        dimensionsMap: { service: serviceOf('copy') },
        statistic: cloudwatch.Stats.SUM,
        period,
      }),
      's3xcopy copy function failed (objects failed after retries, a role refused, a bad job): see its log group. ' +
        'Hand-overs of large objects to the next invocation are not counted.',
    );
    const sm = props.stateMachine;
    // A copy invocation that dies (timeout, out of memory) writes no metric of its own; once the state
    // machine's retries are spent its batch's child execution fails, and this alarm sees it.
    add(
      'CopyBatchesFailed',
      new cloudwatch.Metric({
        namespace: 'AWS/States',
        metricName: 'ExecutionsFailed',
        dimensionsMap: { StateMachineArn: `${resourceArns(props.config).stateMachine}/${COPY_MAP_LABEL}` },
        statistic: cloudwatch.Stats.SUM,
        period,
      }),
      "s3xcopy copy batches failed after all their retries: see the execution's Map Run and the report",
    );
    add('ExecutionsFailed', sm.metricFailed({ period, statistic: cloudwatch.Stats.SUM }), 's3xcopy executions failed');
    add(
      'ExecutionsTimedOut',
      sm.metricTimedOut({ period, statistic: cloudwatch.Stats.SUM }),
      's3xcopy executions timed out',
    );
    add(
      'ExecutionsAborted',
      sm.metricAborted({ period, statistic: cloudwatch.Stats.SUM }),
      's3xcopy executions aborted',
    );
    for (const [name, { queue, meaning }] of Object.entries(props.deadLetterQueues ?? {})) {
      // SQS publishes queue metrics every 5 minutes; Maximum catches a message that is redriven quickly.
      add(
        `${name}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        `s3xcopy ${name} dead-letter queue has messages: ${meaning}`,
      );
    }
  }
}
