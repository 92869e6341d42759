/**
 * The progress record: what this job has done on large objects and batches, kept in the state bucket so
 * that the next invocation (a retry after the time budget, a Lambda timeout or throttling) continues
 * instead of starting over, and never touches anything the job did not start itself.
 *
 * ```
 * s3://<state-bucket>/progress/<jobId>/uploads/<sha256(source key)>.json   one multipart copy (UploadRecord)
 * s3://<state-bucket>/progress/<jobId>/batches/<batchId>.json              one batch (BatchRecord)
 * ```
 * Records are written by the copy function with its own credentials (never the target role), read back
 * only by the same job, and expire with the bucket's other working files. docs/state-bucket.md has the
 * format.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { awsErrorCode, type BatchResultFile, errorMessage, httpStatusOf } from '../shared/errors';
import type { CopyFailure } from '../shared/job';
import { batchFailuresKey, batchResultKey } from '../shared/report-keys';
import type { UploadChecksum } from './checksums';
import { isTransientError } from './error-kinds';
import { backoffDelay, type RetryPolicy } from './retry';
import { realSleep, type Sleep } from './time-budget';

/**
 * Where a multipart copy stands. `creating`: CreateMultipartUpload was sent and its answer not recorded
 * (written before the request, so a copy stopped in between leaves a trace: stray-uploads.ts).
 */
export type UploadState = 'creating' | 'uploading' | 'completed' | 'aborted';

/** One multipart copy of this job: `{ jobId, key } -> uploadId`, pinned to one source version. */
export interface UploadRecord {
  format: 1;
  jobId: string;
  source: { bucket: string; key: string };
  target: { bucket: string; key: string };
  /** The upload this job created (CreateMultipartUpload); the only one it will ever resume. '' while `creating`. */
  uploadId: string;
  /** The source version every part is pinned to (CopySourceIfMatch), quoted. */
  sourceEtag: string;
  size: number;
  partSize: number;
  partCount: number;
  /** Each part's size, when the parts are not all partSize but the last (a source's uneven layout replayed). */
  partSizes?: number[];
  state: UploadState;
  /** Part number -> the part's ETag, for every part copied and recorded. */
  parts: Record<string, string>;
  /** The checksum the upload was created with (checksums.ts); a resumed upload completes with the same. */
  checksum?: UploadChecksum;
  /** Part number -> the part's checksum UploadPartCopy returned (CompleteMultipartUpload lists them). */
  partChecksums?: Record<string, string>;
  /** Invocations that worked on the upload (the first included). */
  invocations: number;
  createdAt: string;
  updatedAt: string;
  /** When CreateMultipartUpload was first sent for this upload (this copy function's clock). */
  createStartedAt?: string;
  /**
   * Set (to createStartedAt) while uploads the server may have created for this key without our knowing
   * their ids (a create whose answer was lost) have not been looked for and aborted yet.
   */
  strayCheck?: string;
  /** The ETag CompleteMultipartUpload gave the target (state `completed`). */
  targetEtag?: string;
  /** Why the upload was aborted (state `aborted`: `source-changed: ...`, `failed: <code>: ...`), or why it is still open (`abort-failed after ...`). */
  reason?: string;
  /** Earlier uploads of the same key by this job, newest last (at most MAX_HISTORY): what became of them. */
  history?: UploadHistoryEntry[];
}

/** What became of an earlier upload of the same key, kept when a new upload replaces it. */
export interface UploadHistoryEntry {
  uploadId: string;
  sourceEtag: string;
  state: UploadState;
  reason?: string;
  partsDone: number;
  updatedAt: string;
}

/**
 * Since when (ISO time) strays of this record's creates are still to be looked for: `strayCheck`, or the
 * create of a record still `creating` (stray-uploads.ts); undefined when none are.
 */
export function strayCheckSince(record: UploadRecord): string | undefined {
  return record.strayCheck ?? (record.state === 'creating' ? record.createStartedAt : undefined);
}

/** Entries kept in `history`. */
export const MAX_HISTORY = 10;

/** The history a new upload of the same key carries: the replaced record's, plus the replaced record. */
export function historyAfter(replaced: UploadRecord | undefined): UploadHistoryEntry[] {
  if (!replaced) return [];
  const entry: UploadHistoryEntry = {
    uploadId: replaced.uploadId,
    sourceEtag: replaced.sourceEtag,
    state: replaced.state,
    ...(replaced.reason ? { reason: replaced.reason } : {}),
    partsDone: Object.keys(replaced.parts).length,
    updatedAt: replaced.updatedAt,
  };
  return [...(replaced.history ?? []), entry].slice(-MAX_HISTORY);
}

/** One batch of this job: when it was first attempted and what its invocations copied. */
export interface BatchRecord {
  format: 1;
  jobId: string;
  batchId: string;
  /** When the first invocation of the batch began (the copy function's clock). */
  firstAttemptAt: string;
  invocations: number;
  /** Source key -> the source version (quoted ETag and size) copied to the target by this batch. */
  copied: Record<string, { etag: string; size: number }>;
  updatedAt: string;
}

