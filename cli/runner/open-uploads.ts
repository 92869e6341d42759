/**
 * Multipart uploads a local run leaves open, and their clean-up by the next run.
 *
 * The copy engine aborts an upload when its object fails, and keeps it open only for a retry of the same
 * execution (progress-record.ts). When the server is unreachable at that moment (it crashed, the network
 * dropped), the abort fails too, and once the local run ends nothing of the job is left to retry: its
 * upload would stay open, its parts billed, for ever. So at the end of every local run the runner:
 * 1. adds the job's uploads still open (its progress records in state `uploading`) to a small file kept
 *    per endpoint and target bucket under the temp directory (the private state store dies with the run);
 * 2. aborts every upload that file names: this run's and those an earlier run could not abort (a
 *    re-run after a crash finds the server back and cleans up). An upload is named only when a run of
 *    ours created it (its record says so), so no other writer's upload is ever touched; one that is gone
 *    already (NoSuchUpload) is done too. What cannot be aborted stays in the file for the next run, and the
 *    run says how many are left open and where they are listed.
 * Uploads whose id never reached us (a CreateMultipartUpload answer lost, functions/copy/stray-uploads.ts)
 * are named by key instead: the clean-up aborts the uploads of that exact key provably created by the
 * job (initiated by its own target-role session), and reports the key's other uploads by id and leaves
 * them alone: neither a time window nor a key proves an upload ours.
 * Deployed executions rely on the target bucket's AbortIncompleteMultipartUpload lifecycle rule instead.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortMultipartUploadCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { UploadRecord } from '../../functions/copy/progress-record';
import { progressPrefix, strayCheckSince } from '../../functions/copy/progress-record';
import { abortStrayUploads } from '../../functions/copy/stray-uploads';
import { awsErrorCode, errorMessage } from '../../functions/shared/errors';

/** One upload a run of ours created and left open, or (strays) the uploads of a key since a time. */
export interface OpenUpload {
  bucket: string;
  key: string;
  /** '' for strays: uploads of `key` whose ids never reached us. */
  uploadId: string;
  jobId: string;
  /** Strays: when the lost create was first sent (ISO time), for people; never a proof. */
  straysSince?: string;
  /** Strays: the job's own role session; uploads of `key` it initiated are provably ours. */
  session?: string;
  /** Why the last try to abort it failed, once one did. */
  lastError?: string;
}

/** The file that lists the open uploads for one endpoint and target bucket. */
export function openUploadsFile(endpoint: string | undefined, targetBucket: string, base = tmpdir()): string {
  const id = createHash('sha256')
    .update(`${endpoint ?? 'aws'}\n${targetBucket}`)
    .digest('hex')
    .slice(0, 24);
  return path.join(base, 's3xcopy', 'open-uploads', `${id}.json`);
}

async function readOpenUploads(file: string): Promise<OpenUpload[]> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as OpenUpload[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`Could not read ${file}, the list of multipart uploads left open: ${errorMessage(error)}`);
  }
}

async function writeOpenUploads(file: string, uploads: OpenUpload[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(uploads, null, 1)}\n`);
  await rename(temporary, file);
}

/** The job's uploads its progress records leave open (state `uploading`), from the state bucket. */
export async function jobOpenUploads(
  state: S3Client,
  stateBucket: string,
  jobId: string,
  session?: string,
): Promise<OpenUpload[]> {
  const open: OpenUpload[] = [];
  let token: string | undefined;
  do {
    const page = await state.send(
      new ListObjectsV2Command({
        Bucket: stateBucket,
        Prefix: `${progressPrefix(jobId)}uploads/`,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const item of page.Contents ?? []) {
      const body = await state.send(new GetObjectCommand({ Bucket: stateBucket, Key: item.Key }));
      const record = JSON.parse(await (body.Body?.transformToString() ?? '{}')) as UploadRecord;
      const at = { bucket: record.target.bucket, key: record.target.key, jobId };
      if (record.state === 'uploading') open.push({ ...at, uploadId: record.uploadId });
      // An earlier upload of the key whose abort failed is kept only in the history of the one that replaced it.
      for (const earlier of record.history ?? []) {
        if (earlier.state === 'uploading') open.push({ ...at, uploadId: earlier.uploadId });
      }
      const straysSince = strayCheckSince(record);
      if (straysSince) open.push({ ...at, uploadId: '', straysSince, ...(session ? { session } : {}) });
    }
    token = page.NextContinuationToken;
  } while (token);
  return open;
}

/**
 * Adds `fresh` to the file, then aborts every upload it lists with `targetClient()` (a client that may
 * abort on the target bucket; asked for only when the file lists any). Returns what is still open afterwards (also what the file keeps).
 * @param leftAlone receives each upload of a stray's key that cannot be proven ours (not aborted, not kept)
 */
export async function settleOpenUploads(
  file: string,
  fresh: OpenUpload[],
  targetClient: () => Promise<S3Client>,
  leftAlone: (upload: OpenUpload) => void = () => {},
): Promise<OpenUpload[]> {
  const known = await readOpenUploads(file);
  const id = (upload: OpenUpload) => upload.uploadId || `strays ${upload.jobId} ${upload.bucket} ${upload.key}`;
  const byId = new Map(known.map((upload) => [id(upload), upload]));
  for (const upload of fresh) byId.set(id(upload), upload);
  if (byId.size === 0) return [];
  let target: S3Client;
  try {
    // Asked for only when there is something to abort: the target role may be what failed the run.
    target = await targetClient();
  } catch (error) {
    const lastError = `${awsErrorCode(error)}: ${errorMessage(error)}`.slice(0, 300);
    const stillOpen = [...byId.values()].map((upload) => ({ ...upload, lastError }));
    await writeOpenUploads(file, stillOpen);
    return stillOpen;
  }
  const stillOpen: OpenUpload[] = [];
  const describe = (error: unknown) => `${awsErrorCode(error)}: ${errorMessage(error)}`.slice(0, 300);
  /** Aborts one upload; undefined once it is gone, else why it is still open. */
  const abort = async (upload: OpenUpload, uploadId: string): Promise<string | undefined> => {
    try {
      await target.send(
        new AbortMultipartUploadCommand({ Bucket: upload.bucket, Key: upload.key, UploadId: uploadId }),
        { abortSignal: AbortSignal.timeout(10_000) },
      );
      return undefined;
    } catch (error) {
      // Gone already (completed, or aborted by an earlier try whose answer was lost): nothing is billed.
      return awsErrorCode(error) === 'NoSuchUpload' ? undefined : describe(error);
    }
  };
  for (const upload of byId.values()) {
    let lastError: string | undefined;
    if (upload.straysSince === undefined) {
      lastError = await abort(upload, upload.uploadId);
    } else {
      try {
        const sweep = await abortStrayUploads(
          target,
          upload,
          upload.session,
          undefined,
          async (uploadId) => (await abort(upload, uploadId)) === undefined,
          AbortSignal.timeout(10_000),
        );
        for (const uploadId of sweep.leftOpen) leftAlone({ ...upload, uploadId });
        if (sweep.failed > 0) lastError = `${sweep.failed} upload(s) could not be aborted`;
      } catch (error) {
        lastError = describe(error);
      }
    }
    if (lastError !== undefined) stillOpen.push({ ...upload, lastError });
  }
  await writeOpenUploads(file, stillOpen);
  return stillOpen;
}
