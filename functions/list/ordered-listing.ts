/**
 * Listing that scales, inside the List step (issue 14): the same pages as one ListObjectsV2 chain, in the
 * same order (S3's, UTF-8 bytes), but several partitions of the key space listed at once.
 *
 * A slice consumes keys in S3's order and resumes after the last key it took, and the keys under one
 * common prefix form one contiguous run of that order. So the stream walks an ordered queue of units:
 * keys found directly at a level, and partitions (a common prefix, plus the resume key when it falls
 * inside; or the rest of a level, after a continuation token). The first `concurrency` partitions of the
 * queue are listed ahead and their pages are handed on strictly in queue order. Read-ahead is bounded by
 * `concurrency x pagesAhead` pages in all, given to the partitions nearest the slice first: the partition
 * the slice will reach next has had the longest time to read ahead, so a partition of many pages is
 * mostly listed before the slice reaches it. The continuation stays one `startAfter` key: nothing here is
 * recorded between slices.
 *
 * A partition is listed with the delimiter one page at a time (from the resume key, or the level's
 * continuation token):
 * - not truncated and no common prefixes: that page is the whole partition;
 * - truncated without common prefixes: the page is the partition's first page; the rest is one chain;
 * - with common prefixes: the partition is replaced in the queue by the page's direct keys and common
 *   prefixes (one level down), merged in S3's order, and, when the page is truncated, by the rest of the
 *   level (the same prefix from the page's continuation token: S3 counts a common prefix as one of
 *   MaxKeys and a continuation after it skips all its keys). A level of 10,000,000 common prefixes thus
 *   enters the queue a page at a time, as the slice reaches its end, not all at once. When the page
 *   holds many common prefixes (more than 4 x concurrency), runs of consecutive ones are queued as key
 *   ranges listed without the delimiter instead, so that a LIST returns up to 1,000 keys across several
 *   small prefixes rather than one prefix's few (levelUnits; a run that holds more than a page is split
 *   by what its first page shows, splitRun).
 * Below `maxDepth` levels a partition is listed as one chain without the delimiter.
 */
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { ManifestObject } from '../shared/job';
import { compareKeys } from './key-order';
import { type ListedPage, type ListRange, listedObjects, listPages, listRequest } from './s3-listing';
import { decodeFormUrl } from './s3-url-encoding';

/**
 * Pages each partition may read ahead of the slice on average: `concurrency x pagesAhead` pages in all
 * (bounds memory and the pages a full slice wastes).
 */
export const DEFAULT_PAGES_AHEAD = 4;
/** Delimiter levels below the job's prefix that are split into partitions. */
export const DEFAULT_MAX_DEPTH = 3;

export interface OrderedListingOptions {
  /** Partitions listed at once; 1 = one chain (listPages). */
  concurrency: number;
  pagesAhead?: number;
  maxDepth?: number;
  delimiter?: string;
  /**
   * Common prefixes a delimiter page must hold (more than this) for runs of them to be listed together;
   * default GROUP_ABOVE x concurrency (see levelUnits).
   */
  groupAbove?: number;
  /**
   * Keys the caller will still take at least (a slice: the objects it may still select). Read-ahead
   * stops there: what a full slice would drop is not listed (it costs requests and memory).
   */
  keysWanted?: () => number;
}

interface PartitionState {
  pages: ListedPage[];
  done: boolean;
  error?: unknown;
}

