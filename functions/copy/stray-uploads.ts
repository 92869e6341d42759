/**
 * Stray uploads: multipart uploads the server created for us but whose id never reached us.
 *
 * CreateMultipartUpload is not idempotent. When its answer is lost after the server acted (a 500 or a
 * reset connection after the fact, a truncated body, a crash of the copy or of the server in between), the
 * SDK's or the engine's retry creates a second upload and the first one stays open, its id known to
 * nobody, until a lifecycle rule ends it. The copy therefore notes when it first sent the request (the
 * progress record in state `creating`, written before the request), and when the request needed more than
 * one attempt, or was never answered, it ends every upload of exactly that target key the server initiated
 * since then (less a clock-skew allowance), except the one it is using.
 *
 * Only uploads of the very key the job is writing, started while the job was creating its own, are
 * touched: another writer's upload of the same key in the same seconds would race with this copy anyway
 * (the last Complete wins). Listing needs s3:ListBucketMultipartUploads on the target bucket.
 */
import { ListMultipartUploadsCommand, type MultipartUpload, type S3Client } from '@aws-sdk/client-s3';

/**
 * How much earlier than our first CreateMultipartUpload (by our clock) the server may date an upload it
 * created for it: clocks of a Lambda host and of S3 differ by far less; the allowance only widens a
 * window that is bounded by the key anyway.
 */
export const STRAY_CLOCK_SKEW_MS = 30_000;

/**
 * How long after our first CreateMultipartUpload S3 may have started an upload for it: the requests of one
 * create (its retries included) live within one Lambda invocation, at most 15 minutes. Uploads of the key
 * started later are someone else's (a later job, another tool) and are never touched, however late the
 * check runs (a retry, or the local runner's next run).
 */
export const STRAY_WINDOW_MS = 15 * 60_000;

export interface StraySweep {
  /** Uploads of the key, started in the window, that were aborted (or were gone by the time we asked). */
  aborted: number;
  /** Uploads that could not be aborted (still open). */
  failed: number;
}

/**
 * The strays among listed uploads: those of exactly `key` (a prefix also matches longer keys, and some
 * servers ignore it), initiated from `since - STRAY_CLOCK_SKEW_MS` to `since + STRAY_WINDOW_MS +
 * STRAY_CLOCK_SKEW_MS`, other than `keep`.
 */
export function straysAmong(uploads: MultipartUpload[], key: string, since: number, keep?: string): string[] {
  const strays: string[] = [];
  for (const upload of uploads) {
    if (upload.Key !== key || !upload.UploadId || upload.UploadId === keep) continue;
    const initiated = upload.Initiated?.getTime();
    if (initiated === undefined || Number.isNaN(initiated)) continue;
    if (initiated < since - STRAY_CLOCK_SKEW_MS || initiated > since + STRAY_WINDOW_MS + STRAY_CLOCK_SKEW_MS) continue;
    strays.push(upload.UploadId);
  }
  return strays;
}

/**
 * Aborts the strays of `key` in `bucket` (straysAmong: started in the window of a create sent at `since`),
 * except `keep`. `abort` ends one upload and says whether it is gone (it has its own retry). Throws when the
 * uploads cannot be listed (the caller keeps the check pending for later).
 */
export async function abortStrayUploads(
  s3: S3Client,
  target: { bucket: string; key: string },
  since: number,
  keep: string | undefined,
  abort: (uploadId: string) => Promise<boolean>,
  signal?: AbortSignal,
): Promise<StraySweep> {
  const strays: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListMultipartUploadsCommand({
        Bucket: target.bucket,
        Prefix: target.key,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
      }),
      signal ? { abortSignal: signal } : {},
    );
    strays.push(...straysAmong(page.Uploads ?? [], target.key, since, keep));
    if (!page.IsTruncated || (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined)) break;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  const sweep: StraySweep = { aborted: 0, failed: 0 };
  for (const uploadId of strays) {
    if (await abort(uploadId)) sweep.aborted++;
    else sweep.failed++;
  }
  return sweep;
}
