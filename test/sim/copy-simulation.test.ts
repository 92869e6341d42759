import { simulateCopy } from '../../sim/copy-simulation';

describe('simulateCopy', () => {
  it('copies every object of a throttled prefix through the real engine, with and without the adaptive limit', async () => {
    const scenario = {
      objects: 3_000,
      prefixes: 1,
      objectBytes: 1_000,
      mapMaxConcurrency: 8,
      concurrency: 32,
      maxObjectsPerBatch: 100,
      seed: 3,
    };

    const today = await simulateCopy({ ...scenario, adaptive: false });
    const adaptive = await simulateCopy({ ...scenario, adaptive: true });

    for (const outcome of [today, adaptive]) {
      expect(outcome.copied).toBe(3_000);
      expect(outcome.failedObjects).toBe(0);
      expect(outcome.contentMismatches).toBe(0);
      expect(outcome.copyRequests).toBe(3_000 + outcome.retries);
      // Never faster than S3 lets one partition write.
      expect(outcome.copyObjectsPerSecond).toBeLessThanOrEqual(outcome.s3LimitPerSecond * 1.15);
    }
    expect(today.s3LimitPerSecond).toBe(3_500);
    // 256 requests in flight against 3,500/s at ~30 ms: S3 refuses many; the adaptive limit far fewer.
    expect(today.slowDowns).toBeGreaterThan(0);
    expect(adaptive.slowDowns).toBeLessThan(today.slowDowns);
    expect(adaptive.retries).toBeLessThan(today.retries);
    // The windows were halved under throttling (their final size is not the measure: once the last
    // batches run alone nothing is throttled and they grow back, above 32 with this listing's timing).
    expect(adaptive.windowDecreases).toBeGreaterThan(0);
    expect(today.windowDecreases).toBeUndefined();
  });

  it('counts the listing and gives the copy phase its own rate', async () => {
    const outcome = await simulateCopy({
      objects: 2_000,
      prefixes: 400,
      objectBytes: 1_000,
      mapMaxConcurrency: 4,
      concurrency: 8,
      adaptive: true,
      seed: 5,
    });
    expect(outcome.listSeconds).toBeGreaterThan(0);
    expect(outcome.seconds).toBeGreaterThan(outcome.listSeconds);
    expect(outcome.copyObjectsPerSecond).toBeGreaterThan(outcome.objectsPerSecond);
    expect(outcome.slowDowns).toBe(0);
    expect(outcome.copied).toBe(2_000);
  });

  it("plans whole rounds of the Map's MaxConcurrency, which keeps more children busy than the fewest batches", async () => {
    // Arrange: 2,000 objects in batches of at most 200 (10 at the fewest) on a Map of 4 children
    const scenario = {
      objects: 2_000,
      prefixes: 400,
      objectBytes: 1_000,
      mapMaxConcurrency: 4,
      concurrency: 8,
      maxObjectsPerBatch: 200,
      adaptive: true,
      seed: 5,
    };
    // Act
    const fewest = await simulateCopy({ ...scenario, planForMap: false });
    const rounds = await simulateCopy({ ...scenario });
    // Assert: 10 batches are rounds of 4, 4 and 2; 12 batches fill three rounds
    expect(fewest.timeline.map((t) => t.batches)).toEqual([10]);
    expect(rounds.timeline.map((t) => t.batches)).toEqual([12]);
    expect(rounds.copied).toBe(2_000);
    expect(fewest.timeline[0]?.meanChildren).toBeLessThan(3.5);
    expect(rounds.timeline[0]?.meanChildren).toBeGreaterThan(3.5);
    expect(rounds.copyObjectsPerSecond).toBeGreaterThan(fewest.copyObjectsPerSecond);
  });
});
