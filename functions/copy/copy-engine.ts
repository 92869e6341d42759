/**
 * The copy engine: copies one batch of objects server-side (bytes never pass through this process) into
 * the target bucket. The Lambda handler, the local runner and the tests all call `copyBatch` with their
 * own S3 clients, so the same code runs everywhere.
 *
 * Read it one piece at a time:
 * - time-budget.ts: when to stop (a safety margin before Lambda's timeout) and cutting requests in flight;
 * - retry.ts and error-kinds.ts: which errors are retried, with what backoff, and what the others mean;
 * - copy-object.ts: one object's fate (sync rule, single or multipart, a deleted source);
 * - single-copy.ts: CopyObject; multipart-copy.ts: CreateMultipartUpload, UploadPartCopy, Complete, Abort;
 * - target-lookup.ts: HEAD or list a key, as least-privilege roles can;
 * - batch-result.ts: the batch's counts and log lines.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { sameContent } from '../shared/content-identity';
import {
  CopyBatchError,
  CopyTimeBudgetError,
  errorMessage,
  failuresKeptInBatchResult,
  toBatchResultRecord,
} from '../shared/errors';
import { type CopyInput, type CopyResult, type ManifestObject, targetKeyFor } from '../shared/job';
import type { AdaptiveLimitOptions } from './adaptive-limit';
import { BatchProgress } from './batch-progress';
import { type BatchSummary, logBatch, summarizeOutcomes } from './batch-result';
import { type CopyStats, createCopyContext } from './copy-context';
import { copyObject, type Outcome } from './copy-object';
import type { IdentityRecordStore } from './identity-records';
import type { ProgressStore } from './progress-record';
import type { RetryPolicy } from './retry';
import type { TargetObject } from './target-lookup';
import type { Sleep } from './time-budget';

export { MAX_REPORTED_FAILURES } from './batch-result';
export { isTransientError } from './error-kinds';
export { ABORT_RETRY } from './multipart-copy';
export { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './retry';
export type { TargetObject } from './target-lookup';
export { DEFAULT_SAFETY_MARGIN_MS } from './time-budget';

export interface CopyEngineDeps {
  /**
   * Acts on the target bucket (CopyObject, UploadPartCopy and the multipart calls are requests to the
   * target; S3 checks the source read itself): the target role's client, or the function's own.
   */
  s3: S3Client;
  /**
   * Reads the source bucket directly (HEAD, tags, listing a key). Default: `s3`. Give it the source
   * region's client when the buckets are in different regions.
   */
  sourceS3?: S3Client;
  logger: Logger;
  /** Milliseconds left in this invocation (Lambda's context.getRemainingTimeInMillis). */
  remainingTimeMs: () => number;
  safetyMarginMs?: number;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
  /** Waits between retries; tests may make it instant. */
  sleep?: Sleep;
  /** 0 <= x < 1; the jitter's source. */
  random?: () => number;
  /** AIMD on the clients' requests in flight (adaptive-limit.ts; on by default); `false` turns it off. */
  adaptiveLimit?: AdaptiveLimitOptions | false;
  /** Called with the batch's result before copyBatch returns or throws, so callers can count what was done. */
  onSettled?: (result: CopyResult) => void;
  /** Called with what this invocation did beyond the counts (parts copied, uploads resumed, record writes). */
  onStats?: (stats: CopyStats) => void;
  /**
   * The state bucket's progress records (progress-record.ts). With it, large objects resume across
   * invocations and retried batches skip what this execution already copied; without it, a time-budget
   * stop aborts open uploads and a retry starts over.
   */
  progress?: ProgressStore;
  /** Progress is recorded at most this often while copying (default 30 s), and always when stopping. */
  recordIntervalMs?: number;
  /**
   * The state bucket, where a copy whose target ETag differs from the source's leaves an identity record
   * (identity-records.ts) for the next sync; without it none are written.
   */
  identity?: IdentityRecordStore;
}

/** The sync rule: functions/shared/content-identity.ts (size and ETag, or a checksum; never a timestamp). */
export function targetMatches(object: ManifestObject, target: TargetObject): boolean {
  return sameContent({ size: object.size, etag: object.etag }, { size: target.ContentLength, etag: target.ETag });
}

/**
 * An invocation that finished nothing (no object, no part) before the time budget: retrying it as a time
 * budget stop could loop for ever, so its objects fail (CopyBatchError, retried a few times with backoff).
 */
function noProgress(input: CopyInput, object: ManifestObject, durationMs: number): Outcome {
  const { job } = input;
  return {
    kind: 'failed',
    failure: {
      key: object.key,
      code: 'NoProgress',
      message:
        `copy s3://${job.source.bucket}/${object.key} -> s3://${job.target.bucket}/${targetKeyFor(job, object.key)}: ` +
        `the invocation ran out of time (${Math.round(durationMs / 1000)} s) before any object or part of batch ` +
        `${input.batch.id} finished; lower options.partSize or give the copy function more time`,
    },
  };
}

