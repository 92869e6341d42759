/**
 * The time budget of one copy invocation. Lambda stops a function at its timeout, wherever it is; the
 * copy stops itself a safety margin earlier, so it can abort (or record) open multipart uploads and
 * return a result the state machine can retry. Every S3 call of the batch carries `requestOptions`, so
 * running out of time also cuts the requests in flight instead of waiting for Lambda to kill us mid-request.
 */
import type { HttpHandlerOptions } from '@smithy/types';

/**
 * When less than this is left, start nothing new and cut the requests in flight (their AbortSignal fires):
 * the rest is for aborting or recording open multipart uploads before Lambda stops us.
 */
export const DEFAULT_SAFETY_MARGIN_MS = 30_000;

/** Thrown inside the engine when the time budget runs out; turns into CopyTimeBudgetError for the batch. */
export class OutOfTime extends Error {
  constructor() {
    super('time budget exhausted');
    this.name = 'OutOfTime';
  }
}

/** Waits `ms` milliseconds; tests may pass one that returns at once. */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Counts down one invocation's time and stops the batch `marginMs` before Lambda would. Call `dispose`
 * when the batch is done (it clears the timer).
 */
export class TimeBudget {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  /**
   * @param remainingTimeMs milliseconds left in the invocation (Lambda's context.getRemainingTimeInMillis)
   * @param marginMs stop when less than this is left
   */
  constructor(
    private readonly remainingTimeMs: () => number,
    readonly marginMs: number = DEFAULT_SAFETY_MARGIN_MS,
    private readonly sleep: Sleep = realSleep,
  ) {}

  /** Fires when the budget runs out. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The options every budgeted S3 call passes to `send`. */
  get requestOptions(): HttpHandlerOptions {
    return { abortSignal: this.controller.signal };
  }

  /** True once the budget has run out (without consulting the clock). */
  get isOut(): boolean {
    return this.stopped;
  }

  /** Milliseconds left before the margin (negative when already inside it). */
  spareMs(): number {
    return this.remainingTimeMs() - this.marginMs;
  }

  /** Ends the budget now: cuts every request in flight and makes every later check fail. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.controller.abort(new OutOfTime());
  }

  /**
   * True when no new work may start. The first call arms a timer for the moment the margin is reached
   * (Lambda's remaining time runs with the clock), so requests in flight are cut on time too.
   */
  exhausted(): boolean {
    if (this.stopped) return true;
    const spare = this.spareMs();
    if (spare < 0) {
      this.stop();
      return true;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.stop(), Math.min(spare, 2 ** 31 - 1));
      this.timer.unref?.();
    }
    return false;
  }

  /** True when waiting `ms` would still leave the margin. */
  allows(ms: number): boolean {
    return !this.stopped && this.spareMs() - ms >= 0;
  }

  /**
   * Waits `ms` milliseconds unless the budget runs out meanwhile.
   * @throws OutOfTime when the budget runs out before or while waiting
   */
  pause(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.stopped) return reject(new OutOfTime());
      const onStop = () => reject(new OutOfTime());
      this.controller.signal.addEventListener('abort', onStop, { once: true });
      this.sleep(ms).then(() => {
        this.controller.signal.removeEventListener('abort', onStop);
        resolve();
      }, reject);
    });
  }

  /** Clears the timer; call when the batch is finished. */
  dispose(): void {
    clearTimeout(this.timer);
  }
}
