/**
 * Keeps a local run's memory bounded by the slice, not the job. Each slice's listing, manifest, Map Run
 * items and batch payloads live for the whole slice, so V8 promotes them to its old generation, where
 * they die when the slice ends. V8 sizes its next full collection from the heap it last found live, and
 * that live heap includes the dead slices it has not collected yet: measured on the S3 model (100,000
 * objects in slices of 10,000), the heap grew by about 25 MiB per slice while a full collection at each
 * slice boundary found it grew by 2 MiB. One full collection between slices, when the heap has grown
 * by more than `slackBytes` since the last one, keeps the peak to one slice's worth above what is live.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Below this much growth a collection costs more than it saves (a full collection takes 0.1-0.5 s). */
export const DEFAULT_SLACK_BYTES = 64 * 2 ** 20;

let exposedGc: (() => void) | null | undefined;

/**
 * V8's full, synchronous collection. Node exposes it only with --expose-gc; the CLI cannot pass node
 * flags (bin/s3xcopy.js runs in the process npx started), so the flag is set at run time and the
 * function is taken from a new context, where V8 installs it. Null if V8 refuses.
 */
export function fullCollection(): (() => void) | null {
  if (exposedGc === undefined) {
    const global = (globalThis as { gc?: () => void }).gc;
    if (global) {
      exposedGc = global;
    } else {
      try {
        setFlagsFromString('--expose-gc');
        const gc = runInNewContext('gc') as unknown;
        exposedGc = typeof gc === 'function' ? (gc as () => void) : null;
      } catch {
        // Without it V8 collects on its own schedule: the run is the same, its peak memory higher.
        exposedGc = null;
      }
    }
  }
  return exposedGc;
}

export interface SliceHeapGuardOptions {
  /** Growth of the used heap since the last collection that makes the next slice boundary collect. */
  slackBytes?: number;
  /** The used heap in bytes (tests pass their own). */
  usedHeap?: () => number;
  /** Runs a full collection (tests pass their own). */
  collect?: () => void;
}

/** Decides, at each slice boundary, whether to collect the previous slices' garbage now. */
export class SliceHeapGuard {
  private readonly slackBytes: number;
  private readonly usedHeap: () => number;
  private readonly collect: (() => void) | null;
  private baseline: number;
  /** How many full collections this guard ran. */
  collections = 0;

  constructor(options: SliceHeapGuardOptions = {}) {
    this.slackBytes = options.slackBytes ?? DEFAULT_SLACK_BYTES;
    this.usedHeap = options.usedHeap ?? (() => getHeapStatistics().used_heap_size);
    this.collect = options.collect ?? fullCollection();
    this.baseline = this.usedHeap();
  }

  /**
   * Called when a slice ends (its list step returned the next one): collects when the heap grew by
   * more than the slack since the last collection.
   * @returns whether it collected
   */
  sliceEnded(): boolean {
    if (!this.collect || this.usedHeap() - this.baseline <= this.slackBytes) return false;
    this.collect();
    this.collections++;
    this.baseline = this.usedHeap();
    return true;
  }
}