type Unit =
  | { kind: 'objects'; objects: ManifestObject[] }
  | {
      kind: 'partition';
      prefix: string;
      startAfter?: string;
      /** The rest of a level whose delimiter listing was truncated: listed from this continuation token. */
      token?: string;
      /** A key range of a split partition (rangeUnits): listed without the delimiter. */
      flat?: boolean;
      /** Keys starting with any of these belong to an earlier unit: left out here. */
      skip?: string[];
      /** Keys from this one on belong to a later unit: left out here, and the listing ends there. */
      end?: string;
      /**
       * A run of consecutive common prefixes of one level listed together (levelUnits): `prefix` is the
       * level's, the listing is flat and bounded by startAfter/skip and `end`, and these are the run's
       * prefixes, kept to split the run when it turns out to hold more than a page.
       */
      members?: string[];
      depth: number;
      state?: PartitionState;
    };

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
  // Read-ahead is given by place in the queue: a partition may list one more page while the pages
  // buffered by it and every partition before it stay within the budget (and, with keysWanted, while the
  // keys buffered up to it are fewer than the slice still takes). The partition the slice reaches next has
  // had the longest time to read ahead, so the pages of a partition of many pages are mostly listed, in
  // parallel with its neighbours', by the time the slice gets there; a flat cap of pagesAhead each left the
  // rest of it a chain of requests in series. Partitions further back keep what they read while those
  // before them grow, so all buffers together are held to twice the budget.
  const budget = options.concurrency * pagesAhead;
  // What the runs' first pages showed (levelUnits): the other runs of a level wait for the first one's,
  // and once runs mostly meet prefixes that fill a page alone, runs not yet started are queued as one
  // partition per prefix (as without runs) instead of each spending a request to find that out.
  let runsStarted = 0;
  const runsSeen = { small: 0, large: 0 };
  /** Producers waiting for read-ahead room; woken whenever the slice takes a page or waits. */
  let blocked: Array<() => void> = [];
  const wakeProducers = () => {
    const waiting = blocked;
    blocked = [];
    for (const resolve of waiting) resolve();
  };
  const mayReadAhead = (unit: Extract<Unit, { kind: 'partition' }>, state: PartitionState): boolean => {
    const keysIn = (pages: readonly ListedPage[]) => pages.reduce((sum, page) => sum + page.objects.length, 0);
    let place = -1;
    let own: number | undefined;
    let pages = 0;
    let pagesUpTo = 0;
    let keysUpTo = 0;
    for (let i = head; i < queue.length && place + 1 < options.concurrency; i++) {
      const queued = queue[i] as Unit;
      if (queued.kind === 'objects') {
        if (own === undefined) keysUpTo += queued.objects.length;
        continue;
      }
      place++;
      const buffered = queued.state?.pages ?? [];
      pages += buffered.length;
      if (own !== undefined) continue;
      pagesUpTo += buffered.length;
      keysUpTo += keysIn(buffered);
      if (queued === unit) own = place;
    }
    // Behind the window (pushed back when a partition before it split): it waits with what it holds.
    if (own === undefined) return false;
    // The partition the slice reads now is never starved: the slice waits for it.
    if (own === 0 && state.pages.length < pagesAhead) return true;
    const wanted = options.keysWanted?.() ?? Number.POSITIVE_INFINITY;
    return pagesUpTo < budget && keysUpTo < wanted && pages < 2 * budget;
  };

  const chain = async (
    unit: Extract<Unit, { kind: 'partition' }>,
    state: PartitionState,
    startAfter: string | undefined,
  ) => {
    const pages = listPages(s3, { ...range, prefix: unit.prefix, startAfter });
    for (;;) {
      while (!stopped && !mayReadAhead(unit, state)) {
        await new Promise<void>((resolve) => {
          blocked.push(resolve);
        });
      }
      if (stopped) return;
      const next = await pages.next();
      if (next.done || stopped) return;
      state.pages.push({ objects: kept(unit, next.value.objects), more: next.value.more });
      changed();
      if (!next.value.more) return;
    }
  };

  /** Puts `units` in the queue in place of `unit`, in S3's order, and starts what enters the window. */
  const replace = (unit: Extract<Unit, { kind: 'partition' }>, units: Unit[]) => {
    const at = queue.indexOf(unit, head);
    // The consumer cannot pass a unit whose listing has not ended, so it is still queued.
    if (at < 0)
      throw new Error(
        `ordered listing of bucket ${range.bucket}: partition "${unit.prefix}" left the queue before it was listed`,
      );
    queue.splice(at, 1, ...units);
    startWindow();
  };

  /**
   * After a truncated first page without common prefixes: the rest of the partition is cut into key
   * ranges listed side by side (rangeUnits), or, when the keys do not allow it, listed as one chain.
   */
  const splitOrChain = async (
    unit: Extract<Unit, { kind: 'partition' }>,
    state: PartitionState,
    raw: ManifestObject[],
  ) => {
    const objects = kept(unit, raw);
    const last = raw[raw.length - 1];
    const units = last ? rangeUnits(unit, raw) : undefined;
    if (units) {
      replace(unit, [{ kind: 'objects', objects }, ...units]);
      return;
    }
    state.pages.push({ objects, more: true });
    changed();
    await chain(unit, state, last?.key ?? unit.startAfter);
  };

  const produce = async (unit: Extract<Unit, { kind: 'partition' }>, state: PartitionState) => {
    if (unit.flat || (unit.depth >= maxDepth && unit.token === undefined)) {
      const page = await listRequest(s3, range, {
        prefix: unit.prefix,
        ...(unit.startAfter ? { startAfter: unit.startAfter } : {}),
      });
      if (stopped) return;
      const raw = listedObjects(page, range.bucket);
      const lastRaw = raw[raw.length - 1];
      const pastEnd = unit.end !== undefined && lastRaw !== undefined && compareKeys(lastRaw.key, unit.end) >= 0;
      if (!page.IsTruncated || pastEnd || !lastRaw) {
        if (unit.members) runsSeen.small++;
        state.pages.push({ objects: kept(unit, raw), more: false });
        return;
      }
      if (unit.members) {
        const split = splitRun(unit, lastRaw.key);
        runsSeen[split.large ? 'large' : 'small']++;
        replace(unit, [{ kind: 'objects', objects: kept(unit, raw) }, ...split.units]);
        return;
      }
      await splitOrChain(unit, state, raw);
      return;
    }
    const page = await listRequest(s3, range, {
      prefix: unit.prefix,
      delimiter,
      ...(unit.token !== undefined ? { token: unit.token } : unit.startAfter ? { startAfter: unit.startAfter } : {}),
    });
    if (stopped) return;
    const objects = listedObjects(page, range.bucket);
    const prefixes = commonPrefixes(page);
    const token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (page.IsTruncated && !token) {
      throw new Error(
        `ListObjectsV2 on bucket ${range.bucket}, prefix "${unit.prefix}" with delimiter "${delimiter}" was truncated without a NextContinuationToken: is the endpoint S3-compatible?`,
      );
    }
    if (token === undefined && prefixes.length === 0) {
      state.pages.push({ objects, more: false });
      return;
    }
    if (prefixes.length === 0 && objects.length > 0) {
      // Direct keys only, so far: the rest of the level (any common prefixes further on included) is
      // listed without the delimiter, from the last of them, without a second request for this page.
      await splitOrChain(unit, state, objects);
      return;
    }
    const units = levelUnits(unit, objects, prefixes, delimiter, {
      concurrency: options.concurrency,
      groupAbove: options.groupAbove ?? GROUP_ABOVE * options.concurrency,
      truncated: token !== undefined,
    });
    if (token !== undefined) units.push({ kind: 'partition', prefix: unit.prefix, depth: unit.depth, token });
    replace(unit, units);
  };

  const startWindow = () => {
    let partitions = 0;
    for (let i = head; i < queue.length && partitions < options.concurrency; i++) {
      const unit = queue[i] as Unit;
      if (unit.kind !== 'partition') continue;
      if (!unit.state && unit.members) {
        if (runsSeen.large > runsSeen.small && unit.members.length > 0) {
          queue.splice(i, 1, ...prefixUnits(unit));
          i--;
          continue;
        }
        // The window goes no further until a run's first page has shown what runs hold.
        if (runsSeen.large + runsSeen.small === 0 && runsStarted > 0) break;
        runsStarted++;
      }
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
        wakeProducers();
        if (page.objects.length > 0) return page.objects;
        continue;
      }
      if (state.done) {
        if (state.error !== undefined) throw state.error;
        // An expanded partition was replaced in the queue; a listed one is finished.
        if (queue[head] === unit) head++;
        continue;
      }
      // The slice may have moved on to a partition that waited for budget behind the one it finished.
      wakeProducers();
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
    wakeProducers();
  }
}

