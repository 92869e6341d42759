/**
 * The ordered queue of the partitioned listing: which partitions are listed at once, how far each reads
 * ahead, and the keys handed on strictly in queue order (ordered-listing.ts describes the whole).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ManifestObject } from '../shared/job';
import { cutsInside, GROUP_ABOVE, levelRanges, rangesOver } from './level-ranges';
import {
  kept,
  type LevelUnit,
  type Partition,
  type PartitionState,
  type RangeUnit,
  type Unit,
  withinThrough,
} from './listing-units';
import { splitRange } from './range-splits';
import { type ListRange, listedObjects, listPages, listRequest } from './s3-listing';
import { decodeFormUrl } from './s3-url-encoding';

export interface QueueOptions {
  concurrency: number;
  pagesAhead: number;
  maxDepth: number;
  delimiter: string;
  groupAbove?: number;
  keysWanted?: () => number;
}

export class PartitionQueue {
  private readonly queue: Unit[];
  private head = 0;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** Producers waiting for read-ahead room; woken whenever the slice takes a page or waits. */
  private blocked: Array<() => void> = [];
  /**
   * What the runs' first pages showed: the other runs of a level wait for the first one's, and once runs
   * mostly meet prefixes that fill a page alone, runs not yet started become one range per prefix instead
   * of each spending a request to find that out.
   */
  private runsStarted = 0;
  private readonly runsSeen = { small: 0, large: 0 };

  constructor(
    private readonly s3: S3Client,
    private readonly range: ListRange,
    private readonly options: QueueOptions,
  ) {
    this.queue = [
      {
        kind: 'range',
        prefix: range.prefix,
        depth: 0,
        ...(range.startAfter !== undefined ? { startAfter: range.startAfter } : {}),
      },
    ];
  }

  /** Stops every producer: requests in flight are not awaited, and a stopped producer starts no other. */
  stop(): void {
    this.stopped = true;
    this.wakeProducers();
  }

  private changed(): void {
    const resolve = this.wake;
    this.wake = undefined;
    resolve?.();
  }

  private wakeProducers(): void {
    const waiting = this.blocked;
    this.blocked = [];
    for (const resolve of waiting) resolve();
  }

  /**
   * Read-ahead is given by place in the queue: a partition may list one more page while the pages
   * buffered by it and every partition before it stay within concurrency x pagesAhead (and, with
   * keysWanted, while the keys buffered up to it are fewer than the slice still takes). The partition the
   * slice reaches next has had the longest time to read ahead, so a partition of many pages is mostly
   * listed, beside its neighbours, by the time the slice gets there. Partitions further back keep what
   * they read while those before them grow, so all buffers together are held to twice the budget.
   */
  private mayReadAhead(unit: Partition, state: PartitionState): boolean {
    const { concurrency, pagesAhead } = this.options;
    const budget = concurrency * pagesAhead;
    let place = -1;
    let own: number | undefined;
    let pages = 0;
    let pagesUpTo = 0;
    let keysUpTo = 0;
    for (let i = this.head; i < this.queue.length && place + 1 < concurrency; i++) {
      const queued = this.queue[i] as Unit;
      if (queued.kind === 'objects') {
        // The first page of a partition that was split: buffered like any other.
        pages++;
        if (own === undefined) {
          pagesUpTo++;
          keysUpTo += queued.objects.length;
        }
        continue;
      }
      place++;
      const buffered = queued.state?.pages ?? [];
      pages += buffered.length;
      if (own !== undefined) continue;
      pagesUpTo += buffered.length;
      keysUpTo += buffered.reduce((sum, page) => sum + page.objects.length, 0);
      if (queued === unit) own = place;
    }
    // Behind the window (pushed back when a partition before it split): it waits with what it holds.
    if (own === undefined) return false;
    // The partition the slice reads now is never starved: the slice waits for it.
    if (own === 0 && state.pages.length < pagesAhead) return true;
    const wanted = this.options.keysWanted?.() ?? Number.POSITIVE_INFINITY;
    return pagesUpTo < budget && keysUpTo < wanted && pages < 2 * budget;
  }

  /** Lists the rest of a range as one chain after `startAfter`, a page at a time within read-ahead. */
  private async chain(unit: RangeUnit, state: PartitionState, startAfter: string): Promise<void> {
    const pages = listPages(this.s3, { ...this.range, prefix: unit.prefix, startAfter });
    for (;;) {
      while (!this.stopped && !this.mayReadAhead(unit, state)) {
        await new Promise<void>((resolve) => {
          this.blocked.push(resolve);
        });
      }
      if (this.stopped) return;
      const next = await pages.next();
      if (next.done || this.stopped) return;
      const objects = next.value.objects;
      const last = objects[objects.length - 1];
      const pastEnd = last !== undefined && !withinThrough(last.key, unit.through);
      state.pages.push({ objects: kept(unit, objects), more: next.value.more && !pastEnd });
      this.changed();
      if (!next.value.more || pastEnd) {
        await pages.return(undefined);
        return;
      }
    }
  }

  /** Puts `units` in the queue in place of `unit`, in S3's order, and starts what enters the window. */
  private replace(unit: Partition, units: Unit[]): void {
    const at = this.queue.indexOf(unit, this.head);
    // The consumer cannot pass a unit whose listing has not ended, so it is still queued.
    if (at < 0) {
      throw new Error(
        `ordered listing of bucket ${this.range.bucket}: partition "${unit.prefix}" left the queue before it was listed`,
      );
    }
    this.queue.splice(at, 1, ...units);
    this.startWindow();
  }

  /** A range: its first page without the delimiter; when full, the rest is split or listed as one chain. */
  private async listRange(unit: RangeUnit, state: PartitionState): Promise<void> {
    const page = await listRequest(this.s3, this.range, {
      prefix: unit.prefix,
      ...(unit.startAfter !== undefined ? { startAfter: unit.startAfter } : {}),
    });
    if (this.stopped) return;
    const raw = listedObjects(page, this.range.bucket);
    const objects = kept(unit, raw);
    const last = raw[raw.length - 1];
    if (!page.IsTruncated || !last || !withinThrough(last.key, unit.through)) {
      if (unit.members && unit.members.length > 1) this.runsSeen.small++;
      state.pages.push({ objects, more: false });
      return;
    }
    const split = splitRange(unit, raw, this.options);
    if (split) {
      if (unit.members && unit.members.length > 1) this.runsSeen[split.large ? 'large' : 'small']++;
      this.replace(unit, [{ kind: 'objects', objects }, ...split.units]);
      return;
    }
    state.pages.push({ objects, more: true });
    this.changed();
    await this.chain(unit, state, last.key);
  }

  /**
   * A level: one delimited page after the lower bound, whose common prefixes only say where to cut the
   * level's range (level-ranges.ts); its keys are listed by the ranges, without the delimiter. An empty
   * page thus becomes one range of the whole level: the flat listing that confirms it is empty.
   */
  private async listLevel(unit: LevelUnit): Promise<void> {
    const page = await listRequest(this.s3, this.range, {
      prefix: unit.prefix,
      delimiter: this.options.delimiter,
      ...(unit.startAfter !== undefined ? { startAfter: unit.startAfter } : {}),
    });
    if (this.stopped) return;
    const encoded = page.EncodingType === 'url';
    const prefixes = (page.CommonPrefixes ?? []).flatMap((common) =>
      common.Prefix === undefined ? [] : [encoded ? decodeFormUrl(common.Prefix) : common.Prefix],
    );
    const cuts = cutsInside(unit, prefixes, this.options.delimiter);
    this.replace(
      unit,
      levelRanges(unit, cuts, {
        concurrency: this.options.concurrency,
        groupAbove: this.options.groupAbove ?? GROUP_ABOVE * this.options.concurrency,
        truncated: page.IsTruncated === true,
      }),
    );
  }

  /**
   * Starts the partitions that enter the window: the first `concurrency` partitions from the slice's place
   * that are still to be listed or being listed. A partition listed to its end leaves the window (its pages
   * wait in the queue for the slice), so one slow request does not hold back the partitions behind it
   * while those around it sit finished. What the queue holds bounds how far the window reaches: no
   * partition starts past the slice's own once the pages buffered before it (a split partition's first
   * page included) reach concurrency x pagesAhead, or their keys what the slice still takes.
   */
  private startWindow(): void {
    if (this.stopped) return;
    const { concurrency, pagesAhead } = this.options;
    const wanted = this.options.keysWanted?.() ?? Number.POSITIVE_INFINITY;
    let partitions = 0;
    let pages = 0;
    let keys = 0;
    for (let i = this.head; i < this.queue.length && partitions < concurrency; i++) {
      const unit = this.queue[i] as Unit;
      if (unit.kind === 'objects') {
        // The first page of a partition that was split.
        pages++;
        keys += unit.objects.length;
        continue;
      }
      if (unit.state) {
        pages += unit.state.pages.length;
        keys += unit.state.pages.reduce((sum, page) => sum + page.objects.length, 0);
        if (unit.state.done && unit.state.error === undefined) continue;
      } else if (i > this.head && (pages >= concurrency * pagesAhead || keys >= wanted)) {
        break;
      }
      if (!unit.state && unit.kind === 'range' && unit.members && unit.members.length > 1) {
        if (this.runsSeen.large > this.runsSeen.small) {
          // The same keys, one range per prefix.
          this.queue.splice(i, 1, ...rangesOver(unit, unit.members, 1));
          i--;
          continue;
        }
        // The window goes no further until a run's first page has shown what runs hold.
        if (this.runsSeen.large + this.runsSeen.small === 0 && this.runsStarted > 0) break;
        this.runsStarted++;
      }
      partitions++;
      if (unit.state) continue;
      const state: PartitionState = { pages: [], done: false };
      unit.state = state;
      // A producer never rejects: its error waits for the consumer to reach its partition. An error in a
      // partition read ahead past the slice's end is dropped with the read-ahead: the next slice lists
      // that partition again and meets it there.
      const produce = unit.kind === 'range' ? this.listRange(unit, state) : this.listLevel(unit);
      void produce.then(
        () => {
          state.done = true;
          this.changed();
        },
        (error: unknown) => {
          state.error = error;
          state.done = true;
          this.changed();
        },
      );
    }
  }

  /** The next non-empty run of keys in order, or undefined at the end. */
  async nextObjects(): Promise<ManifestObject[] | undefined> {
    for (;;) {
      // Units already handed on are dropped now and then, so the queue does not keep a slice's keys.
      if (this.head >= 1024) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.startWindow();
      const unit = this.queue[this.head];
      if (!unit) return undefined;
      if (unit.kind === 'objects') {
        this.head++;
        if (unit.objects.length > 0) return unit.objects;
        continue;
      }
      const state = unit.state as PartitionState;
      const page = state.pages.shift();
      if (page) {
        this.wakeProducers();
        if (page.objects.length > 0) return page.objects;
        continue;
      }
      if (state.done) {
        if (state.error !== undefined) throw state.error;
        // A split unit was replaced in the queue; a listed one is finished.
        if (this.queue[this.head] === unit) this.head++;
        continue;
      }
      // The slice may have moved on to a partition that waited for budget behind the one it finished.
      this.wakeProducers();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
