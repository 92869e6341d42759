import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { copyBatch } from '../../functions/copy/copy-engine';
import { planParts } from '../../functions/copy/part-plan';
import { decodeFormUrl } from '../../functions/list/s3-url-encoding';
import { DEFAULT_OPTIONS, GiB, MiB, parseJob } from '../../functions/shared/job';
import { VirtualClock } from '../../sim/clock';
import { sameContent, wholeOrigin } from '../../sim/content';
import { AWS_RATE_LIMITS } from '../../sim/limits';
import { S3Model, s3Error } from '../../sim/s3-model';

/** The error a command fails with (the test fails if it succeeds). */
async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number; fault?: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
    return { name: e.name, status: e.$metadata?.httpStatusCode, fault: e.$fault };
  }
  throw new Error('expected the command to fail');
}

function setup(options: ConstructorParameters<typeof S3Model>[0] = {}): { model: S3Model; s3: S3Client } {
  const model = new S3Model(options);
  model.createBucket('src');
  model.createBucket('dst');
  return { model, s3: model.client() };
}

/** Copies src/key into dst/key part by part, as a multipart copy does; returns the Complete answer. */
async function multipartCopy(s3: S3Client, key: string, size: number, partSize: number) {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: key }));
  const parts = [];
  for (const part of planParts(size, partSize)) {
    const answer = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'dst',
        Key: key,
        UploadId,
        PartNumber: part.partNumber,
        CopySource: `src/${encodeURIComponent(key)}`,
        CopySourceRange: `bytes=${part.start}-${part.end}`,
      }),
    );
    parts.push({ PartNumber: part.partNumber, ETag: answer.CopyPartResult?.ETag });
  }
  return s3.send(
    new CompleteMultipartUploadCommand({ Bucket: 'dst', Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
}

describe('S3Model as an S3Client', () => {
  it('answers HeadObject and CopyObject from the model, the copy holding the source content and ETag', async () => {
    // Prepare
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'a/one', size: 1234, metadata: { owner: 'x' }, contentType: 'text/csv' }]);

    // Act
    const copied = await s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'copy', CopySource: 'src/a/one' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'copy' }));

    // Assess
    const source = model.object('src', 'a/one');
    expect(head).toMatchObject({
      ContentLength: 1234,
      ETag: source?.etag,
      Metadata: { owner: 'x' },
      ContentType: 'text/csv',
    });
    expect(copied.CopyObjectResult?.ETag).toBe(source?.etag);
    expect(sameContent(model.object('dst', 'copy')?.content ?? [], source?.content ?? [])).toBe(true);
    expect(model.stats.requests).toEqual({ CopyObject: 1, HeadObject: 1 });
  });

  it('raises SDK-shaped errors: name is the code, with the HTTP status and fault', async () => {
    const { s3 } = setup();
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'src', Key: 'missing' })))).toEqual({
      name: 'NotFound',
      status: 404,
      fault: 'client',
    });
    expect(
      await failure(s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'k', CopySource: 'src/missing' }))),
    ).toEqual({ name: 'NoSuchKey', status: 404, fault: 'client' });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'nobucket', Key: 'k' })))).toMatchObject({
      name: 'NoSuchBucket',
      status: 404,
    });
  });

  it('creates and heads buckets, refusing to create one twice', async () => {
    const { s3 } = setup();
    await s3.send(new CreateBucketCommand({ Bucket: 'state' }));
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'state' }))).resolves.toBeDefined();
    expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'state' })))).toMatchObject({
      name: 'BucketAlreadyOwnedByYou',
      status: 409,
    });
    expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'absent' })))).toMatchObject({ status: 404 });
  });

  it('keeps the bytes of a JSON body put with PutObject and returns them with GetObject', async () => {
    const { s3 } = setup();
    const body = JSON.stringify([{ id: 'b1', objects: [] }]);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'dst', Key: 'manifests/1.json', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'manifests/1.json' }));
    expect(await got.Body?.transformToString()).toBe(body);
    // S3's ETag of a single-part upload is the MD5 of its bytes.
    expect(put.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
  });

  it('deletes objects, idempotently', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 1 }]);
    await s3.send(new DeleteObjectCommand({ Bucket: 'src', Key: 'k' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'src', Key: 'k' }));
    expect(model.object('src', 'k')).toBeUndefined();
    expect(model.keys('src')).toEqual([]);
  });
});

