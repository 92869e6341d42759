import fc from 'fast-check';
import { batchCount, MAX_BATCH_JSON_BYTES, OBJECT_OVERHEAD_BYTES, planBatches } from '../../functions/list/planner';
import { type Batch, BatchSchema, GiB, type ManifestObject } from '../../functions/shared/job';

const object = (key: string, size: number): ManifestObject => ({
  key,
  size,
  etag: '"d41d8cd98f00b204e9800998ecf8427e"',
  lastModified: '2026-11-28T10:15:30.000Z',
});

const jsonSize = (batch: Batch) => Buffer.byteLength(JSON.stringify(batch));

/** Objects with distinct keys (the planner's input is one listing) and sizes from empty to well past the byte cap. */
const objectsArbitrary = (maxSize: number) =>
  fc
    .uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), { maxLength: 300 })
    .chain((keys) =>
      fc.tuple(
        fc.constant(keys),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: maxSize })), {
          minLength: keys.length,
          maxLength: keys.length,
        }),
      ),
    )
    .map(([keys, sizes]) => keys.map((key, i) => object(key, sizes[i] ?? 0)));

const limitsArbitrary = fc.record(
  {
    maxObjectsPerBatch: fc.integer({ min: 1, max: 60 }),
    maxBytesPerBatch: fc.integer({ min: 1, max: 5000 }),
    // The Map's MaxConcurrency: the limits and the exactly-once rule hold with and without it.
    parallelism: fc.integer({ min: 1, max: 12 }),
  },
  { requiredKeys: ['maxObjectsPerBatch', 'maxBytesPerBatch'] },
);

