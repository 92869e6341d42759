/**
 * The notify handler with SNS mocked and the ResultWriter files in the embedded S3 server, written in
 * the layout Step Functions uses.
 */
import { Writable } from 'node:stream';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { localObservability } from '../../cli/runner/runner';
import { createNotifyHandler, rootCause } from '../../functions/notify/handler';
import type { NotifyInput } from '../../functions/notify/message';
import { snsPublisher } from '../../functions/notify/publisher';
import {
  aggregateResults,
  type ResultWriterEntry,
  type ResultWriterManifest,
  readMapRunRates,
} from '../../functions/notify/results';
import {
  attachBatchResult,
  type BatchResultFile,
  type BatchResultRecord,
  CopyBatchError,
} from '../../functions/shared/errors';
import { batchFailuresKey, batchResultKey } from '../../functions/shared/report-keys';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'notify-state';
const TOPIC = 'arn:aws:sns:us-east-1:111111111111:s3xcopy';
const sns = mockClient(SNSClient);
let s3: TestS3;

const context = {
  functionName: 's3xcopy-notify',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const silent = () => localObservability('test-notify', new Writable({ write: (_c, _e, done) => done() }));

function lambdaCause(error: Error): string {
  return JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] });
}

interface WriterConfig {
  Transformation: 'NONE' | 'COMPACT';
  OutputType: 'JSON' | 'JSONL';
}

/**
 * Writes one Map Run's ResultWriter files the way Step Functions does: with COMPACT, a SUCCEEDED file
 * holds each child's output as it is; FAILED files keep the full records whatever the Transformation.
 */
async function writeMapRun(
  jobId: string,
  mapRunId: string,
  entries: ResultWriterEntry[],
  writer: WriterConfig = { Transformation: 'COMPACT', OutputType: 'JSON' },
): Promise<void> {
  const base = `results/${jobId}/${mapRunId}/`;
  const manifest: ResultWriterManifest = {
    DestinationBucket: STATE,
    MapRunArn: `arn:aws:states:us-east-1:111111111111:mapRun:s3xcopy/CopyBatches:${mapRunId}`,
    ResultFiles: { SUCCEEDED: [], FAILED: [], PENDING: [] },
  };
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    const list = entries.filter((e) => (status === 'SUCCEEDED' ? e.Status === 'SUCCEEDED' : e.Status !== 'SUCCEEDED'));
    if (list.length === 0) continue;
    const key = `${base}${status}_0.json`;
    const values =
      status === 'SUCCEEDED' && writer.Transformation === 'COMPACT'
        ? list.map((entry) => JSON.parse(entry.Output as string))
        : list;
    const body =
      writer.OutputType === 'JSONL' ? values.map((value) => JSON.stringify(value)).join('\n') : JSON.stringify(values);
    await s3.put(STATE, key, body);
    manifest.ResultFiles[status]?.push({ Key: key, Size: 1 });
  }
  await s3.put(STATE, `${base}manifest.json`, JSON.stringify(manifest));
}

/** A Map Run manifest as moto's (LocalStack's) ResultWriter writes it: every result list empty. */
async function writeEmptyMapRun(jobId: string): Promise<void> {
  const manifest: ResultWriterManifest = {
    DestinationBucket: STATE,
    MapRunArn: 'arn:aws:states:us-east-1:111111111111:mapRun:s3xcopy/CopyBatches:m-empty',
    ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: [] },
  };
  await s3.put(STATE, `results/${jobId}/m-empty/manifest.json`, JSON.stringify(manifest));
}

/**
 * Two manifest parts planning four batches (8 objects), and the copy function's records of three: s0-b0
 * copied 3 (300 bytes), s0-b1 copied 1 and failed 1 (CopyBatchError), s1-b0 skipped its 1 as
 * unchanged; s0-b2 (2 objects) has none.
 */
