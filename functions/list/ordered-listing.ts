/**
 * Listing that scales, inside the List step: the same pages as one ListObjectsV2 chain, in the same order
 * (S3's, UTF-8 bytes), but several key ranges of the prefix listed at once.
 *
 * A slice consumes keys in S3's order and resumes after the last key it took. The listing is an ordered
 * queue of units (partition-queue.ts): keys already listed, and partitions, each a key range of the
 * prefix (listing-units.ts). The first `concurrency` partitions of the queue not yet listed to their end
 * are listed ahead and their pages handed on strictly in queue order, read-ahead bounded by
 * `concurrency x pagesAhead` pages.
 *
 * Completeness never rests on a delimited listing. The listing starts as one range: the whole prefix after
 * the resume key, listed without the delimiter (a prefix that fits one page costs one request). When a
 * range's first page is full, the rest of it is replaced by smaller ranges that tile it exactly
 * (range-splits.ts): the rest of the folder holding its last key one level down, a delimited page asked
 * only for where to cut the rest of the level (level-ranges.ts), or cuts at character positions of the
 * keys (key-ranges.ts). A delimited page's keys are never taken; its common prefixes are only cuts, and
 * a range reaches from just after the previous cut to the end of its own, so a prefix the server left
 * out, a key between two prefixes or an empty page only make a range larger. Servers met that answer
 * delimited listings unlike AWS: moto (StartAfter drops the common prefix holding it) and the unpatched
 * s3rver (a delimited listing sees one folder level); docs/compatibility.md.
 *
 * What this relies on is a flat listing: keys under a Prefix after StartAfter, in S3's order. The pages
 * handed on are checked to hold strictly ascending keys under the prefix after the resume key; a server
 * that breaks that fails the listing (ListingOrderError) rather than giving a shorter or doubled one.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ManifestObject } from '../shared/job';
import { compareKeys } from './key-order';
import { PartitionQueue } from './partition-queue';
import { type ListedPage, type ListRange, listPages } from './s3-listing';

/**
 * Pages each partition may read ahead of the slice on average: `concurrency x pagesAhead` pages in all
 * (bounds memory and the pages a full slice wastes).
 */
export const DEFAULT_PAGES_AHEAD = 4;
/** Delimiter levels below the job's prefix where ranges are cut at common prefixes. */
export const DEFAULT_MAX_DEPTH = 3;

export interface OrderedListingOptions {
  /** Partitions listed at once; 1 = one chain (listPages). */
  concurrency: number;
  pagesAhead?: number;
  maxDepth?: number;
  delimiter?: string;
  /**
   * Common prefixes a delimited page must hold (more than this) for runs of them to be listed together;
   * default GROUP_ABOVE x concurrency (level-ranges.ts).
   */
  groupAbove?: number;
  /**
   * Keys the caller will still take at least (a slice: the objects it may still select). Read-ahead
   * stops there: what a full slice would drop is not listed (it costs requests and memory).
   */
  keysWanted?: () => number;
}

/** A listing whose keys are out of S3's order, repeated, or outside the range asked for: the server contradicts itself. */
export class ListingOrderError extends Error {
  constructor(
    readonly bucket: string,
    prefix: string,
    detail: string,
  ) {
    super(
      `ListObjectsV2 on bucket ${bucket}, prefix "${prefix}": ${detail}. A listing must hold each key once, in S3's order (UTF-8 bytes); this server's listing cannot be trusted, so nothing was copied or deleted from it. Is the endpoint S3-compatible?`,
    );
    this.name = 'ListingOrderError';
  }
}

/**
 * Lists `range` like listPages, several partitions at once (see the module comment). Pages hold at most
 * 1,000 keys, empty pages are left out after the first, and `more` is exact (a page is handed on once the
 * next is known).
 * @throws BucketAccessError when the bucket does not exist or may not be listed (not retryable)
 * @throws ListingOrderError when the server lists a key twice, out of order or outside the range
 */
export async function* listPagesOrdered(
  s3: S3Client,
  range: ListRange,
  options: OrderedListingOptions,
): AsyncGenerator<ListedPage> {
  if (options.concurrency <= 1) {
    yield* listPagesChecked(s3, range);
    return;
  }
  const check = orderCheck(range);
  const queue = new PartitionQueue(s3, range, {
    concurrency: options.concurrency,
    pagesAhead: Math.max(1, options.pagesAhead ?? DEFAULT_PAGES_AHEAD),
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    delimiter: options.delimiter ?? '/',
    ...(options.groupAbove !== undefined ? { groupAbove: options.groupAbove } : {}),
    ...(options.keysWanted ? { keysWanted: options.keysWanted } : {}),
  });
  try {
    let pending = await queue.nextObjects();
    if (pending === undefined) {
      yield { objects: [], more: false };
      return;
    }
    while (pending) {
      check(pending);
      const following = await queue.nextObjects();
      yield { objects: pending, more: following !== undefined };
      pending = following;
    }
  } finally {
    // Requests in flight are not awaited: the slice does not wait a round trip for pages it drops.
    queue.stop();
  }
}

/**
 * One ListObjectsV2 chain (listPages), its keys checked as the partitioned listing's are: the sync target's
 * listing, and `concurrency: 1`.
 * @throws ListingOrderError when the server lists a key twice, out of order or outside the range
 */
export async function* listPagesChecked(s3: S3Client, range: ListRange): AsyncGenerator<ListedPage> {
  const check = orderCheck(range);
  for await (const page of listPages(s3, range)) {
    check(page.objects);
    yield page;
  }
}

/** Checks that keys come strictly ascending, under the prefix and after the resume key (no request). */
function orderCheck(range: ListRange): (objects: ManifestObject[]) => void {
  let previous = range.startAfter;
  return (objects) => {
    for (const { key } of objects) {
      if (!key.startsWith(range.prefix)) {
        throw new ListingOrderError(range.bucket, range.prefix, `it returned the key "${key}" outside the prefix`);
      }
      if (previous !== undefined && compareKeys(key, previous) <= 0) {
        const what = key === previous ? 'twice' : `after "${previous}"`;
        throw new ListingOrderError(range.bucket, range.prefix, `it returned the key "${key}" ${what}`);
      }
      previous = key;
    }
  };
}
