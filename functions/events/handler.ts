/**
 * The events function: an SQS event source mapping hands it a batch of S3 "Object Created" events
 * (EventBridge rule -> SQS queue), and it copies them itself (event-copy.ts), with no Step Functions
 * execution. It answers with partial batch failures: messages whose keys failed or ran out of time go
 * back to the queue and are delivered again; after the queue's maxReceiveCount they move to its
 * dead-letter queue, whose alarm notifies the topic. On a message's last delivery, its failures are also
 * published to the topic and written to the state bucket (reports/events/...), naming every key. Objects
 * too large for one invocation are handed to the deployment's state machine (hand-over.ts); successful
 * batches are reported by the periodic digest (functions/digest/), from the metrics recorded here.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { BucketRegions, createStsClient, s3ClientFactory } from '../shared/clients';
import { assertDeploymentAllows, type DeploymentConfig, loadConfig } from '../shared/config';
import { errorMessage } from '../shared/errors';
import { type CopyFailure, DEFAULT_OPTIONS, resolveJob } from '../shared/job';
import {
  EVENTS_BATCH_METRICS,
  EVENTS_FAILED_FOR_GOOD,
  EVENTS_OUT_OF_TIME_FOR_GOOD,
  EVENTS_SERVICE,
} from '../shared/metric-names';
import { createObservability, type Observability } from '../shared/observability';
import { TargetClients } from '../shared/target-role';
import { copyEventBatch, EVENTS_JOB_ID, type EventCopyDeps, type EventLedger } from './event-copy';
import { stateMachineStarter } from './hand-over';
import { HAND_OVER_BYTES_ENV, MAX_RECEIVE_COUNT_ENV, STATE_MACHINE_ARN_ENV } from './handler-env';

export interface EventsHandlerDeps {
  config: DeploymentConfig;
  targetClients: TargetClients;
  /** Where final failures are published; without it (local runs) they are only logged and returned. */
  sns?: SNSClient;
  /** The state bucket, written with the function's own credentials: reports of final failures. */
  state?: { s3: S3Client; bucket: string };
  maxReceiveCount: number;
  observability?: Observability;
  /** Engine settings to override in tests (retry policy, sleep, safety margin). */
  engine?: Partial<Omit<EventCopyDeps, 's3' | 'sourceS3' | 'logger' | 'remainingTimeMs'>>;
  /** Where objects too large for one invocation go (the workflow); without it every object is copied here. */
  handOver?: EventCopyDeps['handOver'];
  /** Called with each batch's full result (the local measurements and tests read it). */
  onResult?: (result: EventsBatchReport) => void;
}

/** The failure code of a key whose last delivery ran out of time before its copy was done. */
export const OUT_OF_TIME = 'OutOfTime';
const OUT_OF_TIME_MESSAGE =
  "the invocation ran out of time before it could copy it, on its event's last delivery: raise the events function's timeout or lower the queue's batch size, then redrive the dead-letter queue";

/** What one invocation did: the ledger, the failures, and which failures were final. */
export interface EventsBatchReport {
  ledger: EventLedger;
  failures: CopyFailure[];
  /** Messages handed back to the queue. */
  retried: string[];
  /**
   * Keys settled for good as not copied: every message naming them was on its last delivery and goes to
   * the dead-letter queue now. Failed copies, and keys the invocation ran out of time for (code OutOfTime).
   */
  finalFailures: CopyFailure[];
  /** Where the final failures were written, when any were. */
  report?: string;
}

function recordMetrics(metrics: Observability['metrics'], ledger: EventLedger): void {
  for (const [field, name] of Object.entries(EVENTS_BATCH_METRICS) as Array<
    [keyof typeof EVENTS_BATCH_METRICS, string]
  >) {
    metrics.addMetric(name, field === 'bytesCopied' ? MetricUnit.Bytes : MetricUnit.Count, ledger[field]);
  }
}

