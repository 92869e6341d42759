/**
 * Listing that scales, inside the List step (issue 14): the same pages as one ListObjectsV2 chain, in the
 * same order (S3's, UTF-8 bytes), but several partitions of the key space listed at once.
 *
 * A slice consumes keys in S3's order and resumes after the last key it took, and the keys under one
 * common prefix form one contiguous run of that order. So the stream walks an ordered queue of units:
 * keys found directly at a level, and partitions (a common prefix, plus the resume key when it falls
 * inside). The first `concurrency` partitions of the queue are listed ahead, each at most `pagesAhead`
 * pages, and their pages are handed on strictly in queue order. The continuation stays one `startAfter`
 * key: nothing here is recorded between slices.
 *
 * A partition is first listed with the delimiter (one request, from the resume key):
 * - not truncated and no common prefixes: that page is the whole partition;
 * - not truncated with common prefixes: the partition is replaced in the queue by its direct keys and its
 *   common prefixes (one level down), merged in S3's order;
 * - truncated without common prefixes: the page is the partition's first page; the rest is one chain;
 * - truncated with common prefixes: one chain from the start (the guard). Finding every common prefix
 *   would need Delimiter with paging, which the embedded test server gets wrong ("Delimiter with paging
 *   loses common prefixes", docs/compatibility.md); one page of a delimiter listing is right everywhere.
 * Below `maxDepth` levels a partition is listed as one chain without the delimiter.
 */
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { ManifestObject } from '../shared/job';
import { compareKeys } from './key-order';
import { type ListedPage, type ListRange, listedObjects, listPages, listRequest } from './s3-listing';
import { decodeFormUrl } from './s3-url-encoding';

/** Pages each partition may read ahead of the slice (bounds memory and the pages a full slice wastes). */
export const DEFAULT_PAGES_AHEAD = 4;
/** Delimiter levels below the job's prefix that are split into partitions. */
export const DEFAULT_MAX_DEPTH = 3;

export interface OrderedListingOptions {
  /** Partitions listed at once; 1 = one chain (listPages). */
  concurrency: number;
  pagesAhead?: number;
  maxDepth?: number;
  delimiter?: string;
}

interface PartitionState {
  pages: ListedPage[];
  done: boolean;
  error?: unknown;
  /** Wakes the producer when the consumer took a page (or the stream stopped). */
  space?: () => void;
}

type Unit =
  | { kind: 'objects'; objects: ManifestObject[] }
  | { kind: 'partition'; prefix: string; startAfter?: string; depth: number; state?: PartitionState };

/**
 * Lists `range` like listPages, several partitions at once (see the module comment). Pages hold at most
 * 1,000 keys, empty pages are left out after the first, and `more` is exact (a page is handed on once the
 * next is known).
 * @throws BucketAccessError when the bucket does not exist or may not be listed (not retryable)
 */
