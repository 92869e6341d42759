/**
 * Copies one object larger than the multipart threshold: CreateMultipartUpload, parallel UploadPartCopy
 * pinned to one source version, CompleteMultipartUpload.
 *
 * With a progress store (the state bucket) the copy survives its invocation: the upload is recorded
 * (`{ jobId, key } -> uploadId`, source ETag, part size, parts done) right after it is created, parts are
 * recorded as they finish, and when the time budget runs out the copy stops starting parts, lets the ones
 * in flight finish, records them and leaves the upload open. The next invocation of the same job resumes
 * it, copying only the parts not recorded, and only while the source still has the recorded ETag (every
 * part is pinned to it). It never resumes or completes an upload it did not record itself, and aborts
 * one only as a stray of its own create whose answer was lost (stray-uploads.ts).
 * An upload is aborted, and its record says why, when the source changed or the object failed.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandOutput,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type Tag,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { awsErrorCode, errorMessage, httpStatusOf } from '../shared/errors';
import { roleSessionName } from '../shared/target-role';
import {
  checksumOf,
  completeChecksumFields,
  completedPart,
  createUploadChecksumFields,
  isChecksumAlgorithm,
  type ObjectChecksum,
  partChecksumOf,
  type UploadChecksum,
  uploadChecksumFor,
} from './checksums';
import type { CopyContext } from './copy-context';
import { isPreconditionFailed, isTransientError, reportedCode } from './error-kinds';
import { PartPace } from './part-pace';
import { choosePartSize, type PartRange, planParts } from './part-plan';
import { historyAfter, strayCheckSince, type UploadHistoryEntry, type UploadRecord } from './progress-record';
import { backoffDelay, type RetryPolicy } from './retry';
import { type CopyRoute, rangesOf } from './source-layout';
import { copySourceParams, sourceObjectParams } from './source-request';
import { type CopiedObject, SourceChanged, type SourceVersion } from './source-version';
import { abortStrayUploads } from './stray-uploads';
import { findTarget } from './target-lookup';
import { encodeTagging, multipartUploadSettings, withRawExpires } from './target-settings';
import { OutOfTime } from './time-budget';
import { shouldVerify, verifyCopy, withSourceTags } from './verify-copy';

/**
 * AbortMultipartUpload gets its own short retry, never cut by the time budget: it runs precisely when the
 * budget is spent, and an upload left open keeps its parts billed. At most 4 tries of 5 s plus 0.7 s of
 * backoff: well inside the safety margin.
 */
export const ABORT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 400 };
const ABORT_REQUEST_TIMEOUT_MS = 5_000;

/** The parts of a multipart copy: the source's own (source-layout.ts) or the job's part size. */
type PartsRoute = CopyRoute & { kind: 'parts' };

/** The job's plan for a source whose layout is not given: parts of options.partSize. */
function plannedParts(size: number, requestedPartSize: number): PartsRoute {
  const partSize = choosePartSize(size, requestedPartSize);
  return { kind: 'parts', parts: planParts(size, partSize), partSize, origin: 'planned' };
}

/** Whether the parts are what planParts gives for their first part's size (the record then needs no sizes). */
function evenLayout(plan: readonly PartRange[], partSize: number): boolean {
  return plan.every(
    (part, i) => part.start === i * partSize && (i === plan.length - 1 || part.end - part.start + 1 === partSize),
  );
}

/** One upload being copied: its id, layout, the parts done, and (when resumable) its record. */
interface OpenUpload {
  uploadId: string;
  partSize: number;
  plan: PartRange[];
  /** Part number -> ETag of every part copied (recorded or not). */
  done: Map<number, string>;
  /** The checksum the upload was created with, if any (checksums.ts). */
  checksum?: UploadChecksum;
  /** Part number -> the part's checksum, for the parts in `done` whose UploadPartCopy returned one. */
  partChecksums: Map<number, string>;
  record: UploadRecord | undefined;
  /** The source's tags as createUpload read them (undefined on a resumed upload, or with tags: none). */
  sourceTags?: Tag[];
  /** The ETag CompleteMultipartUpload gave the target. */
  targetEtag?: string;
}

