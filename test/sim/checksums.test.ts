/**
 * Checksums kept on both copy paths (functions/copy/checksums.ts), through the real copy engine and
 * listing against the in-repo S3 model, which enforces S3's checksum rules (sim/s3-model.ts). The
 * embedded server (s3rver) has no checksums at all: it ignores ChecksumAlgorithm and HEAD reports none.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { copyBatch } from '../../functions/copy/copy-engine';
import { S3ProgressStore } from '../../functions/copy/progress-record';
import { listedObjects } from '../../functions/list/s3-listing';
import { type CopyResult, DEFAULT_OPTIONS, type ManifestObject, MiB, parseJob } from '../../functions/shared/job';
import { S3Model } from '../../sim/s3-model';

const SMALL = 10 * MiB;
const LARGE = 40 * MiB + 5;

/** Records every request's input by command name, before the model answers it. */
function recordRequests(client: S3Client): Map<string, Array<Record<string, unknown>>> {
  const seen = new Map<string, Array<Record<string, unknown>>>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? '').replace(/Command$/, '');
      seen.set(name, [...(seen.get(name) ?? []), { ...(args.input as Record<string, unknown>) }]);
      return next(args);
    },
    { step: 'initialize', priority: 'high', name: 'testRecordRequests' },
  );
  return seen;
}

/** Drops ChecksumAlgorithm/ChecksumType from CreateMultipartUpload, as a server without checksums would. */
function ignoreUploadChecksums(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'CreateMultipartUploadCommand') {
        const input = args.input as Record<string, unknown>;
        delete input.ChecksumAlgorithm;
        delete input.ChecksumType;
      }
      return next(args);
    },
    { step: 'initialize', priority: 'high', name: 'testIgnoreUploadChecksums' },
  );
}

function setup() {
  const model = new S3Model();
  model.createBucket('src');
  model.createBucket('dst');
  const s3 = model.client();
  const requests = recordRequests(s3);
  return { model, s3, requests };
}

/** The source as the list step puts it into a manifest (the real listing code). */
async function manifestOf(s3: S3Client): Promise<ManifestObject[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: 'src', Prefix: 'data/' }));
  return listedObjects(page, 'src');
}

async function copy(
  s3: S3Client,
  objects: ManifestObject[],
  verify: 'multipart' | 'all' = 'all',
  progress?: S3ProgressStore,
) {
  const job = parseJob({
    source: { bucket: 'src', prefix: 'data/' },
    target: { bucket: 'dst', prefix: 'copy/' },
    filter: { include: [], exclude: [] },
    options: { ...DEFAULT_OPTIONS, multipartThreshold: 16 * MiB, partSize: 16 * MiB, verify },
  });
  const bytes = objects.reduce((sum, object) => sum + object.size, 0);
  let settled: CopyResult | undefined;
  const outcome = await copyBatch(
    { job, jobId: 'job-checksums', batch: { id: 'b1', objects, bytes } },
    {
      s3,
      logger: new Logger({ logLevel: 'SILENT' }),
      remainingTimeMs: () => 900_000,
      ...(progress ? { progress } : {}),
      onSettled: (result) => {
        settled = result;
      },
    },
  ).catch((error: Error) => error);
  if (!settled) throw outcome;
  return settled;
}

async function checksumOfTarget(s3: S3Client, key: string) {
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: key, ChecksumMode: 'ENABLED' }));
  return {
    type: head.ChecksumType,
    crc32: head.ChecksumCRC32,
    crc64: head.ChecksumCRC64NVME,
    sha256: head.ChecksumSHA256,
  };
}