function commonPrefixes(page: ListObjectsV2CommandOutput): string[] {
  const encoded = page.EncodingType === 'url';
  return (page.CommonPrefixes ?? []).flatMap((common) =>
    common.Prefix === undefined ? [] : [encoded ? decodeFormUrl(common.Prefix) : common.Prefix],
  );
}

/**
 * A level is grouped once its page holds more than GROUP_ABOVE x concurrency common prefixes that can be
 * grouped: with that many, a partition each costs a LIST each however few keys it holds (2,000 prefixes
 * of 100 keys: 2,028 requests of 100 keys), while a run of them listed flat returns up to 1,000 keys a
 * request. Below it the level's partitions are about as many as the window holds and one each keeps
 * large prefixes (a run's first page cannot tell a large prefix from a full run) at one request each.
 */
const GROUP_ABOVE = 4;

type Bound = { startAfter?: string; skip?: string[] };

/** What follows a level entry: after a key, that key; after a common prefix, every key under it. */
function boundAfter(entry: ManifestObject | string): Bound {
  if (typeof entry !== 'string') return { startAfter: entry.key };
  // Keys under `entry` sort before entry + U+10FFFF or start with it: the latter are left out.
  return { startAfter: entry + LAST_CHARACTER, skip: [entry] };
}

/** A run of a level's consecutive common prefixes listed as one flat key range (see Unit.members). */
function runUnit(prefix: string, depth: number, members: string[], after: Bound, end: string | undefined): Unit {
  return {
    kind: 'partition',
    prefix,
    depth,
    flat: true,
    members,
    ...(after.startAfter !== undefined ? { startAfter: after.startAfter } : {}),
    ...(after.skip ? { skip: after.skip } : {}),
    ...(end !== undefined ? { end } : {}),
  };
}

