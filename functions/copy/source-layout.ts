/**
 * Copies that keep the source's layout, so the target's ETag equals the source's and a later sync proves
 * identity from the two listings alone (functions/shared/content-identity.ts), with no HEAD per object.
 *
 * An ETag depends on how the object was written, not only on its bytes: a single-part object's is the
 * MD5 of its bytes, a multipart object's the MD5 of its parts' MD5s followed by `-<parts>`. So:
 * - a single-part source (an ETag without `-N`) up to the multipart threshold is copied with one
 *   CopyObject: it keeps the MD5 ETag. Above the threshold the job's part size still applies (parallel
 *   parts, resumable across invocations), so such a copy's ETag differs: `--multipart-threshold 5GiB`
 *   keeps every single-part source single-part (PutObject writes at most 5 GiB);
 * - a multipart source is copied with UploadPartCopy in its own parts, whatever its size: HEAD with
 *   PartNumber=1 gives the parts count (`x-amz-mp-parts-count`) and the first part's size, and a HEAD
 *   of each further part its size. Uneven layouts are common enough (uploaders that flush on a timer,
 *   objects assembled from others with UploadPartCopy) that guessing "every part as big as the first"
 *   would leave them unprovable for ever; one HEAD per part costs $0.0004 per 1,000 parts, under a tenth
 *   of the UploadPartCopy it saves from being repeated on every sync. GetObjectAttributes would answer
 *   in one request, but lists part sizes only for objects uploaded with checksums, and not on every server.
 * - a layout S3 cannot replay (a part other than the last below 5 MiB, more than 10,000 parts) or a server
 *   that does not report parts (Ceph RGW 16 ignores PartNumber on HEAD) falls back to the job's own plan:
 *   CopyObject up to 5 GiB there (RGW keeps the source's `-N` ETag on CopyObject), else the multipart
 *   threshold and part size. Every fallback is counted (stats.layoutFallbacks) and logged with its reason.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { normalizeEtag } from '../shared/content-identity';
import { MiB, nameRulesInForce, S3_LIMITS } from '../shared/job';
import { mapLimited } from '../shared/map-limited';
import type { CopyContext } from './copy-context';
import { choosePartSize, type PartRange, planParts } from './part-plan';
import { sourceObjectParams } from './source-request';
import type { SourceVersion } from './source-version';

/** How one object is copied: one CopyObject, or a multipart copy in the given parts. */
export type CopyRoute =
  | { kind: 'single' }
  | {
      kind: 'parts';
      parts: PartRange[];
      /** The first part's size: the progress record's partSize and the part pace's unit. */
      partSize: number;
      /** 'source': the source's own layout (the target's ETag will equal the source's); 'planned': options.partSize. */
      origin: 'source' | 'planned';
    };

/** Source HEADs of part sizes in flight at once for one object. */
const PART_HEAD_CONCURRENCY = 16;

/** The parts count an ETag names (`"<md5>-N"`), or undefined for an ETag without one. */
export function partsCountOf(etag: string | undefined): number | undefined {
  const match = /^[0-9a-f]+-(\d+)$/i.exec(normalizeEtag(etag));
  return match ? Number(match[1]) : undefined;
}

/** The byte ranges of consecutive parts of these sizes. */
export function rangesOf(sizes: readonly number[]): PartRange[] {
  const parts: PartRange[] = [];
  let start = 0;
  sizes.forEach((size, i) => {
    parts.push({ partNumber: i + 1, start, end: start + size - 1 });
    start += size;
  });
  return parts;
}

/**
 * Why S3 cannot replay this layout with UploadPartCopy, or undefined when it can: 1..10,000 parts that
 * add up to the object, each 5 MiB..5 GiB but the last (1 byte..5 GiB).
 */
