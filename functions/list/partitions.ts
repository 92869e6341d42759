/**
 * Listing that scales: one ListObjectsV2 chain returns 1,000 keys a request, so 100 million keys take
 * 100,000 requests one after another. Here the key space under a prefix is cut into partitions that are
 * listed side by side:
 * - discovery lists the prefix with a delimiter ("/"): every common prefix is a partition, and the keys
 *   directly at that level (no delimiter after the prefix) come back in the same pages; a level with too
 *   few common prefixes is split again one level down, up to `maxDepth`;
 * - each partition is then listed in full (listPages, the same code as the sequential listing), several at
 *   once, and, for sync jobs, merged with its target partition (TargetCursor, the same one-pass merge).
 * Every key is listed exactly once: a key either has no delimiter after the listed prefix (a direct key of
 * that level) or falls under exactly one of its common prefixes, and each level is partitioned that way.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { type Job, type ManifestObject, targetKeyFor } from '../shared/job';
import { compareKeys } from './key-order';
import { findByListing, listedObjects, listPages } from './s3-listing';
import { decodeFormUrl } from './s3-url-encoding';
import { TargetCursor, targetIsCurrent } from './sync-merge';

export interface PartitionPlan {
  /** Common prefixes, each listed on its own, in S3's order. */
  partitions: string[];
  /** Keys found directly at a discovered level (not under any partition), in S3's order. */
  direct: ManifestObject[];
  /** ListObjectsV2 requests discovery made. */
  requests: number;
}

export interface DiscoveryOptions {
  /** Stop splitting once there are at least this many partitions (about the listing's parallelism x 4). */
  target: number;
  /** Levels of delimiter to descend at most (1 = only the prefix's own common prefixes). */
  maxDepth: number;
  delimiter?: string;
}

/** Lists one level with the delimiter: its common prefixes and its direct keys, all pages. */
async function listLevel(
  s3: S3Client,
  bucket: string,
  prefix: string,
  delimiter: string,
): Promise<{ prefixes: string[]; direct: ManifestObject[]; requests: number }> {
  const prefixes: string[] = [];
  const direct: ManifestObject[] = [];
  let requests = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        ...(prefix ? { Prefix: prefix } : {}),
        Delimiter: delimiter,
        EncodingType: 'url',
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    requests++;
    const encoded = page.EncodingType === 'url';
    for (const common of page.CommonPrefixes ?? []) {
      if (common.Prefix !== undefined) prefixes.push(encoded ? decodeFormUrl(common.Prefix) : common.Prefix);
    }
    direct.push(...listedObjects(page, bucket));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { prefixes, direct, requests };
}

/**
 * Cuts the key space under `prefix` into partitions (see the module comment).
 * @returns partitions and direct keys that together hold every key under `prefix` exactly once
 */
export async function discoverPartitions(
  s3: S3Client,
  bucket: string,
  prefix: string,
  options: DiscoveryOptions,
): Promise<PartitionPlan> {
  const delimiter = options.delimiter ?? '/';
  let partitions = [prefix];
  const direct: ManifestObject[] = [];
  let requests = 0;
  for (let depth = 0; depth < options.maxDepth && partitions.length < options.target; depth++) {
    const next: string[] = [];
    // One level at a time: each listing is small (prefixes, not keys), and the levels are few.
    const levels = await Promise.all(partitions.map((partition) => listLevel(s3, bucket, partition, delimiter)));
    for (const level of levels) {
      requests += level.requests;
      direct.push(...level.direct);
      next.push(...level.prefixes);
    }
    partitions = next;
    if (partitions.length === 0) break;
  }
  return {
    partitions: partitions.sort(compareKeys),
    direct: direct.sort((a, b) => compareKeys(a.key, b.key)),
    requests,
  };
}

export interface PartitionListing {
  bucket: string;
  /** Partitions listed at once. */
  concurrency: number;
  /** For sync jobs: merge each partition with its target partition, and pass on only what must be copied. */
  sync?: { s3: S3Client; job: Job };
  /** Asked before each page: true stops every partition where it is (a Lambda running short of time). */
  shouldStop?: () => boolean;
  /** Receives each page's selected objects (in S3's order within a partition; partitions interleave). */
  onObjects: (partition: string, objects: ManifestObject[]) => void;
}

export interface PartitionListingResult {
  listed: number;
  /** Objects the sync merge found current in the target (not passed to onObjects). */
  skipped: number;
  requests: number;
  /** Partitions stopped before their end, with the last key listed in each (resume with StartAfter). */
  unfinished: Array<{ partition: string; after?: string }>;
}

/**
 * Lists every partition of a plan, `concurrency` at a time, page by page; the plan's direct keys go first.
 * In sync mode each partition walks its target partition alongside (one target page read once, no HEAD).
 */
export async function listPartitions(
  s3: S3Client,
  plan: PartitionPlan,
  options: PartitionListing,
): Promise<PartitionListingResult> {
  const result: PartitionListingResult = { listed: 0, skipped: 0, requests: 0, unfinished: [] };
  const select = async (cursor: TargetCursor | undefined, objects: ManifestObject[]): Promise<ManifestObject[]> => {
    result.listed += objects.length;
    if (!cursor || !options.sync) return objects;
    const selected: ManifestObject[] = [];
    for (const object of objects) {
      const found = await cursor.find(targetKeyFor(options.sync.job, object.key));
      if (found.kind === 'found' && targetIsCurrent(object, found.object)) result.skipped++;
      else selected.push(object);
    }
    return selected;
  };
  const targetCursor = (sourcePrefix: string) =>
    options.sync
      ? new TargetCursor(
          listPages(options.sync.s3, {
            bucket: options.sync.job.target.bucket,
            prefix: targetKeyFor(options.sync.job, sourcePrefix),
            role: 'target',
          }),
        )
      : undefined;

  if (plan.direct.length > 0) {
    // Direct keys are few and spread among the partitions: each is looked up on its own (one LIST with
    // the key as prefix) rather than walking the whole target prefix to reach them.
    result.listed += plan.direct.length;
    const selected: ManifestObject[] = [];
    for (const object of plan.direct) {
      const target = options.sync
        ? await findByListing(
            options.sync.s3,
            options.sync.job.target.bucket,
            targetKeyFor(options.sync.job, object.key),
            'target',
          )
        : undefined;
      if (target && targetIsCurrent(object, target)) result.skipped++;
      else selected.push(object);
    }
    options.onObjects('', selected);
  }

  const limit = pLimit(Math.max(1, options.concurrency));
  await Promise.all(
    plan.partitions.map((partition) =>
      limit(async () => {
        let after: string | undefined;
        if (options.shouldStop?.()) {
          result.unfinished.push({ partition });
          return;
        }
        const cursor = targetCursor(partition);
        try {
          for await (const page of listPages(s3, { bucket: options.bucket, prefix: partition, role: 'source' })) {
            result.requests++;
            const last = page.objects[page.objects.length - 1];
            if (last) after = last.key;
            options.onObjects(partition, await select(cursor, page.objects));
            if (page.more && options.shouldStop?.()) {
              result.unfinished.push({ partition, ...(after ? { after } : {}) });
              return;
            }
          }
        } finally {
          await cursor?.close();
        }
      }),
    ),
  );
  return result;
}