async function writeBatchesPlanned(jobId: string): Promise<void> {
  const batch = (id: string, count: number) => ({
    id,
    bytes: count,
    objects: Array.from({ length: count }, (_, i) => ({ key: `data/${id}-${i}`, size: 1, etag: '"e"' })),
  });
  await s3.put(
    STATE,
    `manifests/${jobId}/part-0.json`,
    JSON.stringify([batch('s0-b0', 3), batch('s0-b1', 2), batch('s0-b2', 2)]),
  );
  await s3.put(STATE, `manifests/${jobId}/part-1.json`, JSON.stringify([batch('s1-b0', 1)]));
  const record = (batchId: string, result: Partial<BatchResultRecord>, error?: Error): BatchResultFile => ({
    format: 1,
    jobId,
    batchId,
    ...(error ? { error: { name: error.name, message: error.message } } : {}),
    result: {
      batchId,
      copied: 0,
      skipped: 0,
      skippedByReason: {},
      failed: 0,
      notAttempted: 0,
      bytesCopied: 0,
      failures: [],
      ...result,
    },
  });
  const failure = { key: 'data/s0-b1-1', code: 'AccessDenied', message: 'denied' };
  const files = [
    record('s0-b0', { copied: 3, bytesCopied: 300 }),
    record(
      's0-b1',
      { copied: 1, bytesCopied: 10, failed: 1, failures: [failure] },
      new CopyBatchError('s0-b1', 2, [failure]),
    ),
    record('s1-b0', { skipped: 1, skippedByReason: { unchanged: 1 } }),
  ];
  for (const file of files) await s3.put(STATE, batchResultKey(jobId, file.batchId), JSON.stringify(file));
}

function succeeded(batchId: string, copied: number, bytes: number): ResultWriterEntry {
  return {
    ExecutionArn: `arn:aws:states:us-east-1:111111111111:execution:s3xcopy/x:${batchId}`,
    Status: 'SUCCEEDED',
    Input: JSON.stringify({ batch: { id: batchId, objects: [] } }),
    Output: JSON.stringify({ batchId, copied, skipped: 1, failed: 0, bytesCopied: bytes, failures: [] }),
  };
}

function failed(batchId: string, keys: string[], error: Error): ResultWriterEntry {
  return {
    ExecutionArn: `arn:aws:states:us-east-1:111111111111:execution:s3xcopy/x:${batchId}`,
    Status: 'FAILED',
    Input: JSON.stringify({ batch: { id: batchId, objects: keys.map((key) => ({ key })) } }),
    Error: error.name,
    Cause: lambdaCause(error),
  };
}

function input(jobId: string, status: 'SUCCEEDED' | 'FAILED', error?: NotifyInput['state']['error']): NotifyInput {
  return {
    status,
    execution: { id: `arn:aws:states:us-east-1:111111111111:execution:s3xcopy:${jobId}`, name: jobId },
    state: {
      job: { source: { bucket: 'src', prefix: 'data/' }, target: { bucket: 'dst', prefix: '' } },
      jobId,
      totals: { listed: 12, selected: 10, skipped: 2, bytes: 900 },
      ...(error ? { error } : {}),
    },
  };
}

function handler(notifyOnSuccess = true, stateBucket = STATE) {
  return createNotifyHandler({
    config: { defaults: {}, stateBucket, topicArn: TOPIC, notifyOnSuccess },
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    stateS3: s3.s3,
    observability: silent(),
  });
}

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(STATE);
});

afterAll(async () => {
  sns.restore();
  await s3?.stop();
});

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

