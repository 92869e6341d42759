/**
 * Mirror deletes (`options.delete`, sync mode): target objects under the target prefix that have
 * no source object, as `aws s3 sync --delete` and `rclone sync` remove them.
 *
 * - Found without extra listing: the sync merge (sync-merge.ts) already walks the target listing beside
 *   the source's; a target key it passes over with no source key is target-only. Keys the job's filter
 *   excludes (mapped onto the source prefix) are never candidates, and every source key is looked up in
 *   delete mode, so a target object whose source exists but is filtered out is kept.
 * - Recorded per slice in the state bucket (`manifests/<jobId>/deletes-<slice>.json`), counted in the
 *   List totals (`toDelete`, and `targetListed` for the percentage guard).
 * - Deleted by a final step (the list function with a `{ deletes }` event, after the last slice's copies):
 *   the state machine reaches it only when every batch succeeded, and a job with deletes cannot tolerate
 *   failures (job.ts), so nothing is deleted when any copy failed. The guards are checked on the totals
 *   before the first delete; a key outside the target prefix is never deleted.
 * - Each delete acts only on proof: a HEAD of the mapped source key answering 404 just before it
 *   (delete-proof.ts). A listing saying "no source" is only what makes a key a candidate.
 * - A dry run HEADs too (reads only) and names the keys it would delete.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';
import { awsErrorCode, BucketAccessError, errorMessage } from '../shared/errors';
import { identityRecordKey, recordKeyFits } from '../shared/identity-record';
import { type Job, JobSchema, type ManifestObject } from '../shared/job';
import { type DeleteLedger, emptyLedger, settleCandidate, unsettledCause } from './delete-proof';
import type { ObjectFilter } from './object-filter';

/** Target-only keys of one slice: `manifests/<jobId>/deletes-<n>.json` (the list role writes manifests/). */
export function deletesKey(jobId: string, slice: number): string {
  return `manifests/${jobId}/deletes-${slice}.json`;
}

/**
 * Decides whether a target object the merge passed over is a delete candidate: under the target prefix
 * (always, as listed), and selected by the job's filter once mapped onto the source prefix.
 */
export function isDeleteCandidate(job: Job, filter: ObjectFilter, target: ManifestObject): boolean {
  if (!target.key.startsWith(job.target.prefix)) return false;
  const sourceKey = job.source.prefix + target.key.slice(job.target.prefix.length);
  return filter({ ...target, key: sourceKey });
}

/**
 * Writes a slice's target-only keys.
 * @throws BucketAccessError when the state bucket refuses the write
 */
export async function recordDeletes(
  state: S3Client,
  bucket: string,
  jobId: string,
  slice: number,
  keys: readonly string[],
): Promise<void> {
  const key = deletesKey(jobId, slice);
  try {
    await state.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(keys), ContentType: 'application/json' }),
    );
  } catch (error) {
    const code = awsErrorCode(error);
    if (code !== 'NoSuchBucket' && code !== 'AccessDenied') throw error;
    throw new BucketAccessError(bucket, 'state', code, `writing ${key} failed: ${errorMessage(error)}`);
  }
}

/** Raised before any delete when the run would delete more than --max-delete allows. */
export class MaxDeleteExceededError extends Error {
  constructor(detail: string) {
    super(
      `${detail}: nothing was deleted (the copies are done). Check the source and target prefixes, then raise the limit or run without --delete`,
    );
    this.name = 'MaxDeleteExceededError';
  }
}

/**
 * Raised before any delete when the source listing is empty or much smaller than the target: far more
 * often a wrong --source (a typo, the wrong bucket) than a real change. Bad input: the CLI exits 2.
 */
export class SourceListingTooSmallError extends Error {
  constructor(detail: string) {
    super(
      `${detail}. Nothing was deleted. Check --source; if it is right and the target should lose these objects, add --allow-empty-source (options.allowEmptySource)`,
    );
    this.name = 'SourceListingTooSmallError';
  }
}

/** Raised when a recorded key lies outside the target prefix (never deleted). */
export class DeleteOutsidePrefixError extends Error {
  constructor(bucket: string, prefix: string, key: string) {
    super(
      `refusing to delete s3://${bucket}/${key}: it is outside the target prefix "${prefix}"; the deletes record of this job is not what the merge wrote`,
    );
    this.name = 'DeleteOutsidePrefixError';
  }
}

