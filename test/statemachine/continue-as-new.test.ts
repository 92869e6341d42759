/**
 * A job longer than one execution: the real statemachine/copy.asl.json, run locally with the real
 * handlers against the embedded S3 server, with the slices-per-execution threshold lowered so a
 * ten-slice job spreads over several executions (ContinueAsNew through states:startExecution).
 */
import { Writable } from 'node:stream';
import { runLocal } from '../../cli/runner/runner';
import type { Notification } from '../../functions/notify/message';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'can-state';
let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
  for (const bucket of [STATE, 'can-src', 'can-dst', 'can-src-fail', 'can-dst-fail']) await s3.createBucket(bucket);
  await s3.putMany(
    'can-src',
    Array.from({ length: 20 }, (_, i) => ({ key: `data/k${String(i).padStart(2, '0')}`, body: `value ${i}` })),
  );
});

afterAll(async () => {
  await s3?.stop();
});

describe('a job spread over several executions (ContinueAsNew)', () => {
  it('copies every object, keeps one jobId and its counts, and notifies once, from the last execution', async () => {
    // Arrange: 20 objects, 2 per slice = 10 slices, 3 slices per execution = 4 executions
    const notifications: Notification[] = [];
    // Act
    const result = await runLocal({
      input: {
        source: { bucket: 'can-src', prefix: 'data/' },
        target: { bucket: 'can-dst', prefix: 'copy/' },
        options: { sliceMaxObjects: 2, maxObjectsPerBatch: 1 },
      },
      endpoint: s3.server.endpoint,
      stateBucket: STATE,
      slicesPerExecution: 3,
      executionName: 'can-job',
      retryIntervalMs: 0,
      onNotification: (notification) => notifications.push(notification),
      logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
    });
    // Assert: four executions of one job
    expect(result.status).toBe('SUCCEEDED');
    expect(result.executions).toHaveLength(4);
    expect(result.jobId).toBe('can-job');
    expect(result.stats.transitions.parent).toMatchObject({ Start: 1, Resume: 3, ContinueAsNew: 3, List: 10 });
    // every object copied, byte for byte
    const copied = await s3.listKeys('can-dst', 'copy/');
    expect(copied).toEqual(Array.from({ length: 20 }, (_, i) => `copy/k${String(i).padStart(2, '0')}`));
    expect((await s3.getBody('can-dst', 'copy/k13')).toString()).toBe('value 13');
    // one notification, with the whole job's counts, read from every execution's results/<jobId>/
    expect(notifications).toHaveLength(1);
    expect(result.notification).toMatchObject({ status: 'SUCCEEDED', published: true });
    expect(result.notification?.objects).toMatchObject({ listed: 20, selected: 20, copied: 20, failed: 0 });
    expect(result.objects).toMatchObject({ listed: 20, selected: 20, copied: 20, failed: 0 });
    const resultManifests = (await s3.listKeys(STATE, 'results/can-job/')).filter((k) => k.endsWith('manifest.json'));
    expect(resultManifests).toHaveLength(10);
  });

  it('stays in one execution when the job has fewer slices than the threshold', async () => {
    // Act
    const result = await runLocal({
      input: {
        source: { bucket: 'can-src', prefix: 'data/' },
        target: { bucket: 'can-dst', prefix: 'single/' },
        options: { sliceMaxObjects: 10 },
      },
      endpoint: s3.server.endpoint,
      stateBucket: STATE,
      slicesPerExecution: 3,
      retryIntervalMs: 0,
      logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
    });
    // Assert
    expect(result.status).toBe('SUCCEEDED');
    expect(result.executions).toHaveLength(1);
    expect(result.stats.transitions.parent.ContinueAsNew).toBeUndefined();
    expect(result.objects.copied).toBe(20);
  });
});
