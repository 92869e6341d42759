/**
 * Mirror deletes (`options.delete`, sync mode; issue 13): target objects under the target prefix that have
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
 *   failures (job.ts), so nothing is deleted when any copy failed. The guards (`maxDelete`,
 *   `maxDeletePercent`) are checked on the totals before the first delete; a dry run deletes nothing and
 *   names what it would delete; a key outside the target prefix is never deleted.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { awsErrorCode, BucketAccessError, errorMessage } from '../shared/errors';
import { type Job, JobSchema, type ManifestObject } from '../shared/job';
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
    }),
    dryRun: z.boolean(),
  }),
});
export type DeletesEvent = z.input<typeof DeletesEventSchema>;

/** True for the final step's event (the list function serves both). */
export function isDeletesEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'deletes' in event;
}

/** What the final step returns, and Notify and the CLI report. */
export interface DeletesOutput {
  kind: 'mirrorDeletes';
  /** Target-only objects found (what a run deletes). */
  toDelete: number;
  deleted: number;
  dryRun: boolean;
  /** A dry run: the first keys it would delete (at most SAMPLE_KEYS). */
  wouldDelete?: string[];
}

const SAMPLE_KEYS = 100;
const DELETE_CONCURRENCY = 16;

/** Checks --max-delete and its percentage on the totals, before anything is deleted. */
export function checkDeleteLimits(job: Job, toDelete: number, targetListed: number): void {
  const { maxDelete, maxDeletePercent } = job.options;
  const where = `s3://${job.target.bucket}/${job.target.prefix}`;
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
 * The final step: checks the limits, then deletes every recorded target-only key (a dry run only names
 * them). Deleting a key already gone succeeds on S3, so a retried step is harmless.
 * @throws MaxDeleteExceededError before any delete when a limit would be passed
 * @throws DeleteOutsidePrefixError when a record names a key outside the target prefix
 */
export async function runMirrorDeletes(params: {
  event: unknown;
  state: S3Client;
  stateBucket: string;
  target: (job: Job, jobId: string) => Promise<S3Client>;
}): Promise<DeletesOutput> {
  const { deletes } = DeletesEventSchema.parse(params.event);
  const { job, jobId, dryRun } = deletes;
  const toDelete = deletes.totals.toDelete ?? 0;
  checkDeleteLimits(job, toDelete, deletes.totals.targetListed ?? 0);
  const output: DeletesOutput = { kind: 'mirrorDeletes', toDelete, deleted: 0, dryRun };
  if (toDelete === 0) return dryRun ? { ...output, wouldDelete: [] } : output;
  const wouldDelete: string[] = [];
  const target = dryRun ? undefined : await params.target(job, jobId);
  for (let slice = 0; slice <= deletes.lastSlice; slice++) {
    const keys = await readRecord(params.state, params.stateBucket, deletesKey(jobId, slice));
    for (const key of keys) {
      if (!key.startsWith(job.target.prefix))
        throw new DeleteOutsidePrefixError(job.target.bucket, job.target.prefix, key);
    }
    if (!target) {
      wouldDelete.push(...keys.slice(0, SAMPLE_KEYS - wouldDelete.length));
      continue;
    }
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        await target.send(new DeleteObjectCommand({ Bucket: job.target.bucket, Key: key }));
        output.deleted++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }
  return dryRun ? { ...output, wouldDelete } : output;
}