/**
 * Copies version `version` of `sourceKey` to `targetKey` with a multipart copy, resuming this job's own
 * recorded upload of the same version when there is one.
 * @returns the bytes copied (the version's size) and the target's ETag
 * @throws SourceChanged when the key no longer holds the version (after aborting the upload and recording
 *   why); OutOfTime when the time budget stopped it (the upload recorded and left open to resume, or
 *   aborted when there is no progress store); any other error after aborting the upload
 */
export async function copyMultipart(
  ctx: CopyContext,
  sourceKey: string,
  targetKey: string,
  version: SourceVersion,
  /** The parts to copy (source-layout.ts); without it, the job's part size. */
  route?: PartsRoute,
): Promise<CopiedObject> {
  const head = await headPinned(ctx, sourceKey, version);
  const size = head.ContentLength ?? version.size;
  const pinned = version.etag;

  let recorded = await readRecord(ctx, sourceKey);
  // Strays an earlier invocation could not look for yet: looked for again when this one creates its upload.
  let strayCheck: number | undefined;
  if (recorded && isThisCopy(ctx, recorded, sourceKey, targetKey)) {
    recorded = await settleStrays(ctx, recorded);
    strayCheck = pendingStrayCheck(recorded);
  }
  // Only a record this job wrote for exactly this copy counts; anything else is ignored, never touched.
  let previous = recorded && isOurs(ctx, recorded, sourceKey, targetKey) ? recorded : undefined;
  let upload: OpenUpload | undefined;
  if (previous?.state === 'completed' && previous.sourceEtag === pinned && previous.size === size) {
    // An earlier invocation completed it (and was stopped before it could report): copied already if the
    // target still holds what that Complete wrote.
    const target = await findTarget(ctx, targetKey);
    if (target?.ContentLength === size && target.ETag === previous.targetEtag) {
      ctx.stats.alreadyCopied++;
      // Checked like a fresh copy: the invocation that completed it may have stopped before its check.
      await verifyMultipart(ctx, sourceKey, targetKey, head, undefined, version.versionId);
      return { size, ...(target.ETag ? { targetEtag: target.ETag } : {}) };
    }
  } else if (previous?.state === 'uploading') {
    if (previous.sourceEtag === pinned && previous.size === size) {
      upload = resumeUpload(previous);
      ctx.stats.uploadsResumed++;
    } else {
      previous = await abortRecorded(
        ctx,
        previous,
        `source-changed: recorded ${previous.sourceEtag}, now ${pinned ?? '(none)'}`,
      );
    }
  }
  const layout = route ?? plannedParts(size, ctx.job.options.partSize);
  upload ??= await createUpload(ctx, sourceKey, targetKey, head, version, layout, historyAfter(previous), strayCheck);
  try {
    try {
      await copyParts(ctx, sourceKey, targetKey, pinned, upload, version.versionId);
    } catch (error) {
      // The recorded upload is gone (aborted by a lifecycle rule or by hand): record why and start afresh once.
      if (!upload.record || upload.done.size === 0 || awsErrorCode(error) !== 'NoSuchUpload') throw error;
      const gone: UploadRecord = { ...upload.record, state: 'aborted', reason: 'upload-gone: NoSuchUpload on a part' };
      await writeRecord(ctx, gone, upload);
      // Settled: if the new create fails, the handling below must not write this old record over the new
      // upload's `creating` record (the only trace of a create whose answer may be lost).
      upload.record = undefined;
      upload = await createUpload(
        ctx,
        sourceKey,
        targetKey,
        head,
        version,
        layout,
        historyAfter(gone),
        pendingStrayCheck(gone),
      );
      await copyParts(ctx, sourceKey, targetKey, pinned, upload, version.versionId);
    }
    const targetEtag = await complete(ctx, targetKey, size, upload, checksumOf(head));
    upload.targetEtag = targetEtag;
    if (upload.record) {
      await writeRecord(ctx, { ...upload.record, state: 'completed', ...(targetEtag ? { targetEtag } : {}) });
    }
  } catch (error) {
    if ((error instanceof OutOfTime || ctx.budget.isOut) && upload.record) {
      // Stopped by the time budget: record the parts done and leave the upload open for the retry.
      await writeRecord(ctx, upload.record, upload);
      throw new OutOfTime();
    }
    const changed = pinned !== undefined && isPreconditionFailed(error);
    const reason = changed
      ? `source-changed: a part copy answered 412 for ${pinned}`
      : error instanceof OutOfTime
        ? 'stopped: the time budget ran out and there is no progress record to resume from'
        : `failed: ${reportedCode(error)}: ${errorMessage(error)}`;
    const aborted = await abortUpload(ctx, targetKey, upload.uploadId);
    if (upload.record) {
      // An abort that failed (the server unreachable) leaves the upload open: the record says so, and it
      // stays `uploading` so a retry, or the local runner's clean-up (cli/runner/open-uploads.ts), ends it.
      const settled: UploadRecord = aborted
        ? { ...upload.record, state: 'aborted', reason: reason.slice(0, 500) }
        : { ...upload.record, reason: `abort-failed after ${reason}`.slice(0, 500) };
      await writeRecord(ctx, settled, upload);
    }
    throw changed ? new SourceChanged(version, error) : error;
  }
  await verifyMultipart(ctx, sourceKey, targetKey, head, upload.sourceTags, version.versionId);
  return { size, ...(upload.targetEtag ? { targetEtag: upload.targetEtag } : {}) };
}

