import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type CopyEngineDeps, copyBatch } from '../../functions/copy/copy-engine';
import {
  type BatchRecord,
  type ProgressStore,
  S3ProgressStore,
  type UploadRecord,
  uploadRecordKey,
} from '../../functions/copy/progress-record';
import { CopyTimeBudgetError } from '../../functions/shared/errors';
import { type CopyInput, DEFAULT_OPTIONS, type ManifestObject, MiB, parseJob } from '../../functions/shared/job';
import { startTestS3, type TestS3 } from '../support/s3';

const logger = new Logger({ serviceName: 'copy-resume-test', logLevel: 'SILENT' });
const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

/** Counts commands by name and remembers UploadPartCopy part numbers per upload. */
function observe(client: S3Client) {
  const counts: Record<string, number> = {};
  const parts: Array<{ uploadId: string; partNumber: number }> = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      counts[name] = (counts[name] ?? 0) + 1;
      const result = await next(args);
      if (name === 'UploadPartCopyCommand') {
        const input = args.input as { UploadId: string; PartNumber: number };
        parts.push({ uploadId: input.UploadId, partNumber: input.PartNumber });
      }
      return result;
    },
    { step: 'initialize', name: 'observeForTest' },
  );
  return { counts, parts };
}

describe('copyBatch resuming across invocations (embedded S3 server, state bucket on it)', () => {
  let s3: TestS3;
  let counter = 0;

  beforeAll(async () => {
    s3 = await startTestS3();
  });
  afterAll(() => s3.stop());

  async function setup() {
    counter++;
    const names = { source: `rsrc-${counter}`, target: `rdst-${counter}`, state: `rstate-${counter}` };
    for (const name of Object.values(names)) await s3.createBucket(name);
    return { ...names, progress: new S3ProgressStore(s3.makeS3(), names.state) };
  }

  async function entry(bucket: string, key: string): Promise<ManifestObject> {
    const head = await s3.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      key,
      size: head.ContentLength ?? 0,
      etag: head.ETag ?? '',
      lastModified: (head.LastModified ?? new Date()).toISOString(),
    };
  }

  function input(source: string, target: string, objects: ManifestObject[], mode: 'copy' | 'sync' = 'copy'): CopyInput {
    const job = parseJob({
      source: { bucket: source, prefix: '' },
      target: { bucket: target, prefix: '' },
      filter: { include: [], exclude: [] },
      options: { ...DEFAULT_OPTIONS, mode, concurrency: 1, multipartThreshold: 5 * MiB, partSize: 5 * MiB },
    });
    return { job, jobId: `job-resume-${counter}`, batch: { id: 'b-1', objects, bytes: 0 } };
  }

  /** An invocation whose time runs out (under the 30 s margin) once `parts` UploadPartCopy calls were answered. */
  function stopAfterParts(
    client: S3Client,
    parts: number,
    progress: ProgressStore,
    extra: Partial<CopyEngineDeps> = {},
  ) {
    const seen = observe(client);
    const deps: CopyEngineDeps = {
      s3: client,
      logger,
      progress,
      retry: FAST_RETRY,
      safetyMarginMs: 30_000,
      remainingTimeMs: () => (seen.parts.length >= parts ? 1_000 : 600_000),
      ...extra,
    };
    return { deps, seen };
  }

  async function readRecord(state: string, jobId: string, key: string): Promise<UploadRecord> {
    const response = await s3.s3.send(new GetObjectCommand({ Bucket: state, Key: uploadRecordKey(jobId, key) }));
    return JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString());
  }

  it('finishes a large object in a second invocation, copying every part exactly once', async () => {
    // Arrange
    const { source, target, state, progress } = await setup();
    const body = randomBytes(26 * MiB);
    await s3.put(source, 'big.bin', body);
    const copy = input(source, target, [await entry(source, 'big.bin')]);
    const first = stopAfterParts(s3.makeS3(), 2, progress);
    // Act
    const stopped = await copyBatch(copy, first.deps).catch((caught: unknown) => caught);
    const secondClient = s3.makeS3();
    const second = observe(secondClient);
    const result = await copyBatch(copy, {
      s3: secondClient,
      logger,
      progress,
      retry: FAST_RETRY,
      remainingTimeMs: () => 600_000,
    });
    // Assert
    expect(stopped).toBeInstanceOf(CopyTimeBudgetError);
    expect(result).toMatchObject({ copied: 1, failed: 0, bytesCopied: body.length });
    expect((await s3.getBody(target, 'big.bin')).equals(body)).toBe(true);
    const all = [...first.seen.parts, ...second.parts];
    expect(all.map((part) => part.partNumber).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(all.map((part) => part.uploadId)).size).toBe(1);
    expect(second.counts.CreateMultipartUploadCommand).toBeUndefined();
    expect(await s3.openUploads(target)).toBe(0);
    const record = await readRecord(state, copy.jobId, 'big.bin');
    expect(record).toMatchObject({ state: 'completed', invocations: 2, partCount: 6, size: body.length });
    expect(Object.keys(record.parts)).toHaveLength(6);
  });

  it('never completes, aborts or lists a foreign upload open on the same key', async () => {
    // Arrange: another writer's upload of the same target key, begun before ours.
    const { source, target, progress } = await setup();
    const body = randomBytes(16 * MiB);
    await s3.put(source, 'shared.bin', body);
    const foreign = await s3.s3.send(new CreateMultipartUploadCommand({ Bucket: target, Key: 'shared.bin' }));
    const copy = input(source, target, [await entry(source, 'shared.bin')]);
    const first = stopAfterParts(s3.makeS3(), 1, progress);
    // Act
    await copyBatch(copy, first.deps).catch(() => undefined);
    const secondClient = s3.makeS3();
    const second = observe(secondClient);
    const result = await copyBatch(copy, {
      s3: secondClient,
      logger,
      progress,
      retry: FAST_RETRY,
      remainingTimeMs: () => 600_000,
    });
    // Assert
    expect(result).toMatchObject({ copied: 1, bytesCopied: body.length });
    expect((await s3.getBody(target, 'shared.bin')).equals(body)).toBe(true);
    const open = await s3.s3.send(new ListMultipartUploadsCommand({ Bucket: target }));
    expect((open.Uploads ?? []).map((upload) => upload.UploadId)).toEqual([foreign.UploadId]);
    expect(second.parts.every((part) => part.uploadId !== foreign.UploadId)).toBe(true);
    expect(first.seen.counts.ListMultipartUploadsCommand ?? 0).toBe(0);
    expect(second.counts.ListMultipartUploadsCommand ?? 0).toBe(0);
  });

  it('aborts its recorded upload, says why, and copies the new version when the source changed between invocations', async () => {
    // Arrange
    const { source, target, state, progress } = await setup();
    await s3.put(source, 'moving.bin', randomBytes(16 * MiB));
    const copy = input(source, target, [await entry(source, 'moving.bin')]);
    const first = stopAfterParts(s3.makeS3(), 2, progress);
    await copyBatch(copy, first.deps).catch(() => undefined);
    const replacement = randomBytes(12 * MiB);
    await s3.put(source, 'moving.bin', replacement);
    // Act
    const result = await copyBatch(copy, {
      s3: s3.makeS3(),
      logger,
      progress,
      retry: FAST_RETRY,
      remainingTimeMs: () => 600_000,
    });
    // Assert
    expect(result).toMatchObject({ copied: 1, bytesCopied: replacement.length });
    expect((await s3.getBody(target, 'moving.bin')).equals(replacement)).toBe(true);
    expect(await s3.openUploads(target)).toBe(0);
    const record = await readRecord(state, copy.jobId, 'moving.bin');
    expect(record.state).toBe('completed');
    expect(record.history).toHaveLength(1);
    expect(record.history?.[0]).toMatchObject({ state: 'aborted', partsDone: 2 });
    expect(record.history?.[0]?.reason).toMatch(/^source-changed/);
    expect(record.history?.[0]?.uploadId).toBe(first.seen.parts[0]?.uploadId);
  });

  it('skips, in copy mode, the objects an earlier invocation of the batch copied', async () => {
    // Arrange: three small objects; the first invocation runs out of time after two CopyObjects.
    const { source, target, progress } = await setup();
    for (const key of ['a.txt', 'b.txt', 'c.txt']) await s3.put(source, key, `body of ${key}`);
    const objects = await Promise.all(['a.txt', 'b.txt', 'c.txt'].map((key) => entry(source, key)));
    const copy = input(source, target, objects);
    const firstClient = s3.makeS3();
    const first = observe(firstClient);
    const stopped = await copyBatch(copy, {
      s3: firstClient,
      logger,
      progress,
      retry: FAST_RETRY,
      safetyMarginMs: 30_000,
      remainingTimeMs: () => ((first.counts.CopyObjectCommand ?? 0) >= 2 ? 1_000 : 600_000),
    }).catch((caught: unknown) => caught);
    const secondClient = s3.makeS3();
    const second = observe(secondClient);
    // Act
    const result = await copyBatch(copy, {
      s3: secondClient,
      logger,
      progress,
      retry: FAST_RETRY,
      remainingTimeMs: () => 600_000,
    });
    // Assert
    expect(stopped).toBeInstanceOf(CopyTimeBudgetError);
    expect(second.counts.CopyObjectCommand).toBe(1);
    expect(result).toMatchObject({ copied: 3, failed: 0, bytesCopied: objects.reduce((sum, o) => sum + o.size, 0) });
    expect(await s3.listKeys(target)).toEqual(['a.txt', 'b.txt', 'c.txt']);
  });

  it('skips targets written since the batch began when a killed invocation could not record them', async () => {
    // Arrange: the first invocation's record writes after its first are lost (as when Lambda kills it).
    const { source, target, progress } = await setup();
    for (const key of ['a.txt', 'b.txt']) await s3.put(source, key, `body of ${key}`);
    const objects = await Promise.all(['a.txt', 'b.txt'].map((key) => entry(source, key)));
    const copy = input(source, target, objects);
    let batchWrites = 0;
    const killed: ProgressStore = {
      readUpload: (jobId, key) => progress.readUpload(jobId, key),
      writeUpload: (record) => progress.writeUpload(record),
      readBatch: (jobId, id) => progress.readBatch(jobId, id),
      writeBatch: async (record: BatchRecord) => {
        if (++batchWrites === 1) await progress.writeBatch(record);
      },
    };
    await copyBatch(copy, {
      s3: s3.makeS3(),
      logger,
      progress: killed,
      retry: FAST_RETRY,
      remainingTimeMs: () => 600_000,
    });
    const client = s3.makeS3();
    const seen = observe(client);
    // Act
    const result = await copyBatch(copy, {
      s3: client,
      logger,
      progress,
      retry: FAST_RETRY,
      remainingTimeMs: () => 600_000,
    });
    // Assert
    expect(seen.counts.CopyObjectCommand ?? 0).toBe(0);
    expect(seen.counts.HeadObjectCommand).toBe(2);
    expect(result).toMatchObject({ copied: 2, failed: 0 });
  });
});
