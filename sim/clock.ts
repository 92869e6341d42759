/**
 * Time for the S3 model and the simulations: the real clock, or a virtual one that jumps to the next
 * timer whenever nothing else can run, so a simulated hour of requests takes seconds of CPU.
 */

export interface Clock {
  /** Milliseconds since the epoch (virtual or real). */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** Wall-clock time and real timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/** A binary min-heap of timers ordered by due time, then by creation (FIFO among equal times). */
class TimerHeap {
  private readonly items: Timer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Timer | undefined {
    return this.items[0];
  }

  push(timer: Timer): void {
    const items = this.items;
    items.push(timer);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(timer, items[parent] as Timer)) break;
      items[i] = items[parent] as Timer;
      i = parent;
    }
    items[i] = timer;
  }

  pop(): Timer | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && earlier(items[right] as Timer, items[left] as Timer) ? right : left;
      if (!earlier(items[child] as Timer, last)) break;
      items[i] = items[child] as Timer;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

const earlier = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Yields to the event loop: every promise chain that can run has run when this resolves. */
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Thrown by VirtualClock.run when the work waits on nothing the clock can advance. */
export class SimulationStalledError extends Error {
  constructor(waitedMs: number) {
    super(
      `The simulation made no progress for ${waitedMs} ms of real time with no virtual timer pending: the work ` +
        'waits on something outside the virtual clock (a real timer or real I/O); give it the clock instead',
    );
    this.name = 'SimulationStalledError';
  }
}

/**
 * Virtual time. `sleep` only registers a timer; `run(work)` drives the work and, each time every ready
 * promise chain has run (one macrotask turn), moves time to the earliest timer and wakes every timer due
 * within `resolutionMs` of it. Work that awaits real timers or real I/O still completes (the clock waits
 * for it in real time) but gets no virtual time for it.
 */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new TimerHeap();
  /** Timers woken so far: how many scheduling steps a simulation took. */
  wakeups = 0;

  constructor(
    startMs = Date.UTC(2026, 0, 1),
    /** Timers due within this many ms of the earliest are woken together (0 = exact order). */
    private readonly resolutionMs = 0,
    /** Real time with no timer pending and no progress before run() gives up. */
    private readonly stallTimeoutMs = 10_000,
  ) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.timers.push({ at: this.time + Math.max(0, ms), seq: this.seq++, resolve });
    });
  }

  /** Runs `work` to completion in virtual time; returns (or throws) what the work does. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    let done = false;
    const result = work().finally(() => {
      done = true;
    });
    // The result is awaited below; this only keeps an early rejection from being reported as unhandled.
    result.catch(() => undefined);
    let idleSince: number | undefined;
    while (!done) {
      await macrotask();
      if (done) break;
      const first = this.timers.peek();
      if (first === undefined) {
        idleSince ??= Date.now();
        if (Date.now() - idleSince > this.stallTimeoutMs) throw new SimulationStalledError(this.stallTimeoutMs);
        await new Promise<void>((resolve) => setTimeout(resolve, 1));
        continue;
      }
      idleSince = undefined;
      this.time = Math.max(this.time, first.at);
      const until = this.time + this.resolutionMs;
      for (let next = this.timers.peek(); next !== undefined && next.at <= until; next = this.timers.peek()) {
        this.timers.pop();
        this.wakeups++;
        next.resolve();
      }
    }
    return result;
  }
}