/** Reads and writes progress records; the engine copies without resuming when it has none. */
export interface ProgressStore {
  readUpload(jobId: string, sourceKey: string): Promise<UploadRecord | undefined>;
  writeUpload(record: UploadRecord): Promise<void>;
  readBatch(jobId: string, batchId: string): Promise<BatchRecord | undefined>;
  writeBatch(record: BatchRecord): Promise<void>;
  /**
   * Writes a batch's full failure list (one JSON line per failure) to the job's reports and returns its
   * key. Optional: without it a batch names only its first MAX_REPORTED_FAILURES failures.
   */
  writeBatchFailures?(jobId: string, batchId: string, failures: readonly CopyFailure[]): Promise<string>;
  /** Writes what one attempt of a batch ended with (its result or its error's record); one PUT. */
  writeBatchResult?(file: BatchResultFile): Promise<void>;
}

/** The prefix every record of a job lives under (what the copy role may read and write). */
export const progressPrefix = (jobId: string) => `progress/${jobId}/`;

/** Keys can be 1,024 bytes and hold any character: the record is named by the key's SHA-256. */
export const uploadRecordKey = (jobId: string, sourceKey: string) =>
  `${progressPrefix(jobId)}uploads/${createHash('sha256').update(sourceKey, 'utf8').digest('hex')}.json`;

export const batchRecordKey = (jobId: string, batchId: string) =>
  `${progressPrefix(jobId)}batches/${encodeURIComponent(batchId)}.json`;

/**
 * Record writes often run when the time budget is spent (recording where a stopped copy is): they have
 * their own short retry and per-request timeout, like AbortMultipartUpload, inside the safety margin.
 */
export const RECORD_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 800 };
const RECORD_REQUEST_TIMEOUT_MS = 5_000;

/** A record could not be read or written; the message names the bucket, key and fix. */
export class ProgressRecordError extends Error {
  constructor(action: 'read' | 'write', bucket: string, key: string, cause: unknown) {
    super(
      `Could not ${action} the progress record s3://${bucket}/${key}: ${awsErrorCode(cause)}: ${errorMessage(cause)}. ` +
        `The copy function needs s3:GetObject and s3:PutObject on ${bucket}/progress/* and s3:ListBucket on ${bucket} ` +
        '(prefix progress/) so a missing record reads as 404, not 403',
    );
    this.name = 'ProgressRecordError';
  }
}

/** Progress records in the state bucket, read and written with the copy function's own client. */
export class S3ProgressStore implements ProgressStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    private readonly sleep: Sleep = realSleep,
    private readonly random: () => number = Math.random,
  ) {}

  readUpload(jobId: string, sourceKey: string): Promise<UploadRecord | undefined> {
    return this.read<UploadRecord>(uploadRecordKey(jobId, sourceKey));
  }

  writeUpload(record: UploadRecord): Promise<void> {
    return this.write(uploadRecordKey(record.jobId, record.source.key), record);
  }

  readBatch(jobId: string, batchId: string): Promise<BatchRecord | undefined> {
    return this.read<BatchRecord>(batchRecordKey(jobId, batchId));
  }

  writeBatch(record: BatchRecord): Promise<void> {
    return this.write(batchRecordKey(record.jobId, record.batchId), record);
  }

  private async read<T>(key: string): Promise<T | undefined> {
    return this.withRetry('read', key, async (signal) => {
      try {
        const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
          abortSignal: signal,
        });
        const text = await (response.Body as { transformToString(): Promise<string> }).transformToString();
        return JSON.parse(text) as T;
      } catch (error) {
        if (awsErrorCode(error) === 'NoSuchKey' || httpStatusOf(error) === 404) return undefined;
        throw error;
      }
    });
  }

  async writeBatchFailures(jobId: string, batchId: string, failures: readonly CopyFailure[]): Promise<string> {
    const key = batchFailuresKey(jobId, batchId);
    const body = failures
      .map((failure) => `${JSON.stringify({ key: failure.key, code: failure.code, message: failure.message })}\n`)
      .join('');
    await this.write(key, body, 'application/x-ndjson');
    return key;
  }

  writeBatchResult(file: BatchResultFile): Promise<void> {
    return this.write(batchResultKey(file.jobId, file.batchId), file);
  }

  private async write(key: string, record: unknown, contentType = 'application/json'): Promise<void> {
    const body = typeof record === 'string' ? record : JSON.stringify(record);
    await this.withRetry('write', key, async (signal) => {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
        {
          abortSignal: signal,
        },
      );
    });
  }

  private async withRetry<T>(action: 'read' | 'write', key: string, operation: (signal: AbortSignal) => Promise<T>) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation(AbortSignal.timeout(RECORD_REQUEST_TIMEOUT_MS));
      } catch (error) {
        const retryable = isTransientError(error) || awsErrorCode(error) === 'AbortError';
        if (!retryable || attempt >= RECORD_RETRY.attempts)
          throw new ProgressRecordError(action, this.bucket, key, error);
        await this.sleep(backoffDelay(attempt, RECORD_RETRY, this.random));
      }
    }
  }
}
