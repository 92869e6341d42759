import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { type CountingProxy, classifyRequest, startCountingProxy } from '../../bench/request-counting-proxy';
import { type EmbeddedS3, startEmbeddedS3 } from '../../cli/embedded-s3';
import { createS3Client } from '../../functions/shared/clients';

describe('classifyRequest', () => {
  it.each([
    ['GET', '/b?list-type=2&prefix=a%2F', {}, 'ListObjectsV2'],
    ['GET', '/b?prefix=a%2F&delimiter=', {}, 'ListObjects'],
    ['GET', '/b?location', {}, 'GetBucket?location'],
    ['HEAD', '/b', {}, 'HeadBucket'],
    ['HEAD', '/b/a/k.json', {}, 'HeadObject'],
    ['GET', '/b/k?tagging', {}, 'GetObjectTagging'],
    ['PUT', '/b/k', { 'x-amz-copy-source': '/s/k' }, 'CopyObject'],
    ['PUT', '/b/k?partNumber=2&uploadId=u', { 'x-amz-copy-source': '/s/k' }, 'UploadPartCopy'],
    ['PUT', '/b/k?partNumber=2&uploadId=u', {}, 'UploadPart'],
    ['POST', '/b/k?uploads', {}, 'CreateMultipartUpload'],
    ['POST', '/b/k?uploadId=u', {}, 'CompleteMultipartUpload'],
    ['DELETE', '/b/k?uploadId=u', {}, 'AbortMultipartUpload'],
    ['POST', '/b?delete', {}, 'DeleteObjects'],
  ])('names %s %s as the S3 operation it is', (method, url, headers, operation) => {
    expect(classifyRequest(method, url, headers).operation).toBe(operation);
  });

  it('decodes the bucket and key and marks only object-creating writes', () => {
    const copy = classifyRequest('PUT', '/dst/mirror/a%20b%2Bc.json', { 'x-amz-copy-source': '/src/x' });
    const part = classifyRequest('PUT', '/dst/big?partNumber=1&uploadId=u', {});
    expect([copy, part.createsObject]).toEqual([
      { operation: 'CopyObject', bucket: 'dst', key: 'mirror/a b+c.json', createsObject: true },
      false,
    ]);
  });
});

describe('startCountingProxy in front of the embedded S3 server', () => {
  let server: EmbeddedS3;
  let proxy: CountingProxy;
  let s3: S3Client;

  beforeAll(async () => {
    server = await startEmbeddedS3();
    proxy = await startCountingProxy(server.url);
    s3 = createS3Client({ ...server.endpoint, endpoint: proxy.url });
    await s3.send(new CreateBucketCommand({ Bucket: 'src' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'dst' }));
  });

  afterAll(async () => {
    s3.destroy();
    await proxy.close();
    await server.stop();
  });

  it('counts each request by operation and the objects written per bucket, passing bodies through intact', async () => {
    // Arrange
    const body = Buffer.alloc(5 * 2 ** 20 + 1000, 7);
    proxy.reset();

    // Act
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: 'a.json', Body: '{"a":1}' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: 'a.json', CopySource: 'src/a.json' }));
    await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'a.json' }));
    await s3.send(new ListObjectsV2Command({ Bucket: 'dst' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'big.bin' }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'dst', Key: 'big.bin', UploadId, PartNumber: 1, Body: body }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'dst',
        Key: 'big.bin',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const read = await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'big.bin' }));
    const readBack = Buffer.from(await (read.Body?.transformToByteArray() ?? new Uint8Array()));

    // Assert
    const counts = proxy.counts();
    expect({
      total: counts.total,
      byOperation: counts.byOperation,
      dst: [...(counts.writes.get('dst')?.keys ?? [])].sort(),
      src: [...(counts.writes.get('src')?.keys ?? [])],
      intact: readBack.equals(body),
    }).toEqual({
      total: 8,
      byOperation: {
        PutObject: 1,
        CopyObject: 1,
        HeadObject: 1,
        ListObjectsV2: 1,
        CreateMultipartUpload: 1,
        UploadPart: 1,
        CompleteMultipartUpload: 1,
        GetObject: 1,
      },
      dst: ['a.json', 'big.bin'],
      src: ['a.json'],
      intact: true,
    });
  });
});
