import { Logger } from '@aws-lambda-powertools/logger';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import fc from 'fast-check';
import type { CopyStats } from '../../functions/copy/copy-context';
import { copyBatch } from '../../functions/copy/copy-engine';
import { partsCountOf, rangesOf, unreplayable } from '../../functions/copy/source-layout';
import { DEFAULT_OPTIONS, type ManifestObject, MiB, parseJob } from '../../functions/shared/job';
import { sameContent } from '../../sim/content';
import { S3Model } from '../../sim/s3-model';

/** Writes src/<key> as a multipart upload with these part sizes (copied from a seeded origin object). */
async function uploadInParts(model: S3Model, s3: S3Client, key: string, sizes: number[]): Promise<void> {
  const total = sizes.reduce((a, b) => a + b, 0);
  model.seed('origin', [{ key, size: total, origin: key }]);
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'src', Key: key }));
  const parts = [];
  for (const part of rangesOf(sizes)) {
    const answer = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'src',
        Key: key,
        UploadId,
        PartNumber: part.partNumber,
        CopySource: `origin/${key}`,
        CopySourceRange: `bytes=${part.start}-${part.end}`,
      }),
    );
    parts.push({ PartNumber: part.partNumber, ETag: answer.CopyPartResult?.ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: 'src', Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
}

function setup() {
  const model = new S3Model();
  for (const bucket of ['origin', 'src', 'dst']) model.createBucket(bucket);
  return { model, s3: model.client() };
}

/** Copies the listed objects with the job's defaults but a 16 MiB threshold and 64 MiB parts. */
async function copyAll(model: S3Model, s3: S3Client, keys: string[]) {
  const job = parseJob({
    source: { bucket: 'src' },
    target: { bucket: 'dst' },
    options: { ...DEFAULT_OPTIONS, multipartThreshold: 16 * MiB, partSize: 64 * MiB },
  });
  const objects: ManifestObject[] = keys.map((key) => {
    const stored = model.object('src', key);
    return { key, size: stored?.size ?? 0, etag: stored?.etag ?? '', lastModified: new Date().toISOString() };
  });
  let stats: CopyStats | undefined;
  const result = await copyBatch(
    { job, jobId: 'job', batch: { id: 'b1', objects, bytes: objects.reduce((sum, o) => sum + o.size, 0) } },
    {
      s3,
      logger: new Logger({ logLevel: 'SILENT' }),
      remainingTimeMs: () => 900_000,
      onStats: (s) => {
        stats = s;
      },
    },
  );
  return { result, stats };
}

describe('copies that keep the source part layout (S3 model)', () => {
  it('gives the target the source ETag for sources uploaded in 5, 8 and 16 MiB parts, above and below the threshold', async () => {
    // Arrange: as `aws s3 cp` (8 MiB), boto3 (8 MiB) and others upload; 13 MiB is below the 16 MiB threshold.
    const { model, s3 } = setup();
    const layouts: Record<string, number[]> = {
      'p5.bin': [5 * MiB, 5 * MiB, 3 * MiB],
      'p8.bin': [8 * MiB, 5 * MiB],
      'p16.bin': [16 * MiB, 16 * MiB, 16 * MiB, 16 * MiB, 6 * MiB],
    };
    for (const [key, sizes] of Object.entries(layouts)) await uploadInParts(model, s3, key, sizes);

    // Act
    const { result, stats } = await copyAll(model, s3, Object.keys(layouts));

    // Assess
    expect(result).toMatchObject({ copied: 3, failed: 0 });
    for (const key of Object.keys(layouts)) {
      expect(model.object('dst', key)?.etag).toBe(model.object('src', key)?.etag);
      expect(sameContent(model.object('dst', key)?.content ?? [], model.object('src', key)?.content ?? [])).toBe(true);
    }
    expect(stats).toMatchObject({ layoutFallbacks: 0, layoutHeads: 3 + 2 + 5 });
  });

  it('replays an uneven layout part by part', async () => {
    // Arrange: the first part is the largest, so "every part as big as the first" would be wrong.
    const { model, s3 } = setup();
    await uploadInParts(model, s3, 'uneven.bin', [7 * MiB, 5 * MiB, 6 * MiB, 1000]);

    // Act
    const { result } = await copyAll(model, s3, ['uneven.bin']);

    // Assess
    expect(result).toMatchObject({ copied: 1, failed: 0 });
    expect(model.object('dst', 'uneven.bin')?.parts).toEqual([7 * MiB, 5 * MiB, 6 * MiB, 1000]);
    expect(model.object('dst', 'uneven.bin')?.etag).toBe(model.object('src', 'uneven.bin')?.etag);
  });

  it('keeps a single-part source below the threshold single-part (one CopyObject, the same MD5 ETag)', async () => {
    // Arrange
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'one.bin', size: 3 * MiB }]);

    // Act
    const { result } = await copyAll(model, s3, ['one.bin']);

    // Assess
    expect(result).toMatchObject({ copied: 1 });
    expect(model.object('dst', 'one.bin')?.etag).toBe(model.object('src', 'one.bin')?.etag);
    expect(model.stats.requests.UploadPartCopy ?? 0).toBe(0);
  });

  it('falls back to the job plan, and counts it, when the server does not report the parts', async () => {
    // Arrange: HeadObject answers without PartsCount, as Ceph RGW 16 does for PartNumber.
    const { model, s3 } = setup();
    await uploadInParts(model, s3, 'm.bin', [5 * MiB, 5 * MiB]);
    s3.middlewareStack.add(
      (next) => async (args) => {
        const answer = await next(args);
        delete (answer.output as { PartsCount?: number }).PartsCount;
        return answer;
      },
      { step: 'initialize', priority: 'high', name: 'hideParts' },
    );

    // Act
    const { result, stats } = await copyAll(model, s3, ['m.bin']);

    // Assess: copied, with CopyObject (10 MiB is below the threshold), so its ETag is another one.
    expect(result).toMatchObject({ copied: 1, failed: 0 });
    expect(stats).toMatchObject({ layoutFallbacks: 1, layoutHeads: 1 });
    expect(model.object('dst', 'm.bin')?.etag).not.toBe(model.object('src', 'm.bin')?.etag);
  });
});

describe('source layout rules', () => {
  it('reads the parts count of a multipart ETag and nothing else', () => {
    expect(partsCountOf('"0123abcd-12"')).toBe(12);
    expect(partsCountOf('W/"0123abcd-1"')).toBe(1);
    expect(partsCountOf('"0123abcd"')).toBeUndefined();
    expect(partsCountOf('')).toBeUndefined();
  });

  it('accepts exactly the layouts UploadPartCopy can replay', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 12 * MiB }), { minLength: 1, maxLength: 30 }), (sizes) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const valid = sizes.every((size, i) => i === sizes.length - 1 || size >= 5 * MiB);
        expect(unreplayable(sizes, total) === undefined).toBe(valid);
        expect(unreplayable(sizes, total + 1)).toBeDefined();
        const ranges = rangesOf(sizes);
        expect(ranges.at(-1)?.end).toBe(total - 1);
        expect(ranges.every((r, i) => i === 0 || r.start === (ranges[i - 1]?.end ?? 0) + 1)).toBe(true);
      }),
    );
  });
});