/** Checks what a completed multipart copy's target holds (servers drop what CreateMultipartUpload sent). */
async function verifyMultipart(
  ctx: CopyContext,
  sourceKey: string,
  targetKey: string,
  head: HeadObjectCommandOutput,
  /** The source's tags when this invocation already read them (createUpload); read again otherwise. */
  sourceTags?: Tag[],
  versionId?: string,
): Promise<void> {
  if (shouldVerify(ctx.job.options.verify, true)) {
    const source = sourceTags ? { head, tags: sourceTags } : await withSourceTags(ctx, sourceKey, head, versionId);
    await verifyCopy(ctx, targetKey, source, { multipart: true });
  }
}

/**
 * This job's record of the key, if any. A record that cannot be read (the state bucket denied, say) is
 * logged and treated as none: the object is then copied afresh, and its new upload is not resumable
 * unless the record can be written.
 */
async function readRecord(ctx: CopyContext, sourceKey: string): Promise<UploadRecord | undefined> {
  if (!ctx.progress) return undefined;
  try {
    return await ctx.progress.readUpload(ctx.jobId, sourceKey);
  } catch (error) {
    ctx.logger.warn('Cannot read the progress record of a large object; copying it afresh', {
      key: sourceKey,
      error: errorMessage(error),
    });
    return undefined;
  }
}

/** HEAD of the source pinned to the version: its headers and metadata, or SourceChanged. */
async function headPinned(ctx: CopyContext, sourceKey: string, version: SourceVersion) {
  const pinned = version.etag;
  try {
    return await ctx.sourceReads.track(() =>
      ctx.retry(() =>
        ctx.sourceS3.send(
          new HeadObjectCommand({
            ...sourceObjectParams(ctx, sourceKey, version.versionId),
            ...(pinned ? { IfMatch: pinned } : {}),
            // Its checksum: the upload is created with the same algorithm (checksums.ts).
            ChecksumMode: 'ENABLED',
          }),
          ctx.budget.requestOptions,
        ),
      ),
    );
  } catch (error) {
    if (pinned && isPreconditionFailed(error)) throw new SourceChanged(version, error);
    throw error;
  }
}

/** A record this job wrote for exactly this copy (same job, buckets and keys). */
function isThisCopy(ctx: CopyContext, record: UploadRecord, sourceKey: string, targetKey: string): boolean {
  return (
    record.format === 1 &&
    record.jobId === ctx.jobId &&
    record.source.bucket === ctx.job.source.bucket &&
    record.source.key === sourceKey &&
    record.target.bucket === ctx.job.target.bucket &&
    record.target.key === targetKey
  );
}

/** A record of this copy with an upload id: the only kind it resumes. */
function isOurs(ctx: CopyContext, record: UploadRecord, sourceKey: string, targetKey: string): boolean {
  return isThisCopy(ctx, record, sourceKey, targetKey) && typeof record.uploadId === 'string' && record.uploadId !== '';
}

/** Since when strays of this record's creates are still to be looked for, if they are. */
function pendingStrayCheck(record: UploadRecord): number | undefined {
  const since = strayCheckSince(record);
  return since === undefined ? undefined : Date.parse(since);
}

