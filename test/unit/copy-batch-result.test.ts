import fc from 'fast-check';
import { MAX_REPORTED_FAILURES, summarizeOutcomes } from '../../functions/copy/batch-result';
import type { Outcome } from '../../functions/copy/copy-object';

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.nat({ max: 2 ** 40 }).map((bytes) => ({ kind: 'copied' as const, bytes })),
  fc.constantFrom('unchanged' as const, 'vanished' as const).map((reason) => ({ kind: 'skipped' as const, reason })),
  fc.string().map((key) => ({ kind: 'failed' as const, failure: { key, code: 'AccessDenied', message: key } })),
  fc.constant({ kind: 'stopped' as const }),
);

describe('summarizeOutcomes', () => {
  it('accounts for every object exactly once and sums the bytes of the copied ones', () => {
    fc.assert(
      fc.property(fc.array(outcome, { maxLength: 300 }), (outcomes) => {
        // Act
        const { result, failures, stopped } = summarizeOutcomes('b-1', outcomes);
        // Assert
        const bytes = outcomes.reduce((sum, o) => sum + (o.kind === 'copied' ? o.bytes : 0), 0);
        const reasons = Object.values(result.skippedByReason).reduce((sum, n) => sum + (n ?? 0), 0);
        return (
          result.copied + result.skipped + result.failed + stopped === outcomes.length &&
          result.bytesCopied === bytes &&
          reasons === result.skipped &&
          failures.length === result.failed &&
          result.failures.length === Math.min(result.failed, MAX_REPORTED_FAILURES)
        );
      }),
    );
  });

  it('keeps the first failures in order when there are more than it reports', () => {
    const outcomes: Outcome[] = Array.from({ length: MAX_REPORTED_FAILURES + 5 }, (_, i) => ({
      kind: 'failed',
      failure: { key: `k${i}`, code: 'AccessDenied', message: 'denied' },
    }));
    const { result } = summarizeOutcomes('b-2', outcomes);
    expect(result.failed).toBe(MAX_REPORTED_FAILURES + 5);
    expect(result.failures.map((f) => f.key).slice(0, 2)).toEqual(['k0', 'k1']);
    expect(result.failures).toHaveLength(MAX_REPORTED_FAILURES);
  });
});
