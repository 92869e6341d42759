/**
 * The list step's side of identity records (functions/shared/identity-record.ts): where the two listings
 * show the same size and different ETags, the record of the target key, read from a listing of the
 * records beside the target's (never a GET or HEAD per object), can still prove the target a copy of
 * this source version.
 *
 * The listing starts lazily: a slice whose pairs all match (or differ in size) never lists a record. Once
 * started it is one ascending listing of `identity/<pairId>/` (the records sort as the target keys do),
 * one page ahead, like the target's (sync-merge.ts, TargetCursor), from just after the previous source key
 * of the slice, so records of keys the slice already passed are not listed.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { identityPrefix, identityRecordKey, recordKeyFits } from '../shared/identity-record';
import { type Job, MAX_KEY_BYTES, type ManifestObject, targetKeyFor } from '../shared/job';
import { listPagesChecked } from './ordered-listing';
import { findByListing } from './s3-listing';
import { needsIdentityRecord, syncEntry, TargetCursor } from './sync-merge';

/**
 * The longest start of `key` that S3 takes as StartAfter (1,024 bytes): a cut key sorts before the whole
 * one, so listing after it only lists a few more records, never fewer.
 */
function fitStartAfter(key: string): string {
  let cut = key;
  while (Buffer.byteLength(cut, 'utf8') > MAX_KEY_BYTES) cut = Array.from(cut).slice(0, -1).join('');
  return cut;
}

/** The records of one slice, looked up in ascending target-key order. */
export class IdentityRecordLookup {
  private cursor: TargetCursor | undefined;
  /** Targets a record proved current (the listings alone could not). */
  proven = 0;

  constructor(
    private readonly state: S3Client,
    private readonly stateBucket: string,
    private readonly job: Job,
  ) {}

  /**
   * The listed ETag of the target key's record, or undefined when it has none. Calls must come in
   * ascending key order.
   * @param after a target key sorting before this one and after every key looked up before (the slice's
   *   previous source key, mapped); where the listing starts when this is the first lookup
   */
  async recordEtag(targetKey: string, after: string | undefined): Promise<string | undefined> {
    const key = identityRecordKey(this.job, targetKey);
    if (!recordKeyFits(key)) return undefined;
    if (!this.cursor) {
      const startAfter = after === undefined ? undefined : fitStartAfter(identityRecordKey(this.job, after));
      this.cursor = new TargetCursor(
        listPagesChecked(this.state, {
          bucket: this.stateBucket,
          prefix: identityPrefix(this.job),
          ...(startAfter === undefined ? {} : { startAfter }),
          role: 'state',
        }),
      );
    }
    const found = await this.cursor.find(key);
    return found.kind === 'found' ? found.object.etag : undefined;
  }

  /** Stops the records' listing (no request outlives the slice). */
  async close(): Promise<void> {
    await this.cursor?.close();
  }
}

/**
 * The sync rule for one key checked on its own (S3 event batches, manifest jobs: a listing of the key, not
 * a merge): where only a record can tell, one listing of the key's record (s3:ListBucket on identity/,
 * which the list role has; no GET). Without a state bucket, the listings alone decide.
 */
export async function syncEntryOfOneKey(
  state: { s3: S3Client; bucket: string } | undefined,
  job: Job,
  object: ManifestObject,
  target: ManifestObject,
): Promise<ManifestObject | undefined> {
  if (!state || !needsIdentityRecord(object, target)) return syncEntry(object, target);
  const key = identityRecordKey(job, targetKeyFor(job, object.key));
  if (!recordKeyFits(key)) return syncEntry(object, target);
  const record = await findByListing(state.s3, state.bucket, key, 'state');
  return syncEntry(object, target, record?.etag);
}