/** Writes the final failures beside the bulk path's reports and publishes one message naming them. */
async function reportFinalFailures(
  deps: EventsHandlerDeps,
  requestId: string,
  report: EventsBatchReport,
  job: { source: { bucket: string; prefix: string }; target: { bucket: string; prefix: string } },
): Promise<void> {
  const day = new Date().toISOString().slice(0, 10);
  if (deps.state) {
    const key = `reports/events/${day}/${requestId}.json`;
    const body = JSON.stringify({ ledger: report.ledger, failures: report.finalFailures }, null, 2);
    await deps.state.s3.send(
      new PutObjectCommand({ Bucket: deps.state.bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
    report.report = `s3://${deps.state.bucket}/${key}`;
  }
  if (!deps.sns || !deps.config.topicArn) return;
  const failed = report.finalFailures.length;
  const lines = report.finalFailures
    .slice(0, 20)
    .map((failure) => `- ${failure.key}: ${failure.code}: ${failure.message}`);
  await deps.sns.send(
    new PublishCommand({
      TopicArn: deps.config.topicArn,
      Subject: `s3xcopy events: ${failed} object(s) failed to copy`.slice(0, 99),
      Message: [
        `s3xcopy could not copy ${failed} object(s) named by S3 events from s3://${job.source.bucket}/${job.source.prefix} ` +
          `to s3://${job.target.bucket}/${job.target.prefix}, after every delivery of their events.`,
        `Their events are now in the dead-letter queue: fix the cause, then redrive it (or copy the keys with s3xcopy start).`,
        '',
        ...lines,
        ...(failed > lines.length ? [`... and ${failed - lines.length} more`] : []),
        ...(report.report ? ['', `Every failure: ${report.report}`] : []),
        '',
        `Batch ledger: ${JSON.stringify(report.ledger)}`,
      ].join('\n'),
      MessageAttributes: {
        status: { DataType: 'String', StringValue: 'FAILED' },
        jobId: { DataType: 'String', StringValue: EVENTS_JOB_ID },
        failedObjects: { DataType: 'Number', StringValue: String(failed) },
      },
    }),
  );
}

/**
 * Builds the events handler: middy with Powertools Logger and Metrics. It throws (failing the whole batch,
 * which the function's Errors alarm reports) only for what no retry of one message can fix: an invalid
 * deployment job, or a target role that cannot be assumed.
 */
export function createEventsHandler(deps: EventsHandlerDeps) {
  const { logger, metrics } = deps.observability ?? createObservability(EVENTS_SERVICE);

  const handle = async (event: SQSEvent, context: Partial<Context>): Promise<SQSBatchResponse> => {
    const job = resolveJob({}, deps.config.defaults);
    assertDeploymentAllows(job, deps.config);
    const s3 = await deps.targetClients.forBucket(job.target, EVENTS_JOB_ID, job.target.bucket);
    const sourceS3 = await deps.targetClients.forBucket(job.target, EVENTS_JOB_ID, job.source.bucket);
    const records = event.Records ?? [];
    const remaining = context.getRemainingTimeInMillis;
    const result = await copyEventBatch(
      job,
      records.map((record) => ({ messageId: record.messageId, body: record.body })),
      {
        ...deps.engine,
        // The sync check HEADs a key's identity record when ETags differ; copies leave records too.
        ...(deps.state ? { identity: { ...deps.state, lookUp: true } } : {}),
        ...(deps.handOver ? { handOver: deps.handOver } : {}),
        s3,
        sourceS3,
        logger,
        remainingTimeMs: remaining ? () => remaining.call(context) : () => 900_000,
      },
    );
    const lastDelivery = new Set(
      records
        .filter((record) => Number(record.attributes?.ApproximateReceiveCount ?? 1) >= deps.maxReceiveCount)
        .map((record) => record.messageId),
    );
    // A key is settled for good when every message naming it is on its last delivery: another message
    // naming it still comes back, and the key is tried again then.
    const final = (messageIds: string[] = []) =>
      messageIds.length > 0 && messageIds.every((id) => lastDelivery.has(id));
    const failedForGood = result.failures.filter((_, index) => final(result.failureMessageIds[index]));
    const outOfTimeForGood: CopyFailure[] = result.notAttempted
      .filter((key) => final(key.messageIds))
      .map((key) => ({ key: key.key, code: OUT_OF_TIME, message: OUT_OF_TIME_MESSAGE }));
    const report: EventsBatchReport = {
      ledger: result.ledger,
      failures: result.failures,
      retried: result.retryMessageIds,
      finalFailures: [...failedForGood, ...outOfTimeForGood],
    };
    recordMetrics(metrics, result.ledger);
    metrics.addMetric(EVENTS_FAILED_FOR_GOOD, MetricUnit.Count, failedForGood.length);
    metrics.addMetric(EVENTS_OUT_OF_TIME_FOR_GOOD, MetricUnit.Count, outOfTimeForGood.length);
    logger.info('Event batch copied', { ...result.ledger, retried: result.retryMessageIds.length });
    for (const failure of result.failures) logger.warn('Object failed', { ...failure });
    if (report.finalFailures.length > 0) {
      try {
        await reportFinalFailures(deps, context.awsRequestId ?? 'local', report, job);
      } catch (error) {
        // The dead-letter queue's alarm still reports these messages; the log line names the keys.
        logger.error('Could not report the final failures', { error: errorMessage(error) });
      }
    }
    deps.onResult?.(report);
    return { batchItemFailures: result.retryMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
  };

  return middy(handle)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

/** Deployed entry point: clients built once per cold start. */
function defaultDeps(): EventsHandlerDeps {
  const config = loadConfig();
  const concurrency = config.defaults.options?.concurrency ?? DEFAULT_OPTIONS.concurrency;
  const makeS3 = s3ClientFactory({}, Math.max(64, concurrency * 2));
  const maxReceiveCount = wholeNumberEnv(MAX_RECEIVE_COUNT_ENV, "the event queue's maxReceiveCount") ?? 5;
  const stateMachineArn = process.env[STATE_MACHINE_ARN_ENV];
  const thresholdBytes = wholeNumberEnv(HAND_OVER_BYTES_ENV, 's3Events.handOverSize in bytes');
  return {
    config,
    targetClients: new TargetClients(
      createStsClient(),
      makeS3,
      undefined,
      undefined,
      new BucketRegions(config.bucketRegions),
    ),
    sns: new SNSClient({}),
    ...(config.stateBucket ? { state: { s3: makeS3(), bucket: config.stateBucket } } : {}),
    ...(stateMachineArn
      ? {
          handOver: {
            starter: stateMachineStarter(new SFNClient({}), stateMachineArn),
            ...(thresholdBytes === undefined ? {} : { thresholdBytes }),
          },
        }
      : {}),
    maxReceiveCount,
  };
}

/**
 * A whole number >= 1 from the environment, or undefined when unset.
 * @throws Error naming the variable, failing the cold start
 */
function wholeNumberEnv(name: string, what: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a whole number >= 1 (${what})`);
  return value;
}

export const handler = createEventsHandler(defaultDeps());
