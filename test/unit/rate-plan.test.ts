import fc from 'fast-check';
import { RateMeter } from '../../functions/copy/rate-meter';
import { planBatches } from '../../functions/list/planner';
import { combineRates, planForRates, planningWindowSeconds } from '../../functions/list/rate-plan';
import { COPY_RATES, LARGE_REQUEST_BYTES, type MeasuredRates } from '../../functions/shared/copy-rates';
import { DEFAULT_OPTIONS, GiB, type ManifestObject, MiB } from '../../functions/shared/job';

const object = (key: string, size: number): ManifestObject => ({
  key,
  size,
  etag: '"d41d8cd98f00b204e9800998ecf8427e"',
  lastModified: '2026-11-28T10:15:30.000Z',
});

const DEFAULT_LIMITS = {
  maxBytesPerBatch: DEFAULT_OPTIONS.maxBytesPerBatch,
  maxObjectsPerBatch: DEFAULT_OPTIONS.maxObjectsPerBatch,
};
/** What a 15-minute copy invocation has for copying: 900 s less the engine's 30 s safety margin. */
const INVOCATION_SECONDS = 870;

/** The time a batch takes at a server's true rates, requests one after another (the planner's bound). */
const secondsAt = (batch: { bytes: number; objects: unknown[] }, bytesPerSecond: number, requestMs: number) =>
  batch.bytes / bytesPerSecond + (batch.objects.length * requestMs) / 1000;