export function unreplayable(sizes: readonly number[], objectSize: number): string | undefined {
  if (sizes.length < 1 || sizes.length > S3_LIMITS.maxParts) return `${sizes.length} parts (1..${S3_LIMITS.maxParts})`;
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total !== objectSize) return `the parts add up to ${total} bytes, the object has ${objectSize}`;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i] as number;
    const last = i === sizes.length - 1;
    if (size > S3_LIMITS.maxPartBytes || size < 1 || (!last && size < S3_LIMITS.minPartBytes)) {
      return `part ${i + 1} has ${size} bytes (5 MiB..5 GiB but the last)`;
    }
  }
  return undefined;
}

/** The sizes of the source's parts, or why they cannot be known (undefined count: not multipart). */
async function readPartSizes(
  ctx: CopyContext,
  sourceKey: string,
  version: SourceVersion,
  count: number,
): Promise<number[] | string> {
  // Not pinned with IfMatch: moto answers a part's HEAD with the part's own ETag and refuses the object's
  // (412). The parts copied are pinned (CopySourceIfMatch), so a layout read from a newer version costs at
  // most an ETag that differs, never bytes of two versions.
  const headPart = (partNumber: number) =>
    ctx.sourceReads.track(() =>
      ctx.retry(() =>
        ctx.sourceS3.send(
          new HeadObjectCommand({ ...sourceObjectParams(ctx, sourceKey, version.versionId), PartNumber: partNumber }),
          ctx.budget.requestOptions,
        ),
      ),
    );
  const first = await headPart(1);
  ctx.stats.layoutHeads++;
  if (first.PartsCount === undefined) return 'the server does not report parts (HeadObject with PartNumber)';
  if (first.PartsCount !== count) return `the server reports ${first.PartsCount} parts, the ETag ${count}`;
  const rest = await mapLimited(
    Array.from({ length: count - 1 }, (_, i) => i + 2),
    PART_HEAD_CONCURRENCY,
    async (partNumber) => {
      const head = await headPart(partNumber);
      ctx.stats.layoutHeads++;
      return head.ContentLength ?? -1;
    },
  );
  return [first.ContentLength ?? -1, ...rest];
}

/** The job's own plan: CopyObject up to the multipart threshold, parts of options.partSize above it. */
function plannedRoute(ctx: CopyContext, size: number): CopyRoute {
  if (size <= ctx.job.options.multipartThreshold) return { kind: 'single' };
  const partSize = choosePartSize(size, ctx.job.options.partSize);
  return { kind: 'parts', parts: planParts(size, partSize), partSize, origin: 'planned' };
}

/**
 * Decides how to copy this version of the source so the target keeps its layout (module comment).
 * @param inOneRequest true for a key that must go through CopyObject on this server (copy-object.ts)
 */
export async function chooseRoute(
  ctx: CopyContext,
  sourceKey: string,
  version: SourceVersion,
  inOneRequest: boolean,
): Promise<CopyRoute> {
  const { size } = version;
  if (size === 0 || inOneRequest) return { kind: 'single' };
  const count = partsCountOf(version.etag);
  if (count === undefined) return plannedRoute(ctx, size);
  const sizes = await readPartSizes(ctx, sourceKey, version, count);
  const reason = typeof sizes === 'string' ? sizes : unreplayable(sizes, size);
  if (reason === undefined && typeof sizes !== 'string') {
    return { kind: 'parts', parts: rangesOf(sizes), partSize: sizes[0] as number, origin: 'source' };
  }
  ctx.stats.layoutFallbacks++;
  // A server that does not tell the layout may still keep the ETag on CopyObject (Ceph RGW does): never on AWS.
  const route =
    typeof sizes === 'string' && nameRulesInForce() === 's3-compatible' && size <= S3_LIMITS.maxCopyObjectBytes
      ? ({ kind: 'single' } as const)
      : plannedRoute(ctx, size);
  ctx.logger.warn("The source's part layout cannot be replayed; the copy's ETag will differ from the source's", {
    source: `s3://${ctx.job.source.bucket}/${sourceKey}`,
    parts: count,
    reason,
    copiedWith: route.kind === 'single' ? 'CopyObject' : `parts of ${Math.round(route.partSize / MiB)} MiB`,
  });
  return route;
}