/**
 * A batch's result names at most MAX_REPORTED_FAILURES failures (it travels through Step Functions'
 * 256 KiB states), and a failed batch's result, carried in its error's Cause, keeps fewer when long keys
 * and messages would pass MAX_BATCH_RESULT_CHARS. When it cannot name every failure, the full list goes
 * to the state bucket (reports/<jobId>/batch-failures/) and the result names the file, so Notify can list
 * every failed key. A list that cannot be written leaves the result as it was: the rest then count as
 * unnamed.
 */
async function writeFullFailureList(input: CopyInput, deps: CopyEngineDeps, summary: BatchSummary): Promise<void> {
  const record = toBatchResultRecord(summary.result, input.batch.objects.length);
  if (failuresKeptInBatchResult(record) >= summary.failures.length || !deps.progress?.writeBatchFailures) return;
  try {
    summary.result.failuresFile = await deps.progress.writeBatchFailures(input.jobId, input.batch.id, summary.failures);
  } catch (error) {
    deps.logger.warn("Could not write the batch's full failure list; the report names only its first failures", {
      failed: summary.failures.length,
      named: summary.result.failures.length,
      error: errorMessage(error),
      fix: 'give the copy function s3:PutObject on <state bucket>/reports/*/batch-failures/*',
    });
  }
}

/** Stray uploads a batch result names (it travels in a 256 KiB payload); the logs name them all. */
const MAX_STRAY_UPLOADS_REPORTED = 20;

/**
 * Copies one batch of objects server-side into the target, with bounded concurrency.
 * Objects up to `multipartThreshold` go through CopyObject; larger ones through a multipart copy with
 * parallel UploadPartCopy pinned to the source's ETag, aborted on any failure. In sync mode objects whose
 * target already matches are skipped ('unchanged'); objects deleted since listing are skipped ('vanished').
 * A 403 on a source read or on the sync check is settled by listing the key (find-by-listing.ts), since
 * least-privilege roles get 403 rather than 404 for a missing key.
 * @throws CopyTimeBudgetError when the invocation ran short of time: no new copies were started, the
 *   requests in flight were cut (AbortSignal) and open multipart uploads were aborted.
 * @throws CopyBatchError when any object failed after retries; every other object was still attempted.
 */
export async function copyBatch(input: CopyInput, deps: CopyEngineDeps): Promise<CopyResult> {
  const { job, batch } = input;
  const now = deps.now ?? Date.now;
  const started = now();
  const ctx = createCopyContext(job, { ...deps, jobId: input.jobId });
  const objectLimit = pLimit(job.options.concurrency);

  let outcomes: Outcome[];
  try {
    const progress = await BatchProgress.open(ctx, batch);
    outcomes = await Promise.all(
      batch.objects.map((object) => objectLimit(() => copyObject(ctx, targetMatches, object, progress))),
    );
    // A retry will follow: let it skip what this invocation copied.
    if (outcomes.some((outcome) => outcome.kind === 'stopped' || outcome.kind === 'failed')) await progress?.flush();
  } finally {
    ctx.budget.dispose();
  }

  const progressed = ctx.stats.partsCopied > 0 || outcomes.some((outcome) => outcome.kind !== 'stopped');
  if (!progressed) {
    const durationMs = now() - started;
    outcomes = outcomes.map((outcome, i) => {
      const object = batch.objects[i];
      return outcome.kind === 'stopped' && object ? noProgress(input, object, durationMs) : outcome;
    });
  }
  const summary = summarizeOutcomes(batch.id, outcomes);
  // What this invocation measured travels with its result, so the next slice is planned from it.
  const rates = ctx.rates.summary();
  if (rates) summary.result.rates = rates;
  const identityRecords = ctx.identity?.summary();
  if (identityRecords) summary.result.identityRecords = identityRecords;
  if (ctx.stats.strayUploadsLeftOpen.length > 0) {
    summary.result.strayUploads = ctx.stats.strayUploadsLeftOpen.slice(0, MAX_STRAY_UPLOADS_REPORTED);
  }
  await writeFullFailureList(input, deps, summary);
  logBatch(deps.logger, summary, batch.objects.length, now() - started, ctx.stats);
  deps.onSettled?.(summary.result);
  deps.onStats?.(ctx.stats);

  if (summary.stopped > 0) {
    throw new CopyTimeBudgetError(batch.id, batch.objects.length - summary.stopped, batch.objects.length);
  }
  if (summary.failures.length > 0) {
    throw new CopyBatchError(batch.id, batch.objects.length, summary.failures);
  }
  return summary.result;
}