describe('S3Model SSE-KMS ETags', () => {
  it('gives every SSE-KMS write its own ETag, not the MD5, and a copy out of SSE-KMS the MD5 again', async () => {
    // Arrange
    const model = new S3Model();
    for (const bucket of ['plain', 'kms']) model.createBucket(bucket);
    model.setDefaultEncryption('kms', { kmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/k' });
    const s3 = model.client();
    const body = Buffer.from('same bytes');
    const md5 = `"${createHash('md5').update(body).digest('hex')}"`;

    // Act
    const plain = await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'a', Body: body }));
    const first = await s3.send(new PutObjectCommand({ Bucket: 'kms', Key: 'a', Body: body }));
    const second = await s3.send(new PutObjectCommand({ Bucket: 'kms', Key: 'a', Body: body }));
    const asked = await s3.send(
      new PutObjectCommand({ Bucket: 'plain', Key: 'b', Body: body, ServerSideEncryption: 'aws:kms' }),
    );
    const back = await s3.send(new CopyObjectCommand({ Bucket: 'plain', Key: 'c', CopySource: 'kms/a' }));

    // Assert
    expect(plain.ETag).toBe(md5);
    expect(new Set([md5, first.ETag, second.ETag, asked.ETag]).size).toBe(4);
    expect(back.CopyObjectResult?.ETag).toBe(md5);
    expect(model.object('kms', 'a')?.serverSideEncryption).toBe('aws:kms');
  });

  it('repeats the same ETags for the same seed, and others for another', async () => {
    // Arrange
    const etagWith = async (kmsSeed: string) => {
      const model = new S3Model({ kmsSeed });
      model.createBucket('kms');
      model.setDefaultEncryption('kms', { kmsKeyId: 'k' });
      return (await model.client().send(new PutObjectCommand({ Bucket: 'kms', Key: 'a', Body: 'x' }))).ETag;
    };

    // Act / Assert
    expect(await etagWith('one')).toBe(await etagWith('one'));
    expect(await etagWith('one')).not.toBe(await etagWith('two'));
  });
});

describe('S3Model conditions and limits', () => {
  it('answers 412 to HeadObject IfMatch and CopySourceIfMatch with another ETag', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 10 }]);
    const etag = model.object('src', 'k')?.etag;
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'src', Key: 'k', IfMatch: etag }))).resolves.toBeDefined();
    expect(
      await failure(s3.send(new HeadObjectCommand({ Bucket: 'src', Key: 'k', IfMatch: '"other"' }))),
    ).toMatchObject({ status: 412 });
    expect(
      await failure(
        s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'k', CopySource: 'src/k', CopySourceIfMatch: '"other"' })),
      ),
    ).toMatchObject({ name: 'PreconditionFailed', status: 412 });
  });

  it('refuses CopyObject of a source over 5 GiB, as S3 does', async () => {
    const { model, s3 } = setup();
    model.seed('src', [
      { key: 'big', size: 5 * GiB + 1 },
      { key: 'max', size: 5 * GiB },
    ]);
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'big', CopySource: 'src/big' })))).toEqual(
      {
        name: 'InvalidRequest',
        status: 400,
        fault: 'client',
      },
    );
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'max', CopySource: 'src/max' })),
    ).resolves.toBeDefined();
  });

  it('refuses to copy an object onto itself without changes', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 1 }]);
    expect(
      await failure(s3.send(new CopyObjectCommand({ Bucket: 'src', Key: 'k', CopySource: 'src/k' }))),
    ).toMatchObject({
      name: 'InvalidRequest',
    });
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: 'src', Key: 'k', CopySource: 'src/k', MetadataDirective: 'REPLACE' })),
    ).resolves.toBeDefined();
  });

  it('applies MetadataDirective and TaggingDirective', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 5, metadata: { a: '1' }, tags: [{ Key: 't', Value: 'v' }] }]);
    await s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'copy', CopySource: 'src/k' }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'dst',
        Key: 'replaced',
        CopySource: 'src/k',
        MetadataDirective: 'REPLACE',
        Metadata: { b: '2' },
        TaggingDirective: 'REPLACE',
        Tagging: 'n%20ew=x%26y',
      }),
    );
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'copy' }))).Metadata).toEqual({ a: '1' });
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'dst', Key: 'copy' }))).TagSet).toEqual([
      { Key: 't', Value: 'v' },
    ]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'replaced' }))).Metadata).toEqual({ b: '2' });
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'dst', Key: 'replaced' }))).TagSet).toEqual([
      { Key: 'n ew', Value: 'x&y' },
    ]);
    await s3.send(
      new PutObjectTaggingCommand({ Bucket: 'dst', Key: 'copy', Tagging: { TagSet: [{ Key: 'z', Value: '' }] } }),
    );
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'dst', Key: 'copy' }))).TagSet).toEqual([
      { Key: 'z', Value: '' },
    ]);
  });
});

