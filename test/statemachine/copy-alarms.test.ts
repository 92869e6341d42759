/**
 * The alarms the source stack deploys, evaluated over local runs of the real workflow: each alarm's
 * metric is counted from what the run produced (the handlers' EMF documents in their log, the Lambda
 * invocations that threw, which is what Lambda's Errors metric counts, the execution's status and its
 * failed Map children), and compared with the alarm's threshold as CloudWatch would. A large object that
 * resumes over several copy invocations is normal work and must raise no alarm; an object that fails must.
 */
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LocalRunOptions, LocalRunResult } from '../../cli/runner/runner';
import { MiB } from '../../functions/shared/job';
import { synthesize } from '../infra/synth';
import { runOnTestS3 } from '../support/local-run';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'alarms-state';
let s3: TestS3;

interface AlarmProperties {
  AlarmName: string;
  Namespace: string;
  MetricName: string;
  Dimensions?: Array<{ Name: string; Value: unknown }>;
  Threshold: number;
  ComparisonOperator: string;
}

/** Every alarm of the synthesized source stack (each watches one metric; none uses metric math). */
function deployedAlarms(): AlarmProperties[] {
  const template = synthesize().sourceTemplate;
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (resource) => resource.Properties as AlarmProperties,
  );
}

/** The EMF documents among the handlers' log lines. */
function emfDocuments(log: string): Array<Record<string, unknown>> {
  return log
    .split('\n')
    .filter((line) => line.includes('"CloudWatchMetrics"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The sum of one EMF metric over documents that carry every given dimension value. */
function emfSum(documents: Array<Record<string, unknown>>, metric: string, dimensions: Record<string, unknown>) {
  let sum = 0;
  for (const document of documents) {
    if (!Object.entries(dimensions).every(([name, value]) => document[name] === value)) continue;
    const value = document[metric];
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'number') sum += v;
  }
  return sum;
}

/** What CloudWatch would hold for an alarm's metric after the run (summed over the run). */
function metricValue(alarm: AlarmProperties, run: LocalRunResult, emf: Array<Record<string, unknown>>): number {
  const dimensions = Object.fromEntries((alarm.Dimensions ?? []).map((d) => [d.Name, d.Value]));
  if (alarm.Namespace === 's3xcopy') return emfSum(emf, alarm.MetricName, dimensions);
  if (alarm.Namespace === 'AWS/Lambda' && alarm.MetricName === 'Errors') {
    // The dimension is a Ref to the function's logical ID, Functions<Kind>...
    const ref = (dimensions.FunctionName as { Ref: string }).Ref;
    // The events function copies S3 events outside the workflow, and the events digest runs on its own
    // schedule: a local run of the workflow invokes neither.
    if (/^(DirectEventsFunction|EventsDigestFunction)/.test(ref)) return 0;
    const kind = /^Functions(List|Copy|Notify)/.exec(ref)?.[1]?.toLowerCase();
    if (kind === undefined) throw new Error(`alarm ${alarm.AlarmName}: unknown function ${ref}`);
    return run.stats.lambda[kind]?.errors ?? Number.NaN;
  }
  if (alarm.Namespace === 'AWS/States') {
    const children =
      typeof dimensions.StateMachineArn === 'string' && dimensions.StateMachineArn.endsWith('/CopyBatches');
    if (alarm.MetricName === 'ExecutionsFailed') return children ? run.batches.failed : run.status === 'FAILED' ? 1 : 0;
    if (alarm.MetricName === 'ExecutionsTimedOut' || alarm.MetricName === 'ExecutionsAborted') return 0;
  }
  // A local run has no queues: nothing reaches a dead-letter queue.
  if (alarm.Namespace === 'AWS/SQS') return 0;
  throw new Error(`no local measure for alarm ${alarm.AlarmName} (${alarm.Namespace} ${alarm.MetricName}): add one`);
}

/** The names of the alarms a run would set off. */
function alarmsRaised(alarms: AlarmProperties[], run: LocalRunResult, log: string): string[] {
  const emf = emfDocuments(log);
  return alarms
    .filter((alarm) => {
      expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
      return metricValue(alarm, run, emf) > alarm.Threshold;
    })
    .map((alarm) => alarm.AlarmName)
    .sort();
}

/** A log stream that keeps what the handlers write. */
function captureLog(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write: (chunk, _encoding, done) => {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/**
 * Makes the embedded server answer every UploadPartCopy this much later, so a large object cannot fit one
 * invocation however fast this machine is (the server runs in this process). The client's time budget
 * can still cut such a request short, as it would cut a slow S3.
 * @returns a function that restores the server
 */
function slowPartCopies(ms: number): () => void {
  const controller = require('@20minutes/s3rver/lib/controllers/object') as Record<
    string,
    (ctx: unknown) => Promise<unknown>
  >;
  const original = controller.uploadPartCopy;
  if (!original) throw new Error('embedded server: uploadPartCopy controller not found');
  controller.uploadPartCopy = async (ctx) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return original(ctx);
  };
  return () => {
    controller.uploadPartCopy = original;
  };
}

/** Makes every CopyObject of these target keys fail with AccessDenied. */
function denyCopiesOf(keys: string[]): Pick<LocalRunOptions, 'configureS3'> {
  return {
    configureS3: (client: S3Client, role) => {
      if (role !== 'target') return;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const key = (args.input as { Key?: string }).Key;
          if (context.commandName === 'CopyObjectCommand' && key !== undefined && keys.includes(key)) {
            throw Object.assign(new Error('Access Denied'), {
              name: 'AccessDenied',
              $metadata: { httpStatusCode: 403 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'testDenyCopies' },
      );
    },
  };
}

const alarms = deployedAlarms();

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(STATE);
});

afterAll(async () => {
  await s3?.stop();
});

describe('the deployed alarms over local runs', () => {
  it('raises none for a large object copied over several invocations, though Lambda counts each hand-over as an error', async () => {
    // Arrange: 15 MiB in three 5 MiB parts, one at a time, each answered 3 s late, in a 10-second copy
    // function (it stops 2 s early): 9 s of waiting alone needs two invocations, and each has time for a
    // part even on a busy machine (an invocation that finishes no part is a real failure, NoProgress)
    await s3.createBucket('alarms-big-src');
    await s3.createBucket('alarms-big-dst');
    const body = Buffer.alloc(15 * MiB, 7);
    await s3.put('alarms-big-src', 'big.bin', body);
    const log = captureLog();
    const restore = slowPartCopies(3_000);
    // Act
    const run = await runOnTestS3(
      s3,
      STATE,
      {
        source: { bucket: 'alarms-big-src' },
        target: { bucket: 'alarms-big-dst' },
        options: { multipartThreshold: 5 * MiB, partSize: 5 * MiB, concurrency: 1 },
      },
      { copyTimeoutSeconds: 10, logStream: log.stream },
    ).finally(restore);
    // Assert: it did resume (the hand-overs are Lambda errors), it copied, and no alarm would fire
    expect(run.status).toBe('SUCCEEDED');
    expect(run.objects).toMatchObject({ copied: 1, failed: 0 });
    expect(run.stats.lambda.copy?.invocations).toBeGreaterThan(1);
    expect(alarmsRaised(alarms, run, log.text())).toEqual([]);
    // Each hand-over is one of Lambda's errors, and the function counted it as a hand-over
    expect(emfSum(emfDocuments(log.text()), 'InvocationsHandedOver', { service: 's3xcopy-copy' })).toBe(
      run.stats.lambda.copy?.errors,
    );
    expect((await s3.getBody('alarms-big-dst', 'big.bin')).equals(body)).toBe(true);
  }, 60_000);

  it("raises the copy function's alarm when an object fails, even when the job tolerates the failure", async () => {
    // Arrange
    await s3.createBucket('alarms-fail-src');
    await s3.createBucket('alarms-fail-dst');
    await s3.putMany(
      'alarms-fail-src',
      ['a/1', 'a/2', 'a/3'].map((key) => ({ key, body: `body of ${key}` })),
    );
    const log = captureLog();
    // Act
    const run = await runOnTestS3(
      s3,
      STATE,
      {
        source: { bucket: 'alarms-fail-src' },
        target: { bucket: 'alarms-fail-dst' },
        options: { toleratedFailurePercentage: 100 },
      },
      { ...denyCopiesOf(['a/2']), logStream: log.stream },
    );
    // Assert: the execution succeeds (the failure is tolerated), but the failure is not silent
    expect(run.status).toBe('SUCCEEDED');
    expect(run.objects).toMatchObject({ copied: 2, failed: 1 });
    expect(alarmsRaised(alarms, run, log.text())).toEqual([
      's3xcopy-CopyBatchesFailed',
      's3xcopy-copyInvocationsFailed',
    ]);
  }, 60_000);
});
