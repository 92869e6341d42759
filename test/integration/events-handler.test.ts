import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { countRequests } from '../../cli/runner/stats';
import { createEventsHandler, type EventsBatchReport, OUT_OF_TIME } from '../../functions/events/handler';
import type { DeploymentConfig } from '../../functions/shared/config';
import { TargetClients } from '../../functions/shared/target-role';
import { startTestS3, type TestS3 } from '../support/s3';

const SRC = 'events-src';
const DST = 'events-dst';
const STATE = 'events-state';
const TOPIC = 'arn:aws:sns:us-east-1:111111111111:s3xcopy-notifications';

function context(): Partial<Context> {
  return { awsRequestId: 'request-1', getRemainingTimeInMillis: () => 900_000 };
}

/** One SQS record as the event source mapping delivers it: the EventBridge event as the body. */
function record(key: string, messageId: string, receiveCount = 1, bucket = SRC): SQSRecord {
  const event = {
    'detail-type': 'Object Created',
    source: 'aws.s3',
    detail: { bucket: { name: bucket }, object: { key } },
  };
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: JSON.stringify(event),
    attributes: { ApproximateReceiveCount: String(receiveCount) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111111111111:s3xcopy-events',
    awsRegion: 'us-east-1',
  } as unknown as SQSRecord;
}

const quiet = () => ({
  logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
  metrics: new Metrics({ namespace: 'test', serviceName: 'test', singleMetric: false }),
});

