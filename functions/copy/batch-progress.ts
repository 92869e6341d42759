/**
 * Retries that make progress: a batch's invocations share a record (progress-record.ts BatchRecord) of
 * what they copied, so a retried batch (time budget, Lambda timeout, throttling) skips what an earlier
 * invocation of this execution already copied instead of copying it again, in copy mode as in sync mode.
 * An object counts as already copied when the record says so, or (a record lagging behind a killed
 * invocation) when the target has the listed size and ETag and was written after the batch's first
 * invocation began. Large objects resume through their own upload record (multipart-copy.ts).
 */
import type { Batch, ManifestObject } from '../shared/job';
import type { CopyContext } from './copy-context';
import type { BatchRecord } from './progress-record';
import type { TargetObject } from './target-lookup';

const unquote = (etag: string | undefined) => (etag ?? '').replace(/^W\//, '').replace(/"/g, '');

export class BatchProgress {
  private dirty = false;
  private lastWrite: number;
  private writing: Promise<void> | undefined;

  private constructor(
    private readonly ctx: CopyContext,
    private readonly record: BatchRecord,
    /** True when an earlier invocation of this batch began (this one is a retry). */
    readonly isRetry: boolean,
  ) {
    this.lastWrite = ctx.now();
  }

  /**
   * Reads the batch's record, or writes a new one (so even an invocation killed before it could write
   * anything else leaves its start time for the retry).
   * @returns undefined without a progress store
   */
  static async open(ctx: CopyContext, batch: Batch): Promise<BatchProgress | undefined> {
    if (!ctx.progress) return undefined;
    const previous = await ctx.progress.readBatch(ctx.jobId, batch.id);
    const now = new Date(ctx.now()).toISOString();
    if (previous && previous.format === 1 && previous.jobId === ctx.jobId && previous.batchId === batch.id) {
      const record: BatchRecord = { ...previous, invocations: previous.invocations + 1, updatedAt: now };
      const progress = new BatchProgress(ctx, record, true);
      await progress.write();
      return progress;
    }
    const record: BatchRecord = {
      format: 1,
      jobId: ctx.jobId,
      batchId: batch.id,
      firstAttemptAt: now,
      invocations: 1,
      copied: {},
      updatedAt: now,
    };
    const progress = new BatchProgress(ctx, record, false);
    await progress.write();
    return progress;
  }

  /** The bytes an earlier invocation copied for this object (the listed version), per the record. */
  recordedCopy(object: ManifestObject): number | undefined {
    const copied = this.record.copied[object.key];
    if (!copied) return undefined;
    return unquote(copied.etag) === unquote(object.etag) || object.etag === '' ? copied.size : undefined;
  }

  /**
   * True when the target holds the listed version and was written since this batch first ran: an earlier
   * invocation copied it and was stopped before recording it. Last-Modified has whole seconds.
   */
  writtenByThisBatch(object: ManifestObject, target: TargetObject): boolean {
    if (object.etag === '' || target.ContentLength !== object.size) return false;
    if (unquote(target.ETag) !== unquote(object.etag)) return false;
    const since = Math.floor(Date.parse(this.record.firstAttemptAt) / 1000) * 1000;
    return target.LastModified !== undefined && target.LastModified.getTime() >= since;
  }

  /** Notes a copied object; written with the next record write. */
  copied(key: string, etag: string | undefined, size: number): void {
    this.record.copied[key] = { etag: etag ?? '', size };
    this.dirty = true;
    if (this.writing || this.ctx.now() - this.lastWrite < this.ctx.recordIntervalMs) return;
    this.writing = this.write().finally(() => {
      this.writing = undefined;
    });
  }

  /** Writes what is not written yet (when the batch stops or fails, so the retry skips it). */
  async flush(): Promise<void> {
    await this.writing;
    if (this.dirty) await this.write();
  }

  private async write(): Promise<void> {
    if (!this.ctx.progress) return;
    this.dirty = false;
    this.lastWrite = this.ctx.now();
    this.record.updatedAt = new Date(this.lastWrite).toISOString();
    try {
      await this.ctx.progress.writeBatch(this.record);
      this.ctx.stats.recordWrites++;
    } catch (error) {
      this.dirty = true;
      this.ctx.logger.warn('Could not write the batch progress record; a retry may copy some objects again', {
        batchId: this.record.batchId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