describe('the notify handler', () => {
  it('publishes one failure message with the counts of every Map Run and the failed keys', async () => {
    // Prepare
    const jobId = 'job-failed';
    await writeMapRun(jobId, 'run-a', [succeeded('s0-b0', 4, 400)]);
    await writeMapRun(jobId, 'run-b', [
      succeeded('s1-b0', 2, 200),
      failed(
        's1-b1',
        ['data/x', 'data/y'],
        // What the copy handler throws: the message carries the batch's own account of its objects.
        attachBatchResult(
          new CopyBatchError('s1-b1', 2, [{ key: 'data/y', code: 'AccessDenied', message: 'denied' }]),
          {
            batchId: 's1-b1',
            copied: 1,
            skipped: 0,
            skippedByReason: {},
            failed: 1,
            notAttempted: 0,
            bytesCopied: 100,
            failures: [{ key: 'data/y', code: 'AccessDenied', message: 'denied' }],
          },
        ),
      ),
    ]);
    const event = input(jobId, 'FAILED', {
      Error: 'States.ExceedToleratedFailureThreshold',
      Cause: 'The specified tolerated failure threshold was exceeded',
    });
    // 2 skipped by listing, 10 in manifests: 5 + 3 in the succeeded batches, 2 in the failed one.
    event.state.totals = { listed: 14, selected: 12, skipped: 2, bytes: 900 };

    // Act
    const output = await handler()(event, context);

    // Assess
    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    const sent = calls[0]?.args[0].input;
    expect(sent?.TopicArn).toBe(TOPIC);
    expect(sent?.Subject).toBe('s3xcopy FAILED: src/data/ -> dst/, 7 copied, 1 failed of 12 objects');
    expect(sent?.MessageAttributes?.status).toEqual({ DataType: 'String', StringValue: 'FAILED' });
    expect(sent?.Message).toContain('data/y  (AccessDenied)');
    expect(sent?.Message).toContain('Error: States.ExceedToleratedFailureThreshold');
    expect(output).toMatchObject({
      published: true,
      messageId: 'm-1',
      objects: { listed: 14, selected: 12, copied: 7, skipped: 4, failed: 1, notAttempted: 0 },
      bytes: { copied: 700 },
      results: `s3://${STATE}/results/${jobId}/`,
    });
  });

  it('counts every key of a batch that failed as a whole (a role that cannot be assumed)', async () => {
    // Prepare
    const jobId = 'job-role';
    const roleError = Object.assign(new Error('Cannot assume target role'), { name: 'AssumeRoleError' });
    await writeMapRun(jobId, 'run-a', [failed('s0-b0', ['data/1', 'data/2', 'data/3'], roleError)]);

    // Act
    const output = await handler()(
      input(jobId, 'FAILED', { Error: 'States.ExceedToleratedFailureThreshold' }),
      context,
    );

    // Assess
    expect(output.objects.failed).toBe(3);
    expect(output.failures).toEqual([
      { key: 'data/1', code: 'AssumeRoleError', message: 'Cannot assume target role' },
      { key: 'data/2', code: 'AssumeRoleError', message: 'Cannot assume target role' },
      { key: 'data/3', code: 'AssumeRoleError', message: 'Cannot assume target role' },
    ]);
  });

  it('reads no ResultWriter file when the job put no object into a manifest (a no-op sync)', async () => {
    // Prepare: a Map Run's files under the job's prefix would add 5 copies if they were read
    const jobId = 'job-noop-sync';
    await writeMapRun(jobId, 'run-1', [succeeded('b1', 5, 500)]);
    const event = input(jobId, 'SUCCEEDED');
    event.state.totals = { listed: 10, selected: 10, skipped: 10, bytes: 0, skippedByReason: { unchanged: 10 } };
    let lists = 0;
    s3.s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectsV2Command') lists++;
        return next(args);
      },
      { step: 'initialize', name: 'countStateLists' },
    );

    // Act
    try {
      await handler(true)(event, context);
    } finally {
      s3.s3.middlewareStack.remove('countStateLists');
    }

    // Assess: no LIST, and the ledger has the ten unchanged objects and no copy
    expect(lists).toBe(0);
    const ledger = JSON.parse((await s3.getBody(STATE, `reports/${jobId}/ledger.json`)).toString());
    expect(ledger.objects).toMatchObject({ selected: 10, copied: 0, skipped: 10 });
  });

  it('still reads the ResultWriter files when the totals do not say nothing was planned', async () => {
    // Prepare
    const jobId = 'job-older-totals';
    await writeMapRun(jobId, 'run-1', [succeeded('b1', 5, 500)]);
    const event = input(jobId, 'SUCCEEDED');
    event.state.totals = { listed: 10, bytes: 0 };

    // Act
    await handler(true)(event, context);

    // Assess
    const ledger = JSON.parse((await s3.getBody(STATE, `reports/${jobId}/ledger.json`)).toString());
    expect(ledger.objects).toMatchObject({ copied: 5 });
  });

  it('does not publish a success when the deployment turned success notifications off', async () => {
    // Act
    const output = await handler(false)(input('job-quiet', 'SUCCEEDED'), context);

    // Assess
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    expect(output).toMatchObject({ published: false, status: 'SUCCEEDED' });
  });

  it('does not publish a success when the job turned success notifications off, but writes its ledger', async () => {
    // Prepare
    const event = input('job-quiet-job', 'SUCCEEDED');
    event.state.job = { ...event.state.job, options: { notifyOnSuccess: false } };

    // Act
    const output = await handler(true)(event, context);

    // Assess
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    expect(output).toMatchObject({ published: false, status: 'SUCCEEDED' });
    expect(JSON.parse((await s3.getBody(STATE, 'reports/job-quiet-job/ledger.json')).toString())).toMatchObject({
      status: 'SUCCEEDED',
    });
  });

  it('still publishes a failure, without copy counts, when the results cannot be read', async () => {
    // Act
    const output = await handler(true, 'no-such-state-bucket')(
      input('job-x', 'FAILED', { Error: 'InvalidJobError', Cause: 'Invalid job' }),
      context,
    );

    // Assess: the counts are unknown, and the message says so and why, never "0 copied".
    const sent = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(sent?.Message).toMatch(/Copied: +counts unavailable: .*no-such-state-bucket.*NoSuchBucket/);
    expect(sent?.Message).not.toMatch(/\b0 copied|Copied: +0\b/);
    expect(sent?.Subject).toMatch(/copy counts unavailable$/);
    expect(output.objects).toMatchObject({
      selected: 10,
      copied: null,
      skipped: null,
      failed: null,
      notAttempted: null,
    });
    expect(output.countsUnavailable).toMatch(/could not be read/);
    expect(output.error).toEqual({ error: 'InvalidJobError', cause: 'Invalid job' });
  });

  it("counts from the copy function's batch records when a ResultWriter manifest names no result file", async () => {
    // Prepare: what moto's (LocalStack's) ResultWriter writes: the manifest alone, its lists empty. The
    // job planned 8 objects in four batches over two manifest parts; three batches left a record.
    const jobId = 'job-records';
    await writeEmptyMapRun(jobId);
    await writeBatchesPlanned(jobId);

    // Act
    const output = await handler()(input(jobId, 'SUCCEEDED'), context);

    // Assess: selected 10 = copied 4 + skipped 3 (2 by listing) + failed 1 + not attempted 2 (s0-b2's).
    expect(output.countsUnavailable).toBeUndefined();
    expect(output.objects).toMatchObject({
      selected: 10,
      copied: 4,
      skipped: 3,
      failed: 1,
      notAttempted: 2,
      skippedByReason: { unchanged: 1 },
      failedByCode: { AccessDenied: 1 },
    });
    expect(output.bytes.copied).toBe(310);
    expect(output.ledgerSource).toEqual({
      from: 'batch-records',
      reason: expect.stringMatching(/results\/job-records\/m-empty\/manifest\.json names no result file/),
      batches: 4,
      batchesWithoutRecord: 1,
    });
    expect(output.failures).toEqual([{ key: 'data/s0-b1-1', code: 'AccessDenied', message: 'denied' }]);
    const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message;
    expect(message).toContain("Counted from the copy function's batch records (3 of 4 batches had one;");
    expect(message).toContain('s0-b1: CopyBatchError: 1 of 2 objects in batch s0-b1 failed');
    const ledger = JSON.parse((await s3.getBody(STATE, `reports/${jobId}/ledger.json`)).toString());
    expect(ledger.ledgerSource).toMatchObject({ batches: 4, batchesWithoutRecord: 1 });
    const lines = (await s3.getBody(STATE, `reports/${jobId}/failures.jsonl`)).toString().trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).key)).toEqual(['data/s0-b1-1']);
  });

  it('counts from the batch records when the Distributed Map says its ResultWriter failed', async () => {
    // Prepare: no ResultWriter file at all.
    const jobId = 'job-writer-failed';
    await writeBatchesPlanned(jobId);
    const error = { Error: 'States.ResultWriterFailed', Cause: 'Access Denied writing results/' };

    // Act
    const output = await handler()(input(jobId, 'FAILED', error), context);

    // Assess
    expect(output.countsUnavailable).toBeUndefined();
    expect(output.objects).toMatchObject({ selected: 10, copied: 4, skipped: 3, failed: 1, notAttempted: 2 });
    expect(output.ledgerSource?.reason).toMatch(/States\.ResultWriterFailed: Access Denied writing results\//);
  });

  it('keeps the ResultWriter files authoritative: batch records are not read when those name result files', async () => {
    // Prepare: the records say something else than the Map Run's files; the files win.
    const jobId = 'job-files-win';
    await writeBatchesPlanned(jobId);
    await writeMapRun(jobId, 'm-1', [succeeded('s0-b0', 8, 800)]);

    // Act
    const output = await handler()(input(jobId, 'SUCCEEDED'), context);

    // Assess
    expect(output.objects).toMatchObject({ copied: 8, skipped: 3, failed: 0, notAttempted: 0 });
    expect(output.ledgerSource).toBeUndefined();
  });

  it('says the counts are unavailable, never 0 copied, when the ResultWriter wrote nothing and no manifest part is left', async () => {
    // Prepare
    await writeEmptyMapRun('job-empty');

    // Act
    const output = await handler()(input('job-empty', 'SUCCEEDED'), context);

    // Assess
    expect(output.objects).toMatchObject({ selected: 10, copied: null, notAttempted: null });
    expect(output.countsUnavailable).toMatch(
      /results\/job-empty\/m-empty\/manifest\.json names no result file: .*manifests\/job-empty\/ holds no manifest part/,
    );
  });

  it('writes every failed key with its code to reports/<jobId>/failures.jsonl and names the first 20 and the file', async () => {
    // Prepare: 30 keys of one batch failed as a whole, 5 of another through a CopyBatchError record.
    const jobId = 'job-many-failures';
    const roleError = Object.assign(new Error('Cannot assume target role'), { name: 'AssumeRoleError' });
    const keys = Array.from({ length: 30 }, (_, i) => `data/r${String(i).padStart(2, '0')}`);
    const denied = Array.from({ length: 5 }, (_, i) => ({
      key: `data/d${i}`,
      code: 'AccessDenied',
      message: 'denied',
    }));
    await writeMapRun(jobId, 'run-a', [
      failed('s0-b0', keys, roleError),
      failed(
        's0-b1',
        denied.map((f) => f.key),
        attachBatchResult(new CopyBatchError('s0-b1', 5, denied), {
          batchId: 's0-b1',
          copied: 0,
          skipped: 0,
          skippedByReason: {},
          failed: 5,
          notAttempted: 0,
          bytesCopied: 0,
          failures: denied,
        }),
      ),
    ]);
    const event = input(jobId, 'FAILED', { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'threshold' });
    event.state.totals = { listed: 35, selected: 35, skipped: 0, bytes: 35 };

    // Act
    const output = await handler()(event, context);

    // Assess
    const lines = (await s3.getBody(STATE, `reports/${jobId}/failures.jsonl`))
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { key: string; code: string; batchId: string });
    expect(lines.map((line) => line.key)).toEqual([...keys, ...denied.map((f) => f.key)]);
    expect(lines[0]).toMatchObject({ code: 'AssumeRoleError', batchId: 's0-b0' });
    expect(lines[34]).toMatchObject({ key: 'data/d4', code: 'AccessDenied', batchId: 's0-b1' });
    const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    expect(message).toContain('First 20 of 35 failed keys:');
    expect(message).toContain('data/r19  (AssumeRoleError)');
    expect(message).not.toContain('data/r20');
    expect(message).toContain(`Every failed key with its error code: s3://${STATE}/reports/${jobId}/failures.jsonl`);
    expect(message).toContain('Failed:    35 (AssumeRoleError 30, AccessDenied 5)');
    expect(output.objects).toMatchObject({ failed: 35, failedByCode: { AssumeRoleError: 30, AccessDenied: 5 } });
    const ledger = JSON.parse((await s3.getBody(STATE, `reports/${jobId}/ledger.json`)).toString());
    expect(ledger).toMatchObject({ jobId, failuresListed: 35, objects: { selected: 35, failed: 35, notAttempted: 0 } });
  });

  it("merges a batch's full failure list, and counts the rest unnamed when a list cannot be read", async () => {
    // Prepare: two batches of 4 failures whose results name 1 each; only s0-b0's list exists.
    const jobId = 'job-lists';
    const failures = (batch: string) =>
      Array.from({ length: 4 }, (_, i) => ({ key: `${batch}/k${i}`, code: 'AccessDenied', message: 'denied' }));
    const withList = (batchId: string) =>
      attachBatchResult(new CopyBatchError(batchId, 4, failures(batchId)), {
        batchId,
        copied: 0,
        skipped: 0,
        skippedByReason: {},
        failed: 4,
        notAttempted: 0,
        bytesCopied: 0,
        failures: failures(batchId).slice(0, 1),
        failuresFile: batchFailuresKey(jobId, batchId),
      });
    await s3.put(
      STATE,
      batchFailuresKey(jobId, 's0-b0'),
      failures('s0-b0')
        .map((f) => `${JSON.stringify(f)}\n`)
        .join(''),
    );
    await writeMapRun(jobId, 'run-a', [failed('s0-b0', [], withList('s0-b0')), failed('s0-b1', [], withList('s0-b1'))]);
    const event = input(jobId, 'FAILED', { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'threshold' });
    event.state.totals = { listed: 8, selected: 8, skipped: 0, bytes: 8 };

    // Act
    const output = await handler()(event, context);

    // Assess
    const lines = (await s3.getBody(STATE, `reports/${jobId}/failures.jsonl`)).toString().trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { key: string }).key)).toEqual([
      's0-b0/k0',
      's0-b0/k1',
      's0-b0/k2',
      's0-b0/k3',
      's0-b1/k0',
    ]);
    expect(output.objects).toMatchObject({ failed: 8, failedByCode: { AccessDenied: 5, unnamed: 3 } });
    const ledger = JSON.parse((await s3.getBody(STATE, `reports/${jobId}/ledger.json`)).toString());
    expect(ledger).toMatchObject({ failuresListed: 5, failuresUnnamed: 3 });
  });

  it('counts the objects a time-budget stop never reached as not attempted, and what it copied as copied', async () => {
    // Prepare: the last attempt of a 5-object batch copied 2 and ran out of time.
    const jobId = 'job-budget';
    const budget = Object.assign(new Error('Batch s0-b0 stopped after 2 of 5 objects'), {
      name: 'CopyTimeBudgetError',
    });
    const keys = ['data/1', 'data/2', 'data/3', 'data/4', 'data/5'];
    await writeMapRun(jobId, 'run-a', [
      failed(
        's0-b0',
        keys,
        attachBatchResult(budget, {
          batchId: 's0-b0',
          copied: 2,
          skipped: 0,
          skippedByReason: {},
          failed: 0,
          notAttempted: 3,
          bytesCopied: 20,
          failures: [],
        }),
      ),
    ]);
    const event = input(jobId, 'FAILED', { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'threshold' });
    event.state.totals = { listed: 5, selected: 5, skipped: 0, bytes: 50 };

    // Act
    const output = await handler()(event, context);

    // Assess
    expect(output.objects).toMatchObject({ selected: 5, copied: 2, skipped: 0, failed: 0, notAttempted: 3 });
    expect(output.bytes.copied).toBe(20);
    expect(output.error?.cause).toBe('threshold');
    expect(output.rootCause).toEqual({
      Error: 'CopyTimeBudgetError',
      Cause: 'Batch s0-b0 stopped after 2 of 5 objects',
    });
  });

  it('counts a SUCCEEDED file of full execution records (Transformation NONE) the same as a COMPACT one', async () => {
    // Prepare
    const none = 'job-none';
    const compact = 'job-compact';
    const entries = [succeeded('s0-b0', 3, 300), succeeded('s0-b1', 5, 500)];
    await writeMapRun(none, 'run-a', entries, { Transformation: 'NONE', OutputType: 'JSON' });
    await writeMapRun(compact, 'run-a', entries, { Transformation: 'COMPACT', OutputType: 'JSON' });

    // Act
    const fromNone = await handler()(input(none, 'SUCCEEDED'), context);
    const fromCompact = await handler()(input(compact, 'SUCCEEDED'), context);

    // Assess
    expect(fromNone.objects).toMatchObject({
      listed: 12,
      selected: 10,
      copied: 8,
      skipped: 4,
      failed: 0,
      notAttempted: 0,
    });
    expect(fromNone.bytes.copied).toBe(800);
    expect(fromCompact.objects).toEqual(fromNone.objects);
    expect(fromCompact.bytes).toEqual(fromNone.bytes);
  });

  it('reads JSON Lines result files (OutputType JSONL)', async () => {
    // Prepare
    const jobId = 'job-jsonl';
    const roleError = Object.assign(new Error('Cannot assume target role'), { name: 'AssumeRoleError' });
    await writeMapRun(jobId, 'run-a', [succeeded('s0-b0', 2, 20), failed('s0-b1', ['k/1'], roleError)], {
      Transformation: 'COMPACT',
      OutputType: 'JSONL',
    });

    // Act
    const output = await handler()(
      input(jobId, 'FAILED', { Error: 'States.ExceedToleratedFailureThreshold' }),
      context,
    );

    // Assess
    expect(output.objects).toMatchObject({ copied: 2, failed: 1 });
    expect(output.failures).toEqual([{ key: 'k/1', code: 'AssumeRoleError', message: 'Cannot assume target role' }]);
    expect(output.rootCause?.Error).toBe('AssumeRoleError');
  });

  it('names the deployment defaults when List failed before it resolved the job', async () => {
    // Prepare
    const notify = createNotifyHandler({
      config: {
        defaults: { source: { bucket: 'src-default' }, target: { bucket: 'dst-default', prefix: 'copy/' } },
        stateBucket: STATE,
        topicArn: TOPIC,
        notifyOnSuccess: true,
      },
      publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
      stateS3: s3.s3,
      observability: silent(),
    });
    const event: NotifyInput = {
      status: 'FAILED',
      execution: { id: 'arn:aws:states:us-east-1:111111111111:execution:s3xcopy:job-early', name: 'job-early' },
      state: { error: { Error: 'NoSuchBucket', Cause: 'no bucket src-default' } },
    };

    // Act
    const output = await notify(event, context);

    // Assess
    expect(output).toMatchObject({ source: 'src-default/', target: 'dst-default/copy/', jobResolved: false });
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject).toBe(
      's3xcopy FAILED: src-default/ -> dst-default/copy/, NoSuchBucket',
    );
  });

  it('rejects an event the state machine would not send, naming the field', async () => {
    // Act / Assess
    await expect(handler()({ status: 'DONE', execution: {} }, context)).rejects.toThrow(/status/);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});