/**
 * An earlier invocation stopped between sending CreateMultipartUpload and recording its answer (`creating`),
 * or could not look for the strays of a create that needed retries (`strayCheck`): look now, before
 * anything else happens to the key. A `creating` record becomes `aborted` (its history keeps it).
 */
async function settleStrays(ctx: CopyContext, record: UploadRecord): Promise<UploadRecord> {
  const since = pendingStrayCheck(record);
  if (since === undefined) return record;
  const keep = record.state === 'uploading' ? record.uploadId : undefined;
  const swept = await sweepStrays(ctx, record.target.key, since, keep);
  if (!swept) return record;
  const rest = withoutStrayCheck(record);
  const settled: UploadRecord =
    record.state === 'creating'
      ? { ...rest, state: 'aborted', reason: 'create-unanswered: the invocation stopped before the answer' }
      : rest;
  await writeRecord(ctx, settled);
  return settled;
}

function resumeUpload(record: UploadRecord): OpenUpload {
  const plan = record.partSizes ? rangesOf(record.partSizes) : planParts(record.size, record.partSize);
  const done = new Map<number, string>();
  for (const [number, etag] of Object.entries(record.parts)) done.set(Number(number), etag);
  const partChecksums = new Map<number, string>();
  for (const [number, value] of Object.entries(record.partChecksums ?? {})) partChecksums.set(Number(number), value);
  const checksum = isChecksumAlgorithm(record.checksum?.algorithm) ? record.checksum : undefined;
  return {
    uploadId: record.uploadId,
    partSize: record.partSize,
    plan,
    done,
    partChecksums,
    ...(checksum ? { checksum } : {}),
    record: { ...record, invocations: record.invocations + 1 },
  };
}

/**
 * Creates the upload (with the source's headers, metadata and tags) and records it before any part.
 * The record is written twice: `creating` before the request (so a copy stopped before the answer leaves a
 * trace) and `uploading` with the id after it. A create that needed more than one attempt may have left
 * an upload whose id never reached us: those are looked for and aborted at once (stray-uploads.ts).
 */
async function createUpload(
  ctx: CopyContext,
  sourceKey: string,
  targetKey: string,
  head: HeadObjectCommandOutput,
  version: SourceVersion,
  layout: PartsRoute,
  history: UploadHistoryEntry[],
  /** Strays of an earlier create still to look for, since then (the record keeps it until done). */
  pendingSince?: number,
): Promise<OpenUpload> {
  const { job } = ctx;
  const options = ctx.budget.requestOptions;
  const sourceTags = job.options.tags === 'copy' ? await readSourceTags(ctx, sourceKey, version) : undefined;
  const tagging = sourceTags ? encodeTagging(sourceTags) : undefined;
  if (ctx.budget.exhausted()) throw new OutOfTime();
  const { partSize, parts: plan } = layout;
  const checksum = uploadChecksumFor(checksumOf(head), version.checksumAlgorithm);
  const startedAt = ctx.now();
  // What the record says of this upload; undefined without a progress store (or an unpinned source).
  const base =
    ctx.progress && version.etag
      ? creatingRecord(
          ctx,
          { sourceKey, targetKey, sourceEtag: version.etag, layout, checksum, history },
          {
            startedAt,
            pendingSince,
          },
        )
      : undefined;
  if (base) await tryWriteRecord(ctx, base, sourceKey);
  const since = Math.min(startedAt, pendingSince ?? startedAt);
  let sends = 0;
  let created: CreateMultipartUploadCommandOutput;
  try {
    created = await ctx.retry(() => {
      sends++;
      return ctx.s3.send(
        withRawExpires(
          new CreateMultipartUploadCommand({
            Bucket: job.target.bucket,
            Key: targetKey,
            ...multipartUploadSettings(job, head, tagging),
            ...createUploadChecksumFields(checksum),
          }),
          head,
        ),
        options,
      );
    });
  } catch (error) {
    // Every attempt failed, but S3 may have acted on one whose answer was lost: look now, while this
    // invocation can (the `creating` record keeps the check for a retry or the local runner otherwise).
    if (sends > 0 && !isPermanentRefusal(error) && (await sweepStrays(ctx, targetKey, since, undefined)) && base) {
      await tryWriteRecord(
        ctx,
        { ...withoutStrayCheck(base), state: 'aborted', reason: `create-failed: ${reportedCode(error)}`.slice(0, 500) },
        sourceKey,
      );
    }
    throw error;
  }
  const uploadId = created.UploadId;
  if (!uploadId)
    throw new Error(`CreateMultipartUpload for s3://${job.target.bucket}/${targetKey} returned no UploadId`);
  let strayCheck: string | undefined;
  if (pendingSince !== undefined || sends > 1 || (created.$metadata.attempts ?? 1) > 1) {
    strayCheck = (await sweepStrays(ctx, targetKey, since, uploadId)) ? undefined : new Date(since).toISOString();
  }
  const upload: OpenUpload = {
    uploadId,
    partSize,
    plan,
    done: new Map(),
    partChecksums: new Map(),
    record: undefined,
    ...(checksum ? { checksum } : {}),
    ...(sourceTags ? { sourceTags } : {}),
  };
  if (base) {
    // Written even when the `creating` write failed: with it the upload can still resume.
    upload.record = await tryWriteRecord(
      ctx,
      {
        ...withoutStrayCheck(base),
        uploadId,
        state: 'uploading',
        updatedAt: new Date(ctx.now()).toISOString(),
        ...(strayCheck ? { strayCheck } : {}),
      },
      sourceKey,
    );
  }
  return upload;
}

