/**
 * Measured planning through the real statemachine/copy.asl.json: the rates slice 1's copy invocations
 * measured reach the List step of slice 2 (through $.list.mapRun and previousMapRun), and those of the
 * last slice of an execution reach the first List of the execution it continues in.
 */
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { type ProgressEvent, runLocal } from '../../cli/runner/runner';
import { combineRates } from '../../functions/list/rate-plan';
import type { MeasuredRates } from '../../functions/shared/copy-rates';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'rates-state';
/**
 * Every CopyObject takes this much longer than the embedded server needs (a slow server's round trip);
 * slice 2's objects (k2, k3) slower still, so what reaches slice 3 can only have come from slice 2.
 */
const COPY_DELAY_MS = 150;
const SLICE_2_DELAY_MS = 450;
let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
  for (const bucket of [STATE, 'rates-src', 'rates-dst']) await s3.createBucket(bucket);
  await s3.putMany(
    'rates-src',
    Array.from({ length: 6 }, (_, i) => ({ key: `data/k${i}`, body: `value ${i}` })),
  );
});

afterAll(async () => {
  await s3?.stop();
});

function slowCopies(client: S3Client, role: 'source' | 'target' | 'state'): void {
  if (role !== 'target') return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'CopyObjectCommand') {
        const key = (args.input as { Key?: string }).Key ?? '';
        const delay = key === 'k2' || key === 'k3' ? SLICE_2_DELAY_MS : COPY_DELAY_MS;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      return next(args);
    },
    { step: 'initialize', name: 'testSlowCopies' },
  );
}

describe('measured rates in the state machine', () => {
  it('plans slice 1 by the model and each later slice from the rates the slice before it measured, across ContinueAsNew', async () => {
    // Arrange: 6 objects, 2 a slice (3 slices), 1 a batch; 2 slices per execution, so slice 3 is the
    // first of a second execution.
    const events: ProgressEvent[] = [];
    // Act
    const result = await runLocal({
      input: {
        source: { bucket: 'rates-src', prefix: 'data/' },
        target: { bucket: 'rates-dst', prefix: '' },
        options: { sliceMaxObjects: 2, maxObjectsPerBatch: 1 },
      },
      endpoint: s3.server.endpoint,
      stateBucket: STATE,
      slicesPerExecution: 2,
      retryIntervalMs: 0,
      configureS3: slowCopies,
      onProgress: (event) => events.push(event),
      logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
    });
    // Assert
    expect(result.status).toBe('SUCCEEDED');
    expect(result.executions).toHaveLength(2);
    const plans = events.flatMap((event) => (event.type === 'slice' ? [event.plan] : []));
    const measuredBySlice = (slice: number): MeasuredRates[] =>
      events.flatMap((event) =>
        event.type === 'batch' && event.batchId.startsWith(`s${slice}-`) && event.result.rates
          ? [event.result.rates]
          : [],
      );
    expect(plans).toHaveLength(3);
    expect(plans[0]?.source).toBe('model');
    expect(plans[0]?.requestMs).toBe(20);
    // Slice 1's two copies each measured one slow CopyObject; slice 2 plans with their 90th percentile.
    const slice1 = combineRates(undefined, measuredBySlice(0));
    expect(measuredBySlice(0)).toHaveLength(2);
    expect(slice1?.requestMs).toBeGreaterThanOrEqual(COPY_DELAY_MS);
    expect(slice1?.requestMs).toBeLessThan(SLICE_2_DELAY_MS);
    expect(plans[1]).toMatchObject({ source: 'measured', requestMs: slice1?.requestMs });
    // Slice 3 runs in the continued execution and plans with what slice 2's copies measured.
    const slice2 = combineRates(slice1, measuredBySlice(1));
    expect(slice2?.requestMs).toBeGreaterThanOrEqual(SLICE_2_DELAY_MS);
    expect(plans[2]).toMatchObject({ source: 'measured', requestMs: slice2?.requestMs });
    expect(result.list?.continuation).toBeNull();
    expect(await s3.listKeys('rates-dst', '')).toHaveLength(6);
  });

  it('resumes an execution continued by a deployment older than measured planning (no mapRun), from the continuation alone', async () => {
    // Arrange: what an older ContinueAsNew sent: no s3xcopyContinue.mapRun; the listing resumes after k3
    // and the continuation carries rates measured earlier.
    const events: ProgressEvent[] = [];
    const rates: MeasuredRates = { large: 0, small: 4, requestMs: 700 };
    // Act
    const result = await runLocal({
      input: {
        s3xcopyContinue: {
          request: {
            source: { bucket: 'rates-src', prefix: 'data/' },
            target: { bucket: 'rates-dst', prefix: 'older/' },
            options: { sliceMaxObjects: 2, maxObjectsPerBatch: 1 },
          },
          jobId: 'rates-older',
          startTime: '2026-12-01T10:00:00.000Z',
          continuation: {
            startAfter: 'data/k3',
            slice: 2,
            totals: { listed: 4, selected: 4, skipped: 0, bytes: 28, selectedBytes: 28, skippedByReason: {} },
            rates,
          },
        },
      },
      endpoint: s3.server.endpoint,
      stateBucket: STATE,
      retryIntervalMs: 0,
      onProgress: (event) => events.push(event),
      logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
    });
    // Assert
    expect(result.status).toBe('SUCCEEDED');
    expect(result.stats.transitions.parent).toMatchObject({ ResumeWithoutMapRun: 1, List: 1 });
    const plans = events.flatMap((event) => (event.type === 'slice' ? [event.plan] : []));
    expect(plans).toEqual([expect.objectContaining({ source: 'measured', requestMs: 700 })]);
    expect(await s3.listKeys('rates-dst', 'older/')).toEqual(['older/k4', 'older/k5']);
  });
});