describe('planForRates', () => {
  it('keeps the job limits and names the model before anything was measured', () => {
    // Act
    const plan = planForRates(DEFAULT_LIMITS, undefined);
    // Assert
    expect(plan).toMatchObject({
      source: 'model',
      bytesPerSecond: COPY_RATES.perRequestBytesPerSecond,
      requestMs: COPY_RATES.perRequestMs,
      ...DEFAULT_LIMITS,
    });
  });

  it('leaves a fifth of the invocation as margin with the default limits', () => {
    // Act
    const window = planningWindowSeconds(DEFAULT_LIMITS);
    // Assert: 32 GiB at 50 MiB/s plus 1,250 requests of 20 ms
    expect(window).toBeCloseTo(680.36, 2);
    expect(window).toBeLessThanOrEqual(0.8 * INVOCATION_SECONDS);
  });

  it('plans a slow server (8 MiB/s a request) about a sixth of the model batch', () => {
    // Act
    const plan = planForRates(DEFAULT_LIMITS, { large: 40, bytesPerSecond: 8 * MiB, small: 0 });
    // Assert: 655 s of bytes at 8 MiB/s after 1,250 requests of 20 ms
    expect(plan.source).toBe('measured');
    expect(plan.maxObjectsPerBatch).toBe(1250);
    expect(plan.maxBytesPerBatch).toBe(Math.floor(8 * MiB * 655.36));
    expect(plan.maxBytesPerBatch / GiB).toBeCloseTo(5.12, 2);
  });

  it('never plans faster than the model, however fast the copies measured', () => {
    // Act
    const plan = planForRates(DEFAULT_LIMITS, { large: 40, bytesPerSecond: 2_000 * MiB, small: 50, requestMs: 2 });
    // Assert
    expect(plan).toMatchObject({ bytesPerSecond: COPY_RATES.perRequestBytesPerSecond, requestMs: 20 });
    expect(plan.maxBytesPerBatch).toBe(DEFAULT_LIMITS.maxBytesPerBatch);
    expect(plan.maxObjectsPerBatch).toBe(DEFAULT_LIMITS.maxObjectsPerBatch);
  });

  it('holds a measured crawl at the floor', () => {
    // Act
    const plan = planForRates(DEFAULT_LIMITS, { large: 3, bytesPerSecond: 10, small: 3, requestMs: 600_000 });
    // Assert
    expect(plan.bytesPerSecond).toBe(COPY_RATES.minBytesPerSecond);
    expect(plan.requestMs).toBe(COPY_RATES.maxRequestMs);
    expect(plan.maxObjectsPerBatch).toBe(Math.floor((plan.windowSeconds * 1000) / 2 / COPY_RATES.maxRequestMs));
  });

  it('plans batches that fit the window at the measured rates, whenever the server is no slower than measured', () => {
    fc.assert(
      fc.property(
        fc.record({
          maxBytesPerBatch: fc.integer({ min: 5 * MiB, max: 64 * GiB }),
          maxObjectsPerBatch: fc.integer({ min: 1, max: 10_000 }),
        }),
        fc.record({
          measuredBytesPerSecond: fc.integer({ min: 1, max: 500 * MiB }),
          measuredRequestMs: fc.integer({ min: 0, max: 60_000 }),
          // The server during the next slice: as fast as measured or faster, down to the floors.
          speedUp: fc.double({ min: 1, max: 4, noNaN: true }),
        }),
        fc.array(fc.integer({ min: 0, max: 8 * GiB }), { maxLength: 200 }),
        (limits, server, sizes) => {
          // Arrange
          const rates: MeasuredRates = {
            large: 10,
            bytesPerSecond: server.measuredBytesPerSecond,
            small: 10,
            requestMs: server.measuredRequestMs,
          };
          const trueBytesPerSecond =
            Math.max(server.measuredBytesPerSecond, COPY_RATES.minBytesPerSecond) * server.speedUp;
          const trueRequestMs = Math.min(server.measuredRequestMs, COPY_RATES.maxRequestMs) / server.speedUp;
          const objects = sizes.map((size, i) => object(`k${String(i).padStart(4, '0')}`, size));
          // Act
          const plan = planForRates(limits, rates);
          const batches = planBatches(objects, plan);
          // Assert: within the job's limits, and every batch but a lone object that cannot fit fits the window
          expect(plan.maxBytesPerBatch).toBeLessThanOrEqual(limits.maxBytesPerBatch);
          expect(plan.maxObjectsPerBatch).toBeLessThanOrEqual(limits.maxObjectsPerBatch);
          expect(plan.windowSeconds).toBe(planningWindowSeconds(limits));
          // A batch holds at least one object: when one request takes more than half of a tiny window
          // (a 5 MiB, 1-object job at 121 ms a request: W = 0.12 s), a lone object is the planner's best.
          const loneRequestTooLong = plan.requestMs > (plan.windowSeconds * 1000) / 2;
          for (const batch of batches) {
            if (batch.objects.length === 1 && (batch.bytes > plan.maxBytesPerBatch || loneRequestTooLong)) continue;
            expect(secondsAt(batch, trueBytesPerSecond, trueRequestMs)).toBeLessThanOrEqual(plan.windowSeconds + 1e-6);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('combineRates', () => {
  it('takes a low percentile of the batches byte rates and a high one of their request times', () => {
    // Arrange: 11 batches, byte rates 10..110 MiB/s, request times 10..110 ms
    const batches: MeasuredRates[] = Array.from({ length: 11 }, (_, i) => ({
      large: 2,
      bytesPerSecond: (10 + 10 * i) * MiB,
      small: 3,
      requestMs: 10 + 10 * i,
    }));
    // Act
    const combined = combineRates(undefined, batches);
    // Assert
    expect(combined).toEqual({ large: 22, bytesPerSecond: 20 * MiB, small: 33, requestMs: 100 });
  });

  it('replaces the earlier figure of a kind the slice measured and keeps the other', () => {
    // Arrange
    const previous: MeasuredRates = { large: 5, bytesPerSecond: 9 * MiB, small: 7, requestMs: 40 };
    // Act
    const combined = combineRates(previous, [{ large: 0, small: 4, requestMs: 90 }]);
    // Assert
    expect(combined).toEqual({ large: 5, bytesPerSecond: 9 * MiB, small: 4, requestMs: 90 });
  });

  it('keeps the earlier figures when the slice measured nothing, and has none before any', () => {
    // Arrange
    const previous: MeasuredRates = { large: 5, bytesPerSecond: 9 * MiB, small: 0 };
    // Act / Assert
    expect(combineRates(previous, [])).toEqual(previous);
    expect(combineRates(undefined, [])).toBeUndefined();
  });
});

describe('RateMeter', () => {
  it('reports the 10th percentile byte rate of large requests and the 90th percentile time of small ones', () => {
    // Arrange
    const meter = new RateMeter();
    for (let i = 1; i <= 10; i++) meter.observe(64 * MiB, i * 1000); // 64, 32, ... 6.4 MiB/s
    for (let i = 1; i <= 10; i++) meter.observe(1024, i * 10); // 10 .. 100 ms
    // Act
    const summary = meter.summary();
    // Assert
    expect(summary).toEqual({ large: 10, bytesPerSecond: Math.round((64 * MiB) / 10), small: 10, requestMs: 100 });
  });

  it('counts a request of exactly the large threshold as large', () => {
    // Arrange
    const meter = new RateMeter();
    meter.observe(LARGE_REQUEST_BYTES, 500);
    meter.observe(LARGE_REQUEST_BYTES - 1, 500);
    // Act / Assert
    expect(meter.summary()).toEqual({ large: 1, bytesPerSecond: LARGE_REQUEST_BYTES * 2, small: 1, requestMs: 500 });
  });

  it('reports nothing when the invocation copied nothing itself', () => {
    expect(new RateMeter().summary()).toBeUndefined();
  });
});
