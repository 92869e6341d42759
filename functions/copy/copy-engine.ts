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
import type { HttpHandlerOptions } from '@smithy/types';
import pLimit from 'p-limit';
import { sameContent } from '../shared/content-identity';
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
import { findByListing } from './find-by-listing';
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
 * When less than this is left, start nothing new and cut the requests in flight (their AbortSignal fires):
 * the rest is for aborting open multipart uploads (ABORT_RETRY below fits in it) before Lambda stops us.
 */
export const DEFAULT_SAFETY_MARGIN_MS = 30_000;

/**
 * AbortMultipartUpload gets its own short retry, never cut by the time budget: it runs precisely when the
 * budget is spent, and an upload left open keeps its parts billed. At most 4 tries of 5 s plus 0.7 s of
 * backoff: well inside the safety margin.
 */
export const ABORT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 400 };
const ABORT_REQUEST_TIMEOUT_MS = 5_000;

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
  const code = awsErrorCode(error);
  const status = httpStatusOf(error);
  // 501 NotImplemented (an unsupported header or feature) answers the same way every time.
  if (code === 'NotImplemented' || status === 501) return false;
  if (TRANSIENT_CODES.has(code)) return true;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  const retryable = (error as { $retryable?: unknown } | undefined)?.$retryable;
  return Boolean(retryable);
}

/** Codes the SDK gives an error response without a body (HEAD never has one): it knows only the status. */
const BODILESS_CODES = new Set(['NotFound', 'Forbidden', 'Unknown', 'UnknownError']);

/** True when the source object is gone (deleted since it was listed): NoSuchKey, or a bare 404 on HEAD. */
function isVanished(error: unknown): boolean {
  const code = awsErrorCode(error);
  return code === 'NoSuchKey' || (httpStatusOf(error) === 404 && BODILESS_CODES.has(code));
}

/**
 * True for a plain access denial, which S3 also answers for a MISSING key when s3:ListBucket does not
 * cover the bare key (find-by-listing.ts). Not InvalidObjectState or other 403s that mean something else.
 */
function isDenied(error: unknown): boolean {
  const code = awsErrorCode(error);
  return code === 'AccessDenied' || (httpStatusOf(error) === 403 && BODILESS_CODES.has(code));
}

/** True for 412: an If-Match that no longer holds. A HEAD's 412 has no body, so only the status tells. */
function isPreconditionFailed(error: unknown): boolean {
  return awsErrorCode(error) === 'PreconditionFailed' || httpStatusOf(error) === 412;
}

/** The AWS error code to report: a bodiless answer's status named as S3 names it in a body. */
function reportedCode(error: unknown): string {
  const code = awsErrorCode(error);
  if (!BODILESS_CODES.has(code)) return code;
  const status = httpStatusOf(error);
  if (status === 403) return 'AccessDenied';
  if (status === 404) return 'NotFound';
  if (status === 412) return 'PreconditionFailed';
  return code;
}

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in 0..min(max, base * 2^n). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** What the sync rule reads of a target object, from a HeadObject or a listing. */
export type TargetObject = Pick<HeadObjectCommandOutput, 'ContentLength' | 'ETag' | 'LastModified'>;