describe('planBatches', () => {
  it('puts every object in exactly one batch', () => {
    fc.assert(
      fc.property(objectsArbitrary(8000), limitsArbitrary, (objects, limits) => {
        // Act
        const batches = planBatches(objects, limits);
        // Assert
        const planned = batches.flatMap((batch) => batch.objects.map((o) => o.key));
        expect(planned.length).toBe(objects.length);
        expect(new Set(planned)).toEqual(new Set(objects.map((o) => o.key)));
      }),
      { numRuns: 300 },
    );
  });

  it('holds the count and byte limits, except for an object larger than the byte cap, which is alone', () => {
    fc.assert(
      fc.property(objectsArbitrary(8000), limitsArbitrary, (objects, limits) => {
        // Act
        const batches = planBatches(objects, limits);
        // Assert
        for (const batch of batches) {
          expect(batch.objects.length).toBeGreaterThan(0);
          expect(batch.objects.length).toBeLessThanOrEqual(limits.maxObjectsPerBatch);
          expect(batch.bytes).toBe(batch.objects.reduce((sum, o) => sum + o.size, 0));
          if (batch.bytes > limits.maxBytesPerBatch) {
            expect(batch.objects).toHaveLength(1);
          }
          expect(BatchSchema.safeParse(batch).success).toBe(true);
        }
        expect(new Set(batches.map((b) => b.id)).size).toBe(batches.length);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every batch within the mean weight plus the heaviest object (greedy balance bound)', () => {
    // Weight = bytes + OBJECT_OVERHEAD_BYTES per object: the estimated copy time the planner balances.
    const weight = (b: Batch) => b.bytes + b.objects.length * OBJECT_OVERHEAD_BYTES;
    fc.assert(
      fc.property(objectsArbitrary(8 * 1024 * 1024), fc.integer({ min: 1, max: 60 }), (objects, maxObjectsPerBatch) => {
        // Arrange: sizes up to 8 MiB against a 16 MiB cap, so bytes and counts both matter
        const limits = { maxObjectsPerBatch, maxBytesPerBatch: 16 * 1024 * 1024 };
        fc.pre(objects.length > 0);
        const heaviest = Math.max(...objects.map((o) => o.size)) + OBJECT_OVERHEAD_BYTES;
        // Act
        const batches = planBatches(objects, limits);
        // Assert
        const mean = batches.reduce((sum, b) => sum + weight(b), 0) / batches.length;
        for (const batch of batches) expect(weight(batch)).toBeLessThanOrEqual(mean + heaviest);
      }),
      { numRuns: 300 },
    );
  });

  it('uses exactly as many batches as the count limit needs when bytes and JSON have room', () => {
    fc.assert(
      fc.property(objectsArbitrary(100), fc.integer({ min: 1, max: 60 }), (objects, maxObjectsPerBatch) => {
        // Arrange: at most 300 objects of at most 100 bytes never fill a 1 MiB byte cap
        const limits = { maxObjectsPerBatch, maxBytesPerBatch: 1024 * 1024 };
        // Act
        const batches = planBatches(objects, limits);
        // Assert
        expect(batches).toHaveLength(Math.ceil(objects.length / maxObjectsPerBatch));
        const counts = batches.map((b) => b.objects.length);
        if (counts.length > 0) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });

  it('plans whole rounds of the Map when the fewest batches are more than one round, evenly', () => {
    fc.assert(
      fc.property(
        objectsArbitrary(100),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 12 }),
        (objects, maxObjectsPerBatch, parallelism) => {
          // Arrange: the count limit alone decides the fewest batches (bytes and JSON have room)
          const limits = { maxObjectsPerBatch, maxBytesPerBatch: 1024 * 1024, parallelism };
          const fewest = Math.ceil(objects.length / maxObjectsPerBatch);
          // Act
          const batches = planBatches(objects, limits);
          // Assert
          const expected =
            fewest <= parallelism ? fewest : Math.min(objects.length, Math.ceil(fewest / parallelism) * parallelism);
          expect(batches).toHaveLength(expected);
          const counts = batches.map((b) => b.objects.length);
          if (counts.length > 0) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('turns 100 batches of 1,000 at MaxConcurrency 40 into three full rounds of 834 or 833', () => {
    // Arrange: a default slice of 100,000 small objects
    const objects = Array.from({ length: 100_000 }, (_, i) => object(`k/${String(i).padStart(6, '0')}`, 1024));
    // Act
    const batches = planBatches(objects, { maxObjectsPerBatch: 1000, maxBytesPerBatch: 32 * GiB, parallelism: 40 });
    // Assert
    expect(batches).toHaveLength(120);
    expect(new Set(batches.map((b) => b.objects.length))).toEqual(new Set([833, 834]));
  });

  it('keeps the fewest batches within one round, and counts objects above the byte cap in the rounds', () => {
    // Arrange: 30 regular objects (3 batches of 10) and 2 objects above the byte cap
    const regular = Array.from({ length: 30 }, (_, i) => object(`r/${String(i).padStart(2, '0')}`, 10));
    const large = [object('big/1', 5000), object('big/2', 5000)];
    const limits = { maxObjectsPerBatch: 10, maxBytesPerBatch: 1000 };
    // Act
    const oneRound = planBatches([...regular, ...large], { ...limits, parallelism: 8 });
    const twoRounds = planBatches([...regular, ...large], { ...limits, parallelism: 4 });
    // Assert: 5 batches fit a round of 8; at 4 they make 2 rounds of 4 (2 large alone, 6 of 5 regular)
    expect(oneRound).toHaveLength(5);
    expect(twoRounds).toHaveLength(8);
    expect(twoRounds.filter((b) => b.objects.length === 1).map((b) => b.objects[0]?.key)).toEqual(['big/1', 'big/2']);
    expect(twoRounds.filter((b) => b.objects.length === 5)).toHaveLength(6);
  });

  it('keeps the batch count when the Map takes every batch in one round, else rounds it up by less than a round', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000 }), (fewest, parallelism) => {
        // Act
        const count = batchCount(fewest, parallelism);
        // Assert
        if (fewest <= parallelism) expect(count).toBe(fewest);
        else {
          expect(count % parallelism).toBe(0);
          expect(count).toBeGreaterThanOrEqual(fewest);
          expect(count - fewest).toBeLessThan(parallelism);
        }
        expect(batchCount(fewest, undefined)).toBe(fewest);
      }),
    );
  });

  it('keeps every batch under 200 KiB of JSON when 1,000 keys of 1,024 bytes need escaping', () => {
    // Arrange: control characters cost six bytes of JSON each ("\u0001")
    const objects = Array.from({ length: 3000 }, (_, i) =>
      object(`${String(i).padStart(6, '0')}${'\u0001'.repeat(1018)}`, 10),
    );
    // Act
    const batches = planBatches(objects, { maxObjectsPerBatch: 1000, maxBytesPerBatch: 32 * GiB });
    // Assert
    expect(batches.flatMap((b) => b.objects)).toHaveLength(3000);
    for (const batch of batches) expect(jsonSize(batch)).toBeLessThan(MAX_BATCH_JSON_BYTES);
    expect(batches.length).toBeGreaterThan(3);
  });

  it('keeps every batch under the JSON cap for any keys', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 200 }),
        (keys) => {
          // Arrange: a 4 KiB JSON cap makes the JSON limit bind before the count
          const objects = keys.map((key) => object(key, 1));
          // Act
          const batches = planBatches(objects, {
            maxObjectsPerBatch: 1000,
            maxBytesPerBatch: GiB,
            maxBatchJsonBytes: 4096,
          });
          // Assert
          for (const batch of batches) expect(jsonSize(batch)).toBeLessThanOrEqual(4096);
          expect(batches.flatMap((b) => b.objects)).toHaveLength(objects.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives an object above the byte cap a batch of its own and spreads the rest evenly', () => {
    // Arrange
    const objects = [
      object('huge.bin', 40 * GiB),
      ...Array.from({ length: 8 }, (_, i) => object(`big-${i}.bin`, 4 * GiB)),
      ...Array.from({ length: 1600 }, (_, i) => object(`small-${String(i).padStart(4, '0')}`, 1024)),
    ];
    // Act
    const batches = planBatches(objects, { maxObjectsPerBatch: 1000, maxBytesPerBatch: 32 * GiB });
    // Assert
    const alone = batches.filter((b) => b.objects.some((o) => o.key === 'huge.bin'));
    expect(alone).toHaveLength(1);
    expect(alone[0]?.objects).toHaveLength(1);
    const rest = batches.filter((b) => b !== alone[0]);
    expect(rest.map((b) => b.objects.length).sort()).toEqual([804, 804]);
    expect(rest.map((b) => Math.round(b.bytes / GiB))).toEqual([16, 16]);
  });

  it('returns no batches for no objects', () => {
    // Act / Assert
    expect(planBatches([], { maxObjectsPerBatch: 1000, maxBytesPerBatch: GiB })).toEqual([]);
  });

  it('sorts the objects of a batch in S3 key order', () => {
    // Arrange
    const objects = [object('b', 1), object('\u{1F600}', 1), object('a', 1), object('\uFFFD', 1)];
    // Act
    const [batch] = planBatches(objects, { maxObjectsPerBatch: 10, maxBytesPerBatch: 100 });
    // Assert
    expect(batch?.objects.map((o) => o.key)).toEqual(['a', 'b', '\uFFFD', '\u{1F600}']);
  });
});