/** The source object's tags, to copy onto the upload (tags: 'copy'). */
async function readSourceTags(ctx: CopyContext, sourceKey: string, version: SourceVersion): Promise<Tag[]> {
  const tags = await ctx.sourceReads.track(() =>
    ctx.retry(() =>
      ctx.sourceS3.send(
        new GetObjectTaggingCommand(sourceObjectParams(ctx, sourceKey, version.versionId)),
        ctx.budget.requestOptions,
      ),
    ),
  );
  return tags.TagSet ?? [];
}

/** The upload's record as written before CreateMultipartUpload is sent: state `creating`, no id yet. */
function creatingRecord(
  ctx: CopyContext,
  upload: {
    sourceKey: string;
    targetKey: string;
    sourceEtag: string;
    layout: PartsRoute;
    checksum: OpenUpload['checksum'];
    history: UploadHistoryEntry[];
  },
  times: { startedAt: number; pendingSince: number | undefined },
): UploadRecord {
  const { job } = ctx;
  const { partSize, parts: plan } = upload.layout;
  const { checksum, history } = upload;
  const started = new Date(times.startedAt).toISOString();
  return {
    format: 1,
    jobId: ctx.jobId,
    source: { bucket: job.source.bucket, key: upload.sourceKey },
    target: { bucket: job.target.bucket, key: upload.targetKey },
    uploadId: '',
    sourceEtag: upload.sourceEtag,
    size: plan.length > 0 ? (plan[plan.length - 1] as PartRange).end + 1 : 0,
    partSize,
    partCount: plan.length,
    ...(evenLayout(plan, partSize) ? {} : { partSizes: plan.map((part) => part.end - part.start + 1) }),
    state: 'creating',
    parts: {},
    ...(checksum ? { checksum } : {}),
    invocations: 1,
    createdAt: started,
    updatedAt: started,
    createStartedAt: started,
    ...(times.pendingSince !== undefined ? { strayCheck: new Date(times.pendingSince).toISOString() } : {}),
    ...(history.length > 0 ? { history } : {}),
  };
}

/** The record without its pending stray check (once the check is done, or carried elsewhere). */
function withoutStrayCheck(record: UploadRecord): UploadRecord {
  const { strayCheck: _done, ...rest } = record;
  return rest;
}

/** A refusal S3 answers before acting (4xx but throttling and timeouts): no upload can have been created. */
function isPermanentRefusal(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status !== undefined && status >= 400 && status < 500 && !isTransientError(error);
}

/** Writes a record; one that cannot be written is logged and the upload goes on without it (not resumable). */
async function tryWriteRecord(
  ctx: CopyContext,
  record: UploadRecord,
  sourceKey: string,
): Promise<UploadRecord | undefined> {
  try {
    await ctx.progress?.writeUpload(record);
    return record;
  } catch (error) {
    // Without its record the upload cannot be resumed safely: copy it in this invocation or abort it.
    ctx.logger.warn('Could not record a multipart upload; it will not resume across invocations', {
      key: sourceKey,
      ...(record.uploadId ? { uploadId: record.uploadId } : {}),
      error: errorMessage(error),
    });
    return undefined;
  }
}

