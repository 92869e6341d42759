/**
 * Stray uploads: multipart uploads the server created for us but whose id never reached us.
 *
 * CreateMultipartUpload is not idempotent. When its answer is lost after the server acted (a 500 or a
 * reset connection after the fact, a truncated body, a crash of the copy or of the server in between), the
 * SDK's or the engine's retry creates a second upload and the first one stays open, its id known to
 * nobody, until a lifecycle rule ends it. The copy therefore notes when it first sent the request (the
 * progress record in state `creating`, written before the request), and when the request needed more than
 * one attempt, or was never answered, it looks at every upload of exactly that target key.
 *
 * An upload is aborted only when it is provably this job's: S3 attaches nothing we choose to an upload
 * that ListMultipartUploads or ListParts returns (no metadata, no tags; only key, storage class, checksum
 * algorithm, times and identities), so the proof is the identity that created it. A job that assumes the
 * target role does so as the session `s3xcopy-<jobId>` (shared/target-role.ts), and S3 names that session
 * in the upload's Initiator: an upload of the key initiated by that session is ours. Times prove nothing
 * (another writer can start an upload of the same key in the same second, and some servers stamp every
 * upload with one fixed date), and without a job-unique session (same-account copies under the function's
 * own role, the local runner with your credentials, servers that name every initiator alike) nothing is
 * provably ours: such uploads are left alone and reported with their ids, for a person or the bucket's
 * AbortIncompleteMultipartUpload lifecycle rule to end. Listing needs s3:ListBucketMultipartUploads.
 */
import { ListMultipartUploadsCommand, type MultipartUpload, type S3Client } from '@aws-sdk/client-s3';

export interface StraySweep {
  /** Uploads proven ours that were aborted (or were gone by the time we asked). */
  aborted: number;
  /** Uploads proven ours that could not be aborted (still open). */
  failed: number;
  /** Other uploads of the key (not the one in use): not provably ours, so left alone and reported. */
  leftOpen: string[];
}

/**
 * Whether the upload's Initiator is the job's own role session: AWS names an assumed-role session as
 * `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` (or `ROLEID:SESSION`). Without a session, nothing is.
 */
export function initiatedBy(upload: MultipartUpload, session: string | undefined): boolean {
  if (!session) return false;
  return [upload.Initiator?.ID, upload.Initiator?.DisplayName].some(
    (name) => name !== undefined && (name.endsWith(`/${session}`) || name.endsWith(`:${session}`)),
  );
}

/**
 * The uploads of exactly `key` (a prefix also matches longer keys, and some servers ignore it) other than
 * `keep`, split into those provably ours (initiated by `session`) and the rest.
 */
export function straysAmong(
  uploads: MultipartUpload[],
  key: string,
  session: string | undefined,
  keep?: string,
): { ours: string[]; unproven: string[] } {
  const ours: string[] = [];
  const unproven: string[] = [];
  for (const upload of uploads) {
    if (upload.Key !== key || !upload.UploadId || upload.UploadId === keep) continue;
    (initiatedBy(upload, session) ? ours : unproven).push(upload.UploadId);
  }
  return { ours, unproven };
}

/**
 * Aborts the uploads of `key` in `bucket` provably ours (straysAmong), except `keep`, and names the others.
 * `abort` ends one upload and says whether it is gone (it has its own retry). Throws when the uploads
 * cannot be listed (the caller keeps the check pending for later).
 */
export async function abortStrayUploads(
  s3: S3Client,
  target: { bucket: string; key: string },
  session: string | undefined,
  keep: string | undefined,
  abort: (uploadId: string) => Promise<boolean>,
  signal?: AbortSignal,
): Promise<StraySweep> {
  const ours: string[] = [];
  const leftOpen: string[] = [];
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
    const found = straysAmong(page.Uploads ?? [], target.key, session, keep);
    ours.push(...found.ours);
    leftOpen.push(...found.unproven);
    if (!page.IsTruncated || (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined)) break;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  const sweep: StraySweep = { aborted: 0, failed: 0, leftOpen };
  for (const uploadId of ours) {
    if (await abort(uploadId)) sweep.aborted++;
    else sweep.failed++;
  }
  return sweep;
}