describe('S3Model multipart copies', () => {
  it('composes part copies into the source content, with a "-N" ETag and per-part HEAD', async () => {
    const { model, s3 } = setup();
    const size = 23 * MiB + 17;
    model.seed('src', [{ key: 'big', size }]);

    const completed = await multipartCopy(s3, 'big', size, 5 * MiB);

    expect(completed.ETag).toMatch(/^"[0-9a-f]{32}-5"$/);
    expect(sameContent(model.object('dst', 'big')?.content ?? [], model.object('src', 'big')?.content ?? [])).toBe(
      true,
    );
    const part5 = await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'big', PartNumber: 5 }));
    expect(part5).toMatchObject({ ContentLength: 3 * MiB + 17, PartsCount: 5 });
    expect(model.openUploads()).toEqual([]);
  });

  it('proves content for any size and part size: the composed target equals the source', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 200 * MiB }),
        fc.integer({ min: 5, max: 64 }),
        async (size, partMiB) => {
          const { model, s3 } = setup();
          model.seed('src', [{ key: 'k', size }]);
          await multipartCopy(s3, 'k', size, partMiB * MiB);
          return sameContent(model.object('dst', 'k')?.content ?? [], model.object('src', 'k')?.content ?? []);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('tells a target with parts in the wrong order from the source', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 10 * MiB }]);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'k' }));
    const copyPart = (PartNumber: number, range: string) =>
      s3.send(
        new UploadPartCopyCommand({
          Bucket: 'dst',
          Key: 'k',
          UploadId,
          PartNumber,
          CopySource: 'src/k',
          CopySourceRange: range,
        }),
      );
    // Part 1 holds the second half, part 2 the first: every byte is there, in the wrong order.
    const one = await copyPart(1, `bytes=${5 * MiB}-${10 * MiB - 1}`);
    const two = await copyPart(2, `bytes=0-${5 * MiB - 1}`);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'dst',
        Key: 'k',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: one.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: two.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    expect(sameContent(model.object('dst', 'k')?.content ?? [], model.object('src', 'k')?.content ?? [])).toBe(false);
  });

  it('refuses part numbers outside 1..10,000, ranges past the end and parts over 5 GiB', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 6 * GiB }]);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'k' }));
    const copyPart = (PartNumber: number, range: string) =>
      s3.send(
        new UploadPartCopyCommand({
          Bucket: 'dst',
          Key: 'k',
          UploadId,
          PartNumber,
          CopySource: 'src/k',
          CopySourceRange: range,
        }),
      );
    expect(await failure(copyPart(0, 'bytes=0-9'))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await failure(copyPart(10_001, 'bytes=0-9'))).toMatchObject({ name: 'InvalidArgument' });
    await expect(copyPart(10_000, 'bytes=0-9')).resolves.toBeDefined();
    expect(await failure(copyPart(1, `bytes=0-${6 * GiB}`))).toMatchObject({ name: 'InvalidRange', status: 416 });
    expect(await failure(copyPart(1, `bytes=0-${5 * GiB}`))).toMatchObject({ name: 'InvalidRequest' });
  });

  it('checks parts at Complete: order, ETags and the 5 MiB minimum of every part but the last', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 20 * MiB }]);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'k' }));
    const copyPart = async (PartNumber: number, start: number, end: number) => {
      const answer = await s3.send(
        new UploadPartCopyCommand({
          Bucket: 'dst',
          Key: 'k',
          UploadId,
          PartNumber,
          CopySource: 'src/k',
          CopySourceRange: `bytes=${start}-${end - 1}`,
        }),
      );
      return { PartNumber, ETag: answer.CopyPartResult?.ETag };
    };
    const small = await copyPart(1, 0, MiB);
    const rest = await copyPart(2, MiB, 20 * MiB);
    const complete = (Parts: Array<{ PartNumber: number; ETag?: string }>) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: 'dst', Key: 'k', UploadId, MultipartUpload: { Parts } }));

    expect(await failure(complete([rest, small]))).toMatchObject({ name: 'InvalidPartOrder' });
    expect(await failure(complete([small, { ...rest, ETag: '"0"' }]))).toMatchObject({ name: 'InvalidPart' });
    expect(await failure(complete([small, rest]))).toMatchObject({ name: 'EntityTooSmall' });
    expect(await failure(complete([]))).toMatchObject({ name: 'MalformedXML' });
    // A small LAST part is fine.
    await expect(complete([rest])).resolves.toBeDefined();
    expect(model.object('dst', 'k')?.size).toBe(19 * MiB);
  });

  it('pins part copies to the source ETag with CopySourceIfMatch', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 10 * MiB }]);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'k' }));
    const request = { Bucket: 'dst', Key: 'k', UploadId, PartNumber: 1, CopySource: 'src/k' };
    await expect(
      s3.send(new UploadPartCopyCommand({ ...request, CopySourceIfMatch: model.object('src', 'k')?.etag })),
    ).resolves.toBeDefined();
    model.seed('src', [{ key: 'k', size: 10 * MiB }]); // overwritten: new content, new ETag
    expect(await failure(s3.send(new UploadPartCopyCommand({ ...request, CopySourceIfMatch: '"old"' })))).toMatchObject(
      {
        status: 412,
      },
    );
  });

  it('lists parts and uploads page by page, and forgets aborted uploads', async () => {
    const { model, s3 } = setup();
    model.seed('src', [{ key: 'k', size: 30 * MiB }]);
    const first = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'a' }));
    const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'b' }));
    for (const PartNumber of [3, 1, 2]) {
      await s3.send(
        new UploadPartCopyCommand({
          Bucket: 'dst',
          Key: 'a',
          UploadId: first.UploadId,
          PartNumber,
          CopySource: 'src/k',
          CopySourceRange: `bytes=0-${5 * MiB - 1}`,
        }),
      );
    }
    const page1 = await s3.send(
      new ListPartsCommand({ Bucket: 'dst', Key: 'a', UploadId: first.UploadId, MaxParts: 2 }),
    );
    const page2 = await s3.send(
      new ListPartsCommand({
        Bucket: 'dst',
        Key: 'a',
        UploadId: first.UploadId,
        PartNumberMarker: page1.NextPartNumberMarker,
      }),
    );
    expect(page1.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(page1.IsTruncated).toBe(true);
    expect(page2.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[3, 5 * MiB]]);

    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'dst', MaxUploads: 1 }));
    expect(uploads.Uploads?.map((u) => u.Key)).toEqual(['a']);
    expect(uploads.IsTruncated).toBe(true);
    const rest = await s3.send(
      new ListMultipartUploadsCommand({
        Bucket: 'dst',
        KeyMarker: uploads.NextKeyMarker,
        UploadIdMarker: uploads.NextUploadIdMarker,
      }),
    );
    expect(rest.Uploads?.map((u) => u.UploadId)).toEqual([second.UploadId]);

    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'dst', Key: 'a', UploadId: first.UploadId }));
    expect(model.openUploads('dst').map((u) => u.key)).toEqual(['b']);
    expect(
      await failure(s3.send(new ListPartsCommand({ Bucket: 'dst', Key: 'a', UploadId: first.UploadId }))),
    ).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  });
});

