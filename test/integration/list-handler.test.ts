import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { ListEvent, ListOutput } from '../../functions/list/contract';
import { createListHandler, type ListHandlerDeps } from '../../functions/list/handler';
import type { DeploymentConfig } from '../../functions/shared/config';
import { TargetClients } from '../../functions/shared/target-role';
import { startTestS3, type TestS3 } from '../support/s3';
import { seedObjects } from './list-seed';

const ROLE_ARN = 'arn:aws:iam::222222222222:role/s3xcopy-target';
const stsMock = mockClient(STSClient);

let s3: TestS3;

/** A Lambda context whose remaining time is fixed (the local runner passes one like it). */
const contextWithRemaining = (ms: number) =>
  ({ functionName: 's3xcopy-list', awsRequestId: 'req-1', getRemainingTimeInMillis: () => ms }) as unknown as Context;

function silentObservability() {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const logger = new Logger({ serviceName: 'list-test', logLevel: 'SILENT' });
  return { logger, metrics: new Metrics({ namespace: 's3xcopy-test', serviceName: 'list-test', logger }) };
}

function deps(config: Partial<DeploymentConfig> = {}): ListHandlerDeps {
  return {
    config: {
      defaults: { source: { bucket: 'h-src' }, target: { bucket: 'h-dst' } },
      stateBucket: 'h-state',
      notifyOnSuccess: true,
      ...config,
    },
    sourceS3: s3.s3,
    stateS3: s3.s3,
    targetClients: new TargetClients(new STSClient({ region: 'us-east-1' }), s3.makeS3),
    observability: silentObservability(),
  };
}

async function stateKeys(prefix: string): Promise<string[]> {
  const page = await s3.s3.send(new ListObjectsV2Command({ Bucket: 'h-state', Prefix: prefix }));
  return (page.Contents ?? []).map((item) => item.Key ?? '');
}

beforeAll(async () => {
  s3 = await startTestS3();
  for (const bucket of ['h-src', 'h-dst', 'h-state', 'events-src']) await s3.createBucket(bucket);
  await seedObjects(
    s3.server.directory,
    'h-src',
    Array.from({ length: 2600 }, (_, i) => ({ key: `many/k${String(i).padStart(5, '0')}`, body: 'z' })),
  );
});
afterAll(() => s3.stop());
beforeEach(() => stsMock.reset());

