/**
 * Archived source objects (S3 Glacier Flexible Retrieval and Deep Archive): CopyObject on one fails with
 * InvalidObjectState until a restore has made a readable copy. The listing shows each object's storage
 * class, so the list step settles archived objects before they reach a batch:
 * - without `options.restore`: skipped with the reason `archived` (no request is made);
 * - with `options.restore` ({ tier, days }): HEAD tells whether a restore has finished
 *   (`x-amz-restore: ongoing-request="false"`: the object is copied), is running (skipped, `restoring`),
 *   or was never asked for (RestoreObject starts it: skipped, `restoring`). A later run (sync, or the
 *   schedule) with the same option copies the restored objects.
 * Intelligent-Tiering objects in its archive tiers list as INTELLIGENT_TIERING: the copy worker meets
 * their InvalidObjectState and skips them as `archived` (functions/copy/copy-object.ts).
 */
import {
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { awsErrorCode, BucketAccessError, errorMessage, httpStatusOf } from '../shared/errors';
import type { Job, ManifestObject, RestoreTier } from '../shared/job';
import { mapLimited } from '../shared/map-limited';
import { sourcePayer } from '../shared/request-payer';

/** Storage classes whose objects must be restored before they can be copied. */
export const ARCHIVED_STORAGE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** True when the listing says the object is archived (its storage class needs a restore). */
export function isArchived(object: Pick<ManifestObject, 'storageClass'>): boolean {
  return object.storageClass !== undefined && ARCHIVED_STORAGE_CLASSES.has(object.storageClass);
}

/** What HEAD's `x-amz-restore` header says. */
export type RestoreState = 'none' | 'ongoing' | 'restored';

/**
 * Reads `x-amz-restore` (`ongoing-request="true"`, or `ongoing-request="false", expiry-date="..."`).
 * Absent: no restore was requested (or the restored copy expired).
 */
export function parseRestoreHeader(value: string | undefined): RestoreState {
  if (value === undefined || value === '') return 'none';
  const match = /ongoing-request\s*=\s*"(true|false)"/i.exec(value);
  if (!match) return 'none';
  return match[1]?.toLowerCase() === 'true' ? 'ongoing' : 'restored';
}

/** An archived object's fate in this run. */
export type ArchivedOutcome = 'copy' | 'archived' | 'restoring';

/** One archived object named in the slice's archive report. */
export interface ArchivedEntry {
  key: string;
  storageClass: string;
  outcome: Exclude<ArchivedOutcome, 'copy'>;
  /** Why a requested restore was not started (e.g. Expedited for DEEP_ARCHIVE). */
  note?: string;
}

/** Raised when RestoreObject or HEAD on an archived object fails for a reason the run cannot settle. */
export class RestoreRequestError extends Error {
  constructor(bucket: string, key: string, code: string, detail: string) {
    super(
      `restoring archived object s3://${bucket}/${key} failed (${code}): ${detail}. The list function's role needs s3:GetObject and s3:RestoreObject on the source prefix (deployment config "allowRestore": true); or run without options.restore to skip archived objects`,
    );
    this.name = 'RestoreRequestError';
  }
}

/**
 * Decides what happens to one archived object (see the module comment).
 * @throws RestoreRequestError when HEAD or RestoreObject is refused or fails
 */
export async function settleArchived(
  s3: S3Client,
  job: Job,
  object: ManifestObject,
): Promise<{ outcome: ArchivedOutcome; note?: string }> {
  const restore = job.options.restore;
  if (!restore) return { outcome: 'archived' };
  const bucket = job.source.bucket;
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(
      new HeadObjectCommand({
        Bucket: bucket,
        Key: object.key,
        ...(object.versionId ? { VersionId: object.versionId } : {}),
        ...sourcePayer(job),
      }),
    );
  } catch (error) {
    // Deleted since it was listed: the copy worker reports it as vanished.
    if (httpStatusOf(error) === 404) return { outcome: 'copy' };
    if (isRetryable(error)) throw error;
    throw new RestoreRequestError(bucket, object.key, awsErrorCode(error), `HeadObject: ${errorMessage(error)}`);
  }
  const state = parseRestoreHeader(head.Restore);
  if (state === 'restored') return { outcome: 'copy' };
  if (state === 'ongoing') return { outcome: 'restoring' };
  if (restore.tier === 'Expedited' && object.storageClass === 'DEEP_ARCHIVE') {
    return {
      outcome: 'archived',
      note: 'S3 offers no Expedited retrieval for DEEP_ARCHIVE: use --restore Standard or Bulk',
    };
  }
  await requestRestore(s3, bucket, object, restore.tier, restore.days, sourcePayer(job));
  return { outcome: 'restoring' };
}

