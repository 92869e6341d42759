import { Console } from 'node:console';
import { PassThrough } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createCopyHandler } from '../../functions/copy/handler';
import type { S3ClientFactory } from '../../functions/shared/clients';
import { AssumeRoleError, CopyBatchError, InvalidJobError } from '../../functions/shared/errors';
import { DEFAULT_OPTIONS } from '../../functions/shared/job';
import type { Observability } from '../../functions/shared/observability';
import { TargetClients } from '../../functions/shared/target-role';
import { startTestS3, type TestS3 } from '../support/s3';

const ROLE_ARN = 'arn:aws:iam::222222222222:role/s3xcopy-target';

/** A Lambda context as the local runner fakes it. */
function fakeContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 's3xcopy-copy',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:s3xcopy-copy',
    memoryLimitInMB: '1024',
    awsRequestId: 'request-1',
    logGroupName: '/aws/lambda/s3xcopy-copy',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Logger and metrics that write JSON lines into memory instead of stdout. */
function capturedObservability(): { observability: Observability; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const sink = new Console({ stdout: stream, stderr: stream });
  const logger = new Logger({ serviceName: 's3xcopy-copy' });
  (logger as unknown as { console: Console }).console = sink;
  const metrics = new Metrics({ namespace: 's3xcopy', serviceName: 's3xcopy-copy', logger: sink });
  (metrics as unknown as { console: Console }).console = sink;
  return {
    observability: { logger, metrics },
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('copy handler', () => {
  let s3: TestS3;
  const sts = new STSClient({ region: 'us-east-1' });
  const stsMock = mockClient(sts);

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket('handler-src');
    await s3.createBucket('handler-dst');
    await s3.put('handler-src', 'in/a.txt', 'alpha');
    await s3.put('handler-src', 'in/b.txt', 'bravo!');
  });
  afterAll(() => s3.stop());
  beforeEach(() => {
    stsMock.reset();
    // The embedded server checks signatures against its fixed pair, so the "assumed" credentials are that pair.
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'S3RVER',
        SecretAccessKey: 'S3RVER',
        SessionToken: 'session-token',
        Expiration: new Date(Date.now() + 3_600_000),
      },
    });
  });

  function event(overrides: Record<string, unknown> = {}) {
    return {
      job: {
        source: { bucket: 'handler-src', prefix: 'in/' },
        target: { bucket: 'handler-dst', prefix: 'out/', roleArn: ROLE_ARN, externalId: 'ext-123' },
        filter: { include: [], exclude: [] },
        options: { ...DEFAULT_OPTIONS },
      },
      jobId: 'exec-42',
      batch: {
        id: 'b-0001',
        bytes: 11,
        objects: [
          { key: 'in/a.txt', size: 5, etag: '"x"', lastModified: '2026-01-01T00:00:00Z' },
          { key: 'in/b.txt', size: 6, etag: '"y"', lastModified: '2026-01-01T00:00:00Z' },
        ],
      },
      ...overrides,
    };
  }

  it('copies the batch through the assumed target role and returns the counts', async () => {
    // Arrange
    const { observability } = capturedObservability();
    const handler = createCopyHandler({ targetClients: new TargetClients(sts, s3.makeS3), observability });
    // Act
    const result = await handler(event(), fakeContext());
    // Assert
    expect(result).toEqual({
      batchId: 'b-0001',
      copied: 2,
      skipped: 0,
      failed: 0,
      bytesCopied: 11,
      skippedByReason: {},
      failures: [],
      // Two small CopyObjects timed: what the next slice is planned from (functions/list/rate-plan.ts).
      rates: { large: 0, small: 2, requestMs: expect.any(Number) },
    });
    expect((await s3.getBody('handler-dst', 'out/b.txt')).toString()).toBe('bravo!');
    expect(stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toMatchObject({
      RoleArn: ROLE_ARN,
      ExternalId: 'ext-123',
      RoleSessionName: 's3xcopy-exec-42',
    });
  });

  it('logs one summary line carrying jobId, batchId and execution and publishes the four metrics', async () => {
    // Arrange
    const { observability, lines } = capturedObservability();
    const handler = createCopyHandler({ targetClients: new TargetClients(sts, s3.makeS3), observability });
    // Act
    await handler(event({ jobId: 'exec-43' }), fakeContext());
    // Assert
    const logs = lines().filter((line) => line.message !== undefined);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      message: 'Copy batch finished',
      jobId: 'exec-43',
      batchId: 'b-0001',
      execution: 'exec-43',
      copied: 2,
      function_request_id: 'request-1',
    });
    const emf = lines().find((line) => line._aws !== undefined);
    expect(emf).toMatchObject({ ObjectsCopied: 2, BytesCopied: 11, ObjectsSkipped: 0, ObjectsFailed: 0 });
  });

  it('publishes ObjectsFailed and throws CopyBatchError when objects fail', async () => {
    // Arrange
    const { observability, lines } = capturedObservability();
    const handler = createCopyHandler({ targetClients: new TargetClients(sts, s3.makeS3), observability });
    const input = event({ jobId: 'exec-46' });
    input.job.target = { ...input.job.target, bucket: 'handler-missing' };
    // Act
    const error = await handler(input, fakeContext()).catch((caught: unknown) => caught);
    // Assert
    expect(error).toBeInstanceOf(CopyBatchError);
    const emf = lines().find((line) => line._aws !== undefined);
    expect(emf).toMatchObject({ ObjectsCopied: 0, ObjectsFailed: 2 });
    const failureLogs = lines().filter((line) => line.message === 'Object copy failed');
    expect(failureLogs.map((line) => [line.key, line.code, line.batchId])).toEqual([
      ['in/a.txt', 'NoSuchBucket', 'b-0001'],
      ['in/b.txt', 'NoSuchBucket', 'b-0001'],
    ]);
  });

  it("writes each attempt's result to the state bucket's batch records, the last attempt overwriting the first", async () => {
    // Arrange: the first attempt fails both objects (no such target bucket), the retry copies both.
    await s3.createBucket('handler-state');
    const { observability } = capturedObservability();
    const handler = createCopyHandler({
      targetClients: new TargetClients(sts, s3.makeS3),
      state: { s3: s3.s3, bucket: 'handler-state' },
      observability,
    });
    const failing = event({ jobId: 'exec-records' });
    failing.job.target = { ...failing.job.target, bucket: 'handler-missing' };
    const recordKey = 'batch-results/exec-records/b-0001.json';

    // Act: the first attempt
    const error = await handler(failing, fakeContext()).catch((caught: unknown) => caught);
    const first = JSON.parse((await s3.getBody('handler-state', recordKey)).toString());
    // Act: the retry
    await handler(event({ jobId: 'exec-records' }), fakeContext());
    const last = JSON.parse((await s3.getBody('handler-state', recordKey)).toString());

    // Assert: the failed attempt's record carries its error and the same counts as its Cause.
    expect(error).toBeInstanceOf(CopyBatchError);
    expect(first).toMatchObject({
      format: 1,
      jobId: 'exec-records',
      batchId: 'b-0001',
      error: { name: 'CopyBatchError', message: expect.stringMatching(/^2 of 2 objects in batch b-0001 failed: /) },
      result: { batchId: 'b-0001', copied: 0, skipped: 0, failed: 2, notAttempted: 0, bytesCopied: 0 },
    });
    expect(first.error.message).not.toContain('s3xcopy-batch-result');
    expect(first.result.failures.map((failure: { key: string }) => failure.key)).toEqual(['in/a.txt', 'in/b.txt']);
    expect(last).toEqual({
      format: 1,
      jobId: 'exec-records',
      batchId: 'b-0001',
      result: expect.objectContaining({ copied: 2, skipped: 0, failed: 0, notAttempted: 0, bytesCopied: 11 }),
    });
  });

  it('throws AssumeRoleError naming the role and code before touching any object when the role cannot be assumed', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const made: unknown[] = [];
    const makeS3: S3ClientFactory = (credentials) => {
      made.push(credentials);
      return s3.makeS3(credentials);
    };
    const handler = createCopyHandler({
      targetClients: new TargetClients(sts, makeS3),
      observability: capturedObservability().observability,
    });
    // Act
    const error = await handler(event({ jobId: 'exec-44' }), fakeContext()).catch((caught: unknown) => caught);
    // Assert
    expect(error).toBeInstanceOf(AssumeRoleError);
    expect((error as Error).name).toBe('AssumeRoleError');
    expect((error as Error).message).toContain(ROLE_ARN);
    expect((error as Error).message).toContain('AccessDenied');
    expect(made).toEqual([]);
    expect(await s3.listKeys('handler-dst', 'never/')).toEqual([]);
  });

  it('throws InvalidJobError naming each bad field when the event is malformed', async () => {
    // Arrange
    const handler = createCopyHandler({
      targetClients: new TargetClients(sts, s3.makeS3),
      observability: capturedObservability().observability,
    });
    const bad = event({ batch: { id: 'b', bytes: 0, objects: [{ key: 'k', size: -1, etag: '', lastModified: 'x' }] } });
    (bad.job.options as Record<string, unknown>).concurrency = 0;
    // Act
    const error = await handler(bad, fakeContext()).catch((caught: unknown) => caught);
    // Assert
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as Error).message).toContain('job.options.concurrency');
    expect((error as Error).message).toContain('batch.objects.0.size');
    expect((error as Error).message).toContain('batch.objects.0.lastModified');
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('uses its own credentials without calling STS when the job has no target role', async () => {
    // Arrange
    const handler = createCopyHandler({
      targetClients: new TargetClients(sts, s3.makeS3),
      observability: capturedObservability().observability,
    });
    const input = event({ jobId: 'exec-45' });
    input.job.target = { bucket: 'handler-dst', prefix: 'own/' } as typeof input.job.target;
    // Act
    const result = await handler(input, fakeContext());
    // Assert
    expect(result.copied).toBe(2);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    expect(await s3.listKeys('handler-dst', 'own/')).toEqual(['own/a.txt', 'own/b.txt']);
  });
});