describe('list handler', () => {
  it('ends each slice after one page when the Lambda runs short of time, and the slices cover every key', async () => {
    // Arrange: 30 s left against a 60 s margin: every slice takes its one guaranteed page. (Not 1 s: middy
    // ends an invocation at its deadline, and on a loaded machine one page and its manifest took longer.)
    const handler = createListHandler(deps());
    const request = { source: { prefix: 'many/' }, target: { prefix: 'copied/' } };
    const outputs: ListOutput[] = [];
    // Act
    let event: ListEvent = { request, jobId: 'exec-time' };
    for (;;) {
      const output: ListOutput = await handler(event, contextWithRemaining(30_000));
      outputs.push(output);
      if (!output.continuation || outputs.length > 10) break;
      event = { request, jobId: 'exec-time', continuation: output.continuation };
    }
    // Assert
    expect(outputs.map((o) => o.slice.objects)).toEqual([1000, 1000, 600]);
    expect(outputs.at(-1)?.totals).toEqual({
      listed: 2600,
      selected: 2600,
      skipped: 0,
      bytes: 2600,
      selectedBytes: 2600,
      skippedByReason: {},
    });
    expect((await stateKeys('manifests/exec-time/')).sort()).toEqual(
      [0, 1, 2].map((n) => `manifests/exec-time/part-${n}.json`),
    );
    for (const output of outputs) expect(Buffer.byteLength(JSON.stringify(output))).toBeLessThan(200 * 1024);
  });

  it('lists the whole prefix in one slice when time is plentiful', async () => {
    // Arrange
    const handler = createListHandler(deps());
    // Act
    const output: ListOutput = await handler(
      {
        request: { source: { prefix: 'many/' }, target: { prefix: 'copied/' } },
        jobId: 'exec-once',
        continuation: null,
      },
      contextWithRemaining(900_000),
    );
    // Assert
    expect(output).toMatchObject({ slice: { number: 0, objects: 2600, batches: 3 }, continuation: null });
    expect(output.job).toMatchObject({ source: { bucket: 'h-src', prefix: 'many/' }, target: { bucket: 'h-dst' } });
  });

  it("plans whole rounds of the deployment's Map MaxConcurrency once the batches are more than one round", async () => {
    // Arrange: 2,600 objects are 3 batches of at most 1,000; a Map of 2 children at once would run them in
    // rounds of 2 and 1, so the List step plans 4 batches of 650
    const handler = createListHandler(deps({ mapMaxConcurrency: 2 }));
    // Act
    const output: ListOutput = await handler(
      { request: { source: { prefix: 'many/' }, target: { prefix: 'rounds/' } }, jobId: 'exec-rounds' },
      contextWithRemaining(900_000),
    );
    // Assert
    expect(output.slice).toMatchObject({ objects: 2600, batches: 4 });
    const manifest = JSON.parse((await s3.getBody('h-state', output.manifest?.key ?? '')).toString('utf8')) as Array<{
      objects: unknown[];
    }>;
    expect(manifest.map((batch) => batch.objects.length)).toEqual([650, 650, 650, 650]);
  });

  it("plans from the model when the previous slice's copy rates cannot be read, instead of failing the job", async () => {
    // Arrange: the previous Map Run's ResultWriter manifest is gone (deleted, or unreadable to the role).
    const handler = createListHandler(deps());
    // Act
    const output: ListOutput = await handler(
      {
        request: { source: { prefix: 'many/' }, target: { prefix: 'copied/' } },
        jobId: 'exec-rates-gone',
        continuation: null,
        previousMapRun: { ResultWriterDetails: { Bucket: 'h-state', Key: 'results/gone/manifest.json' } },
      },
      contextWithRemaining(900_000),
    );
    // Assert
    expect(output).toMatchObject({ slice: { number: 0, objects: 2600, batches: 3 }, continuation: null });
  });

  it('rejects an invalid job naming every bad field, and writes nothing', async () => {
    // Arrange
    const handler = createListHandler(deps());
    const request = { source: { bucket: 'Bad_Bucket' }, options: { mode: 'mirror', sliceMaxObjects: 0 } };
    // Act
    const attempt = handler({ request, jobId: 'exec-bad' }, contextWithRemaining(900_000));
    // Assert
    await expect(attempt).rejects.toMatchObject({ name: 'InvalidJobError' });
    await expect(attempt).rejects.toThrow(/source\.bucket.*options\.mode.*options\.sliceMaxObjects/s);
    expect(await stateKeys('manifests/exec-bad/')).toEqual([]);
  });

  it('rejects a job whose target bucket is the state bucket, and writes nothing', async () => {
    // Arrange
    const handler = createListHandler(deps());
    const request = { target: { bucket: 'h-state', prefix: 'mirror/' }, options: { mode: 'sync', delete: true } };
    // Act
    const attempt = handler({ request, jobId: 'exec-state' }, contextWithRemaining(900_000));
    // Assert
    await expect(attempt).rejects.toMatchObject({ name: 'InvalidJobError' });
    await expect(attempt).rejects.toThrow('target.bucket h-state is also the state bucket');
    expect(await stateKeys('manifests/exec-state/')).toEqual([]);
  });

  it('rejects a job too large to travel beside its batches', async () => {
    // Arrange: 2,000 include globs of 20 characters are about 46 KiB of JSON
    const handler = createListHandler(deps());
    const include = Array.from({ length: 2000 }, (_, i) => `dir-${String(i).padStart(5, '0')}/**/*.txt`);
    const request = { source: { prefix: 'many/' }, target: { prefix: 'x/' }, filter: { include } };
    // Act
    const attempt = handler({ request, jobId: 'exec-huge' }, contextWithRemaining(900_000));
    // Assert
    await expect(attempt).rejects.toMatchObject({
      name: 'InvalidJobError',
      message: expect.stringContaining('include/exclude'),
    });
    expect(await stateKeys('manifests/exec-huge/')).toEqual([]);
  });

  it('rejects an event without a usable jobId', async () => {
    // Arrange
    const handler = createListHandler(deps());
    // Act
    const attempt = handler({ request: {}, jobId: '../escape' }, contextWithRemaining(900_000));
    // Assert
    await expect(attempt).rejects.toMatchObject({ name: 'InvalidJobError', message: expect.stringContaining('jobId') });
  });

  it('names the missing state bucket setting', async () => {
    // Arrange
    const handler = createListHandler(deps({ stateBucket: undefined }));
    // Act
    const attempt = handler(
      { request: { source: { prefix: 'many/' }, target: { prefix: 'x/' } }, jobId: 'exec-ns' },
      contextWithRemaining(900_000),
    );
    // Assert
    await expect(attempt).rejects.toThrow(/S3XCOPY_STATE_BUCKET/);
  });

  it('copies the keys of an SQS-wrapped event batch with the deployment job', async () => {
    // Arrange
    const request = JSON.parse(
      readFileSync(path.join(__dirname, '../fixtures/events/sqs-pipe-eventbridge.json'), 'utf8'),
    );
    for (const n of [0, 1, 2, 3]) await s3.put('events-src', `incoming/pipe/00${n} report.json`, 'report');
    const handler = createListHandler(
      deps({
        defaults: { source: { bucket: 'events-src', prefix: 'incoming/' }, target: { bucket: 'h-dst', prefix: 'in/' } },
      }),
    );
    // Act
    const output: ListOutput = await handler({ request, jobId: 'exec-events' }, contextWithRemaining(900_000));
    // Assert: the fifth object was never written, so it counts as skipped
    expect(output.totals).toEqual({
      listed: 5,
      selected: 5,
      skipped: 1,
      bytes: 24,
      selectedBytes: 24,
      skippedByReason: { vanished: 1 },
    });
    expect(output.job.source).toEqual({ bucket: 'events-src', prefix: 'incoming/' });
  });

  it('lists the target through the assumed target role in sync mode', async () => {
    // Arrange: STS hands out the embedded server's key pair, so requests signed with it are accepted
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'S3RVER',
        SecretAccessKey: 'S3RVER',
        SessionToken: 'session-token',
        Expiration: new Date(Date.now() + 3600_000),
      },
    });
    await seedObjects(s3.server.directory, 'h-src', [
      { key: 'role/a.txt', body: 'a' },
      { key: 'role/b.txt', body: 'b' },
    ]);
    await seedObjects(s3.server.directory, 'h-dst', [{ key: 'role-copy/a.txt', body: 'a' }]);
    const handler = createListHandler(deps());
    const request = {
      source: { prefix: 'role/' },
      target: { prefix: 'role-copy/', roleArn: ROLE_ARN, externalId: 'ext-123' },
      options: { mode: 'sync' },
    };
    // Act
    const output: ListOutput = await handler({ request, jobId: 'exec-role' }, contextWithRemaining(900_000));
    // Assert
    expect(output.totals).toEqual({
      listed: 2,
      selected: 2,
      skipped: 1,
      bytes: 1,
      selectedBytes: 2,
      skippedByReason: { unchanged: 1 },
    });
    expect(stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toMatchObject({
      RoleArn: ROLE_ARN,
      RoleSessionName: 's3xcopy-exec-role',
      ExternalId: 'ext-123',
    });
  });

  it('fails without listing when the target role cannot be assumed', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const handler = createListHandler(deps());
    const request = {
      source: { prefix: 'role/' },
      target: { prefix: 'role-copy/', roleArn: ROLE_ARN },
      options: { mode: 'sync' },
    };
    // Act
    const attempt = handler({ request, jobId: 'exec-denied' }, contextWithRemaining(900_000));
    // Assert
    await expect(attempt).rejects.toMatchObject({
      name: 'AssumeRoleError',
      message: expect.stringContaining(ROLE_ARN),
    });
    expect(await stateKeys('manifests/exec-denied/')).toEqual([]);
  });

  it('records the slice counts as metrics', async () => {
    // Arrange
    const observability = silentObservability();
    const addMetric = jest.spyOn(observability.metrics, 'addMetric');
    const handler = createListHandler({ ...deps(), observability });
    // Act
    await handler(
      { request: { source: { prefix: 'role/' }, target: { prefix: 'elsewhere/' } }, jobId: 'exec-metrics' },
      contextWithRemaining(900_000),
    );
    // Assert
    expect(addMetric.mock.calls.map(([name, , value]) => [name, value])).toEqual([
      ['ObjectsListed', 2],
      ['ObjectsSelected', 2],
      ['ObjectsSkipped', 0],
    ]);
  });
});
