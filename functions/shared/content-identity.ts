/**
 * The one rule that decides whether a target object already holds a source object's content, used by
 * the list step's merged listing (functions/list/sync-merge.ts) and the copy engine's sync check
 * (functions/copy: targetMatches). A timestamp never proves identity: an object overwritten in the same
 * second as its last copy has an older-or-equal LastModified and different bytes.
 *
 * - Different sizes: different content.
 * - Same size and same ETag: the same content. For a single-part upload without SSE-KMS/SSE-C the ETag is
 *   the MD5 of the bytes; a multipart ETag is the MD5 of the parts' MD5s, so identical bytes in an
 *   identical layout give identical ETags; an SSE-KMS/SSE-C ETag is unique to the write that made it.
 *   Equal ETags of different bytes would need an MD5 collision.
 * - Same size, different ETags: an ETag cannot tell identical bytes in another multipart layout (or
 *   under SSE-KMS/SSE-C) from different bytes. A full-object checksum of the same algorithm on both sides
 *   (CRC64NVME, which S3 computes for every new object, or a FULL_OBJECT CRC32/CRC32C; HEAD with
 *   ChecksumMode=ENABLED returns it) decides: equal is the same content, unequal is different. Composite
 *   (per-part) checksums depend on the layout like ETags and decide only when equal.
 * - Otherwise the identity is unproven, and the object is copied: a needless copy costs a request; a
 *   wrong skip leaves stale data behind for good.
 *
 * The copy makes the cheap proof the common one: it keeps the source's layout (one CopyObject for a
 * single-part source, the source's own parts for a multipart one: functions/copy/source-layout.ts), so
 * for unencrypted and SSE-S3 objects the target's ETag is the source's and the listings alone decide.
 */

/**
 * Checksum algorithms S3 stores; a HEAD with ChecksumMode=ENABLED returns their values (base64) as
 * `Checksum<algorithm>`. The first five are those S3's "Checking object integrity" guide describes; the
 * rest are the ones the SDK (3.9xx) added since, kept so a copy never drops an algorithm it can name.
 */
export const CHECKSUM_ALGORITHMS = [
  'CRC64NVME',
  'CRC32',
  'CRC32C',
  'SHA1',
  'SHA256',
  'SHA512',
  'MD5',
  'XXHASH64',
  'XXHASH3',
  'XXHASH128',
] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Whether a value names an algorithm we know (listings and records are read as plain strings). */
export function isChecksumAlgorithm(value: unknown): value is ChecksumAlgorithm {
  return typeof value === 'string' && (CHECKSUM_ALGORITHMS as readonly string[]).includes(value);
}

/** What the rule reads of one object: from a listing, a HEAD, or a manifest entry. */
export interface ContentFacts {
  size: number | undefined;
  /** As S3 returns it, quotes (and a weak W/ prefix) allowed; '' or undefined when unknown. */
  etag?: string | undefined;
  /** Checksum values by algorithm, when a HEAD with ChecksumMode=ENABLED returned them. */
  checksums?: Partial<Record<ChecksumAlgorithm, string | undefined>>;
  /** FULL_OBJECT or COMPOSITE (S3's x-amz-checksum-type); CRC64NVME is always FULL_OBJECT. */
  checksumType?: string | undefined;
}

export type IdentityVerdict =
  | { same: true; proof: 'etag' | 'checksum' }
  | { same: false; reason: 'size' | 'checksum' | 'unproven' };

/** The ETag without quotes or a weak-validator prefix. */
export function normalizeEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/"/g, '');
}

function isFullObject(algorithm: ChecksumAlgorithm, facts: ContentFacts): boolean {
  return algorithm === 'CRC64NVME' || facts.checksumType === 'FULL_OBJECT';
}

/**
 * Decides whether `target` holds the same content as `source` (see the module comment).
 * @returns same with its proof, or not the same with the reason ('unproven': copy to be sure)
 */
export function compareContent(source: ContentFacts, target: ContentFacts): IdentityVerdict {
  if (source.size === undefined || target.size === undefined || source.size !== target.size) {
    return { same: false, reason: 'size' };
  }
  // The common case, as listed (both quoted the same way): no normalising needed.
  if (source.etag && source.etag === target.etag) return { same: true, proof: 'etag' };
  const sourceEtag = normalizeEtag(source.etag);
  if (sourceEtag !== '' && sourceEtag === normalizeEtag(target.etag)) return { same: true, proof: 'etag' };
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const a = source.checksums?.[algorithm];
    const b = target.checksums?.[algorithm];
    if (!a || !b) continue;
    if (a === b) return { same: true, proof: 'checksum' };
    // Unequal full-object checksums prove different bytes; unequal composite ones may be a layout difference.
    if (isFullObject(algorithm, source) && isFullObject(algorithm, target)) return { same: false, reason: 'checksum' };
  }
  return { same: false, reason: 'unproven' };
}

/** True when the rule proves the target holds the source's content. */
export function sameContent(source: ContentFacts, target: ContentFacts): boolean {
  return compareContent(source, target).same;
}