/** The sync rule: functions/shared/content-identity.ts (size and ETag, or a checksum; never a timestamp). */
export function targetMatches(object: ManifestObject, target: TargetObject): boolean {
  return sameContent({ size: object.size, etag: object.etag }, { size: target.ContentLength, etag: target.ETag });
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

  // Every S3 call of the batch carries this signal, so running out of time also cuts the requests in
  // flight (a slow part or a CopyObject of gigabytes) instead of waiting for Lambda to kill us mid-request
  // with uploads still open. AbortMultipartUpload alone does not carry it.
  const budget = new AbortController();
  const inBudget: HttpHandlerOptions = { abortSignal: budget.signal };
  let outOfTime = false;
  let budgetTimer: ReturnType<typeof setTimeout> | undefined;
  const stopForTime = () => {
    if (outOfTime) return;
    outOfTime = true;
    budget.abort(new OutOfTime());
  };
  const budgetExhausted = () => {
    if (outOfTime) return true;
    const remaining = deps.remainingTimeMs();
    if (remaining < margin) {
      stopForTime();
      return true;
    }
    // Lambda's remaining time runs with the clock: one timer armed on the first check fires on time.
    if (budgetTimer === undefined) {
      budgetTimer = setTimeout(stopForTime, Math.min(remaining - margin, 2 ** 31 - 1));
      budgetTimer.unref?.();
    }
    return false;
  };

  /** Waits, unless the budget runs out meanwhile. */
  function pause(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (outOfTime) return reject(new OutOfTime());
      const onStop = () => reject(new OutOfTime());
      budget.signal.addEventListener('abort', onStop, { once: true });
      sleep(ms).then(() => {
        budget.signal.removeEventListener('abort', onStop);
        resolve();
      }, reject);
    });
  }

  async function withRetry<T>(operation: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        // A request cut by the budget fails with AbortError; whatever else failed, the batch is stopping.
        if (outOfTime) throw new OutOfTime();
        if (!isTransientError(error) || attempt >= policy.attempts) throw error;
        const delay = backoffDelay(attempt, policy, random);
        // Sleeping past the margin would leave no time to clean up: stop like the budget check does.
        if (deps.remainingTimeMs() - delay < margin) {
          stopForTime();
          throw new OutOfTime();
        }
        await pause(delay);
      }
    }
  }

  const sourceBucket = job.source.bucket;
  const targetBucket = job.target.bucket;

  // Errors of requests that read the source: a 403 among them may mean the key is gone (see copyOne).
  const sourceReadErrors = new WeakSet<object>();
  async function readingSource<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error !== null && typeof error === 'object') sourceReadErrors.add(error);
      throw error;
    }
  }

  /**
   * The target object as the sync rule and the Complete check need it; undefined when absent. A 403 on
   * HEAD is settled by listing: the target role's s3:ListBucket is conditioned on s3:prefix, so S3 answers
   * 403 for a missing key, and listing under the key is what that condition allows.
   */
  async function findTarget(targetKey: string): Promise<TargetObject | undefined> {
    try {
      return await withRetry(() => s3.send(new HeadObjectCommand({ Bucket: targetBucket, Key: targetKey }), inBudget));
    } catch (error) {
      if (error instanceof OutOfTime) throw error;
      if (httpStatusOf(error) === 404) return undefined;
      if (!isDenied(error)) throw error;
    }
    try {
      const listed = await withRetry(() => findByListing(s3, targetBucket, targetKey, inBudget));
      if (!listed) return undefined;
      return { ContentLength: listed.size, ETag: listed.etag, LastModified: listed.lastModified };
    } catch (error) {
      if (error instanceof OutOfTime || !isDenied(error)) throw error;
      throw Object.assign(
        new Error(
          `HeadObject and ListObjectsV2 on s3://${targetBucket}/${targetKey} were both denied (403): checking the ` +
            `target needs s3:ListBucket on ${targetBucket} for the target prefix (and s3:GetObject on it for HEAD); ` +
            '`s3xcopy policies` prints the statements',
        ),
        { name: 'AccessDenied' },
      );
    }
  }

  async function copySmall(object: ManifestObject, targetKey: string, size = object.size): Promise<number> {
    const request: CopyObjectCommandInput = {
      Bucket: targetBucket,
      Key: targetKey,
      CopySource: encodeCopySource(sourceBucket, object.key),
      MetadataDirective: 'COPY',
      // REPLACE with no tags gives the copy none; COPY carries the source's tags over.
      TaggingDirective: job.options.tags === 'copy' ? 'COPY' : 'REPLACE',
      ...targetOptions(job),
    };
    await readingSource(() => withRetry(() => s3.send(new CopyObjectCommand(request), inBudget)));
    return size;
  }

  async function copyMultipart(object: ManifestObject, targetKey: string): Promise<number> {
    const headSource = (ifMatch: string | undefined) =>
      readingSource(() =>
        withRetry(() =>
          s3.send(
            new HeadObjectCommand({ Bucket: sourceBucket, Key: object.key, ...(ifMatch ? { IfMatch: ifMatch } : {}) }),
            inBudget,
          ),
        ),
      );
    let pinned = object.etag !== '' ? quoted(object.etag) : undefined;
    let head: HeadObjectCommandOutput;
    try {
      head = await headSource(pinned);
    } catch (error) {
      if (pinned === undefined || !isPreconditionFailed(error)) throw error;
      // Overwritten since it was listed: copy the current version, as CopyObject does for small objects,
      // with the parts pinned to ITS ETag so they cannot mix bytes of a later overwrite.
      head = await headSource(undefined);
      pinned = head.ETag ? quoted(head.ETag) : undefined;
      const current = head.ContentLength ?? object.size;
      if (current <= job.options.multipartThreshold) return copySmall(object, targetKey, current);
    }
    const size = head.ContentLength ?? object.size;
    let tagging: string | undefined;
    if (job.options.tags === 'copy') {
      const tags = await readingSource(() =>
        withRetry(() => s3.send(new GetObjectTaggingCommand({ Bucket: sourceBucket, Key: object.key }), inBudget)),
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
        inBudget,
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
              const response = await readingSource(() =>
                withRetry(() =>
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
                    inBudget,
                  ),
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
      let completeTries = 0;
      try {
        await withRetry(() => {
          completeTries++;
          return s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: targetBucket,
              Key: targetKey,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
            }),
            inBudget,
          );
        });
      } catch (error) {
        // A Complete that S3 carried out but whose answer was lost (a timeout, a 500 after the fact) makes
        // the retry find no upload. The object is then in place: check it rather than report a failure.
        if (completeTries > 1 && awsErrorCode(error) === 'NoSuchUpload') {
          const target = await findTarget(targetKey);
          if (target?.ContentLength === size) return size;
        }
        throw error;
      }
      return size;
    } catch (error) {
      await abortUpload(targetKey, uploadId);
      throw error;
    }
  }

  /**
   * Aborts an upload so no parts stay billed. It runs when the budget is spent, so it has its own short
   * retry and per-request timeout instead of the batch's signal. A failure to abort is logged (with the
   * id) but never hides the cause.
   */
  async function abortUpload(targetKey: string, uploadId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: targetBucket, Key: targetKey, UploadId: uploadId }), {
          abortSignal: AbortSignal.timeout(ABORT_REQUEST_TIMEOUT_MS),
        });
        return;
      } catch (error) {
        // Already gone (completed, or aborted by an earlier try whose answer was lost): nothing is billed.
        if (awsErrorCode(error) === 'NoSuchUpload') return;
        const retryable = isTransientError(error) || awsErrorCode(error) === 'AbortError';
        if (retryable && attempt < ABORT_RETRY.attempts) {
          await sleep(backoffDelay(attempt, ABORT_RETRY, random));
          continue;
        }
        logger.error('Could not abort a multipart upload; its parts stay billed until aborted', {
          bucket: targetBucket,
          key: targetKey,
          uploadId,
          code: awsErrorCode(error),
          error: errorMessage(error),
          fix: 'abort it with `aws s3api abort-multipart-upload`, or add an AbortIncompleteMultipartUpload lifecycle rule',
        });
        return;
      }
    }
  }

  /** Lists the source key: `gone` says whether it is absent; `listError` when the listing itself failed. */
  async function sourceIsGone(object: ManifestObject): Promise<{ gone: boolean } | { listError: unknown }> {
    try {
      return { gone: (await withRetry(() => findByListing(s3, sourceBucket, object.key, inBudget))) === undefined };
    } catch (listError) {
      return { listError };
    }
  }

  async function copyOne(object: ManifestObject): Promise<Outcome> {
    if (budgetExhausted()) return { kind: 'stopped' };
    const targetKey = targetKeyFor(job, object.key);
    try {
      if (job.options.mode === 'sync') {
        const target = await findTarget(targetKey);
        if (target && targetMatches(object, target)) return { kind: 'skipped', reason: 'unchanged' };
      }
      const bytes =
        object.size <= job.options.multipartThreshold
          ? await copySmall(object, targetKey)
          : await copyMultipart(object, targetKey);
      return { kind: 'copied', bytes };
    } catch (error) {
      if (error instanceof OutOfTime || outOfTime) return { kind: 'stopped' };
      if (awsErrorCode(error) === 'NoSuchKey') return { kind: 'skipped', reason: 'vanished' };
      const fromSource = error !== null && typeof error === 'object' && sourceReadErrors.has(error);
      // A bare 404 (HEAD has no body) cannot tell a deleted key from a missing bucket, and least privilege
      // answers 403 for a key deleted since it was listed: list the key to tell.
      if (fromSource && (isVanished(error) || isDenied(error))) {
        const settled = await sourceIsGone(object);
        if (outOfTime) return { kind: 'stopped' };
        if ('gone' in settled && settled.gone) return { kind: 'skipped', reason: 'vanished' };
        if ('listError' in settled && awsErrorCode(settled.listError) === 'NoSuchBucket') {
          return { kind: 'failed', failure: describeFailure(object, targetKey, settled.listError) };
        }
        if ('listError' in settled) {
          const note = ` (listing the key to tell a deleted source from a denied one failed too: ${reportedCode(settled.listError)}: ${errorMessage(settled.listError)})`;
          return { kind: 'failed', failure: describeFailure(object, targetKey, error, note) };
        }
      }
      return { kind: 'failed', failure: describeFailure(object, targetKey, error) };
    }
  }

  function describeFailure(object: ManifestObject, targetKey: string, error: unknown, note = ''): CopyFailure {
    const code = reportedCode(error);
    const hint =
      code === 'PreconditionFailed'
        ? ' (the source changed since it was listed; the next run copies the new version)'
        : '';
    const message =
      `copy s3://${sourceBucket}/${object.key} -> s3://${targetBucket}/${targetKey}: ${errorMessage(error)}${hint}${note}`.slice(
        0,
        1000,
      );
    return { key: object.key, code, message };
  }

  let outcomes: Outcome[];
  try {
    outcomes = await Promise.all(batch.objects.map((object) => objectLimit(() => copyOne(object))));
  } finally {
    clearTimeout(budgetTimer);
  }

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
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.kind === 'copied') {
      result.copied++;
      result.bytesCopied += outcome.bytes;
    } else if (outcome.kind === 'skipped') {
      result.skipped++;
      result.skippedByReason[outcome.reason] = (result.skippedByReason[outcome.reason] ?? 0) + 1;
      // The ledger counts an 'unchanged' object the List step had found missing as copied (an earlier
      // attempt of this batch wrote it), with its size.
      if (outcome.reason === 'unchanged')
        result.unchangedBytes = (result.unchangedBytes ?? 0) + (batch.objects[index]?.size ?? 0);
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
