/**
 * The copy engine: copies one batch of objects server-side (bytes never pass through this process) into
 * the target bucket. The Lambda handler, the local runner and the tests all call `copyBatch` with their
 * own S3 client, so the same code runs everywhere.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  type CopyObjectCommandInput,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { awsErrorCode, CopyBatchError, CopyTimeBudgetError, errorMessage, httpStatusOf } from '../shared/errors';
import {
  type CopyFailure,
  type CopyInput,
  type CopyResult,
  type Job,
  type ManifestObject,
  type SkipReason,
  targetKeyFor,
} from '../shared/job';
import { encodeCopySource } from './copy-source';
import { planParts } from './part-plan';

/** How whole S3 operations are retried on transient errors (on top of the SDK's own per-request retries). */
export interface RetryPolicy {
  /** Tries per operation, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Stop starting work when less than this is left: enough for in-flight copies (at most one part or a
 * CopyObject up to the multipart threshold, seconds each) to finish and open uploads to be aborted.
 */
export const DEFAULT_SAFETY_MARGIN_MS = 30_000;

/** At most this many failures are logged one per line and returned in the result; counts stay exact. */
export const MAX_REPORTED_FAILURES = 100;

export interface CopyEngineDeps {
  /** Acts on both buckets: the target role's client, or the function's own for same-account copies. */
  s3: S3Client;
  logger: Logger;
  /** Milliseconds left in this invocation (Lambda's context.getRemainingTimeInMillis). */
  remainingTimeMs: () => number;
  safetyMarginMs?: number;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
  /** Waits between retries; tests may make it instant. */
  sleep?: (ms: number) => Promise<void>;
  /** 0 <= x < 1; the jitter's source. */
  random?: () => number;
  /** Called with the batch's result before copyBatch returns or throws, so callers can count what was done. */
  onSettled?: (result: CopyResult) => void;
}

/** Thrown inside the engine when the time budget runs out; turns into CopyTimeBudgetError for the batch. */
class OutOfTime extends Error {
  constructor() {
    super('time budget exhausted');
    this.name = 'OutOfTime';
  }
}

type Outcome =
  | { kind: 'copied'; bytes: number }
  | { kind: 'skipped'; reason: SkipReason }
  | { kind: 'failed'; failure: CopyFailure }
  | { kind: 'stopped' };

const TRANSIENT_CODES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'KMS.ThrottlingException',
  'TimeoutError',
  'NetworkingError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** True for errors worth retrying: throttling, server errors, timeouts and dropped connections. */
export function isTransientError(error: unknown): boolean {
  if (TRANSIENT_CODES.has(awsErrorCode(error))) return true;
  const status = httpStatusOf(error);
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  const retryable = (error as { $retryable?: unknown } | undefined)?.$retryable;
  return Boolean(retryable);
}

/** True when the source object is gone (deleted since it was listed): NoSuchKey, or a bare 404 on HEAD. */
function isVanished(error: unknown): boolean {
  const code = awsErrorCode(error);
  return code === 'NoSuchKey' || (httpStatusOf(error) === 404 && (code === 'NotFound' || code === 'UnknownError'));
}

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in 0..min(max, base * 2^n). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/^W\//, '').replace(/"/g, '');

/**
 * The DESIGN.md sync rule: the target matches when it has the same size and either the same ETag or a
 * Last-Modified not older than the source's (HTTP dates have whole seconds, so the source's is truncated).
 */
export function targetMatches(object: ManifestObject, target: HeadObjectCommandOutput): boolean {
  if (target.ContentLength !== object.size) return false;
  if (object.etag !== '' && unquote(target.ETag) === unquote(object.etag)) return true;
  const sourceSeconds = Math.floor(Date.parse(object.lastModified) / 1000);
  const targetSeconds = target.LastModified ? Math.floor(target.LastModified.getTime() / 1000) : Number.NaN;
  return targetSeconds >= sourceSeconds;
}

/** The ETag as a quoted entity tag, as the If-Match headers compare it. */
const quoted = (etag: string) => (etag.startsWith('"') ? etag : `"${etag}"`);

/** Tags as the x-amz-tagging header wants them: URL query encoding. */
function encodeTagging(tags: ReadonlyArray<{ Key?: string; Value?: string }>): string | undefined {
  if (tags.length === 0) return undefined;
  return tags.map((tag) => `${encodeURIComponent(tag.Key ?? '')}=${encodeURIComponent(tag.Value ?? '')}`).join('&');
}

/** Storage class, SSE-KMS key and ACL: applied to every copy, single-request or multipart. */
function targetOptions(job: Job) {
  const { storageClass, kmsKeyId, acl } = job.options;
  return {
    ...(storageClass ? { StorageClass: storageClass } : {}),
    ...(kmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyId } : {}),
    ...(acl ? { ACL: acl } : {}),
  };
}

/**
 * Copies one batch of objects server-side into the target, with bounded concurrency.
 * Objects up to `multipartThreshold` go through CopyObject; larger ones through a multipart copy with
 * parallel UploadPartCopy pinned to the listed ETag, aborted on any failure. In sync mode objects whose
 * target already matches are skipped ('unchanged'); objects deleted since listing are skipped ('vanished').
 * @throws CopyTimeBudgetError when the invocation ran short of time (no new copies were started and open
 *   multipart uploads were aborted).
 * @throws CopyBatchError when any object failed after retries; every other object was still attempted.
 */