/** The final step's event (statemachine/copy.asl.json, MirrorDeletes). */
export const DeletesEventSchema = z.object({
  deletes: z.object({
    jobId: z.string().min(1),
    job: JobSchema,
    /** The last slice's number: records are read for slices 0..lastSlice. */
    lastSlice: z.number().int().nonnegative(),
    totals: z.object({
      toDelete: z.number().int().nonnegative().optional(),
      targetListed: z.number().int().nonnegative().optional(),
      selected: z.number().int().nonnegative().optional(),
    }),
    dryRun: z.boolean(),
  }),
});
export type DeletesEvent = z.input<typeof DeletesEventSchema>;

/** True for the final step's event (the list function serves both). */
export function isDeletesEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'deletes' in event;
}

/** What the final step returns, and Notify and the CLI report: the delete ledger (delete-proof.ts). */
export interface DeletesOutput extends DeleteLedger {
  kind: 'mirrorDeletes';
  /** Identity records of deleted keys that could not be deleted (harmless; absent when none). */
  identityRecordsKept?: number;
  dryRun: boolean;
  /** A dry run: the first keys it would delete (proven absent at the source; at most SAMPLE_KEYS). */
  wouldDelete?: string[];
  /**
   * Present when not every candidate was settled (failed, refused or not attempted): the state machine
   * fails the execution with it after Notify has the ledger (ASL: DeletesSettled).
   */
  error?: { Error: 'MirrorDeleteError'; Cause: string };
}

const SAMPLE_KEYS = 100;
const DELETE_CONCURRENCY = 16;
/** After this many failures the rest is not attempted: a denied DeleteObject fails every key alike. */
export const MAX_DELETE_FAILURES = 100;

/** Checks the guards on the totals, before anything is deleted. */
export function checkDeleteLimits(
  job: Job,
  totals: { toDelete: number; targetListed: number; selected?: number },
): void {
  const { toDelete, targetListed } = totals;
  const { maxDelete, maxDeletePercent, allowEmptySource } = job.options;
  const where = `s3://${job.target.bucket}/${job.target.prefix}`;
  const source = `s3://${job.source.bucket}/${job.source.prefix}`;
  if (!allowEmptySource && toDelete > 0 && totals.selected === 0) {
    throw new SourceListingTooSmallError(
      `--delete: the source ${source} listed no object (after filters) while ${toDelete} target objects under ${where} have none`,
    );
  }
  const explicitLimit = maxDelete !== undefined || maxDeletePercent !== undefined;
  // Without a limit of the user's, a run stops when it would delete more target objects than the source
  // listed: the mirror would lose over half of what it holds after the run, which is far more often a wrong
  // source or a listing cut short than a real change (`rclone bisync` stops at 50% too). Measured against
  // what the source listed, not what the target held before, so a first mirror into a prefix holding a few
  // stale objects is not refused.
  const selected = totals.selected ?? 0;
  if (!allowEmptySource && !explicitLimit && toDelete > selected) {
    throw new SourceListingTooSmallError(
      `--delete would delete ${toDelete} objects under ${where}, more than the ${selected} objects the source ${source} listed (of the ${targetListed} target objects walked): set --max-delete to choose a limit`,
    );
  }
  if (maxDelete !== undefined && toDelete > maxDelete) {
    throw new MaxDeleteExceededError(
      `--delete would delete ${toDelete} objects under ${where}, more than --max-delete ${maxDelete} (options.maxDelete)`,
    );
  }
  if (maxDeletePercent !== undefined && targetListed > 0 && (toDelete * 100) / targetListed > maxDeletePercent) {
    const percent = ((toDelete * 100) / targetListed).toFixed(1);
    throw new MaxDeleteExceededError(
      `--delete would delete ${toDelete} of the ${targetListed} objects under ${where} (${percent}%), more than --max-delete ${maxDeletePercent}% (options.maxDeletePercent)`,
    );
  }
}

async function readRecord(state: S3Client, bucket: string, key: string): Promise<string[]> {
  try {
    const response = await state.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await (response.Body as { transformToString(): Promise<string> }).transformToString();
    return z.array(z.string()).parse(JSON.parse(text));
  } catch (error) {
    // A slice with no target-only key writes no record.
    if (awsErrorCode(error) === 'NoSuchKey') return [];
    throw error;
  }
}

/**
 * A HEAD answers 404 for a missing key and for a missing bucket alike: before trusting any 404, the
 * source bucket must answer a listing of the prefix (which the list role may make).
 */
async function assertSourceReadable(source: S3Client, job: Job): Promise<void> {
  await source.send(
    new ListObjectsV2Command({
      Bucket: job.source.bucket,
      Prefix: job.source.prefix,
      MaxKeys: 1,
      ...(job.options.requestPayer ? { RequestPayer: 'requester' } : {}),
    }),
  );
}