describe('events handler (direct event path)', () => {
  let s3: TestS3;
  const sns = new SNSClient({ region: 'us-east-1' });
  const snsMock = mockClient(sns);

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    s3 = await startTestS3();
    for (const bucket of [SRC, DST, STATE]) await s3.createBucket(bucket);
  });
  afterAll(() => s3.stop());
  beforeEach(() => {
    snsMock.reset();
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  /** A handler over the embedded server whose copy client can be wrapped (to count or to interleave). */
  function handlerFor(
    options: { targetPrefix?: string; targetBucket?: string; wrap?: (client: S3Client) => void } = {},
  ) {
    const reports: EventsBatchReport[] = [];
    const makeS3 = (...args: Parameters<TestS3['makeS3']>) => {
      const client = s3.makeS3(...args);
      options.wrap?.(client);
      return client;
    };
    const config: DeploymentConfig = {
      defaults: {
        source: { bucket: SRC, prefix: 'in/' },
        target: { bucket: options.targetBucket ?? DST, prefix: options.targetPrefix ?? 'out/' },
        options: {},
      },
      stateBucket: STATE,
      topicArn: TOPIC,
      notifyOnSuccess: true,
    };
    const handler = createEventsHandler({
      config,
      targetClients: new TargetClients(new STSClient({ region: 'us-east-1' }), makeS3),
      sns,
      state: { s3: s3.s3, bucket: STATE },
      maxReceiveCount: 3,
      observability: quiet(),
      engine: { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } },
      onResult: (report) => reports.push(report),
    });
    const run = async (records: SQSRecord[]) => {
      const response = await handler({ Records: records } as SQSEvent, context() as Context);
      return { response, report: reports[reports.length - 1] as EventsBatchReport };
    };
    return { run, handler, reports };
  }

  const etagOf = async (bucket: string, key: string) =>
    (await s3.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag;

  it('copies what the source holds now, under the mapped key, when the event is older than the object', async () => {
    // Arrange: the event was for version 1; version 2 replaced it before the batch ran.
    await s3.put(SRC, 'in/now.txt', 'version 1');
    await s3.put(SRC, 'in/now.txt', 'version 2, longer');
    const { run } = handlerFor();

    // Act
    const { response, report } = await run([record('in/now.txt', 'a')]);

    // Assert
    expect((await s3.getBody(DST, 'out/now.txt')).toString()).toBe('version 2, longer');
    expect(report.ledger).toMatchObject({
      messages: 1,
      selected: 1,
      copied: 1,
      skipped: 0,
      failed: 0,
      notAttempted: 0,
    });
    expect(response.batchItemFailures).toEqual([]);
  });

  it('skips a duplicate event as unchanged, without a second CopyObject, and counts it', async () => {
    // Arrange
    await s3.put(SRC, 'in/dup.txt', 'once');
    const copies: Record<string, number> = {};
    const { run } = handlerFor({ wrap: (client) => countRequests(client, copies) });

    // Act: the same message twice in one batch, then delivered again in a later batch.
    const first = await run([record('in/dup.txt', 'a'), record('in/dup.txt', 'b')]);
    const again = await run([record('in/dup.txt', 'a', 2)]);

    // Assert
    expect(copies.CopyObjectCommand).toBe(1);
    expect(first.report.ledger).toMatchObject({ messages: 2, duplicates: 1, selected: 1, copied: 1 });
    expect(again.report.ledger).toMatchObject({
      selected: 1,
      copied: 0,
      skipped: 1,
      skippedByReason: { unchanged: 1 },
    });
  });

  it('never leaves the older version when the newer event is delivered first', async () => {
    // Arrange: v1 then v2 are uploaded; their events arrive in the opposite order.
    await s3.put(SRC, 'in/order.txt', 'v1');
    const v1Event = record('in/order.txt', 'old');
    await s3.put(SRC, 'in/order.txt', 'v2 is newer');
    const { run } = handlerFor();

    // Act
    await run([record('in/order.txt', 'new')]);
    const late = await run([v1Event]);

    // Assert
    expect((await s3.getBody(DST, 'out/order.txt')).toString()).toBe('v2 is newer');
    expect(late.report.ledger).toMatchObject({ copied: 0, skipped: 1, skippedByReason: { unchanged: 1 } });
  });

  it('copies again when an older copy lands after a newer one (the source changed under the copy)', async () => {
    // Arrange: the first CopyObject models a long copy S3 accepted before v2 existed: it writes v1's bytes
    // to the target, and v2 is uploaded (and copied by another invocation) before it returns.
    await s3.put(SRC, 'in/race.txt', 'v1');
    let interleaved = false;
    const { run: runOther } = handlerFor();
    const { run } = handlerFor({
      wrap: (client) =>
        client.middlewareStack.add(
          (next, ctx) => async (args) => {
            if (interleaved || ctx.commandName !== 'CopyObjectCommand') return next(args);
            interleaved = true;
            await s3.put(SRC, 'in/race.txt', 'v2 arrived during the copy');
            await runOther([record('in/race.txt', 'other')]);
            await s3.s3.send(new PutObjectCommand({ Bucket: DST, Key: 'out/race.txt', Body: 'v1' }));
            return {
              output: { $metadata: {}, CopyObjectResult: { ETag: await etagOf(DST, 'out/race.txt') } },
              response: {},
            };
          },
          { step: 'initialize', name: 'interleaveNewerUpload' },
        ),
    });

    // Act
    const { report } = await run([record('in/race.txt', 'first')]);

    // Assert
    expect((await s3.getBody(DST, 'out/race.txt')).toString()).toBe('v2 arrived during the copy');
    expect(report.ledger).toMatchObject({ selected: 1, copied: 1, recopied: 1, failed: 0 });
  });

  it('applies the prefix and ignores other buckets and keys outside it, keeping the ledger exact', async () => {
    // Arrange
    await s3.put(SRC, 'in/deep/x.bin', 'x');
    await s3.put(SRC, 'elsewhere/y.bin', 'y');
    const { run } = handlerFor({ targetPrefix: 'mapped/' });

    // Act
    const { report } = await run([
      record('in/deep/x.bin', 'a'),
      record('elsewhere/y.bin', 'b'),
      record('in/deep/x.bin', 'c', 1, 'another-bucket'),
      record('in/gone.bin', 'd'),
    ]);

    // Assert
    expect(await s3.listKeys(DST, 'mapped/')).toEqual(['mapped/deep/x.bin']);
    const { ledger } = report;
    expect(ledger).toMatchObject({ messages: 4, ignored: 2, listed: 2, selected: 2, copied: 1, skipped: 1 });
    expect(ledger.skippedByReason).toEqual({ vanished: 1 });
    expect(ledger.selected).toBe(ledger.copied + ledger.skipped + ledger.failed + ledger.notAttempted);
  });

  it('reads the bucket notification S3 sends to the queue itself, its key form-encoded', async () => {
    // Arrange: what S3 sends for "in/a b+c.txt" (space as "+", "+" as "%2B"), and its test event
    await s3.put(SRC, 'in/a b+c.txt', 'notified');
    const notification = (body: unknown, messageId: string) => ({
      ...record('unused', messageId),
      body: JSON.stringify(body),
    });
    const { run } = handlerFor();

    // Act
    const { report, response } = await run([
      notification(
        {
          Records: [
            { eventName: 'ObjectCreated:Put', s3: { bucket: { name: SRC }, object: { key: 'in/a+b%2Bc.txt' } } },
          ],
        },
        'n1',
      ),
      notification({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: SRC }, 'n2'),
    ]);

    // Assert
    expect((await s3.getBody(DST, 'out/a b+c.txt')).toString()).toBe('notified');
    expect(report.ledger).toMatchObject({ messages: 2, ignored: 1, selected: 1, copied: 1 });
    expect(response.batchItemFailures).toEqual([]);
  });

  it('counts a key the invocation ran out of time for on its last delivery as failed for good, and names it', async () => {
    // Arrange: time runs out right after the invocation starts; one key's message is on its last delivery
    // (maxReceiveCount 3), the other's is not, and a third key is named by a last and an earlier delivery.
    for (const key of ['in/late.txt', 'in/early.txt', 'in/both.txt']) await s3.put(SRC, key, key);
    const { handler, reports } = handlerFor();
    let calls = 0;
    const shortOfTime = { awsRequestId: 'request-2', getRemainingTimeInMillis: () => (calls++ === 0 ? 1_000 : 0) };

    // Act
    const response = await handler(
      {
        Records: [
          record('in/late.txt', 'a', 3),
          record('in/early.txt', 'b', 1),
          record('in/both.txt', 'c', 3),
          record('in/both.txt', 'd', 2),
        ],
      } as SQSEvent,
      shortOfTime as unknown as Context,
    );

    // Assert: nothing copied, every message back to the queue; only the key whose every message was on
    // its last delivery is settled for good, reported to the topic and the state bucket.
    const report = reports[reports.length - 1] as EventsBatchReport;
    expect(report.ledger).toMatchObject({ selected: 3, copied: 0, failed: 0, notAttempted: 3 });
    expect(response.batchItemFailures.map((item) => item.itemIdentifier).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(report.finalFailures).toEqual([expect.objectContaining({ key: 'in/late.txt', code: OUT_OF_TIME })]);
    expect(await s3.listKeys(DST, 'out/')).not.toEqual(expect.arrayContaining(['out/late.txt']));
    const published = snsMock.commandCalls(PublishCommand);
    expect(published).toHaveLength(1);
    expect(published[0]?.args[0].input.Message).toContain('in/late.txt: OutOfTime');
    expect(published[0]?.args[0].input.Message).not.toContain('in/both.txt');
  });

  it('hands failed messages back to the queue, and on the last delivery reports them to the topic and the state bucket', async () => {
    // Arrange: the target bucket does not exist, so every copy fails.
    await s3.put(SRC, 'in/fails.txt', 'f');
    const { run } = handlerFor({ targetBucket: 'events-missing' });

    // Act
    const early = await run([record('in/fails.txt', 'a', 1)]);
    const last = await run([record('in/fails.txt', 'a', 3)]);

    // Assert
    expect(early.response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    expect(early.report.finalFailures).toEqual([]);
    expect(last.response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
    expect(last.report.ledger).toMatchObject({ selected: 1, failed: 1 });
    expect(last.report.finalFailures.map((failure) => failure.key)).toEqual(['in/fails.txt']);
    const published = snsMock.commandCalls(PublishCommand);
    expect(published).toHaveLength(1);
    expect(published[0]?.args[0].input.Subject).toBe('s3xcopy events: 1 object(s) failed to copy');
    expect(published[0]?.args[0].input.Message).toContain('in/fails.txt');
    expect(last.report.report).toBe(
      `s3://${STATE}/reports/events/${new Date().toISOString().slice(0, 10)}/request-1.json`,
    );
  });
});