/**
 * Ends the uploads of `targetKey` provably created by this job (its own role session, stray-uploads.ts)
 * for a create whose answer was lost, keeping `keep`; the key's other uploads are left alone and reported
 * (ctx.stats.strayUploadsLeftOpen, then the batch result). True when the check is done; false (logged)
 * when the uploads could not be listed or ours aborted: the record keeps `strayCheck` so a later
 * invocation, or the local runner, tries again. `_since` is when the create was first sent: kept in the
 * record for people, never a proof.
 */
async function sweepStrays(ctx: CopyContext, targetKey: string, _since: number, keep: string | undefined) {
  const session = ctx.job.target.roleArn ? roleSessionName(ctx.jobId) : undefined;
  try {
    const sweep = await abortStrayUploads(
      ctx.s3,
      { bucket: ctx.job.target.bucket, key: targetKey },
      session,
      keep,
      (uploadId) => abortUpload(ctx, targetKey, uploadId),
      AbortSignal.timeout(ABORT_REQUEST_TIMEOUT_MS),
    );
    ctx.stats.strayUploadsAborted += sweep.aborted;
    const known = new Set(ctx.stats.strayUploadsLeftOpen.map((upload) => upload.uploadId));
    for (const uploadId of sweep.leftOpen) {
      if (!known.has(uploadId)) ctx.stats.strayUploadsLeftOpen.push({ key: targetKey, uploadId });
    }
    if (sweep.aborted > 0) {
      ctx.logger.warn('Aborted multipart uploads this job created whose CreateMultipartUpload answer was lost', {
        bucket: ctx.job.target.bucket,
        key: targetKey,
        aborted: sweep.aborted,
      });
    }
    if (sweep.leftOpen.length > 0) {
      ctx.logger.error('Left open multipart uploads of a key whose CreateMultipartUpload answer was lost', {
        bucket: ctx.job.target.bucket,
        key: targetKey,
        uploadIds: sweep.leftOpen,
        why: session
          ? `not initiated by this job's role session ${session}: another writer's, or ours on a server that does not name the session`
          : 'this job copies without a role session of its own, so no upload can be proven its',
        fix: 'abort them by id once you know they are not in use, or let an AbortIncompleteMultipartUpload lifecycle rule end them',
      });
    }
    return sweep.failed === 0;
  } catch (error) {
    ctx.logger.error('Could not look for multipart uploads a lost CreateMultipartUpload answer may have left open', {
      bucket: ctx.job.target.bucket,
      key: targetKey,
      code: awsErrorCode(error),
      error: errorMessage(error),
      fix: 'the copy needs s3:ListBucketMultipartUploads on the target bucket; until it has it, an AbortIncompleteMultipartUpload lifecycle rule ends such uploads',
    });
    return false;
  }
}

/** Errors UploadPartCopy raised (per request, so a module-wide set is safe): see `failedOnPartCopy`. */
const partCopyErrors = new WeakSet<object>();

/**
 * True when `error` came from an UploadPartCopy request (not from the HEAD, CreateMultipartUpload or
 * Complete of the copy): copy-object.ts falls back to CopyObject only for a part copy's denial.
 */
export function failedOnPartCopy(error: unknown): boolean {
  return error !== null && typeof error === 'object' && partCopyErrors.has(error);
}

/**
 * Copies the parts not done yet, in parallel (the context's part limiter), each pinned to the version.
 * Records finished parts every `recordIntervalMs`. With a record, stops starting parts when the slowest
 * part seen would not finish before the safety margin, waits for the parts in flight, and throws
 * OutOfTime; without one, the budget cuts parts in flight (the upload is aborted anyway).
 */
