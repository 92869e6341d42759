import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { startTestS3, type TestS3 } from '../support/s3';

describe('embedded S3 server with its fixes', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket('fixes-src');
  });
  afterAll(() => s3.stop());

  it('lists past the first page when a prefix holds more than 1,000 keys', async () => {
    // Arrange
    const keys = Array.from({ length: 1203 }, (_, i) => `paged/${String(i).padStart(5, '0')}.txt`);
    await s3.putMany(
      'fixes-src',
      keys.map((key) => ({ key, body: 'x' })),
    );
    // Act
    const listed = await s3.listKeys('fixes-src', 'paged/');
    // Assert
    expect(listed).toEqual(keys);
  });

  it('copies a key with reserved characters when the copy source is percent-encoded as S3 wants it', async () => {
    // Arrange
    const key = 'odd/a+b&c=d;e:f,g$h@i %25 ü/x.txt';
    await s3.put('fixes-src', key, 'odd body');
    const copySource = `fixes-src/${key.split('/').map(encodeURIComponent).join('/')}`;
    // Act
    await s3.s3.send(new CopyObjectCommand({ Bucket: 'fixes-src', Key: 'copied/x.txt', CopySource: copySource }));
    // Assert
    expect((await s3.getBody('fixes-src', 'copied/x.txt')).toString()).toBe('odd body');
  });

  it('rejects a request signed with the wrong secret', async () => {
    // Arrange
    const { createS3Client } = await import('../../functions/shared/clients');
    const wrong = createS3Client(
      { ...s3.server.endpoint },
      { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' } },
    );
    // Act
    const attempt = wrong.send(new CopyObjectCommand({ Bucket: 'fixes-src', Key: 'x', CopySource: 'fixes-src/none' }));
    // Assert
    await expect(attempt).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
  });

  it('lists keys in UTF-8 byte order and resumes exactly after StartAfter, as S3 does', async () => {
    // Arrange: directory-walk order would give p/a/b, p/a-b, p/a; UTF-16 order differs from UTF-8 for U+1F600 vs U+FF5E.
    const keys = ['order/a', 'order/a-b', 'order/a/b', 'order/\u{1F600}', 'order/\uFF5E', 'order/z'];
    await s3.putMany(
      'fixes-src',
      keys.map((key) => ({ key, body: 'k' })),
    );
    const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    // Act
    const all = await s3.listKeys('fixes-src', 'order/');
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const resumed = await s3.s3.send(
      new ListObjectsV2Command({ Bucket: 'fixes-src', Prefix: 'order/', StartAfter: 'order/a-b' }),
    );
    // Assert
    expect(all).toEqual(byBytes);
    expect(resumed.Contents?.map((item) => item.Key)).toEqual(byBytes.slice(byBytes.indexOf('order/a-b') + 1));
  });
});