/** Every page of a listing, following continuation tokens. */
async function listAll(
  s3: S3Client,
  input: { Prefix?: string; Delimiter?: string; MaxKeys?: number; StartAfter?: string },
) {
  const pages: ListObjectsV2CommandOutput[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: 'src', ...input, ...(token ? { ContinuationToken: token } : {}) }),
    );
    pages.push(page);
    token = page.NextContinuationToken;
  } while (token);
  return pages;
}

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('S3Model ListObjectsV2', () => {
  const keyChar = fc.constantFrom('a', 'b', '/', '-', 'é', '\u{1F600}', '\uFFFD', ' ', '+', '%');
  const keys = fc.uniqueArray(fc.string({ unit: keyChar, minLength: 1, maxLength: 6 }), { maxLength: 60 });

  it('lists every key exactly once, in UTF-8 byte order, across pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        keys,
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('', 'a', 'b/'),
        async (all, maxKeys, prefix) => {
          const { model, s3 } = setup();
          model.seed(
            'src',
            all.map((key) => ({ key, size: 1 })),
          );
          const listed = (await listAll(s3, { Prefix: prefix, MaxKeys: maxKeys })).flatMap((page) =>
            (page.Contents ?? []).map((item) => item.Key),
          );
          expect(listed).toEqual(all.filter((key) => key.startsWith(prefix)).sort(utf8Order));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rolls keys up to common prefixes with a delimiter, each once, counted in MaxKeys', async () => {
    await fc.assert(
      fc.asyncProperty(keys, fc.integer({ min: 1, max: 5 }), async (all, maxKeys) => {
        const { model, s3 } = setup();
        model.seed(
          'src',
          all.map((key) => ({ key, size: 1 })),
        );
        const pages = await listAll(s3, { Delimiter: '/', MaxKeys: maxKeys });
        const entries = pages.flatMap((page) => [
          ...(page.Contents ?? []).map((item) => item.Key as string),
          ...(page.CommonPrefixes ?? []).map((item) => item.Prefix as string),
        ]);
        const expected = [...new Set(all.map((key) => (key.includes('/') ? key.slice(0, key.indexOf('/') + 1) : key)))];
        expect([...entries].sort(utf8Order)).toEqual(expected.sort(utf8Order));
        expect(new Set(entries).size).toBe(entries.length);
        for (const page of pages) expect(page.KeyCount).toBeLessThanOrEqual(maxKeys);
      }),
      { numRuns: 100 },
    );
  });

  it('starts after StartAfter and url-encodes keys with EncodingType=url', async () => {
    const { model, s3 } = setup();
    model.seed(
      'src',
      ['a b', 'a+b', 'c/d é', 'z'].map((key) => ({ key, size: 1 })),
    );
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'src', StartAfter: 'a b', EncodingType: 'url' }));
    expect(page.EncodingType).toBe('url');
    expect(page.Contents?.map((item) => item.Key)).toEqual(['a%2Bb', 'c/d+%C3%A9', 'z']);
    expect(page.Contents?.map((item) => decodeFormUrl(item.Key as string))).toEqual(['a+b', 'c/d é', 'z']);
  });

  it('sees keys put and deleted between pages', async () => {
    const { model, s3 } = setup();
    model.seed(
      'src',
      ['a', 'b', 'c'].map((key) => ({ key, size: 1 })),
    );
    const first = await s3.send(new ListObjectsV2Command({ Bucket: 'src', MaxKeys: 1 }));
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: 'bb', Body: 'x' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'src', Key: 'c' }));
    const rest = await s3.send(
      new ListObjectsV2Command({ Bucket: 'src', ContinuationToken: first.NextContinuationToken }),
    );
    expect(rest.Contents?.map((item) => item.Key)).toEqual(['b', 'bb']);
  });
});

