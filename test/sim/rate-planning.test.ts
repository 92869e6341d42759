/**
 * Planning from measured rates, in the S3 model (sim/): a server that copies 8 MiB/s a request (well
 * below the model's 50 MiB/s) and a job that copies 4 objects at a time. A slice planned by the model
 * gets a 32 GiB batch, which at 4 x 8 MiB/s needs about 1,000 s: the invocation runs out of time. The
 * next slice, planned from what that invocation measured (functions/list/rate-plan.ts), gets batches
 * that each finish in one invocation, within the planning window. Time is virtual; the REAL planner and
 * copy engine run.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { copyBatch } from '../../functions/copy/copy-engine';
import { planBatches } from '../../functions/list/planner';
import { combineRates, planForRates } from '../../functions/list/rate-plan';
import { CopyTimeBudgetError } from '../../functions/shared/errors';
import {
  type Batch,
  type CopyResult,
  DEFAULT_OPTIONS,
  GiB,
  type Job,
  type ManifestObject,
  MiB,
  parseJob,
} from '../../functions/shared/job';
import { VirtualClock } from '../../sim/clock';
import { sameContent } from '../../sim/content';
import { awsLatency, seededRandom } from '../../sim/limits';
import { S3Model } from '../../sim/s3-model';

const logger = new Logger({ serviceName: 'rate-planning-sim', logLevel: 'SILENT' });
/** A copy Lambda's 15 minutes. */
const LAMBDA_MS = 900_000;
/** The slow server: bytes per second one CopyObject copies. */
const SERVER_BYTES_PER_SECOND = 8 * MiB;
const OBJECT_BYTES = 64 * MiB;
/** Two slices of 32 GiB: the model's batch size each. */
const OBJECTS = 1024;

interface Invocation {
  batch: Batch;
  seconds: number;
  result: CopyResult | undefined;
  error?: unknown;
}

function setup() {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1), 5);
  const model = new S3Model({
    clock,
    latency: awsLatency({ random: seededRandom(11), copyBytesPerSecond: SERVER_BYTES_PER_SECOND }),
  });
  model.createBucket('src');
  model.createBucket('dst');
  const keys = Array.from({ length: OBJECTS }, (_, i) => `data/obj-${String(i).padStart(5, '0')}`);
  model.seed(
    'src',
    keys.map((key) => ({ key, size: OBJECT_BYTES })),
  );
  const objects: ManifestObject[] = keys.map((key) => {
    const stored = model.object('src', key);
    if (!stored) throw new Error(`seed failed for ${key}`);
    return { key, size: stored.size, etag: stored.etag, lastModified: new Date(stored.lastModified).toISOString() };
  });
  const job: Job = parseJob({
    source: { bucket: 'src', prefix: '' },
    target: { bucket: 'dst', prefix: '' },
    filter: { include: [], exclude: [] },
    options: { ...DEFAULT_OPTIONS, concurrency: 4 },
  });
  return { clock, model, objects, job };
}

/** One copy invocation of one batch, as a Distributed Map child runs it: 15 minutes, then the time budget. */
async function invoke(s: ReturnType<typeof setup>, batch: Batch): Promise<Invocation> {
  const started = s.clock.now();
  const deadline = started + LAMBDA_MS;
  let result: CopyResult | undefined;
  try {
    await copyBatch(
      { job: s.job, jobId: 'rates-sim', batch },
      {
        s3: s.model.client(),
        logger,
        remainingTimeMs: () => deadline - s.clock.now(),
        now: () => s.clock.now(),
        sleep: (ms) => s.clock.sleep(ms),
        random: seededRandom(batch.objects.length),
        adaptiveLimit: false,
        onSettled: (settled) => {
          result = settled;
        },
      },
    );
    return { batch, seconds: (s.clock.now() - started) / 1000, result };
  } catch (error) {
    return { batch, seconds: (s.clock.now() - started) / 1000, result, error };
  }
}

describe('planning from measured rates on a slow server (S3 model)', () => {
  it('overruns the invocation with the model plan, and fits every batch once planned from the measured rates', async () => {
    // Arrange
    const s = setup();
    const limits = {
      maxBytesPerBatch: s.job.options.maxBytesPerBatch,
      maxObjectsPerBatch: s.job.options.maxObjectsPerBatch,
    };
    const slice1 = s.objects.slice(0, OBJECTS / 2);
    const slice2 = s.objects.slice(OBJECTS / 2);

    // Act: slice 1 planned by the model, slice 2 from what slice 1's invocation measured
    const { first, plan2, second } = await s.clock.run(async () => {
      const plan1 = planForRates(limits, undefined);
      const batches1 = planBatches(slice1, plan1, 's0-b');
      const first = await Promise.all(batches1.map((batch) => invoke(s, batch)));
      const measured = combineRates(
        undefined,
        first.flatMap((run) => (run.result?.rates ? [run.result.rates] : [])),
      );
      const plan2 = planForRates(limits, measured);
      const second: Invocation[] = [];
      for (const batch of planBatches(slice2, plan2, 's1-b')) second.push(await invoke(s, batch));
      return { first, plan2, second };
    });

    // Assert: the model's one 32 GiB batch ran out of time, part copied
    expect(first).toHaveLength(1);
    expect(first[0]?.batch.bytes).toBe(32 * GiB);
    expect(first[0]?.error).toBeInstanceOf(CopyTimeBudgetError);
    expect(first[0]?.result?.copied).toBeLessThan(slice1.length);
    // the measured rate is the slow server's (a little under it: the request's round trip counts too)
    expect(plan2.source).toBe('measured');
    expect(plan2.bytesPerSecond).toBeLessThan(SERVER_BYTES_PER_SECOND);
    expect(plan2.bytesPerSecond).toBeGreaterThan(0.9 * SERVER_BYTES_PER_SECOND);
    // every batch planned from it finished in one invocation, inside the planning window
    expect(second.length).toBeGreaterThan(1);
    for (const run of second) {
      expect(run.error).toBeUndefined();
      expect(run.result?.copied).toBe(run.batch.objects.length);
      expect(run.seconds).toBeLessThanOrEqual(plan2.windowSeconds);
    }
    for (const object of slice2) {
      const source = s.model.object('src', object.key);
      const target = s.model.object('dst', object.key);
      expect(source && target && sameContent(source.content, target.content)).toBe(true);
    }
    // For the report: the figures of this run.
    const longest = Math.max(...second.map((run) => run.seconds));
    process.stdout.write(
      `[sim] model plan: 1 batch of 32 GiB stopped at ${Math.round(first[0]?.seconds ?? 0)} s with ${first[0]?.result?.copied} of ${slice1.length} objects; ` +
        `measured ${(plan2.bytesPerSecond / MiB).toFixed(2)} MiB/s: ${second.length} batches of <= ${(plan2.maxBytesPerBatch / GiB).toFixed(2)} GiB, longest ${Math.round(longest)} s of a ${Math.round(plan2.windowSeconds)} s window\n`,
    );
  });
});