/**
 * A level's direct keys and common prefixes as queue units, in S3's order: a key outside a common prefix
 * sorts before or after every key under it, as it sorts against the prefix itself. The resume key passes
 * to the common prefix holding it; that prefix is queued even when the server left it out, since S3
 * rolls keys after StartAfter into it but a server that starts its common prefixes after StartAfter
 * would drop it (an extra request at worst).
 *
 * A level of many common prefixes (above `groupAbove` on this page, GROUP_ABOVE x concurrency by default) is cut into about
 * `concurrency` runs of consecutive prefixes, each listed as one key range without the delimiter: from
 * just after the entry before the run (a direct key, or every key under a prefix) up to the entry after
 * it (exclusive). The keys of a level lie under its common prefixes or are its direct keys, and between
 * two neighbouring entries of a delimiter listing there is no other key, so each run holds exactly the
 * keys under its prefixes. A prefix is left on its own when the page does not show what precedes or
 * follows it: the first after a continuation token and the last of a truncated page. (A run starting at
 * the page's first entry after a resume key starts after that key, the prefix holding it included.) A run whose first page is full is split by what that page
 * shows (splitRun). The page says nothing of how many keys a prefix holds, so only the first run of a
 * listing is listed at once; the others wait for its first page, and are queued as one partition per
 * prefix instead while runs have mostly met large prefixes (listPagesOrdered's runsSeen).
 */