describe('aggregateResults', () => {
  it('counts every Map Run but keeps only the first failures, in the same order on every read', async () => {
    // Prepare: 11 Map Runs, each with one succeeded batch and one batch of 3 keys that failed as a whole.
    const jobId = 'job-many';
    const roleError = Object.assign(new Error('Cannot assume target role'), { name: 'AssumeRoleError' });
    for (let run = 0; run < 11; run++) {
      const id = `run-${String(run).padStart(2, '0')}`;
      await writeMapRun(jobId, id, [
        succeeded(`${id}-ok`, 10, 1000),
        failed(
          `${id}-bad`,
          [0, 1, 2].map((i) => `${id}/k${i}`),
          roleError,
        ),
      ]);
    }

    // Act
    const grouped = await aggregateResults(s3.s3, STATE, `results/${jobId}/`, 5, 4);
    const oneByOne = await aggregateResults(s3.s3, STATE, `results/${jobId}/`, 5, 1);

    // Assess
    expect(grouped).toMatchObject({
      mapRuns: 11,
      batches: { succeeded: 11, failed: 11 },
      objects: { copied: 110, skipped: 11, failed: 33 },
      bytesCopied: 11_000,
    });
    expect(grouped.failures.map((f) => f.key)).toEqual([
      'run-00/k0',
      'run-00/k1',
      'run-00/k2',
      'run-01/k0',
      'run-01/k1',
    ]);
    expect(grouped.batchErrors.map((b) => b.batchId)).toEqual([
      'run-00-bad',
      'run-01-bad',
      'run-02-bad',
      'run-03-bad',
      'run-04-bad',
    ]);
    expect(grouped.firstBatchFailure?.Error).toBe('AssumeRoleError');
    expect(oneByOne).toEqual(grouped);
  });

  it('names the file when a result file is not JSON', async () => {
    // Prepare
    const jobId = 'job-garbled';
    await writeMapRun(jobId, 'run-a', [succeeded('s0-b0', 1, 1)]);
    await s3.put(STATE, `results/${jobId}/run-a/SUCCEEDED_0.json`, 'not json {');

    // Act / Assess
    await expect(aggregateResults(s3.s3, STATE, `results/${jobId}/`)).rejects.toThrow(
      `s3://${STATE}/results/${jobId}/run-a/SUCCEEDED_0.json is not JSON`,
    );
  });
});

