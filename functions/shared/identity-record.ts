/**
 * Identity records: what lets a sync recognise a copy whose ETag can never equal its source's.
 *
 * Some copies get a target ETag that is not the source's although the bytes are the same: an SSE-KMS
 * target (its ETag is unique to each write), a single-part source above the multipart threshold (copied in
 * parts, so the target's ETag is a `-N` one), a multipart layout S3 cannot replay. The listings alone then
 * cannot prove the target current, and every sync would copy the object again.
 *
 * So after such a copy the copy step writes a small record into the state bucket:
 *
 * ```
 * s3://<state-bucket>/identity/<pairId>/<target key relative to the target prefix>
 *   body: {"version":1,"size":N,"sourceEtag":"S","targetEtag":"T"}
 * ```
 *
 * The state bucket is SSE-S3, so the record's ETag, which ListObjectsV2 returns, is the MD5 of that body.
 * A sync therefore never reads a record: it computes the MD5 of the body the listed source and target
 * would have, and compares it with the listed record's ETag. Equal means "the target write with ETag T is
 * a copy of the source write with ETag S, of N bytes". Both ETags pin one write each (an SSE-KMS ETag is
 * unique per write; a plain one is a digest of the bytes), so a record can never prove a changed source or
 * an overwritten target current: it would need an MD5 collision.
 *
 * Records sort exactly as the target keys do (same relative part under one prefix), so the list step reads
 * the records of a slice's key range in one ascending listing beside the target's.
 */
import { createHash } from 'node:crypto';
import { normalizeEtag } from './content-identity';
import { type Job, MAX_KEY_BYTES } from './job';

/** The state bucket prefix every identity record lives under (what the roles are granted). */
export const IDENTITY_PREFIX = 'identity/';

/**
 * One (source bucket, source prefix, target bucket, target prefix) pair: a short hash, so a record of one
 * job's mapping is never read by a job with another mapping of the same keys.
 */
export function pairId(job: Pick<Job, 'source' | 'target'>): string {
  const pair = JSON.stringify([job.source.bucket, job.source.prefix, job.target.bucket, job.target.prefix]);
  return createHash('sha256').update(pair, 'utf8').digest('hex').slice(0, 16);
}

/** `identity/<pairId>/`: the records of one pair. */
export function identityPrefix(job: Pick<Job, 'source' | 'target'>): string {
  return `${IDENTITY_PREFIX}${pairId(job)}/`;
}

/** The record of one target key (a key under the job's target prefix). */
export function identityRecordKey(job: Pick<Job, 'source' | 'target'>, targetKey: string): string {
  return identityPrefix(job) + targetKey.slice(job.target.prefix.length);
}

/**
 * Whether S3 can store a record under this key (1,024 bytes of UTF-8). A target key near that limit has
 * a record key past it: no record is written, and such an object is copied again by each sync.
 */
export function recordKeyFits(recordKey: string): boolean {
  return Buffer.byteLength(recordKey, 'utf8') <= MAX_KEY_BYTES;
}

/** What a record states: a target write (its ETag) holds the bytes of a source write (its ETag). */
export interface IdentityFacts {
  size: number;
  sourceEtag: string;
  targetEtag: string;
}

/** The record's body: one fixed field order and normalised ETags, so the same facts give the same bytes. */
export function identityRecordBody(facts: IdentityFacts): string {
  return JSON.stringify({
    version: 1,
    size: facts.size,
    sourceEtag: normalizeEtag(facts.sourceEtag),
    targetEtag: normalizeEtag(facts.targetEtag),
  });
}

/** The ETag an SSE-S3 (or unencrypted) bucket gives the record of these facts: the MD5 of its body. */
export function identityRecordEtag(facts: IdentityFacts): string {
  return createHash('md5').update(identityRecordBody(facts), 'utf8').digest('hex');
}

/** True when a record listed (or HEADed) with this ETag states exactly these facts. */
export function recordProves(facts: IdentityFacts, recordEtag: string | undefined): boolean {
  if (normalizeEtag(facts.sourceEtag) === '' || normalizeEtag(facts.targetEtag) === '') return false;
  return normalizeEtag(recordEtag) === identityRecordEtag(facts);
}
