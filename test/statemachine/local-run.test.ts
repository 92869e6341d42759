/**
 * The real statemachine/copy.asl.json, run by the local runner with the real list, copy and notify
 * handlers against the embedded S3 server. Only STS is mocked; faults are injected at the S3 client.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { LocalRunOptions } from '../../cli/runner/runner';
import type { ResultWriterManifest } from '../../functions/notify/results';
import type { CopyResult } from '../../functions/shared/job';
import { runOnTestS3 } from '../support/local-run';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'sm-state';
let s3: TestS3;
let runs = 0;

/** A fresh source/target pair per test, so tests never see each other's objects. */
async function buckets() {
  runs++;
  const source = `sm-src-${runs}`;
  const target = `sm-dst-${runs}`;
  await s3.createBucket(source);
  await s3.createBucket(target);
  return { source, target };
}

function body(key: string, size = 64): Buffer {
  const pattern = Buffer.from(`${key}|`);
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += pattern.length) pattern.copy(data, i);
  return data;
}

/** Makes CopyObject (or UploadPartCopy) of one target key fail with AccessDenied, `times` times (Infinity: always). */
function failCopiesOf(
  targetKey: string,
  times: number,
): Pick<LocalRunOptions, 'configureS3'> & { failed: () => number } {
  let failed = 0;
  return {
    failed: () => failed,
    configureS3: (client: S3Client, role) => {
      if (role !== 'target') return;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: string };
          if (context.commandName === 'CopyObjectCommand' && input.Key === targetKey && failed < times) {
            failed++;
            throw Object.assign(new Error('Access Denied'), {
              name: 'AccessDenied',
              $metadata: { httpStatusCode: 403 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'testFaultInjection' },
      );
    },
  };
}

function run(input: unknown, extra: Partial<LocalRunOptions> = {}) {
  return runOnTestS3(s3, STATE, input, extra);
}

async function readJson<T>(bucket: string, key: string): Promise<T> {
  const response = await s3.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString()) as T;
}

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(STATE);
});

afterAll(async () => {
  await s3?.stop();
});

