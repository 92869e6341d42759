/**
 * Retries of whole S3 operations on transient errors, on top of the SDK's own per-request retries, with
 * full-jitter backoff that never sleeps past the time budget.
 */
import { isTransientError } from './error-kinds';
import { OutOfTime, type TimeBudget } from './time-budget';

/** How whole S3 operations are retried on transient errors. */
export interface RetryPolicy {
  /** Tries per operation, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in 0..min(max, base * 2^n). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Runs an operation, retrying it on transient errors. */
export type Retrying = <T>(operation: () => Promise<T>) => Promise<T>;

/**
 * Binds a retry policy to a time budget.
 * @returns a function that runs an operation and retries it while the error is transient, tries remain
 *   and the backoff fits the budget; it throws OutOfTime once the budget is spent (a request cut by the
 *   budget fails with AbortError: whatever failed then, the batch is stopping) and the last error otherwise.
 */
export function retrying(policy: RetryPolicy, budget: TimeBudget, random: () => number): Retrying {
  return async <T>(operation: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (budget.isOut) throw new OutOfTime();
        if (!isTransientError(error) || attempt >= policy.attempts) throw error;
        const delay = backoffDelay(attempt, policy, random);
        // Sleeping past the margin would leave no time to clean up: stop like the budget check does.
        if (!budget.allows(delay)) {
          budget.stop();
          throw new OutOfTime();
        }
        await budget.pause(delay);
      }
    }
  };
}
