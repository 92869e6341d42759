/**
 * The events digest against moto's CloudWatch, S3 and SNS. The events handler copies a few batches on moto
 * and writes its EMF lines, as Lambda would hand them to CloudWatch Logs; the test turns exactly those
 * lines into PutMetricData calls (CloudWatch's own reading of EMF: the namespace, the dimension set and
 * each metric's value), then runs the digest function over the period: it must read back the batches'
 * ledgers, write them to the state bucket and publish one summary.
 */

import { Console } from 'node:console';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CloudWatchClient,
  PutMetricDataCommand,
  type PutMetricDataCommandInput,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventsDigest } from '../../functions/digest/events-digest';
import { digestPeriod } from '../../functions/digest/events-digest';
import { createDigestHandler } from '../../functions/digest/handler';
import { metricSums } from '../../functions/digest/metric-sums';
import { createEventsHandler, type EventsBatchReport, OUT_OF_TIME } from '../../functions/events/handler';
import { s3ClientFactory } from '../../functions/shared/clients';
import {
  EVENTS_BATCH_METRICS,
  EVENTS_FAILED_FOR_GOOD,
  EVENTS_OUT_OF_TIME_FOR_GOOD,
  EVENTS_SERVICE,
} from '../../functions/shared/metric-names';
import { TargetClients } from '../../functions/shared/target-role';
import { type CompatServer, connect } from './connect';
import { IN_CI, readServerStates } from './servers';
import { subscribeInbox } from './sns-inbox';

const state = readServerStates().moto;
const region = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** An SQS record of the events queue: an EventBridge Object Created event as its body. */
function record(bucket: string, key: string, messageId: string, receiveCount = 1): SQSRecord {
  const body = {
    'detail-type': 'Object Created',
    source: 'aws.s3',
    detail: { bucket: { name: bucket }, object: { key } },
  };
  return {
    messageId,
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: String(receiveCount) },
  } as unknown as SQSRecord;
}

/** A batch's final failures: out of time, or a failed copy (whatever the server's error code). */
function finalCodesOf(report: EventsBatchReport): string[] {
  return report.finalFailures.map((failure) => (failure.code === OUT_OF_TIME ? OUT_OF_TIME : 'failed'));
}

/** The PutMetricData request CloudWatch makes of one EMF line: its namespace, dimension set and values. */
function putMetricDataOf(emf: Record<string, unknown>): PutMetricDataCommandInput {
  const aws = emf._aws as { Timestamp: number; CloudWatchMetrics: Array<Record<string, unknown>> };
  const directive = aws.CloudWatchMetrics[0] as {
    Namespace: string;
    Dimensions: string[][];
    Metrics: Array<{ Name: string; Unit: string }>;
  };
  return {
    Namespace: directive.Namespace,
    MetricData: directive.Metrics.map((metric) => ({
      MetricName: metric.Name,
      Value: Number(emf[metric.Name]),
      Unit: metric.Unit as StandardUnit,
      Timestamp: new Date(aws.Timestamp),
      Dimensions: (directive.Dimensions[0] ?? []).map((name) => ({ Name: name, Value: String(emf[name]) })),
    })),
  };
}