describe('the copy state machine, run locally', () => {
  it('copies every object byte for byte, multipart ones included, and reports success', async () => {
    // Prepare
    const { source, target } = await buckets();
    const keys = ['a.txt', 'dir/with space.txt', 'dir/plus+and=equals.txt', 'unicode/café/ファイル.txt', 'big.bin'];
    const sizes: Record<string, number> = { 'big.bin': 6 * 1024 * 1024 + 17 };
    for (const key of keys) await s3.put(source, `in/${key}`, body(key, sizes[key]));

    // Act
    const result = await run({
      source: { bucket: source, prefix: 'in/' },
      target: { bucket: target, prefix: 'out/' },
      options: { multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 },
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({ listed: 5, selected: 5, copied: 5, failed: 0 });
    for (const key of keys) {
      expect((await s3.getBody(target, `out/${key}`)).equals(body(key, sizes[key]))).toBe(true);
    }
    expect(result.stats.s3.target.UploadPartCopyCommand).toBeGreaterThanOrEqual(2);
    expect(result.notification).toMatchObject({ status: 'SUCCEEDED', published: true });
    expect(result.notification?.objects.copied).toBe(5);
    expect(result.stats.transitions.parent).toMatchObject({ List: 1, CopyBatches: 1, NotifySuccess: 1, Done: 1 });
  });

  it('writes the Map results in the ResultWriter layout under results/<jobId>/', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(
      source,
      Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, body: `v${i}` })),
    );

    // Act
    const result = await run({
      source: { bucket: source },
      target: { bucket: target },
      options: { maxObjectsPerBatch: 2 },
    });

    // Assess
    const manifestKeys = (await s3.listKeys(STATE, `results/${result.jobId}/`)).filter((k) =>
      k.endsWith('/manifest.json'),
    );
    expect(manifestKeys).toHaveLength(1);
    const manifest = await readJson<ResultWriterManifest>(STATE, manifestKeys[0] as string);
    expect(manifest.DestinationBucket).toBe(STATE);
    const succeeded = manifest.ResultFiles.SUCCEEDED ?? [];
    expect(succeeded).toHaveLength(1);
    // COMPACT (the ASL's WriterConfig): each succeeded batch is its copy output alone, without the batch it was given.
    const outputs = await readJson<CopyResult[]>(STATE, succeeded[0]?.Key as string);
    expect(outputs).toHaveLength(3);
    expect(outputs.map((output) => output.copied)).toEqual([2, 2, 2]);
    expect(outputs.map((output) => output.batchId).sort()).toEqual(['s0-b0', 's0-b1', 's0-b2']);
    expect(JSON.stringify(outputs)).not.toContain('"objects"');
    expect(result.notification?.objects.copied).toBe(6);
    expect(result.results).toBe(`s3://${STATE}/results/${result.jobId}/`);
  });

  it('lists in several slices, one Map Run each, and copies every key exactly once', async () => {
    // Prepare
    const { source, target } = await buckets();
    const keys = Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(3, '0')}`);
    await s3.putMany(
      source,
      keys.map((key) => ({ key, body: key })),
    );

    // Act
    const result = await run({
      source: { bucket: source },
      target: { bucket: target },
      options: { sliceMaxObjects: 10, maxObjectsPerBatch: 4 },
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.stats.lambda.list?.invocations).toBe(3);
    expect(result.stats.executions.mapRuns).toBe(3);
    expect(result.objects).toMatchObject({ selected: 25, copied: 25 });
    expect((await s3.listKeys(target)).sort()).toEqual(keys);
    expect(result.notification?.objects.copied).toBe(25);
  });

  it('copies nothing on a dry run and still reports what it would copy', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(source, [
      { key: 'x/1', body: 'one' },
      { key: 'x/2', body: 'two' },
    ]);

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target }, options: { dryRun: true } });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(await s3.listKeys(target)).toEqual([]);
    expect(result.stats.transitions.parent.CopyBatches).toBeUndefined();
    expect(result.stats.lambda.copy?.invocations).toBe(0);
    expect(result.objects).toMatchObject({ selected: 2, copied: 0 });
    expect(result.notification?.subject).toMatch(/^s3xcopy DRY RUN: .*, 2 of 2 objects to copy$/);
  });

  it('lists only the source and the target in a sync with nothing to copy, as aws s3 sync does', async () => {
    // Prepare: a first run copies the objects
    const { source, target } = await buckets();
    await s3.putMany(source, [
      { key: 'x/1', body: 'one' },
      { key: 'x/2', body: 'two' },
    ]);
    const job = { source: { bucket: source }, target: { bucket: target }, options: { mode: 'sync' } };
    expect((await run(job)).objects).toMatchObject({ copied: 2 });

    // Act
    const result = await run(job);

    // Assess: one page each side; the state bucket gets the two report files and no LIST (no Map Run
    // ran, so there is neither a ResultWriter file nor a progress record to look for)
    expect(result.objects).toMatchObject({ selected: 2, copied: 0, skipped: 2 });
    expect(result.stats.s3.source).toEqual({ ListObjectsV2Command: 1 });
    expect(result.stats.s3.target).toEqual({ ListObjectsV2Command: 1 });
    expect(result.stats.s3.state).toEqual({ PutObjectCommand: 2 });
  });

  it('retries a batch whose copy failed once and then succeeds', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(source, [
      { key: 'r/ok', body: 'fine' },
      { key: 'r/flaky', body: 'eventually' },
    ]);
    const fault = failCopiesOf('r/flaky', 1);

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target } }, fault);

    // Assess
    expect(fault.failed()).toBe(1);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.stats.lambda.copy).toMatchObject({ invocations: 2, errors: 1 });
    expect(result.objects).toMatchObject({ copied: 2, failed: 0 });
    expect((await s3.getBody(target, 'r/flaky')).toString()).toBe('eventually');
  });

  it('reports a permanently failing key to Notify and fails with the batch error after the retries', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(source, [
      { key: 'f/good', body: 'fine' },
      { key: 'f/denied', body: 'never' },
    ]);
    const fault = failCopiesOf('f/denied', Number.POSITIVE_INFINITY);

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target } }, fault);

    // Assess
    expect(result.status).toBe('FAILED');
    // The Map itself fails with States.ExceedToleratedFailureThreshold; the execution fails with the batch's own error.
    expect(result.error?.error).toBe('CopyBatchError');
    expect(result.error?.cause).toMatch(/^1 of 2 objects in batch s0-b0 failed: f\/denied \(AccessDenied\)$/);
    // One try and three retries (the ASL's MaxAttempts for CopyBatchError).
    expect(result.stats.lambda.copy?.invocations).toBe(4);
    expect(result.failures).toEqual([expect.objectContaining({ key: 'f/denied', code: 'AccessDenied' })]);
    expect(result.notification).toMatchObject({ status: 'FAILED', published: true });
    expect(result.notification?.failures).toEqual([expect.objectContaining({ key: 'f/denied', code: 'AccessDenied' })]);
    expect(result.notification?.subject).toMatch(/^s3xcopy FAILED: .*, 1 copied, 1 failed of 2 objects$/);
    expect(result.stats.transitions.parent).toMatchObject({ NotifyFailure: 1, Failed: 1 });
  });

  it('ends in Fail with the List error when the source bucket does not exist', async () => {
    // Prepare
    const { target } = await buckets();

    // Act
    const result = await run({ source: { bucket: 'sm-no-such-bucket' }, target: { bucket: target } });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error?.error).not.toMatch(/^States\./);
    expect(result.error?.cause).toMatch(/sm-no-such-bucket/);
    expect(result.notification?.error?.error).toBe(result.error?.error);
    expect(result.stats.lambda.copy?.invocations).toBe(0);
  });

  it('succeeds when the failed batches stay within the tolerated percentage', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(
      source,
      ['t/1', 't/2', 't/3', 't/4'].map((key) => ({ key, body: key })),
    );
    const fault = failCopiesOf('t/2', Number.POSITIVE_INFINITY);

    // Act
    const result = await run(
      {
        source: { bucket: source },
        target: { bucket: target },
        options: { maxObjectsPerBatch: 1, toleratedFailurePercentage: 30 },
      },
      fault,
    );

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({ copied: 3, failed: 1 });
    expect(result.failures.map((f) => f.key)).toEqual(['t/2']);
    expect(result.notification?.objects.failed).toBe(1);
    expect(result.notification?.subject).toMatch(/1 failed \(tolerated\)$/);
    expect((await s3.listKeys(target)).sort()).toEqual(['t/1', 't/3', 't/4']);
  });

  it('does not retry a batch whose target role cannot be assumed', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(source, [
      { key: 'role/1', body: '1' },
      { key: 'role/2', body: '2' },
    ]);
    const sts = mockClient(STSClient);
    sts
      .on(AssumeRoleCommand)
      .rejects(Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' }));

    // Act
    const result = await run(
      {
        source: { bucket: source },
        target: { bucket: target, roleArn: 'arn:aws:iam::222222222222:role/s3xcopy-target' },
        options: { maxObjectsPerBatch: 1 },
      },
      { sts: new STSClient({ region: 'us-east-1' }) },
    );
    const assumeCalls = sts.commandCalls(AssumeRoleCommand).length;
    sts.restore();

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.stats.lambda.copy).toMatchObject({ invocations: 2, errors: 2 });
    expect(assumeCalls).toBe(2);
    expect(result.failures.map((f) => f.code)).toEqual(['AssumeRoleError', 'AssumeRoleError']);
    expect(await s3.listKeys(target)).toEqual([]);
  });

  it('still succeeds, with every object copied, when the success notification cannot be sent', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(source, [
      { key: 'q/1', body: 'one' },
      { key: 'q/2', body: 'two' },
    ]);
    const publisher = {
      publish: async () => {
        throw Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' });
      },
    };

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target } }, { publisher });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.error).toBeUndefined();
    expect(result.objects).toMatchObject({ copied: 2, failed: 0 });
    expect(result.stats.lambda.notify).toMatchObject({ invocations: 1, errors: 1 });
    expect(result.stats.transitions.parent).toMatchObject({ NotifySuccess: 1, Done: 1 });
    expect(result.stats.transitions.parent.Failed).toBeUndefined();
  });

  it('writes the reports but publishes nothing when the job turns success notifications off', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.put(source, 'n/1', 'one');
    const published: string[] = [];
    const publisher = {
      publish: async (notification: { subject: string }) => {
        published.push(notification.subject);
        return { messageId: 'm-1' };
      },
    };

    // Act
    const result = await run(
      { source: { bucket: source }, target: { bucket: target }, options: { notifyOnSuccess: false } },
      { publisher },
    );

    // Assess: Notify ran (the ASL no longer skips it) and wrote both reports, but sent nothing.
    expect(result.status).toBe('SUCCEEDED');
    expect(published).toEqual([]);
    expect(result.stats.sns.publish).toBe(0);
    expect(result.notification).toMatchObject({ published: false, status: 'SUCCEEDED' });
    expect(result.stats.transitions.parent).toMatchObject({ NotifySuccess: 1, Done: 1 });
    const ledger = await readJson<{ status: string; objects: { selected: number; copied: number } }>(
      STATE,
      `reports/${result.jobId}/ledger.json`,
    );
    expect(ledger).toMatchObject({ status: 'SUCCEEDED', objects: { selected: 1, copied: 1 } });
    const failures = await s3.getBody(STATE, `reports/${result.jobId}/failures.jsonl`);
    expect(failures.toString()).toBe('');
  });

  it('copies exactly the keys of a batch of S3 events (keys mode), with the job from the deployment defaults', async () => {
    // Prepare
    const events = JSON.parse(
      readFileSync(path.join(__dirname, '..', 'fixtures', 'events', 'eventbridge-batch.json'), 'utf8'),
    );
    await s3.createBucket('events-src');
    await s3.createBucket('events-dst');
    const present = ['incoming/red flower.jpg', 'incoming/a+b=c:d;e,f$g@h&i.csv', 'incoming/ü/日本語 ファイル.txt'];
    for (const key of [...present, 'incoming/not-in-any-event.txt', 'outside/not-in-prefix.txt']) {
      await s3.put('events-src', key, `body of ${key}`);
    }

    // Act
    const result = await run(events, {
      defaults: {
        source: { bucket: 'events-src', prefix: 'incoming/' },
        target: { bucket: 'events-dst', prefix: 'copied/' },
      },
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    // Listings of the embedded server escape "&" twice (NOTES.md), so count them and read each key back.
    expect(await s3.listKeys('events-dst')).toHaveLength(present.length);
    for (const key of present) {
      expect((await s3.getBody('events-dst', key.replace('incoming/', 'copied/'))).toString()).toBe(`body of ${key}`);
    }
  });
});
