/**
 * The direct event path's digest: what the events function did over a period (a day by default), read
 * from the metrics each batch already emits, written once to the state bucket and published once to the
 * topic. Reporting every successful batch would cost an S3 PUT (or an SNS publish) per invocation, $5 per
 * million objects when events trickle in one at a time; the digest costs one of each per period. Failures
 * still go out with their batch, on their last delivery (functions/events/handler.ts).
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  EVENTS_BATCH_METRICS,
  EVENTS_FAILED_FOR_GOOD,
  EVENTS_OUT_OF_TIME_FOR_GOOD,
  EVENTS_SERVICE,
} from '../shared/metric-names';
import { metricSums } from './metric-sums';

export type DigestCounts = Record<keyof typeof EVENTS_BATCH_METRICS, number>;

export interface EventsDigest {
  /** The period summed: [start, end). */
  period: { start: string; end: string };
  source: string;
  target: string;
  /**
   * Objects settled in the period, each counted once: copied, skipped, handed over, or failed for good (its
   * last delivery failed, or ran out of time before copying it). selected = copied + skipped + failed +
   * handedOver.
   */
  objects: Pick<DigestCounts, 'selected' | 'copied' | 'skipped' | 'failed' | 'handedOver'>;
  /** Of `objects.failed`, those whose last delivery ran out of time before their copy was done. */
  failedOutOfTime: number;
  /**
   * Deliveries that settled nothing and went back to the queue (the object is counted in `objects` by the
   * delivery that settles it): a failure before the last delivery, or out of time.
   */
  deliveriesRetried: { failed: number; notAttempted: number };
  /** Events naming a key another event of the same batch named (copied once). */
  duplicateEvents: number;
  bytes: { copied: number };
  /** Where the failures of the period are listed, one file per batch with a final failure. */
  failureReports: string;
  /** Where this digest is kept. */
  report?: string;
}

export interface DigestDeps {
  metrics: CloudWatchClient;
  /** CloudWatch namespace of the events function's metrics (POWERTOOLS_METRICS_NAMESPACE). */
  namespace: string;
  state: { s3: S3Client; bucket: string };
  sns?: { client: SNSClient; topicArn: string };
  job: { source: string; target: string };
}

/** The UTC day of the period's start: the digest of a daily schedule is named for the day it covers. */
export function digestKey(period: { start: Date }): string {
  return `reports/events/${period.start.toISOString().slice(0, 10)}.json`;
}

/** The period a run covers: the `hours` before `now`, cut to whole hours (so two runs never overlap). */
export function digestPeriod(now: Date, hours: number): { start: Date; end: Date } {
  const end = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
  return { start: new Date(end.getTime() - hours * 3_600_000), end };
}

/** Reads the period's sums, writes the digest, publishes one summary. */
export async function runEventsDigest(deps: DigestDeps, period: { start: Date; end: Date }): Promise<EventsDigest> {
  const fields = Object.keys(EVENTS_BATCH_METRICS) as Array<keyof typeof EVENTS_BATCH_METRICS>;
  const sums = await metricSums(deps.metrics, {
    namespace: deps.namespace,
    dimensions: { service: EVENTS_SERVICE },
    names: [...fields.map((field) => EVENTS_BATCH_METRICS[field]), EVENTS_FAILED_FOR_GOOD, EVENTS_OUT_OF_TIME_FOR_GOOD],
    start: period.start,
    end: period.end,
  });
  const count = (field: keyof typeof EVENTS_BATCH_METRICS) => Math.round(sums[EVENTS_BATCH_METRICS[field]] ?? 0);
  const failedForGood = Math.round(sums[EVENTS_FAILED_FOR_GOOD] ?? 0);
  const outOfTimeForGood = Math.round(sums[EVENTS_OUT_OF_TIME_FOR_GOOD] ?? 0);
  const key = digestKey(period);
  const digest: EventsDigest = {
    period: { start: period.start.toISOString(), end: period.end.toISOString() },
    source: deps.job.source,
    target: deps.job.target,
    objects: {
      selected: count('copied') + count('skipped') + failedForGood + outOfTimeForGood + count('handedOver'),
      copied: count('copied'),
      skipped: count('skipped'),
      failed: failedForGood + outOfTimeForGood,
      handedOver: count('handedOver'),
    },
    failedOutOfTime: outOfTimeForGood,
    deliveriesRetried: {
      failed: count('failed') - failedForGood,
      notAttempted: count('notAttempted') - outOfTimeForGood,
    },
    duplicateEvents: count('duplicates'),
    bytes: { copied: count('bytesCopied') },
    failureReports: `s3://${deps.state.bucket}/reports/events/`,
    report: `s3://${deps.state.bucket}/${key}`,
  };
  await deps.state.s3.send(
    new PutObjectCommand({
      Bucket: deps.state.bucket,
      Key: key,
      Body: `${JSON.stringify(digest, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
  if (deps.sns) {
    await deps.sns.client.send(
      new PublishCommand({
        TopicArn: deps.sns.topicArn,
        Subject: digestSubject(digest),
        Message: digestMessage(digest),
        MessageAttributes: {
          status: { DataType: 'String', StringValue: digest.objects.failed > 0 ? 'FAILED' : 'SUCCEEDED' },
          jobId: { DataType: 'String', StringValue: 's3xcopy-events-digest' },
        },
      }),
    );
  }
  return digest;
}

/** At most 100 characters, as SNS requires of an email subject. */
export function digestSubject(digest: EventsDigest): string {
  const { copied, failed } = digest.objects;
  return `s3xcopy events ${digest.period.start.slice(0, 10)}: ${copied} copied, ${failed} failed`.slice(0, 99);
}

/** The summary's text: the ledger of the period and where its details are. */
export function digestMessage(digest: EventsDigest): string {
  const o = digest.objects;
  return [
    `s3xcopy copied objects named by S3 events from ${digest.source} to ${digest.target}`,
    `between ${digest.period.start} and ${digest.period.end}:`,
    '',
    `- selected: ${o.selected}`,
    `- copied: ${o.copied} (${digest.bytes.copied} bytes)`,
    `- skipped (already current, vanished, filtered out): ${o.skipped}`,
    `- handed over to the workflow (too large for one invocation; each execution reports itself): ${o.handedOver}`,
    `- failed for good (their last delivery failed, ${digest.failedOutOfTime} of them out of time; each was reported then): ${o.failed}`,
    `- deliveries retried without settling their object: ${digest.deliveriesRetried.failed} failed, ${digest.deliveriesRetried.notAttempted} out of time`,
    `- duplicate events: ${digest.duplicateEvents}`,
    '',
    `Failure reports: ${digest.failureReports}`,
    ...(digest.report ? [`This digest: ${digest.report}`] : []),
  ].join('\n');
}