describe('S3Model synthetic buckets', () => {
  it('lists computed keys in order, with delimiter and paging, as a stored bucket would', async () => {
    const { model, s3 } = setup();
    const prefixes = ['b/', 'a/', 'c-'];
    model.createSyntheticBucket('big', { prefixes, keysPerPrefix: 12, size: 5 });
    model.createBucket('same');
    model.seed(
      'same',
      prefixes.flatMap((prefix) =>
        Array.from({ length: 12 }, (_, i) => ({ key: `${prefix}k${String(i).padStart(2, '0')}`, size: 5 })),
      ),
    );
    for (const input of [
      { MaxKeys: 5 },
      { Delimiter: '/', MaxKeys: 2 },
      { Prefix: 'b/', StartAfter: 'b/k03', MaxKeys: 4 },
    ]) {
      const list = async (Bucket: string) => {
        const keys: string[] = [];
        let token: string | undefined;
        do {
          const page = await s3.send(
            new ListObjectsV2Command({ Bucket, ...input, ...(token ? { ContinuationToken: token } : {}) }),
          );
          keys.push(
            ...(page.Contents ?? []).map((c) => `${c.Key}:${c.Size}`),
            ...(page.CommonPrefixes ?? []).map((c) => `${c.Prefix}`),
          );
          token = page.NextContinuationToken;
        } while (token);
        return keys;
      };
      expect(await list('big')).toEqual(await list('same'));
    }
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'big', Key: 'a/k00' })))).toMatchObject({
      name: 'S3ModelUnsupportedError',
    });
  });
});