describe('readMapRunRates (what the list step plans the next slice from)', () => {
  it('reads the rates of succeeded batches and of failed ones from their result record, skipping batches without', async () => {
    // Prepare: one succeeded batch with rates, one without (it copied nothing), one stopped by its time
    // budget whose Cause carries its record with rates, one failed without any record.
    const jobId = 'job-rates';
    const withRates = succeeded('s0-b0', 2, 20);
    withRates.Output = JSON.stringify({
      ...JSON.parse(withRates.Output as string),
      rates: { large: 3, bytesPerSecond: 9_000_000, small: 0 },
    });
    const stopped = attachBatchResult(new CopyBatchError('s0-b2', 2, [{ key: 'x', code: 'SlowDown', message: 'm' }]), {
      batchId: 's0-b2',
      copied: 1,
      skipped: 0,
      skippedByReason: {},
      failed: 1,
      notAttempted: 0,
      bytesCopied: 10,
      failures: [{ key: 'x', code: 'SlowDown', message: 'm' }],
      rates: { large: 0, small: 1, requestMs: 640 },
    });
    await writeMapRun(jobId, 'run-r', [
      withRates,
      succeeded('s0-b1', 0, 0),
      failed('s0-b2', ['x', 'y'], stopped),
      failed('s0-b3', ['z'], new Error('AccessDenied')),
    ]);

    // Act
    const rates = await readMapRunRates(s3.s3, STATE, `results/${jobId}/run-r/manifest.json`);

    // Assess
    expect(rates).toEqual([
      { large: 3, bytesPerSecond: 9_000_000, small: 0 },
      { large: 0, small: 1, requestMs: 640 },
    ]);
  });
});

