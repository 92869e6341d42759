/**
 * Adaptive concurrency for one worker's S3 requests: AIMD, as TCP does it. S3 answers 503 SlowDown when a
 * prefix partition gets more than about 3,500 writes or 5,500 reads a second; 40 copy invocations of 32
 * copies each put 1,280 requests in flight, so on a hot prefix most of them would be refused, retried, and
 * some fail after their last retry. The limit here holds back requests beyond a window that:
 * - starts at `initial` and doubles every round trip (slow start) until the first throttling answer;
 * - then grows by one request per round trip (additive increase);
 * - shrinks to `decrease` x itself on a throttling answer (multiplicative decrease), at most once per
 *   round trip: answers to requests sent before the last decrease do not shrink it again.
 * The window counts HTTP attempts: the limit sits inside the SDK's retry middleware, so a request waiting
 * out the SDK's backoff holds no slot, and every throttled attempt (SlowDown, 503, 429, ...) is a signal.
 *
 * One limit is kept per S3 client (a Lambda execution environment reuses its clients across invocations,
 * so what a worker learnt carries over to its next batch), shared by every request the client sends.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { FinalizeRequestMiddleware, InitializeMiddleware, MetadataBearer } from '@smithy/types';
import { awsErrorCode, httpStatusOf } from '../shared/errors';
import { THROTTLING_CODES } from './error-kinds';

/** The mark sim/s3-model.ts puts on the clients it answers (a registered symbol: no import of sim/). */
const ANSWERS_AT_INITIALIZE = Symbol.for('s3xcopy.answersAtInitializeStep');

export interface AdaptiveLimitOptions {
  /** Window at the start (requests in flight). */
  initial: number;
  /** The window never shrinks below this. */
  min: number;
  /** Nor grows above this. */
  max: number;
  /** Factor applied on throttling, 0 < decrease < 1. */
  decrease: number;
}

export const DEFAULT_ADAPTIVE_LIMIT: AdaptiveLimitOptions = { initial: 32, min: 1, max: 2048, decrease: 0.5 };

/** What the limit has done, for logs and benchmarks. */
export interface AdaptiveLimitStats {
  window: number;
  /** The largest window so far. */
  peakWindow: number;
  throttled: number;
  decreases: number;
  /** Requests that waited for a slot. */
  queued: number;
}

/** True for an S3 answer that means "slow down". */
export function isThrottling(error: unknown): boolean {
  return THROTTLING_CODES.has(awsErrorCode(error)) || httpStatusOf(error) === 429 || httpStatusOf(error) === 503;
}

/** A slot: give it back with `release` once the request has its answer. */
export interface Ticket {
  readonly epoch: number;
}

/** The AIMD window and the queue of requests waiting for a slot. */
export class AdaptiveLimit {
  private window: number;
  private inFlight = 0;
  private slowStart = true;
  private epoch = 0;
  private readonly waiting: Array<() => void> = [];
  readonly stats: AdaptiveLimitStats = { window: 0, peakWindow: 0, throttled: 0, decreases: 0, queued: 0 };

  constructor(readonly options: AdaptiveLimitOptions = DEFAULT_ADAPTIVE_LIMIT) {
    if (!(options.decrease > 0 && options.decrease < 1) || options.min < 1 || options.max < options.min) {
      throw new RangeError(
        `Adaptive limit options need 0 < decrease < 1 and 1 <= min <= max; got ${JSON.stringify(options)}`,
      );
    }
    this.window = Math.min(options.max, Math.max(options.min, options.initial));
    this.stats.window = this.window;
    this.stats.peakWindow = this.window;
  }

  /** Requests allowed in flight now. */
  get current(): number {
    return Math.floor(this.window);
  }

  /** Waits for a slot. */
  async acquire(): Promise<Ticket> {
    if (this.inFlight < this.current) {
      this.inFlight++;
    } else {
      this.stats.queued++;
      // release() hands the slot over (counting it) before waking this request.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return { epoch: this.epoch };
  }

  /** Gives the slot back and adapts the window to the answer. */
  release(ticket: Ticket, throttled: boolean): void {
    this.inFlight--;
    if (throttled) {
      this.stats.throttled++;
      if (ticket.epoch === this.epoch) {
        this.window = Math.max(this.options.min, this.window * this.options.decrease);
        this.slowStart = false;
        this.epoch++;
        this.stats.decreases++;
      }
    } else {
      this.window = Math.min(this.options.max, this.window + (this.slowStart ? 1 : 1 / this.window));
    }
    this.stats.window = this.window;
    this.stats.peakWindow = Math.max(this.stats.peakWindow, this.window);
    while (this.waiting.length > 0 && this.inFlight < this.current) {
      this.inFlight++;
      (this.waiting.shift() as () => void)();
    }
  }

  /** Runs one request inside a slot. */
  async run<T>(request: () => Promise<T>): Promise<T> {
    const ticket = await this.acquire();
    let throttled = false;
    try {
      return await request();
    } catch (error) {
      throttled = isThrottling(error);
      throw error;
    } finally {
      this.release(ticket, throttled);
    }
  }
}

const MIDDLEWARE_NAME = 's3xcopyAdaptiveLimit';
const limits = new WeakMap<S3Client, AdaptiveLimit>();

/**
 * Puts every HTTP attempt of `client` under one AdaptiveLimit: a middleware right after the SDK's retry
 * middleware, so the SDK's retries each take a slot and its backoff sleeps hold none. A client answered at
 * the initialize step (the in-process S3 model, sim/s3-model.ts, marks its clients) gets the middleware at
 * that step instead, inside the model's retry emulation. Idempotent: a client keeps the limit it was given first.
 * @returns the client's limit
 */
export function applyAdaptiveLimit(
  client: S3Client,
  options: AdaptiveLimitOptions = DEFAULT_ADAPTIVE_LIMIT,
): AdaptiveLimit {
  const existing = limits.get(client);
  if (existing) return existing;
  const limit = new AdaptiveLimit(options);
  limits.set(client, limit);
  const middleware: FinalizeRequestMiddleware<object, MetadataBearer> = (next) => (args) => limit.run(() => next(args));
  if ((client as unknown as Record<symbol, unknown>)[ANSWERS_AT_INITIALIZE]) {
    client.middlewareStack.add(middleware as unknown as InitializeMiddleware<object, MetadataBearer>, {
      step: 'initialize',
      priority: 'high',
      name: MIDDLEWARE_NAME,
    });
  } else {
    client.middlewareStack.addRelativeTo(middleware, {
      relation: 'after',
      toMiddleware: 'retryMiddleware',
      name: MIDDLEWARE_NAME,
    });
  }
  return limit;
}

/** The limit applied to `client`, if any. */
export function adaptiveLimitOf(client: S3Client): AdaptiveLimit | undefined {
  return limits.get(client);
}
