import { retrying } from '../../functions/copy/retry';
import { OutOfTime, TimeBudget } from '../../functions/copy/time-budget';

function awsError(name: string, status: number) {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

/** An operation that fails with the given errors, in order, then returns 'done'; counts its calls. */
function failingThen(errors: Error[]) {
  const calls = { count: 0 };
  const operation = async () => {
    const error = errors[calls.count++];
    if (error) throw error;
    return 'done';
  };
  return { calls, operation };
}

const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };
const instant = async () => undefined;

describe('retrying', () => {
  it('retries transient errors until the operation succeeds', async () => {
    // Arrange
    const budget = new TimeBudget(() => 900_000, 30_000, instant);
    const { calls, operation } = failingThen([awsError('SlowDown', 503), awsError('InternalError', 500)]);
    // Act
    const result = await retrying(policy, budget, () => 0.5)(operation);
    // Assert
    expect(result).toBe('done');
    expect(calls.count).toBe(3);
  });

  it('gives up after the policy attempts with the last error', async () => {
    const budget = new TimeBudget(() => 900_000, 30_000, instant);
    const errors = [1, 2, 3, 4, 5].map(() => awsError('SlowDown', 503));
    const { calls, operation } = failingThen(errors);
    await expect(retrying(policy, budget, () => 0.5)(operation)).rejects.toBe(errors[3]);
    expect(calls.count).toBe(4);
  });

  it('does not retry an error that answers the same every time', async () => {
    const budget = new TimeBudget(() => 900_000, 30_000, instant);
    const denied = awsError('AccessDenied', 403);
    const { calls, operation } = failingThen([denied]);
    await expect(retrying(policy, budget, () => 0.5)(operation)).rejects.toBe(denied);
    expect(calls.count).toBe(1);
  });

  it('stops the budget instead of sleeping into the safety margin', async () => {
    // Arrange: 30,050 ms left, a 30 s margin, a backoff of up to 99 ms.
    const budget = new TimeBudget(() => 30_050, 30_000, instant);
    const { calls, operation } = failingThen([awsError('SlowDown', 503)]);
    // Act
    const attempt = retrying(policy, budget, () => 0.99)(operation);
    // Assert
    await expect(attempt).rejects.toBeInstanceOf(OutOfTime);
    expect(budget.isOut).toBe(true);
    expect(calls.count).toBe(1);
  });

  it('turns any error into OutOfTime once the budget has stopped (a request cut by its signal)', async () => {
    const budget = new TimeBudget(() => 900_000, 30_000, instant);
    const attempt = retrying(
      policy,
      budget,
      () => 0.5,
    )(async () => {
      budget.stop();
      throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    });
    await expect(attempt).rejects.toBeInstanceOf(OutOfTime);
  });
});