function levelUnits(
  parent: Extract<Unit, { kind: 'partition' }>,
  objects: ManifestObject[],
  prefixes: string[],
  delimiter: string,
  level: { concurrency: number; groupAbove: number; truncated: boolean },
): Unit[] {
  const all = new Set(prefixes);
  const resume = parent.startAfter;
  if (resume?.startsWith(parent.prefix)) {
    const cut = resume.indexOf(delimiter, parent.prefix.length);
    if (cut >= 0) all.add(resume.slice(0, cut + delimiter.length));
  }
  const sorted = [...all].sort(compareKeys);
  // The level's entries in S3's order: direct keys (objects) and common prefixes (strings).
  const entries: Array<ManifestObject | string> = [];
  let k = 0;
  for (const prefix of sorted) {
    while (k < objects.length && compareKeys((objects[k] as ManifestObject).key, prefix) < 0) {
      entries.push(objects[k] as ManifestObject);
      k++;
    }
    entries.push(prefix);
  }
  entries.push(...objects.slice(k));

  const groupable = entries.map(
    (entry, i) =>
      typeof entry === 'string' &&
      !(i === 0 && parent.token !== undefined) &&
      !(i === entries.length - 1 && level.truncated),
  );
  const count = groupable.filter(Boolean).length;
  const runLength = count > level.groupAbove ? Math.ceil(count / level.concurrency) : 1;

  const units: Unit[] = [];
  let run: ManifestObject[] = [];
  const flushKeys = () => {
    if (run.length > 0) units.push({ kind: 'objects', objects: run });
    run = [];
  };
  const single = (prefix: string): Unit => prefixPartition(prefix, parent.depth + 1, resume);
  for (let i = 0; i < entries.length; ) {
    const entry = entries[i] as ManifestObject | string;
    if (typeof entry !== 'string') {
      run.push(entry);
      i++;
      continue;
    }
    flushKeys();
    if (runLength === 1 || !groupable[i]) {
      units.push(single(entry));
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < entries.length && groupable[j + 1]) j++;
    // Prefixes i..j are consecutive and groupable: runs of runLength, the last ones possibly shorter.
    for (let start = i; start <= j; start += runLength) {
      const stop = Math.min(start + runLength, j + 1);
      const members = entries.slice(start, stop) as string[];
      if (members.length === 1) {
        units.push(single(members[0] as string));
        continue;
      }
      const before = entries[start - 1];
      const after: Bound =
        before !== undefined ? boundAfter(before) : resume !== undefined ? { startAfter: resume } : {};
      const next = entries[stop];
      const end = next === undefined ? undefined : typeof next === 'string' ? next : next.key;
      units.push(runUnit(parent.prefix, parent.depth + 1, members, after, end));
    }
    i = j + 1;
  }
  flushKeys();
  return units;
}

/**
 * What follows the full first page of a run (levelUnits), ending with key `last`. The page shows how
 * many of the run's prefixes a page holds: when it passed two or more, the prefixes still to come are cut
 * into runs of that many (the first from `last`, each next one from the end of the one before), listed
 * side by side and split again the same way if a page still does not hold them; when it passed at most
 * one, the prefixes are large (`large`), and each is queued as a partition of its own (the one holding
 * `last` from there), which lists it as any other (one level down, or cut into key ranges). Either way
 * the units hold exactly the run's keys after `last`, in S3's order.
 */
function splitRun(unit: Extract<Unit, { kind: 'partition' }>, last: string): { units: Unit[]; large: boolean } {
  const members = unit.members ?? [];
  let passed = 0;
  while (
    passed < members.length &&
    compareKeys(members[passed] as string, last) < 0 &&
    !last.startsWith(members[passed] as string)
  ) {
    passed++;
  }
  const rest = members.slice(passed);
  // A page that passed at most one prefix: runs would list a prefix or so a request, no better than a
  // partition each, which can also go one level down or be cut into key ranges.
  if (passed <= 1 && rest.length > 0) {
    return { units: prefixUnits({ ...unit, members: rest, startAfter: last }), large: true };
  }
  const runLength = Math.max(1, passed);
  const units: Unit[] = [];
  // A run with no prefix left still lists what lies after `last` up to its end (a key written since).
  for (let start = 0; start < Math.max(1, rest.length); start += runLength) {
    const runMembers = rest.slice(start, start + runLength);
    // `last` may be one of the keys the run leaves out (under the prefix before it): they stay left out.
    const after: Bound =
      start === 0
        ? { startAfter: last, ...(unit.skip ? { skip: unit.skip } : {}) }
        : boundAfter(rest[start - 1] as string);
    const end = rest[start + runLength] ?? unit.end;
    units.push(runUnit(unit.prefix, unit.depth, runMembers, after, end));
  }
  return { units, large: false };
}

/**
 * A run's prefixes as one partition each, the one holding the run's start from there. They hold the
 * run's keys: a run has no direct key between its prefixes (levelUnits).
 */
function prefixUnits(unit: Extract<Unit, { kind: 'partition' }>): Unit[] {
  return (unit.members ?? []).map((prefix) => prefixPartition(prefix, unit.depth, unit.startAfter));
}

/** One common prefix as a partition; it resumes after `resume` when that key lies under the prefix. */
function prefixPartition(prefix: string, depth: number, resume: string | undefined): Unit {
  return { kind: 'partition', prefix, depth, ...(resume?.startsWith(prefix) ? { startAfter: resume } : {}) };
}

