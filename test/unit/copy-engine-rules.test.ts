import fc from 'fast-check';
import { targetMatches } from '../../functions/copy/copy-engine';
import { isTransientError } from '../../functions/copy/error-kinds';
import { backoffDelay } from '../../functions/copy/retry';
import type { ManifestObject } from '../../functions/shared/job';

function awsError(name: string, status?: number) {
  return Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
}

describe('isTransientError', () => {
  it.each([
    ['SlowDown', 503],
    ['ServiceUnavailable', 503],
    ['InternalError', 500],
    ['RequestTimeout', 400],
    ['ThrottlingException', 400],
    ['KMS.ThrottlingException', 400],
    ['TimeoutError', undefined],
    ['SomethingNew', 502],
  ])('retries %s (HTTP %s)', (name, status) => {
    expect(isTransientError(awsError(name, status))).toBe(true);
  });

  it('retries a connection reset when Node reports it by code', () => {
    expect(isTransientError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it.each([
    ['AccessDenied', 403],
    ['InvalidObjectState', 403],
    ['NoSuchBucket', 404],
    ['KMS.DisabledException', 400],
    ['PreconditionFailed', 412],
    ['NotImplemented', 501],
    ['UnknownError', 501],
  ])('does not retry %s (HTTP %s)', (name, status) => {
    expect(isTransientError(awsError(name, status))).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('stays within 0..min(max, base * 2^(attempt-1)) when given any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, random) => {
          // Act
          const delay = backoffDelay(attempt, { attempts: 30, baseDelayMs: 100, maxDelayMs: 5_000 }, () => random);
          // Assert
          return delay >= 0 && delay <= Math.min(5_000, 100 * 2 ** (attempt - 1));
        },
      ),
    );
  });

  it('grows the ceiling exponentially when the random value is near 1', () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 10_000 };
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, policy, () => 0.999))).toEqual([99, 199, 399, 799]);
  });
});

describe('targetMatches (the sync rule)', () => {
  const source: ManifestObject = {
    key: 'a.txt',
    size: 10,
    etag: '"abc"',
    lastModified: '2026-03-01T10:00:00.500Z',
  };

  it('matches when size and ETag are equal even if the target is older', () => {
    expect(targetMatches(source, { ContentLength: 10, ETag: 'abc', LastModified: new Date('2020-01-01') })).toBe(true);
  });

  it('does not match on a timestamp: equal size, another ETag and a target not older', () => {
    expect(
      targetMatches(source, {
        ContentLength: 10,
        ETag: '"other-1"',
        LastModified: new Date('2026-03-01T10:00:00Z'),
      }),
    ).toBe(false);
  });

  it('does not match when the target is older and its ETag differs', () => {
    expect(
      targetMatches(source, {
        ContentLength: 10,
        ETag: '"other"',
        LastModified: new Date('2026-03-01T09:59:59Z'),
      }),
    ).toBe(false);
  });

  it('does not match when the sizes differ even with the same ETag', () => {
    expect(targetMatches(source, { ContentLength: 11, ETag: '"abc"' })).toBe(false);
  });
});
