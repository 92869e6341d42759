/**
 * Copies one object larger than the multipart threshold: CreateMultipartUpload, parallel UploadPartCopy
 * pinned to the source's ETag, CompleteMultipartUpload; any failure aborts the upload.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type Tag,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { awsErrorCode, errorMessage } from '../shared/errors';
import type { CopyContext } from './copy-context';
import { encodeCopySource } from './copy-source';
import { isPreconditionFailed, isTransientError } from './error-kinds';
import { planParts } from './part-plan';
import { backoffDelay, type RetryPolicy } from './retry';
import { SourceChanged, type SourceVersion } from './source-version';
import { findTarget } from './target-lookup';
import { encodeTagging, multipartUploadSettings, withRawExpires } from './target-settings';
import { OutOfTime } from './time-budget';
import { shouldVerify, verifyCopy } from './verify-copy';

/**
 * AbortMultipartUpload gets its own short retry, never cut by the time budget: it runs precisely when the
 * budget is spent, and an upload left open keeps its parts billed. At most 4 tries of 5 s plus 0.7 s of
 * backoff: well inside the safety margin.
 */
export const ABORT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 400 };
const ABORT_REQUEST_TIMEOUT_MS = 5_000;

/**
 * Copies version `version` of `sourceKey` to `targetKey` with a multipart copy. The source is HEADed
 * pinned to the version (for its headers and metadata), and every part is pinned to it, so parts cannot
 * mix bytes of a later overwrite.
 * @returns the bytes copied (the version's size)
 * @throws SourceChanged when the key no longer holds the version (after aborting the upload); the first
 *   error of a part, Create or Complete otherwise, after aborting the upload; OutOfTime on the budget
 */
export async function copyMultipart(
  ctx: CopyContext,
  sourceKey: string,
  targetKey: string,
  version: SourceVersion,
): Promise<number> {
  const { job } = ctx;
  const sourceBucket = job.source.bucket;
  const targetBucket = job.target.bucket;
  const options = ctx.budget.requestOptions;
  const pinned = version.etag;
  let head: HeadObjectCommandOutput;
  try {
    head = await ctx.sourceReads.track(() =>
      ctx.retry(() =>
        ctx.sourceS3.send(
          new HeadObjectCommand({ Bucket: sourceBucket, Key: sourceKey, ...(pinned ? { IfMatch: pinned } : {}) }),
          options,
        ),
      ),
    );
  } catch (error) {
    if (pinned && isPreconditionFailed(error)) throw new SourceChanged(version, error);
    throw error;
  }
  const size = head.ContentLength ?? version.size;
  let tagging: string | undefined;
  let sourceTags: Tag[] | undefined;
  if (job.options.tags === 'copy') {
    const tags = await ctx.sourceReads.track(() =>
      ctx.retry(() =>
        ctx.sourceS3.send(new GetObjectTaggingCommand({ Bucket: sourceBucket, Key: sourceKey }), options),
      ),
    );
    sourceTags = tags.TagSet ?? [];
    tagging = encodeTagging(sourceTags);
  }
  if (ctx.budget.exhausted()) throw new OutOfTime();
  const created = await ctx.retry(() =>
    ctx.s3.send(
      withRawExpires(
        new CreateMultipartUploadCommand({
          Bucket: targetBucket,
          Key: targetKey,
          ...multipartUploadSettings(job, head, tagging),
        }),
        head,
      ),
      options,
    ),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`CreateMultipartUpload for s3://${targetBucket}/${targetKey} returned no UploadId`);
  try {
    let firstError: unknown;
    const copySource = encodeCopySource(sourceBucket, sourceKey);
    const settled = await Promise.allSettled(
      planParts(size, job.options.partSize).map((part) =>
        ctx.partLimit(async () => {
          // After one part failed (or time ran out) start no more: the upload is going to be aborted.
          if (firstError !== undefined) throw firstError;
          if (ctx.budget.exhausted()) throw new OutOfTime();
          try {
            const response = await ctx.sourceReads.track(() =>
              ctx.retry(() =>
                ctx.s3.send(
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
                  options,
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
      await ctx.retry(() => {
        completeTries++;
        return ctx.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: targetBucket,
            Key: targetKey,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
          options,
        );
      });
    } catch (error) {
      // A Complete that S3 carried out but whose answer was lost (a timeout, a 500 after the fact) makes
      // the retry find no upload. The object is then in place: check it rather than report a failure.
      if (completeTries > 1 && awsErrorCode(error) === 'NoSuchUpload') {
        const target = await findTarget(ctx, targetKey);
        if (target?.ContentLength === size) return size;
      }
      throw error;
    }
    if (shouldVerify(job.options.verify, true)) {
      await verifyCopy(ctx, targetKey, { head, ...(sourceTags ? { tags: sourceTags } : {}) }, { multipart: true });
    }
    return size;
  } catch (error) {
    await abortUpload(ctx, targetKey, uploadId);
    if (pinned && isPreconditionFailed(error)) throw new SourceChanged(version, error);
    throw error;
  }
}

/**
 * Aborts an upload so no parts stay billed. It runs when the budget is spent, so it has its own short
 * retry and per-request timeout instead of the batch's signal. A failure to abort is logged (with the
 * id) but never hides the cause.
 */
export async function abortUpload(ctx: CopyContext, targetKey: string, uploadId: string): Promise<void> {
  const bucket = ctx.job.target.bucket;
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: targetKey, UploadId: uploadId }), {
        abortSignal: AbortSignal.timeout(ABORT_REQUEST_TIMEOUT_MS),
      });
      return;
    } catch (error) {
      // Already gone (completed, or aborted by an earlier try whose answer was lost): nothing is billed.
      if (awsErrorCode(error) === 'NoSuchUpload') return;
      const retryable = isTransientError(error) || awsErrorCode(error) === 'AbortError';
      if (retryable && attempt < ABORT_RETRY.attempts) {
        await ctx.sleep(backoffDelay(attempt, ABORT_RETRY, ctx.random));
        continue;
      }
      ctx.logger.error('Could not abort a multipart upload; its parts stay billed until aborted', {
        bucket,
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
