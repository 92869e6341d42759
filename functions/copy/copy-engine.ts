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
import { CopyBatchError, CopyTimeBudgetError } from '../shared/errors';
import type { CopyInput, CopyResult, ManifestObject } from '../shared/job';
import type { AdaptiveLimitOptions } from './adaptive-limit';
import { logBatch, summarizeOutcomes } from './batch-result';
import { createCopyContext } from './copy-context';
import { copyObject, type Outcome } from './copy-object';
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
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/^W\//, '').replace(/"/g, '');

/**
 * The DESIGN.md sync rule: the target matches when it has the same size and either the same ETag or a
 * Last-Modified not older than the source's (HTTP dates have whole seconds, so the source's is truncated).
 */
export function targetMatches(object: ManifestObject, target: TargetObject): boolean {
  if (target.ContentLength !== object.size) return false;
  if (object.etag !== '' && unquote(target.ETag) === unquote(object.etag)) return true;
  const sourceSeconds = Math.floor(Date.parse(object.lastModified) / 1000);
  const targetSeconds = target.LastModified ? Math.floor(target.LastModified.getTime() / 1000) : Number.NaN;
  return targetSeconds >= sourceSeconds;
}

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
  const ctx = createCopyContext(job, deps);
  const objectLimit = pLimit(job.options.concurrency);

  let outcomes: Outcome[];
  try {
    outcomes = await Promise.all(
      batch.objects.map((object) => objectLimit(() => copyObject(ctx, targetMatches, object))),
    );
  } finally {
    ctx.budget.dispose();
  }

  const summary = summarizeOutcomes(batch.id, outcomes);
  logBatch(deps.logger, summary, batch.objects.length, now() - started);
  deps.onSettled?.(summary.result);

  if (summary.stopped > 0) {
    throw new CopyTimeBudgetError(batch.id, batch.objects.length - summary.stopped, batch.objects.length);
  }
  if (summary.failures.length > 0) {
    throw new CopyBatchError(batch.id, batch.objects.length, summary.failures);
  }
  return summary.result;
}
