import fc from 'fast-check';
import { choosePartSize, planParts } from '../../functions/copy/part-plan';
import { GiB, MiB, S3_LIMITS, TiB } from '../../functions/shared/job';

const objectSize = fc.oneof(
  fc.integer({ min: 0, max: 100 * MiB }),
  fc.integer({ min: 0, max: S3_LIMITS.maxObjectBytes }),
  fc.integer({ min: S3_LIMITS.maxObjectBytes - 10 * GiB, max: S3_LIMITS.maxObjectBytes }),
);
const requestedPartSize = fc.integer({ min: S3_LIMITS.minPartBytes, max: S3_LIMITS.maxPartBytes });

describe('planParts', () => {
  it('covers every byte exactly once, in order, when given any size from 0 to 48.8 TiB', () => {
    fc.assert(
      fc.property(objectSize, requestedPartSize, (size, partSize) => {
        // Act
        const parts = planParts(size, partSize);
        // Assert (plain checks: up to 10,000 parts per run, expect() per part would take minutes)
        let next = 0;
        for (const [index, part] of parts.entries()) {
          if (part.partNumber !== index + 1 || part.start !== next || part.end < part.start) return false;
          next = part.end + 1;
        }
        return next === size;
      }),
      { numRuns: 200 },
    );
  });

  it('keeps parts within 5 MiB..5 GiB (the last may be smaller) and at most 10,000 when given any size', () => {
    fc.assert(
      fc.property(objectSize, requestedPartSize, (size, partSize) => {
        // Act
        const parts = planParts(size, partSize);
        // Assert
        if (parts.length > S3_LIMITS.maxParts) return false;
        return parts.every((part, index) => {
          const length = part.end - part.start + 1;
          const lastPart = index === parts.length - 1;
          return length <= S3_LIMITS.maxPartBytes && (lastPart || length >= S3_LIMITS.minPartBytes);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('uses the requested part size when it needs at most 10,000 parts', () => {
    // Act
    const parts = planParts(12 * MiB, 5 * MiB);
    // Assert
    expect(parts).toEqual([
      { partNumber: 1, start: 0, end: 5 * MiB - 1 },
      { partNumber: 2, start: 5 * MiB, end: 10 * MiB - 1 },
      { partNumber: 3, start: 10 * MiB, end: 12 * MiB - 1 },
    ]);
  });

  it('raises the part size to a whole MiB when the requested one would need more than 10,000 parts', () => {
    // Act
    const partSize = choosePartSize(1 * TiB, 64 * MiB);
    // Assert
    expect(partSize).toBe(105 * MiB);
    expect(Math.ceil(TiB / partSize)).toBeLessThanOrEqual(10_000);
  });

  it('plans 5 GiB parts when the object has the maximum size', () => {
    // Act
    const parts = planParts(S3_LIMITS.maxObjectBytes, 64 * MiB);
    // Assert
    expect(parts).toHaveLength(10_000);
    expect(parts[0]?.end).toBe(5 * GiB - 1);
  });

  it('plans no parts when the object is empty', () => {
    expect(planParts(0, 5 * MiB)).toEqual([]);
  });

  it('rejects a size when it is above what S3 can store', () => {
    expect(() => planParts(S3_LIMITS.maxObjectBytes + 1, 64 * MiB)).toThrow(RangeError);
  });

  it('clamps the part size into 5 MiB..5 GiB when the request is outside it', () => {
    expect(choosePartSize(100 * MiB, 1)).toBe(5 * MiB);
    expect(choosePartSize(100 * GiB, 10 * GiB)).toBe(5 * GiB);
  });
});