async function copyParts(
  ctx: CopyContext,
  sourceKey: string,
  targetKey: string,
  pinned: string | undefined,
  upload: OpenUpload,
  versionId?: string,
): Promise<void> {
  const copySource = copySourceParams(ctx, sourceKey, versionId);
  const pace = new PartPace(upload.partSize);
  const recorder = upload.record ? new PartRecorder(ctx, upload) : undefined;
  let firstError: unknown;
  let paused = false;
  const pending = upload.plan.filter((part) => !upload.done.has(part.partNumber));
  await Promise.allSettled(
    pending.map((part) =>
      ctx.partLimit(async () => {
        // After one part failed (or time ran out) start no more.
        if (firstError !== undefined || paused) return;
        if (ctx.budget.exhausted()) {
          firstError ??= new OutOfTime();
          return;
        }
        if (recorder && !ctx.budget.allows(pace.neededMs())) {
          paused = true;
          return;
        }
        const started = ctx.now();
        try {
          const response = await ctx.sourceReads.track(() =>
            ctx.retry(() =>
              ctx.s3.send(
                new UploadPartCopyCommand({
                  Bucket: ctx.job.target.bucket,
                  Key: targetKey,
                  UploadId: upload.uploadId,
                  PartNumber: part.partNumber,
                  ...copySource,
                  CopySourceRange: `bytes=${part.start}-${part.end}`,
                  // A source overwritten mid-copy fails here instead of mixing two versions' bytes.
                  ...(pinned ? { CopySourceIfMatch: pinned } : {}),
                }),
                ctx.budget.requestOptions,
              ),
            ),
          );
          const etag = response.CopyPartResult?.ETag;
          if (!etag) throw new Error(`UploadPartCopy part ${part.partNumber} returned no ETag`);
          const durationMs = ctx.now() - started;
          pace.observe(durationMs);
          ctx.rates.observe(part.end - part.start + 1, durationMs);
          const partChecksum = partChecksumOf(response.CopyPartResult, upload.checksum);
          if (partChecksum) upload.partChecksums.set(part.partNumber, partChecksum);
          upload.done.set(part.partNumber, etag);
          ctx.stats.partsCopied++;
          ctx.stats.copiedBytes += part.end - part.start + 1;
          recorder?.partDone();
        } catch (error) {
          if (error !== null && typeof error === 'object') partCopyErrors.add(error);
          firstError ??= error;
        }
      }),
    ),
  );
  await recorder?.settle();
  if (firstError !== undefined) throw firstError;
  if (paused) throw new OutOfTime();
}

/**
 * Writes the upload's record as parts finish: at most one write in flight, at most one every
 * `recordIntervalMs`; a failed write is logged and retried with the next part (the record only ever
 * lags: parts it misses are copied again by a resuming invocation).
 */
class PartRecorder {
  private lastWrite: number;
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(
    private readonly ctx: CopyContext,
    private readonly upload: OpenUpload,
  ) {
    this.lastWrite = ctx.now();
  }

  partDone(): void {
    this.dirty = true;
    if (this.writing || this.ctx.now() - this.lastWrite < this.ctx.recordIntervalMs) return;
    this.writing = this.write().finally(() => {
      this.writing = undefined;
    });
  }

  /** Waits for a write in flight (the caller writes the final state itself). */
  async settle(): Promise<void> {
    await this.writing;
  }

  private async write(): Promise<void> {
    const record = this.upload.record;
    if (!record || !this.dirty) return;
    this.dirty = false;
    this.lastWrite = this.ctx.now();
    await writeRecord(this.ctx, record, this.upload).catch(() => undefined);
  }
}

/**
 * Writes the record with the parts done (all of the upload's when given, with their checksums) and the
 * time; updates `record` in place so later writes carry it. Failures are logged, never thrown: a stale
 * record only means parts are copied again.
 */
async function writeRecord(
  ctx: CopyContext,
  record: UploadRecord,
  upload?: Pick<OpenUpload, 'done' | 'partChecksums'>,
): Promise<void> {
  if (!ctx.progress) return;
  if (upload) recordParts(record, upload);
  record.updatedAt = new Date(ctx.now()).toISOString();
  try {
    await ctx.progress.writeUpload(record);
    ctx.stats.recordWrites++;
  } catch (error) {
    ctx.logger.warn('Could not write a progress record; a resuming invocation will copy its newest parts again', {
      key: record.source.key,
      uploadId: record.uploadId,
      error: errorMessage(error),
    });
  }
}

/** Puts the upload's copied parts and their checksums into `record`, by part number. */
function recordParts(record: UploadRecord, upload: Pick<OpenUpload, 'done' | 'partChecksums'>): void {
  const byNumber = (entries: Map<number, string>) =>
    Object.fromEntries([...entries].sort((a, b) => a[0] - b[0]).map(([n, value]) => [String(n), value]));
  record.parts = byNumber(upload.done);
  if (upload.partChecksums.size > 0) record.partChecksums = byNumber(upload.partChecksums);
}