describe('S3Model hooks', () => {
  it('injects faults per operation and counts requests and errors', async () => {
    const { model, s3 } = setup({
      faults: {
        HeadObject: (_input, { count }) => {
          if (count === 1) throw s3Error('InternalError', 'injected');
        },
      },
    });
    model.seed('src', [{ key: 'k', size: 1 }]);
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'src', Key: 'k' })))).toMatchObject({
      name: 'InternalError',
      status: 500,
      fault: 'server',
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'src', Key: 'k' }))).resolves.toBeDefined();
    expect(model.stats.requests.HeadObject).toBe(2);
    expect(model.stats.errors).toEqual({ InternalError: 1 });
  });

  it('answers SlowDown above 3,500 writes per second per partition, in virtual time', async () => {
    const clock = new VirtualClock();
    const { model, s3 } = setup({ clock, rateLimits: AWS_RATE_LIMITS, latency: () => 10 });
    model.seed(
      'src',
      ['p1/k', 'p3/k', 'p4/k'].map((key) => ({ key, size: 1 })),
    );
    const started = clock.now();
    // 20,000 copies into one partition, 100 at a time, for as long as it takes; then into two partitions.
    const copyInto = async (prefixes: string[]) => {
      let ok = 0;
      await clock.run(async () => {
        for (let round = 0; round < 200; round++) {
          const results = await Promise.allSettled(
            Array.from({ length: 100 }, (_, i) => {
              const prefix = prefixes[i % prefixes.length] as string;
              return s3.send(
                new CopyObjectCommand({ Bucket: 'dst', Key: `${prefix}${round}-${i}`, CopySource: `src/${prefix}k` }),
              );
            }),
          );
          ok += results.filter((r) => r.status === 'fulfilled').length;
        }
      });
      return ok;
    };
    const oneOk = await copyInto(['p1/']);
    const oneSeconds = (clock.now() - started) / 1000;
    const twoStarted = clock.now();
    const twoOk = await copyInto(['p3/', 'p4/']);
    const twoSeconds = (clock.now() - twoStarted) / 1000;

    // Successes per second stay within the rate (plus the 0.1 s burst), and two partitions get twice as many.
    expect(oneOk / oneSeconds).toBeLessThanOrEqual(3_500 * 1.1);
    expect(oneOk / oneSeconds).toBeGreaterThan(3_000);
    expect(twoOk / twoSeconds).toBeGreaterThan(6_000);
    expect(model.stats.slowDowns).toBe(40_000 - oneOk - twoOk);
    expect(model.stats.errors.SlowDown).toBe(model.stats.slowDowns);
  });

  it('charges latency on the clock: per request and per byte copied', async () => {
    const clock = new VirtualClock();
    const { model, s3 } = setup({ clock, latency: ({ bytes }) => 10 + bytes / 1_000_000 });
    model.seed('src', [{ key: 'k', size: 500_000_000 }]);
    const started = clock.now();
    await clock.run(() => s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'k', CopySource: 'src/k' })));
    expect(clock.now() - started).toBe(510);
  });

  it('runs the real copy engine against it: a multipart copy lands with the source bytes', async () => {
    const { model, s3 } = setup();
    const size = 70 * MiB + 3;
    model.seed('src', [
      { key: 'data/big.bin', size, metadata: { m: '1' } },
      { key: 'data/small', size: 10 },
    ]);
    const job = parseJob({
      source: { bucket: 'src', prefix: 'data/' },
      target: { bucket: 'dst', prefix: 'copy/' },
      filter: { include: [], exclude: [] },
      options: { ...DEFAULT_OPTIONS, multipartThreshold: 16 * MiB, partSize: 16 * MiB },
    });
    const objects = ['data/big.bin', 'data/small'].map((key) => {
      const object = model.object('src', key);
      return { key, size: object?.size ?? 0, etag: object?.etag ?? '', lastModified: new Date().toISOString() };
    });

    const result = await copyBatch(
      { job, jobId: 'job', batch: { id: 'b1', objects, bytes: size + 10 } },
      { s3, logger: new Logger({ logLevel: 'SILENT' }), remainingTimeMs: () => 900_000 },
    );

    expect(result).toMatchObject({ copied: 2, failed: 0, bytesCopied: size + 10 });
    expect(sameContent(model.object('dst', 'copy/big.bin')?.content ?? [], wholeOrigin('', 0))).toBe(false);
    expect(
      sameContent(
        model.object('dst', 'copy/big.bin')?.content ?? [],
        model.object('src', 'data/big.bin')?.content ?? [],
      ),
    ).toBe(true);
    expect(model.object('dst', 'copy/big.bin')?.etag).toMatch(/-5"$/);
    expect(model.object('dst', 'copy/big.bin')?.metadata).toEqual({ m: '1' });
    expect(model.stats.requests.UploadPartCopy).toBe(5);
  });
});
