import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { COPY_INVOCATION_METRICS } from '../../functions/shared/metric-names';
import type { InfraConfig } from '../config';
import { COPY_MAP_LABEL, resourceArns, resourceNames } from '../names';

/** Where the functions' EMF metrics go: POWERTOOLS_METRICS_NAMESPACE (copy-functions.ts). */
export const METRICS_NAMESPACE = 's3xcopy';

/** The `service` dimension Powertools Metrics adds to every metric: POWERTOOLS_SERVICE_NAME of each function. */
export function serviceOf(kind: 'list' | 'copy' | 'notify'): string {
  return `s3xcopy-${kind}`;
}

// The dashboard shows batches started, done and failed from the Map's child executions' metrics.
export { COPY_MAP_LABEL };

export interface CopyDashboardProps {
  config: InfraConfig;
  functions: Record<string, lambda.IFunction>;
  stateMachine: sfn.IStateMachine;
  deadLetterQueues: Record<string, sqs.IQueue>;
  alarms: cloudwatch.IAlarm[];
}

/** Every graph's period: one minute. */
const PERIOD = Duration.minutes(1);

/** A metric the list or copy function writes as EMF (Powertools), summed per minute. */
function emf(metricName: string, kind: 'list' | 'copy', label: string, unit?: cloudwatch.Unit): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: serviceOf(kind) },
    statistic: cloudwatch.Stats.SUM,
    period: PERIOD,
    label,
    ...(unit ? { unit } : {}),
  });
}

/** A metric of the copy Map's child executions (one per batch), summed per minute. */
function copyBatchMetric(config: CopyDashboardProps['config'], metricName: string, label: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/States',
    metricName,
    dimensionsMap: { StateMachineArn: `${resourceArns(config).stateMachine}/${COPY_MAP_LABEL}` },
    statistic: cloudwatch.Stats.SUM,
    period: PERIOD,
    label,
  });
}

/**
 * What an operator looks at on day one: executions by status, objects copied/failed/skipped per minute
 * and bytes copied (the functions' EMF metrics), Lambda errors and throttles, the Map Run's batches, and
 * dead-letter queue depth, with the alarms on top.
 */
export class CopyDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CopyDashboardProps) {
    super(scope, id);
    const period = PERIOD;
    const sum = cloudwatch.Stats.SUM;
    const sm = props.stateMachine;
    const children = (metricName: string, label: string) => copyBatchMetric(props.config, metricName, label);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: resourceNames(props.config).dashboard,
      defaultInterval: Duration.hours(3),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 3 })],
        [
          new cloudwatch.GraphWidget({
            title: 'Executions by status (per minute)',
            width: 12,
            left: [
              sm.metricStarted({ period, statistic: sum, label: 'started' }),
              sm.metricSucceeded({ period, statistic: sum, label: 'succeeded' }),
              sm.metricFailed({ period, statistic: sum, label: 'failed' }),
              sm.metricTimedOut({ period, statistic: sum, label: 'timed out' }),
              sm.metricAborted({ period, statistic: sum, label: 'aborted' }),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Objects per minute',
            width: 12,
            left: [
              emf('ObjectsCopied', 'copy', 'copied'),
              emf('ObjectsFailed', 'copy', 'failed'),
              emf('ObjectsSkipped', 'copy', 'skipped by copy'),
              emf('ObjectsSkipped', 'list', 'skipped by list (sync, vanished)'),
              emf('ObjectsListed', 'list', 'listed'),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Bytes copied per minute',
            width: 12,
            left: [emf('BytesCopied', 'copy', 'bytes copied', cloudwatch.Unit.BYTES)],
          }),
          new cloudwatch.GraphWidget({
            title: 'Map Run progress: copy batches (child executions) per minute',
            width: 12,
            left: [
              children('ExecutionsStarted', 'batches started'),
              children('ExecutionsSucceeded', 'batches succeeded'),
              children('ExecutionsFailed', 'batches failed'),
              children('ExecutionsTimedOut', 'batches timed out'),
            ],
            right: [
              new cloudwatch.Metric({
                namespace: 'AWS/States',
                metricName: 'ApproximateOpenMapRunCount',
                statistic: cloudwatch.Stats.MAXIMUM,
                period,
                label: 'open Map Runs (account)',
              }),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Lambda errors and throttles (per minute)',
            width: 12,
            left: Object.entries(props.functions).flatMap(([kind, fn]) => [
              fn.metricErrors({ period, statistic: sum, label: `${kind} errors` }),
              fn.metricThrottles({ period, statistic: sum, label: `${kind} throttles` }),
            ]),
            // Lambda counts a copy's hand-over to the next invocation as an error; these tell them apart.
            right: [
              emf(COPY_INVOCATION_METRICS.failed, 'copy', 'copy invocations failed'),
              emf(COPY_INVOCATION_METRICS.handedOver, 'copy', 'copy hand-overs (normal work)'),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead-letter queue depth',
            width: 12,
            left: Object.entries(props.deadLetterQueues).map(([name, queue]) =>
              queue.metricApproximateNumberOfMessagesVisible({
                period: Duration.minutes(5),
                statistic: cloudwatch.Stats.MAXIMUM,
                label: `${name} dead letters`,
              }),
            ),
          }),
        ],
      ],
    });
  }
}