/** The objects of a unit's page without the keys an earlier unit lists (its `skip` prefixes). */
function kept(unit: Extract<Unit, { kind: 'partition' }>, objects: ManifestObject[]): ManifestObject[] {
  const { skip, end } = unit;
  if (!skip && end === undefined) return objects;
  return objects.filter(
    (object) =>
      !skip?.some((prefix) => object.key.startsWith(prefix)) && (end === undefined || compareKeys(object.key, end) < 0),
  );
}

/** Above every character a key can hold (U+10FFFF is the last code point, F4 8F BF BF in UTF-8). */
const LAST_CHARACTER = '\u{10FFFF}';
/** Key ranges a split makes at one character position, at most. */
const RANGES_PER_LEVEL = 10;

/**
 * Cuts what follows a partition's first page into key ranges listed side by side (issue 14: one prefix
 * of 100,000 keys was one chain of 100 requests in series). The page's first and last keys F and L share
 * their first c characters; the keys still to come mostly differ from L at character d = c - 1 or the
 * one before, so ranges are made at those positions. At a position p with A = L[0..p) and x = L[p]
 * (both ASCII, where UTF-8 byte order is character order):
 * - the keys with prefix A + x after L (the head; at the finer position only),
 * - for each character ch after x up to the highest seen at position c (at most 10): the keys with
 *   prefix A + ch (a Prefix listing: exact, with no request past its end),
 * - the keys with prefix A after every key with prefix A + top (StartAfter A + top + U+10FFFF, keys
 *   starting with A + top left out, since they belong to the range before),
 * and, last, the keys of the partition after every key with prefix A of the coarsest position. Each
 * piece's keys sort after the previous piece's and together they are exactly the partition's keys after
 * L, so S3's order and exact-once hold whatever the keys are; the split only guesses where the keys are
 * (a range with no key costs one request). Each range splits again after its own first page.
 * @returns the units in S3's order, or undefined when the keys do not allow a split (non-ASCII there)
 */
function rangeUnits(parent: Extract<Unit, { kind: 'partition' }>, raw: ManifestObject[]): Unit[] | undefined {
  const first = (raw[0] as ManifestObject).key;
  const last = (raw[raw.length - 1] as ManifestObject).key;
  let common = 0;
  while (common < first.length && common < last.length && first[common] === last[common]) common++;
  const splittable = (code: number) => code < 0x7e;
  const finest = common - 1;
  if (finest < parent.prefix.length || !splittable(last.charCodeAt(finest))) return undefined;
  let highest = 0;
  for (const object of raw) {
    const code = object.key.charCodeAt(common);
    if (code < 0x7f && code > highest) highest = code;
  }
  const inherited = parent.skip ?? [];
  const range = (prefix: string, extra: { startAfter?: string; skip?: string[] } = {}): Unit => {
    const skip = [...inherited, ...(extra.skip ?? [])];
    return {
      kind: 'partition',
      prefix,
      depth: parent.depth,
      flat: true,
      ...(extra.startAfter !== undefined ? { startAfter: extra.startAfter } : {}),
      ...(skip.length > 0 ? { skip } : {}),
    };
  };
  const units: Unit[] = [range(last.slice(0, finest + 1), { startAfter: last })];
  let covered = last.slice(0, finest + 1);
  for (let at = finest; at >= Math.max(parent.prefix.length, finest - 1); at--) {
    const x = last.charCodeAt(at);
    if (!splittable(x)) break;
    const base = last.slice(0, at);
    const top = Math.min(Math.max(highest, x), x + RANGES_PER_LEVEL, 0x7e);
    for (let ch = x + 1; ch <= top; ch++) units.push(range(base + String.fromCharCode(ch)));
    const lastRange = base + String.fromCharCode(top);
    units.push(range(base, { startAfter: lastRange + LAST_CHARACTER, skip: [lastRange] }));
    covered = base;
  }
  if (covered !== parent.prefix) {
    units.push(range(parent.prefix, { startAfter: covered + LAST_CHARACTER, skip: [covered] }));
  }
  return units;
}