/** Throttling and server errors: the list step's Retry handles them, so they pass through unchanged. */
function isRetryable(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === undefined || status === 429 || status >= 500;
}

async function requestRestore(
  s3: S3Client,
  bucket: string,
  object: ManifestObject,
  tier: RestoreTier,
  days: number,
  payer: { RequestPayer?: 'requester' },
) {
  const key = object.key;
  try {
    await s3.send(
      new RestoreObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(object.versionId ? { VersionId: object.versionId } : {}),
        ...payer,
        RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } },
      }),
    );
  } catch (error) {
    // Another run (or person) asked first: the restore is under way all the same.
    if (awsErrorCode(error) === 'RestoreAlreadyInProgress') return;
    if (isRetryable(error)) throw error;
    throw new RestoreRequestError(bucket, key, awsErrorCode(error), `RestoreObject: ${errorMessage(error)}`);
  }
}

/** Archived objects a slice skipped: `manifests/<jobId>/archived-<n>.jsonl` (the list role writes manifests/). */
export function archiveReportKey(jobId: string, slice: number): string {
  return `manifests/${jobId}/archived-${slice}.jsonl`;
}

/** Where a job's archive reports are (the prefix the notification names). */
export function archiveReportPrefix(jobId: string): string {
  return `manifests/${jobId}/archived-`;
}

/**
 * Writes the slice's archived and restoring keys, one JSON object a line, so the report can name them
 * however many there are.
 * @throws BucketAccessError when the state bucket refuses the write
 */
export async function writeArchiveReport(
  state: S3Client,
  bucket: string,
  key: string,
  entries: readonly ArchivedEntry[],
): Promise<void> {
  try {
    await state.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${entries.map((entry) => JSON.stringify(entry)).join('\n')}\n`,
        ContentType: 'application/x-ndjson',
      }),
    );
  } catch (error) {
    const code = awsErrorCode(error);
    if (code !== 'NoSuchBucket' && code !== 'AccessDenied') throw error;
    throw new BucketAccessError(bucket, 'state', awsErrorCode(error), `writing ${key} failed: ${errorMessage(error)}`);
  }
}

/** Archived objects settled at once (HEAD and RestoreObject in flight), per listing page. */
const SETTLE_CONCURRENCY = 16;

/**
 * Collects a slice's archived objects and settles them a page at a time with bounded concurrency, so the
 * slice's time checks (before each page) also bound the HEAD and RestoreObject requests.
 */
export class ArchivedObjects {
  private queue: ManifestObject[] = [];
  /** The slice's archived and restoring objects, for the archive report. */
  readonly entries: ArchivedEntry[] = [];

  constructor(
    private readonly s3: S3Client,
    private readonly job: Job,
  ) {}

  /** Objects waiting to be settled (they count against the slice's cap like selected ones). */
  get pending(): number {
    return this.queue.length;
  }

  add(object: ManifestObject): void {
    this.queue.push(object);
  }

  /**
   * Settles every queued object.
   * @returns the objects to copy (restored ones); `onSkip` is called once for each skipped object
   */
  async drain(onSkip: (reason: 'archived' | 'restoring') => void): Promise<ManifestObject[]> {
    const queue = this.queue;
    this.queue = [];
    const outcomes = await mapLimited(queue, SETTLE_CONCURRENCY, (object) => settleArchived(this.s3, this.job, object));
    const toCopy: ManifestObject[] = [];
    queue.forEach((object, index) => {
      const { outcome, note } = outcomes[index] as { outcome: ArchivedOutcome; note?: string };
      if (outcome === 'copy') {
        toCopy.push(object);
        return;
      }
      onSkip(outcome);
      this.entries.push({
        key: object.key,
        storageClass: object.storageClass ?? '',
        outcome,
        ...(note ? { note } : {}),
      });
    });
    return toCopy;
  }
}
