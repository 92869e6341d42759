import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createCopyContext } from '../../functions/copy/copy-context';
import { copyBatch } from '../../functions/copy/copy-engine';
import { copyMultipart } from '../../functions/copy/multipart-copy';
import { copySingle } from '../../functions/copy/single-copy';
import { findTarget } from '../../functions/copy/target-lookup';
import { DEFAULT_OPTIONS, type Job, type ManifestObject, MiB, parseJob } from '../../functions/shared/job';
import { startTestS3, type TestS3 } from '../support/s3';

const logger = new Logger({ serviceName: 'copy-modules-test', logLevel: 'SILENT' });

/** Records the name of every command a client sends; `buckets` the bucket each was addressed to. */
function commandsOf(client: S3Client): string[] & { buckets: string[] } {
  const sent = Object.assign([] as string[], { buckets: [] as string[] });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(String(context.commandName));
      sent.buckets.push(String((args.input as { Bucket?: string }).Bucket));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNamesForTest' },
  );
  return sent;
}

describe('copy engine modules against the embedded S3 server', () => {
  let s3: TestS3;
  let counter = 0;

  beforeAll(async () => {
    s3 = await startTestS3();
  });
  afterAll(() => s3.stop());

  async function setup(options: Record<string, unknown> = {}) {
    counter++;
    const source = `msrc-${counter}`;
    const target = `mdst-${counter}`;
    await s3.createBucket(source);
    await s3.createBucket(target);
    const job: Job = parseJob({
      source: { bucket: source, prefix: '' },
      target: { bucket: target, prefix: '' },
      filter: { include: [], exclude: [] },
      options: { ...DEFAULT_OPTIONS, concurrency: 4, multipartThreshold: 5 * MiB, partSize: 5 * MiB, ...options },
    });
    return { source, target, job };
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

  it('copySingle copies the bytes with one CopyObject on the target client', async () => {
    // Arrange
    const { source, target, job } = await setup();
    await s3.put(source, 'one.txt', 'hello single');
    const targetS3 = s3.makeS3();
    const sent = commandsOf(targetS3);
    const ctx = createCopyContext(job, { jobId: 'job-modules', s3: targetS3, logger, remainingTimeMs: () => 900_000 });
    // Act
    const listed = await entry(source, 'one.txt');
    const copied = await copySingle(ctx, 'one.txt', 'copied.txt', { etag: listed.etag, size: listed.size });
    // Assert
    expect(copied.size).toBe(12);
    expect([...sent]).toEqual(['CopyObjectCommand']);
    expect((await s3.getBody(target, 'copied.txt')).toString()).toBe('hello single');
  });

  it('copyMultipart reads the source through sourceS3 and writes parts through s3, leaving no upload open', async () => {
    // Arrange
    const { source, target, job } = await setup();
    const body = randomBytes(11 * MiB);
    await s3.put(source, 'big.bin', body);
    const targetS3 = s3.makeS3();
    const sourceS3 = s3.makeS3();
    const targetSent = commandsOf(targetS3);
    const sourceSent = commandsOf(sourceS3);
    const ctx = createCopyContext(job, {
      jobId: 'job-modules',
      s3: targetS3,
      sourceS3,
      logger,
      remainingTimeMs: () => 900_000,
    });
    // Act
    const listed = await entry(source, 'big.bin');
    const copied = await copyMultipart(ctx, 'big.bin', 'big.bin', { etag: listed.etag, size: listed.size });
    // Assert
    expect(copied.size).toBe(body.length);
    expect(Buffer.compare(await s3.getBody(target, 'big.bin'), body)).toBe(0);
    // Source reads only: one HEAD and one tag read (the check after Complete reuses them).
    expect([...sourceSent].sort()).toEqual(['GetObjectTaggingCommand', 'HeadObjectCommand']);
    expect(targetSent.filter((name) => name === 'UploadPartCopyCommand')).toHaveLength(3);
    // The only HEAD on the target client is the check after the copy (verify-copy.ts), of the target.
    expect(targetSent.filter((name) => name === 'HeadObjectCommand')).toHaveLength(1);
    expect(await s3.openUploads(target)).toBe(0);
  });

  it('findTarget returns undefined for a missing key and size and ETag for an existing one', async () => {
    const { target, job } = await setup();
    await s3.put(target, 'there.txt', 'abc');
    const ctx = createCopyContext(job, {
      jobId: 'job-modules',
      s3: s3.makeS3(),
      logger,
      remainingTimeMs: () => 900_000,
    });
    expect(await findTarget(ctx, 'missing.txt')).toBeUndefined();
    expect(await findTarget(ctx, 'there.txt')).toMatchObject({ ContentLength: 3, ETag: expect.any(String) });
  });

  it('copyBatch sends no source read on the target client when given a separate source client', async () => {
    // Arrange
    const { source, target, job } = await setup({ mode: 'sync' });
    await s3.put(source, 'big.bin', randomBytes(6 * MiB));
    await s3.put(source, 'small.txt', 'small');
    const objects = [await entry(source, 'big.bin'), await entry(source, 'small.txt')];
    const targetS3 = s3.makeS3();
    const sourceS3 = s3.makeS3();
    const targetSent = commandsOf(targetS3);
    const sourceSent = commandsOf(sourceS3);
    // Act
    const result = await copyBatch(
      { job, jobId: 'job-modules', batch: { id: 'b-1', objects, bytes: objects.reduce((sum, o) => sum + o.size, 0) } },
      { s3: targetS3, sourceS3, logger, remainingTimeMs: () => 900_000 },
    );
    // Assert
    expect(result).toMatchObject({ copied: 2, failed: 0 });
    expect([...sourceSent].sort()).toEqual(['GetObjectTaggingCommand', 'HeadObjectCommand']);
    // Every request of the source client is to the source bucket, none of the target client's is.
    expect([...new Set(sourceSent.buckets)]).toEqual([source]);
    expect(targetSent.buckets).not.toContain(source);
    // The sync check HEADs the two target keys and the check after the multipart copy HEADs its target;
    // no other HEAD goes to the target client.
    expect(targetSent.filter((name) => name === 'HeadObjectCommand')).toHaveLength(3);
    expect(await s3.listKeys(target)).toEqual(['big.bin', 'small.txt']);
  });
});
