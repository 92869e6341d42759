/**
 * The report files Notify writes to the state bucket for every execution (docs/state-bucket.md):
 * `reports/<jobId>/failures.jsonl`, one line per failed object `{ key, code, message, batchId }` in batch
 * order, and `reports/<jobId>/ledger.json`, the ledger the notification states. The failures file is
 * streamed: lines are buffered into 8 MiB multipart parts, so Notify's memory stays flat whatever the
 * number of failures; a file under one part is a single PutObject.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ledgerKey } from '../shared/report-keys';
import type { LedgerFailure } from './results';

export { failuresKey, ledgerKey, reportsPrefix } from '../shared/report-keys';

/** S3's minimum part size (but the last); parts are flushed once the buffer holds this much. */
export const FAILURES_PART_BYTES = 8 * 1024 * 1024;

/** Writes the failures file line by line; `add` is synchronous, uploads happen in `flush` and `close`. */
export class FailuresFileWriter {
  private chunks: string[] = [];
  private buffered = 0;
  private uploadId: string | undefined;
  private readonly parts: Array<{ ETag: string; PartNumber: number }> = [];
  /** Lines written so far. */
  count = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly partBytes = FAILURES_PART_BYTES,
  ) {}

  add(failure: LedgerFailure): void {
    const line = `${JSON.stringify({ key: failure.key, code: failure.code, message: failure.message, batchId: failure.batchId })}\n`;
    this.chunks.push(line);
    this.buffered += Buffer.byteLength(line);
    this.count++;
  }

  /** Uploads a part when the buffer is big enough (call between Map Runs). */
  async flush(): Promise<void> {
    if (this.buffered < this.partBytes) return;
    await this.uploadPart();
  }

  private async uploadPart(): Promise<void> {
    const body = this.chunks.join('');
    this.chunks = [];
    this.buffered = 0;
    if (this.uploadId === undefined) {
      const created = await this.s3.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: 'application/x-ndjson' }),
      );
      this.uploadId = created.UploadId;
    }
    const PartNumber = this.parts.length + 1;
    const part = await this.s3.send(
      new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: body }),
    );
    this.parts.push({ ETag: part.ETag ?? '', PartNumber });
  }

  /** Writes what is left and completes the file (an empty file when nothing failed). */
  async close(): Promise<void> {
    if (this.uploadId === undefined) {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Body: Buffer.from(this.chunks.join('')),
          ContentType: 'application/x-ndjson',
        }),
      );
      return;
    }
    if (this.buffered > 0) await this.uploadPart();
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
    );
  }

  /** Aborts an open multipart upload after a failure (the state bucket's lifecycle rule would too, a day later). */
  async abort(): Promise<void> {
    if (this.uploadId === undefined) return;
    await this.s3.send(
      new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }),
    );
  }
}

/** Writes the ledger file. */
export async function writeLedgerFile(s3: S3Client, bucket: string, jobId: string, ledger: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: ledgerKey(jobId),
      Body: `${JSON.stringify(ledger, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}