describe('rootCause', () => {
  const batchFailure = { Error: 'AssumeRoleError', Cause: lambdaCause(new Error('Cannot assume target role')) };
  const results = {
    mapRuns: 1,
    batches: { succeeded: 0, failed: 1, pending: 0 },
    objects: { copied: 0, skipped: 0, failed: 3, notAttempted: 0 },
    skippedByReason: {},
    failedByCode: { AssumeRoleError: 3 },
    failuresUnnamed: 0,
    bytesCopied: 0,
    failures: [],
    batchErrors: [],
    firstBatchFailure: batchFailure,
  };

  it('fails with the first failed batch’s own error when the Map only says the threshold was passed', () => {
    expect(rootCause({ Error: 'States.ExceedToleratedFailureThreshold', Cause: 'threshold' }, results)).toEqual(
      batchFailure,
    );
  });

  it('keeps the caught error when it came from anywhere but the Map threshold', () => {
    expect(rootCause({ Error: 'InvalidJobError', Cause: 'bad job' }, results)).toEqual({
      Error: 'InvalidJobError',
      Cause: 'bad job',
    });
  });

  it('keeps the threshold error when no ResultWriter file says more', () => {
    expect(rootCause({ Error: 'States.ExceedToleratedFailureThreshold', Cause: 'threshold' }, undefined)).toEqual({
      Error: 'States.ExceedToleratedFailureThreshold',
      Cause: 'threshold',
    });
  });
});