/**
 * Deletes the identity record of a target key the mirror deleted (shared/identity-record.ts; DELETE is
 * free). A record left behind could prove nothing (it names a target write that no longer exists); it
 * would only take space, so a failure is counted (`identityRecordsKept`), never the key's.
 */
async function deleteIdentityRecord(
  params: MirrorDeletesParams,
  job: Job,
  targetKey: string,
  ledger: DeleteLedger & { identityRecordsKept?: number },
): Promise<void> {
  const key = identityRecordKey(job, targetKey);
  if (!recordKeyFits(key)) return;
  try {
    await params.state.send(new DeleteObjectCommand({ Bucket: params.stateBucket, Key: key }));
  } catch {
    ledger.identityRecordsKept = (ledger.identityRecordsKept ?? 0) + 1;
  }
}

export interface MirrorDeletesParams {
  event: unknown;
  state: S3Client;
  stateBucket: string;
  /** Reads the source (the list function's own role, which lists it: a missing key answers 404). */
  source: (job: Job) => Promise<S3Client>;
  /** Deletes on the target (the target role; the list role in a same-account deployment). */
  target: (job: Job, jobId: string) => Promise<S3Client>;
  /** The Lambda's remaining time: the step stops starting deletes under `marginMs` (the rest: not attempted). */
  timeLeftMs?: () => number;
  marginMs?: number;
}

/**
 * The final step: checks the guards, then settles every recorded candidate (delete-proof.ts: HEAD the
 * source, delete only on 404). Per-key failures do not throw: they are counted, and `error` is set so the
 * state machine fails the execution after Notify reports the ledger. A dry run only HEADs and names.
 * Deleting a key already gone succeeds on S3, so a retried step is harmless.
 * @throws MaxDeleteExceededError / SourceListingTooSmallError before any delete when a guard trips
 * @throws DeleteOutsidePrefixError when a record names a key outside the target prefix
 */
export async function runMirrorDeletes(params: MirrorDeletesParams): Promise<DeletesOutput> {
  const { deletes } = DeletesEventSchema.parse(params.event);
  const { job, jobId, dryRun } = deletes;
  const toDelete = deletes.totals.toDelete ?? 0;
  checkDeleteLimits(job, {
    toDelete,
    targetListed: deletes.totals.targetListed ?? 0,
    selected: deletes.totals.selected,
  });
  const ledger = emptyLedger(toDelete);
  const wouldDelete: string[] = [];
  const finish = (): DeletesOutput => {
    const cause = unsettledCause(ledger, `s3://${job.target.bucket}/${job.target.prefix}`);
    // Keys settle in any order (16 at a time): name them sorted, so a report reads the same every run.
    ledger.failures.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    ledger.refusedKeys.sort();
    return {
      kind: 'mirrorDeletes',
      dryRun,
      ...ledger,
      ...(dryRun ? { wouldDelete: wouldDelete.sort() } : {}),
      ...(cause ? { error: { Error: 'MirrorDeleteError', Cause: cause } } : {}),
    };
  };
  if (toDelete === 0) return finish();
  const source = await params.source(job);
  await assertSourceReadable(source, job);
  const clients = { source, target: dryRun ? undefined : await params.target(job, jobId) };
  const margin = params.marginMs ?? 60_000;
  const stopped = () =>
    ledger.failed >= MAX_DELETE_FAILURES || (params.timeLeftMs !== undefined && params.timeLeftMs() < margin);
  let settled = 0;
  for (let slice = 0; slice <= deletes.lastSlice; slice++) {
    const keys = await readRecord(params.state, params.stateBucket, deletesKey(jobId, slice));
    for (const key of keys) {
      if (!key.startsWith(job.target.prefix))
        throw new DeleteOutsidePrefixError(job.target.bucket, job.target.prefix, key);
    }
    let next = 0;
    const worker = async () => {
      while (next < keys.length && !stopped()) {
        const key = keys[next++] as string;
        const { proven, deleted } = await settleCandidate(clients, job, key, ledger);
        settled++;
        // The record describes the target object: it goes only once that object is gone.
        if (deleted) await deleteIdentityRecord(params, job, key, ledger);
        if (proven && dryRun && wouldDelete.length < SAMPLE_KEYS) wouldDelete.push(key);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }
  ledger.notAttempted = Math.max(0, toDelete - settled);
  return finish();
}