if (!state?.available) {
  const reason = state?.reason ?? 'global-setup did not record it';
  if (IN_CI) throw new Error(`moto is required on CI: ${reason}`);
  describe.skip(`events digest on moto (skipped: ${reason})`, () => {
    it('sums the events metrics of the period', () => undefined);
  });
} else {
  describe("events digest on moto's CloudWatch, S3 and SNS", () => {
    let server: CompatServer;
    const run = randomBytes(3).toString('hex');
    const [source, target, stateBucket] = [`dg-src-${run}`, `dg-dst-${run}`, `dg-state-${run}`];
    const namespace = `s3xcopy-${run}`;

    beforeAll(async () => {
      server = await connect('moto');
      for (const bucket of [source, target, stateBucket]) {
        await server.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      }
    });
    afterAll(() => server.stop());

    it("writes and publishes one summary of the period's batches, as their EMF lines counted them", async () => {
      // Arrange: three batches copied by the events handler on moto, its EMF lines captured
      const emfLines: string[] = [];
      const sink = new Writable({
        write: (chunk, _encoding, done) => {
          emfLines.push(
            ...String(chunk)
              .split('\n')
              .filter((line) => line.includes('"_aws"')),
          );
          done();
        },
      });
      const console = new Console({ stdout: sink, stderr: sink });
      const metrics = new Metrics({ namespace, serviceName: EVENTS_SERVICE, logger: console });
      (metrics as unknown as { console: unknown }).console = console;
      const logger = new Logger({ serviceName: EVENTS_SERVICE, logLevel: 'SILENT' });
      process.env.POWERTOOLS_METRICS_DISABLED = 'false';
      const makeS3 = s3ClientFactory({ endpoint: server.endpoint, region, credentials });
      const reports: EventsBatchReport[] = [];
      const handler = createEventsHandler({
        config: {
          defaults: { source: { bucket: source, prefix: 'in/' }, target: { bucket: target, prefix: 'out/' } },
          notifyOnSuccess: true,
        },
        targetClients: new TargetClients(new STSClient({ region, endpoint: server.endpoint, credentials }), makeS3),
        maxReceiveCount: 5,
        observability: { logger, metrics },
        onResult: (report) => reports.push(report),
      });
      for (const key of ['in/a.txt', 'in/b.txt', 'in/c.txt', 'in/late.txt']) {
        await server.s3.send(new PutObjectCommand({ Bucket: source, Key: key, Body: `body of ${key}` }));
      }
      const batches = [
        [record(source, 'in/a.txt', '1'), record(source, 'in/b.txt', '2'), record(source, 'in/b.txt', '3')],
        [record(source, 'in/a.txt', '4'), record(source, 'in/gone.txt', '5')],
        [record(source, 'in/c.txt', '6')],
      ];
      for (const [index, records] of batches.entries()) {
        await handler(
          { Records: records } as SQSEvent,
          { awsRequestId: `r${index}`, getRemainingTimeInMillis: () => 900_000 } as never,
        );
      }
      // One key whose copy fails on every delivery (its target bucket does not exist): delivered once, then
      // a last time (the queue's maxReceiveCount). Two failed deliveries, one object failed for good.
      const failing = createEventsHandler({
        config: {
          defaults: {
            source: { bucket: source, prefix: 'in/' },
            target: { bucket: `dg-missing-${run}`, prefix: 'out/' },
          },
          notifyOnSuccess: true,
        },
        targetClients: new TargetClients(new STSClient({ region, endpoint: server.endpoint, credentials }), makeS3),
        maxReceiveCount: 5,
        observability: { logger, metrics },
        onResult: (report) => reports.push(report),
      });
      for (const [index, receiveCount] of [1, 5].entries()) {
        await failing(
          { Records: [record(source, 'in/c.txt', `f${index}`, receiveCount)] } as SQSEvent,
          { awsRequestId: `f${index}`, getRemainingTimeInMillis: () => 900_000 } as never,
        );
      }
      // One key the invocation runs out of time for: once on an early delivery (retried), then on the last
      // (settled for good, out of time, without a copy attempt).
      for (const [index, receiveCount] of [2, 5].entries()) {
        let calls = 0;
        await handler(
          { Records: [record(source, 'in/late.txt', `t${index}`, receiveCount)] } as SQSEvent,
          { awsRequestId: `t${index}`, getRemainingTimeInMillis: () => (calls++ === 0 ? 1_000 : 0) } as never,
        );
      }
      const cloudWatch = new CloudWatchClient({ region, endpoint: server.endpoint, credentials });
      // moto 5.2.1 drops the namespace from a GetMetricData query that names dimensions (it sums every
      // namespace's metric of that name and dimensions), so whatever else a long-lived moto holds is read first.
      const now = () => new Date(Date.now() + 3_600_000);
      const names = [...Object.values(EVENTS_BATCH_METRICS), EVENTS_FAILED_FOR_GOOD, EVENTS_OUT_OF_TIME_FOR_GOOD];
      const period = digestPeriod(now(), 24);
      const before = await metricSums(cloudWatch, {
        namespace,
        dimensions: { service: EVENTS_SERVICE },
        names,
        ...period,
      });
      for (const line of emfLines) await cloudWatch.send(new PutMetricDataCommand(putMetricDataOf(JSON.parse(line))));
      const sns = new SNSClient({ region, endpoint: server.endpoint, credentials });
      const topicArn = (await sns.send(new CreateTopicCommand({ Name: `digest-${run}` }))).TopicArn ?? '';
      const inbox = await subscribeInbox(sns, topicArn);
      const digestHandler = createDigestHandler({
        hours: 24,
        now,
        metrics: cloudWatch,
        namespace,
        state: { s3: server.s3, bucket: stateBucket },
        sns: { client: sns, topicArn },
        job: { source: `s3://${source}/in/`, target: `s3://${target}/out/` },
        observability: { logger, metrics },
      });

      // Act
      const digest = (await digestHandler({}, {} as never)) as EventsDigest;

      // Assert: the sums of the three ledgers, in the report and in the one message
      const sum = (field: keyof typeof EVENTS_BATCH_METRICS) =>
        reports.reduce((total, report) => total + report.ledger[field], 0) + (before[EVENTS_BATCH_METRICS[field]] ?? 0);
      const finalCodes = reports.flatMap((report) => report.finalFailures.map((failure) => failure.code));
      const outOfTime =
        finalCodes.filter((code) => code === OUT_OF_TIME).length + (before[EVENTS_OUT_OF_TIME_FOR_GOOD] ?? 0);
      const failedForGood =
        finalCodes.filter((code) => code !== OUT_OF_TIME).length + (before[EVENTS_FAILED_FOR_GOOD] ?? 0);
      expect(emfLines).toHaveLength(7);
      expect(reports.map((report) => report.ledger.copied)).toEqual([2, 0, 1, 0, 0, 0, 0]);
      expect(reports.map((report) => [report.ledger.failed, report.ledger.notAttempted, finalCodesOf(report)])).toEqual(
        [
          [0, 0, []],
          [0, 0, []],
          [0, 0, []],
          [1, 0, []],
          [1, 0, ['failed']],
          [0, 1, []],
          [0, 1, [OUT_OF_TIME]],
        ],
      );
      // Each object once: the key that failed twice is one object failed for good and one retried delivery;
      // the key out of time twice is one object failed for good (out of time) and one retried delivery.
      expect(digest.objects).toEqual({
        selected: sum('copied') + sum('skipped') + failedForGood + outOfTime + sum('handedOver'),
        copied: sum('copied'),
        skipped: sum('skipped'),
        failed: failedForGood + outOfTime,
        handedOver: sum('handedOver'),
      });
      expect(digest.failedOutOfTime).toBe(outOfTime);
      expect(digest.deliveriesRetried).toEqual({
        failed: sum('failed') - failedForGood,
        notAttempted: sum('notAttempted') - outOfTime,
      });
      expect(digest.duplicateEvents).toBe(sum('duplicates'));
      expect(digest.bytes.copied).toBe(sum('bytesCopied'));
      const key = `reports/events/${digest.period.start.slice(0, 10)}.json`;
      const stored = await server.s3.send(new GetObjectCommand({ Bucket: stateBucket, Key: key }));
      expect(JSON.parse(await (stored.Body?.transformToString() ?? '{}'))).toEqual(digest);
      expect(inbox.messages.map((message) => message.subject)).toEqual([
        `s3xcopy events ${digest.period.start.slice(0, 10)}: ${sum('copied')} copied, ${failedForGood + outOfTime} failed`,
      ]);
      expect(inbox.messages[0]?.body).toContain(`- copied: ${sum('copied')} (${digest.bytes.copied} bytes)`);
      await inbox.close();
      sns.destroy();
    });
  });
}