export async function copyBatch(input: CopyInput, deps: CopyEngineDeps): Promise<CopyResult> {
  const { job, batch } = input;
  const { s3, logger } = deps;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...deps.retry };
  const margin = deps.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  const concurrency = job.options.concurrency;
  const objectLimit = pLimit(concurrency);
  // Parts get their own limiter: a multipart object holds an object slot while its parts run, and sharing
  // one limiter would let 32 large objects starve their own parts.
  const partLimit = pLimit(concurrency);

  let outOfTime = false;
  const budgetExhausted = () => {
    if (!outOfTime && deps.remainingTimeMs() < margin) outOfTime = true;
    return outOfTime;
  };

  async function withRetry<T>(operation: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (!isTransientError(error) || attempt >= policy.attempts) throw error;
        const delay = backoffDelay(attempt, policy, random);
        // Sleeping past the margin would leave no time to clean up: stop like the budget check does.
        if (deps.remainingTimeMs() - delay < margin) {
          outOfTime = true;
          throw new OutOfTime();
        }
        await sleep(delay);
      }
    }
  }

  const sourceBucket = job.source.bucket;
  const targetBucket = job.target.bucket;

  async function targetAlreadyMatches(object: ManifestObject, targetKey: string): Promise<boolean> {
    try {
      const head = await withRetry(() => s3.send(new HeadObjectCommand({ Bucket: targetBucket, Key: targetKey })));
      return targetMatches(object, head);
    } catch (error) {
      if (httpStatusOf(error) === 404) return false;
      if (httpStatusOf(error) === 403) {
        throw Object.assign(
          new Error(
            `HeadObject on s3://${targetBucket}/${targetKey} was denied (403): sync mode needs s3:GetObject and ` +
              `s3:ListBucket on the target bucket (without ListBucket S3 answers 403 instead of 404 for a missing key)`,
          ),
          { name: 'AccessDenied' },
        );
      }
      throw error;
    }
  }

  async function copySmall(object: ManifestObject, targetKey: string): Promise<number> {
    const request: CopyObjectCommandInput = {
      Bucket: targetBucket,
      Key: targetKey,
      CopySource: encodeCopySource(sourceBucket, object.key),
      MetadataDirective: 'COPY',
      // REPLACE with no tags gives the copy none; COPY carries the source's tags over.
      TaggingDirective: job.options.tags === 'copy' ? 'COPY' : 'REPLACE',
      ...targetOptions(job),
    };
    await withRetry(() => s3.send(new CopyObjectCommand(request)));
    return object.size;
  }

  async function copyMultipart(object: ManifestObject, targetKey: string): Promise<number> {
    const pinned = object.etag !== '' ? quoted(object.etag) : undefined;
    const head = await withRetry(() =>
      s3.send(new HeadObjectCommand({ Bucket: sourceBucket, Key: object.key, ...(pinned ? { IfMatch: pinned } : {}) })),
    );
    const size = head.ContentLength ?? object.size;
    let tagging: string | undefined;
    if (job.options.tags === 'copy') {
      const tags = await withRetry(() =>
        s3.send(new GetObjectTaggingCommand({ Bucket: sourceBucket, Key: object.key })),
      );
      tagging = encodeTagging(tags.TagSet ?? []);
    }
    if (budgetExhausted()) throw new OutOfTime();
    const created = await withRetry(() =>
      s3.send(
        new CreateMultipartUploadCommand({
          Bucket: targetBucket,
          Key: targetKey,
          ...(head.ContentType ? { ContentType: head.ContentType } : {}),
          ...(head.CacheControl ? { CacheControl: head.CacheControl } : {}),
          ...(head.ContentDisposition ? { ContentDisposition: head.ContentDisposition } : {}),
          ...(head.ContentEncoding ? { ContentEncoding: head.ContentEncoding } : {}),
          ...(head.ContentLanguage ? { ContentLanguage: head.ContentLanguage } : {}),
          ...(head.Expires && !Number.isNaN(head.Expires.getTime()) ? { Expires: head.Expires } : {}),
          ...(head.Metadata && Object.keys(head.Metadata).length > 0 ? { Metadata: head.Metadata } : {}),
          ...(tagging ? { Tagging: tagging } : {}),
          ...targetOptions(job),
        }),
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`CreateMultipartUpload for s3://${targetBucket}/${targetKey} returned no UploadId`);
    try {
      let firstError: unknown;
      const copySource = encodeCopySource(sourceBucket, object.key);
      const settled = await Promise.allSettled(
        planParts(size, job.options.partSize).map((part) =>
          partLimit(async () => {
            // After one part failed (or time ran out) start no more: the upload is going to be aborted.
            if (firstError !== undefined) throw firstError;
            if (budgetExhausted()) throw new OutOfTime();
            try {
              const response = await withRetry(() =>
                s3.send(
                  new UploadPartCopyCommand({
                    Bucket: targetBucket,
                    Key: targetKey,
                    UploadId: uploadId,
                    PartNumber: part.partNumber,
                    CopySource: copySource,
                    CopySourceRange: `bytes=${part.start}-${part.end}`,
                    // A source overwritten mid-copy fails here instead of mixing two versions' bytes.
                    ...(pinned ? { CopySourceIfMatch: pinned } : {}),
                  }),
                ),
              );
              const etag = response.CopyPartResult?.ETag;
              if (!etag) throw new Error(`UploadPartCopy part ${part.partNumber} returned no ETag`);
              return { PartNumber: part.partNumber, ETag: etag };
            } catch (error) {
              firstError ??= error;
              throw error;
            }
          }),
        ),
      );
      const rejected = settled.find((result) => result.status === 'rejected');
      if (rejected) throw firstError ?? rejected.reason;
      const parts = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      await withRetry(() =>
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: targetBucket,
            Key: targetKey,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
      return size;
    } catch (error) {
      await abortUpload(targetKey, uploadId);
      throw error;
    }
  }

  /** Aborts an upload so no parts stay billed; a failure to abort is logged (with the id) but never hides the cause. */
  async function abortUpload(targetKey: string, uploadId: string): Promise<void> {
    try {
      await withRetry(() =>
        s3.send(new AbortMultipartUploadCommand({ Bucket: targetBucket, Key: targetKey, UploadId: uploadId })),
      );
    } catch (error) {
      logger.error('Could not abort a multipart upload; its parts stay billed until aborted', {
        bucket: targetBucket,
        key: targetKey,
        uploadId,
        code: awsErrorCode(error),
        error: errorMessage(error),
        fix: 'abort it with `aws s3api abort-multipart-upload`, or add an AbortIncompleteMultipartUpload lifecycle rule',
      });
    }
  }

  async function copyOne(object: ManifestObject): Promise<Outcome> {
    if (budgetExhausted()) return { kind: 'stopped' };
    const targetKey = targetKeyFor(job, object.key);
    try {
      if (job.options.mode === 'sync' && (await targetAlreadyMatches(object, targetKey))) {
        return { kind: 'skipped', reason: 'unchanged' };
      }
      const bytes =
        object.size <= job.options.multipartThreshold
          ? await copySmall(object, targetKey)
          : await copyMultipart(object, targetKey);
      return { kind: 'copied', bytes };
    } catch (error) {
      if (error instanceof OutOfTime) return { kind: 'stopped' };
      if (isVanished(error)) return { kind: 'skipped', reason: 'vanished' };
      return { kind: 'failed', failure: describeFailure(object, targetKey, error) };
    }
  }

  function describeFailure(object: ManifestObject, targetKey: string, error: unknown): CopyFailure {
    const code = awsErrorCode(error);
    const hint =
      code === 'PreconditionFailed'
        ? ' (the source changed since it was listed; the next run copies the new version)'
        : '';
    const message =
      `copy s3://${sourceBucket}/${object.key} -> s3://${targetBucket}/${targetKey}: ${errorMessage(error)}${hint}`.slice(
        0,
        1000,
      );
    return { key: object.key, code, message };
  }

  const outcomes = await Promise.all(batch.objects.map((object) => objectLimit(() => copyOne(object))));

  const result: CopyResult = {
    batchId: batch.id,
    copied: 0,
    skipped: 0,
    failed: 0,
    bytesCopied: 0,
    skippedByReason: {},
    failures: [],
  };
  const failures: CopyFailure[] = [];
  let stopped = 0;
  for (const outcome of outcomes) {
    if (outcome.kind === 'copied') {
      result.copied++;
      result.bytesCopied += outcome.bytes;
    } else if (outcome.kind === 'skipped') {
      result.skipped++;
      result.skippedByReason[outcome.reason] = (result.skippedByReason[outcome.reason] ?? 0) + 1;
    } else if (outcome.kind === 'failed') {
      failures.push(outcome.failure);
    } else {
      stopped++;
    }
  }
  result.failed = failures.length;
  // The result travels through Step Functions (256 KiB): keep the first failures, the count stays exact.
  result.failures = failures.slice(0, MAX_REPORTED_FAILURES);
  for (const failure of result.failures) {
    logger.error('Object copy failed', { key: failure.key, code: failure.code, error: failure.message });
  }
  logger.info('Copy batch finished', {
    objects: batch.objects.length,
    copied: result.copied,
    skipped: result.skipped,
    skippedByReason: result.skippedByReason,
    failed: result.failed,
    notStarted: stopped,
    bytesCopied: result.bytesCopied,
    durationMs: now() - started,
    ...(failures.length > MAX_REPORTED_FAILURES ? { unloggedFailures: failures.length - MAX_REPORTED_FAILURES } : {}),
  });
  deps.onSettled?.(result);

  if (stopped > 0) {
    throw new CopyTimeBudgetError(batch.id, batch.objects.length - stopped, batch.objects.length);
  }
  if (failures.length > 0) {
    throw new CopyBatchError(batch.id, batch.objects.length, failures);
  }
  return result;
}