export async function* listPagesOrdered(
  s3: S3Client,
  range: ListRange,
  options: OrderedListingOptions,
): AsyncGenerator<ListedPage> {
  if (options.concurrency <= 1) {
    yield* listPages(s3, range);
    return;
  }
  const queue: Unit[] = [];
  if (range.startAfter === undefined) {
    // A job's first listing starts as one chain: a prefix that fits one page (most jobs) costs the one
    // request it always did; only what follows a full page is partitioned, from that page's last key. A
    // resumed listing (a later slice) follows a full slice, so it is partitioned from its first request.
    const chainStart = listPages(s3, range);
    const first = await chainStart.next();
    await chainStart.return(undefined);
    if (first.done) return;
    const lastOfFirst = first.value.objects[first.value.objects.length - 1];
    if (!first.value.more || !lastOfFirst) {
      yield first.value;
      return;
    }
    queue.push(
      { kind: 'objects', objects: first.value.objects },
      { kind: 'partition', prefix: range.prefix, depth: 0, startAfter: lastOfFirst.key },
    );
  } else {
    queue.push({ kind: 'partition', prefix: range.prefix, depth: 0, startAfter: range.startAfter });
  }
  const pagesAhead = Math.max(1, options.pagesAhead ?? DEFAULT_PAGES_AHEAD);
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const delimiter = options.delimiter ?? '/';
  let head = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const changed = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const started: PartitionState[] = [];

  const chain = async (
    unit: Extract<Unit, { kind: 'partition' }>,
    state: PartitionState,
    startAfter: string | undefined,
  ) => {
    for await (const page of listPages(s3, { ...range, prefix: unit.prefix, startAfter })) {
      if (stopped) return;
      state.pages.push(page);
      changed();
      while (state.pages.length >= pagesAhead && !stopped) {
        await new Promise<void>((resolve) => {
          state.space = resolve;
        });
      }
      if (stopped) return;
    }
  };

  const produce = async (unit: Extract<Unit, { kind: 'partition' }>, state: PartitionState) => {
    if (unit.depth < maxDepth) {
      const page = await listLevel(s3, range, unit.prefix, delimiter, unit.startAfter);
      if (stopped) return;
      const objects = listedObjects(page, range.bucket);
      const prefixes = commonPrefixes(page);
      if (!page.IsTruncated && prefixes.length === 0) {
        state.pages.push({ objects, more: false });
        return;
      }
      if (!page.IsTruncated) {
        const units = levelUnits(unit, objects, prefixes, delimiter);
        const at = queue.indexOf(unit, head);
        // The consumer cannot pass a unit whose listing has not ended, so it is still queued.
        if (at < 0)
          throw new Error(
            `ordered listing of bucket ${range.bucket}: partition "${unit.prefix}" left the queue before it was listed`,
          );
        queue.splice(at, 1, ...units);
        startWindow();
        return;
      }
      const last = objects[objects.length - 1];
      if (prefixes.length === 0 && last) {
        state.pages.push({ objects, more: true });
        changed();
        await chain(unit, state, last.key);
        return;
      }
    }
    await chain(unit, state, unit.startAfter);
  };

  const startWindow = () => {
    let partitions = 0;
    for (let i = head; i < queue.length && partitions < options.concurrency; i++) {
      const unit = queue[i] as Unit;
      if (unit.kind !== 'partition') continue;
      partitions++;
      if (unit.state) continue;
      const state: PartitionState = { pages: [], done: false };
      unit.state = state;
      // A producer never rejects: its error waits for the consumer to reach its partition. An error in a
      // partition read ahead past the slice's end is dropped with the read-ahead: the next slice lists
      // that partition again and meets it there.
      void produce(unit, state).then(
        () => {
          state.done = true;
          changed();
        },
        (error: unknown) => {
          state.error = error;
          state.done = true;
          changed();
        },
      );
      started.push(state);
    }
  };

  /** The next non-empty run of keys in order, or undefined at the end. */
  const nextObjects = async (): Promise<ManifestObject[] | undefined> => {
    for (;;) {
      // Units already handed on are dropped now and then, so the queue does not keep a slice's keys.
      if (head >= 1024) {
        queue.splice(0, head);
        head = 0;
      }
      startWindow();
      const unit = queue[head];
      if (!unit) return undefined;
      if (unit.kind === 'objects') {
        head++;
        if (unit.objects.length > 0) return unit.objects;
        continue;
      }
      const state = unit.state as PartitionState;
      const page = state.pages.shift();
      if (page) {
        state.space?.();
        state.space = undefined;
        if (page.objects.length > 0) return page.objects;
        continue;
      }
      if (state.done) {
        if (state.error !== undefined) throw state.error;
        // An expanded partition was replaced in the queue; a listed one is finished.
        if (queue[head] === unit) head++;
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };

  try {
    let pending = await nextObjects();
    while (pending) {
      const following = await nextObjects();
      yield { objects: pending, more: following !== undefined };
      pending = following;
    }
  } finally {
    // Requests in flight are not awaited: the slice does not wait a round trip for pages it drops, and
    // a stopped producer pushes nothing and starts no further request.
    stopped = true;
    for (const state of started) state.space?.();
  }
}

/** One page of a level listed with the delimiter, from `startAfter`. */
async function listLevel(
  s3: S3Client,
  range: ListRange,
  prefix: string,
  delimiter: string,
  startAfter: string | undefined,
): Promise<ListObjectsV2CommandOutput> {
  return listRequest(s3, range, { prefix, delimiter, ...(startAfter ? { startAfter } : {}) });
}

function commonPrefixes(page: ListObjectsV2CommandOutput): string[] {
  const encoded = page.EncodingType === 'url';
  return (page.CommonPrefixes ?? []).flatMap((common) =>
    common.Prefix === undefined ? [] : [encoded ? decodeFormUrl(common.Prefix) : common.Prefix],
  );
}

/**
 * A level's direct keys and common prefixes as queue units, in S3's order: a key outside a common prefix
 * sorts before or after every key under it, as it sorts against the prefix itself. The resume key passes
 * to the common prefix holding it; that prefix is queued even when the server left it out, since S3
 * rolls keys after StartAfter into it but a server that starts its common prefixes after StartAfter
 * would drop it (an extra request at worst).
 */
function levelUnits(
  parent: Extract<Unit, { kind: 'partition' }>,
  objects: ManifestObject[],
  prefixes: string[],
  delimiter: string,
): Unit[] {
  const all = new Set(prefixes);
  const resume = parent.startAfter;
  if (resume?.startsWith(parent.prefix)) {
    const cut = resume.indexOf(delimiter, parent.prefix.length);
    if (cut >= 0) all.add(resume.slice(0, cut + delimiter.length));
  }
  const sorted = [...all].sort(compareKeys);
  const units: Unit[] = [];
  let run: ManifestObject[] = [];
  let k = 0;
  for (const prefix of sorted) {
    while (k < objects.length && compareKeys((objects[k] as ManifestObject).key, prefix) < 0) {
      run.push(objects[k] as ManifestObject);
      k++;
    }
    if (run.length > 0) units.push({ kind: 'objects', objects: run });
    run = [];
    units.push({
      kind: 'partition',
      prefix,
      depth: parent.depth + 1,
      ...(resume?.startsWith(prefix) ? { startAfter: resume } : {}),
    });
  }
  run = objects.slice(k);
  if (run.length > 0) units.push({ kind: 'objects', objects: run });
  return units;
}