describe('checksums on the multipart path', () => {
  it.each([
    ['CRC32', 'FULL_OBJECT'],
    ['CRC32C', 'FULL_OBJECT'],
    ['CRC64NVME', 'FULL_OBJECT'],
    ['SHA256', 'COMPOSITE'],
  ])(
    'keeps a %s source checksum (%s on the target) and completes with every part checksum',
    async (algorithm, type) => {
      // Prepare
      const { model, s3, requests } = setup();
      model.seed('src', [{ key: 'data/big', size: LARGE, checksumAlgorithm: algorithm }]);

      // Act
      const result = await copy(s3, await manifestOf(s3), 'multipart');

      // Assess: the upload asked for the source's algorithm, each part's checksum went into Complete.
      expect(result).toMatchObject({ copied: 1, failed: 0 });
      expect(requests.get('CreateMultipartUpload')?.[0]).toMatchObject({
        ChecksumAlgorithm: algorithm,
        ChecksumType: type,
      });
      const complete = requests.get('CompleteMultipartUpload')?.[0] ?? {};
      const parts = (complete.MultipartUpload as { Parts: Array<Record<string, unknown>> }).Parts;
      expect(parts).toHaveLength(3);
      for (const part of parts) expect(part[`Checksum${algorithm}`]).toEqual(expect.any(String));
      const target = model.object('dst', 'copy/big');
      const source = model.object('src', 'data/big');
      expect(target?.checksum).toMatchObject({ algorithm, type });
      // A full-object checksum is the same in any part layout: the copy has the source's value.
      if (type === 'FULL_OBJECT') expect(target?.checksum?.value).toBe(source?.checksum?.value);
      else expect(target?.checksum?.value).toMatch(/-3$/);
    },
  );

  it('sends the source full-object value with Complete, so S3 refuses bytes that differ', async () => {
    // Prepare
    const { model, s3, requests } = setup();
    model.seed('src', [{ key: 'data/big', size: LARGE, checksumAlgorithm: 'CRC32' }]);

    // Act
    await copy(s3, await manifestOf(s3), 'multipart');

    // Assess
    expect(requests.get('CompleteMultipartUpload')?.[0]).toMatchObject({
      ChecksumType: 'FULL_OBJECT',
      ChecksumCRC32: model.object('src', 'data/big')?.checksum?.value,
    });
  });

  it('fails the object with CopyVerificationFailed when the server did not keep the checksum algorithm', async () => {
    // Prepare: a server that ignores ChecksumAlgorithm on CreateMultipartUpload.
    const { model, s3 } = setup();
    ignoreUploadChecksums(s3);
    model.seed('src', [{ key: 'data/big', size: LARGE, checksumAlgorithm: 'CRC32C' }]);

    // Act
    const result = await copy(s3, await manifestOf(s3), 'multipart');

    // Assess
    expect(result).toMatchObject({ copied: 0, failed: 1 });
    expect(result.failures[0]?.code).toBe('CopyVerificationFailed');
    expect(result.failures[0]?.message).toMatch(/no checksum instead of CRC32C/);
  });

  it('copies a source without a checksum with none asked for', async () => {
    // Prepare
    const { model, s3, requests } = setup();
    model.seed('src', [{ key: 'data/big', size: LARGE }]);

    // Act
    const result = await copy(s3, await manifestOf(s3), 'multipart');

    // Assess
    expect(result).toMatchObject({ copied: 1 });
    expect(requests.get('CreateMultipartUpload')?.[0]?.ChecksumAlgorithm).toBeUndefined();
    expect(await checksumOfTarget(s3, 'copy/big')).toEqual({
      type: undefined,
      crc32: undefined,
      crc64: undefined,
      sha256: undefined,
    });
  });
});

describe('checksums on the CopyObject path', () => {
  it('asks CopyObject for the listed algorithm explicitly, and the verification finds it kept', async () => {
    // Prepare
    const { model, s3, requests } = setup();
    model.seed('src', [
      { key: 'data/a', size: SMALL, checksumAlgorithm: 'SHA256' },
      { key: 'data/b', size: SMALL, checksumAlgorithm: 'CRC64NVME' },
      { key: 'data/c', size: SMALL },
    ]);
    const manifest = await manifestOf(s3);

    // Act
    const result = await copy(s3, manifest, 'all');

    // Assess
    expect(manifest.map((object) => object.checksumAlgorithm)).toEqual(['SHA256', 'CRC64NVME', undefined]);
    expect(result).toMatchObject({ copied: 3, failed: 0 });
    const sent = new Map((requests.get('CopyObject') ?? []).map((input) => [input.Key, input.ChecksumAlgorithm]));
    expect(Object.fromEntries(sent)).toEqual({ 'copy/a': 'SHA256', 'copy/b': 'CRC64NVME', 'copy/c': undefined });
    expect(await checksumOfTarget(s3, 'copy/a')).toMatchObject({
      type: 'FULL_OBJECT',
      sha256: model.object('src', 'data/a')?.checksum?.value,
    });
  });
});

describe('a retried batch', () => {
  it('does not count as copied a target an earlier attempt wrote but could not verify', async () => {
    // Prepare: a server whose CopyObject stores CRC32 whatever the source has; a progress store, so the
    // second call is the batch's retry and finds the first attempt's target.
    const { model, s3 } = setup();
    model.createBucket('state');
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CopyObjectCommand')
          (args.input as Record<string, unknown>).ChecksumAlgorithm = 'CRC32';
        return next(args);
      },
      { step: 'initialize', priority: 'high', name: 'testWrongAlgorithm' },
    );
    model.seed('src', [{ key: 'data/a', size: SMALL, checksumAlgorithm: 'SHA256' }]);
    const manifest = await manifestOf(s3);
    const progress = new S3ProgressStore(s3, 'state');

    // Act
    const first = await copy(s3, manifest, 'all', progress);
    const retry = await copy(s3, manifest, 'all', progress);

    // Assess
    expect(first).toMatchObject({ copied: 0, failed: 1 });
    expect(retry).toMatchObject({ copied: 0, failed: 1 });
    expect(retry.failures[0]?.message).toMatch(/checksum algorithm CRC32 instead of SHA256/);
  });
});

describe('the S3 model checksum rules the copy relies on', () => {
  it('refuses to complete a composite upload without its part checksums, as S3 does', async () => {
    // Prepare
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'data/x', size: 6 * MiB }]);
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'x', ChecksumAlgorithm: 'SHA256' }),
    );
    const part = await s3.send(
      new UploadPartCopyCommand({ Bucket: 'dst', Key: 'x', UploadId, PartNumber: 1, CopySource: 'src/data/x' }),
    );

    // Act
    const refused = await s3
      .send(
        new CompleteMultipartUploadCommand({
          Bucket: 'dst',
          Key: 'x',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult?.ETag }] },
        }),
      )
      .catch((error: Error) => error);

    // Assess
    expect(part.CopyPartResult?.ChecksumSHA256).toEqual(expect.any(String));
    expect(refused).toMatchObject({ name: 'InvalidRequest' });
    expect((refused as Error).message).toMatch(/must include the checksum for each part/);
  });
});