/**
 * Completes the upload with every part (and each part's checksum, which S3 requires of an upload created
 * with a checksum algorithm); for a full-object checksum it also sends the source's value, so S3 refuses
 * to assemble bytes that differ from the source's. Returns the target's ETag.
 */
async function complete(
  ctx: CopyContext,
  targetKey: string,
  size: number,
  upload: OpenUpload,
  sourceChecksum: ObjectChecksum | undefined,
): Promise<string | undefined> {
  const parts = [...upload.done]
    .sort((a, b) => a[0] - b[0])
    .map(([PartNumber, ETag]) =>
      completedPart(PartNumber, ETag, upload.checksum, upload.partChecksums.get(PartNumber)),
    );
  if (parts.length !== upload.plan.length) {
    throw new Error(`multipart copy of ${targetKey}: ${parts.length} of ${upload.plan.length} parts copied`);
  }
  if (upload.record) recordParts(upload.record, upload);
  let completeTries = 0;
  try {
    const response = await ctx.retry(() => {
      completeTries++;
      return ctx.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: ctx.job.target.bucket,
          Key: targetKey,
          UploadId: upload.uploadId,
          MultipartUpload: { Parts: parts },
          ...completeChecksumFields(upload.checksum, sourceChecksum),
        }),
        ctx.budget.requestOptions,
      );
    });
    // RGW answers with an empty ETag: `||`, not `??`.
    return response.ETag || multipartEtagOf(parts.map((part) => part.ETag));
  } catch (error) {
    // A Complete that S3 carried out but whose answer was lost (a timeout, a 500 after the fact) makes
    // the retry find no upload. The object is then in place: check it rather than report a failure.
    if (completeTries > 1 && awsErrorCode(error) === 'NoSuchUpload') {
      const target = await findTarget(ctx, targetKey);
      if (target?.ContentLength === size) return target.ETag;
    }
    throw error;
  }
}

/**
 * The ETag S3 gives an object assembled from these parts: the MD5 of the parts' binary MD5s, `-N`. For a
 * server that completes an upload without naming its ETag (Ceph RGW 16 answers none): computed from what
 * UploadPartCopy returned, never read back from the key, which a later write may already hold. Undefined
 * when a part's ETag is not an MD5 (SSE-KMS); a wrong value would only make the identity record useless.
 */
export function multipartEtagOf(partEtags: ReadonlyArray<string | undefined>): string | undefined {
  const hash = createHash('md5');
  for (const etag of partEtags) {
    const hex = (etag ?? '').replace(/"/g, '');
    if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
    hash.update(Buffer.from(hex, 'hex'));
  }
  return partEtags.length > 0 ? `"${hash.digest('hex')}-${partEtags.length}"` : undefined;
}

/** Aborts a recorded upload of this job whose source changed, and records why; returns the new record. */
async function abortRecorded(ctx: CopyContext, record: UploadRecord, reason: string): Promise<UploadRecord> {
  if (!(await abortUpload(ctx, record.target.key, record.uploadId))) {
    // Still open: the record stays `uploading` (never resumed: its source changed) so a later invocation,
    // or the local runner's clean-up, aborts it; it is what the new upload's history carries.
    const open: UploadRecord = { ...record, reason: `abort-failed after ${reason}`.slice(0, 500) };
    await writeRecord(ctx, open);
    return open;
  }
  const aborted: UploadRecord = { ...record, state: 'aborted', reason };
  await writeRecord(ctx, aborted);
  return aborted;
}

/**
 * Aborts an upload so no parts stay billed. It runs when the budget is spent, so it has its own short
 * retry and per-request timeout instead of the batch's signal. A failure to abort is logged (with the
 * id) but never hides the cause.
 */
export async function abortUpload(ctx: CopyContext, targetKey: string, uploadId: string): Promise<boolean> {
  const bucket = ctx.job.target.bucket;
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: targetKey, UploadId: uploadId }), {
        abortSignal: AbortSignal.timeout(ABORT_REQUEST_TIMEOUT_MS),
      });
      return true;
    } catch (error) {
      // Already gone (completed, or aborted by an earlier try whose answer was lost): nothing is billed.
      if (awsErrorCode(error) === 'NoSuchUpload') return true;
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
      return false;
    }
  }
}
