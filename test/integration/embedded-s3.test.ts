import {
  CopyObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listPagesOrdered } from '../../functions/list/ordered-listing';
import { listPages } from '../../functions/list/s3-listing';
import { S3Model } from '../../sim/s3-model';
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

  describe('delimiter listings paged as S3 pages them (compared with the S3 model on the same keys)', () => {
    // Direct keys between common prefixes, nested levels, and '-' (0x2D) sorting before '/' (0x2F).
    const keys = [
      'dl/0',
      'dl/a-b',
      'dl/a/1',
      'dl/a/2',
      'dl/a/x/1',
      'dl/b',
      'dl/b/1',
      'dl/b/2',
      'dl/b/3',
      'dl/c/1',
      'dl/d',
      'dl/e/1',
      'dl/e/2',
      'dl/f/1',
      'dl/z',
    ];
    const model = new S3Model();
    model.createBucket('fixes-src');
    model.seed(
      'fixes-src',
      keys.map((key) => ({ key, size: 1 })),
    );

    beforeAll(() =>
      s3.putMany(
        'fixes-src',
        keys.map((key) => ({ key, body: 'k' })),
      ),
    );

    /** Every page of a listing, followed with continuation tokens, as keys, common prefixes and counts. */
    async function pagesOf(client: S3Client, input: ListObjectsV2CommandInput) {
      const pages: Array<{ keys: string[]; prefixes: string[]; keyCount?: number; truncated?: boolean }> = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ ...input, ...(token ? { ContinuationToken: token, StartAfter: undefined } : {}) }),
        );
        pages.push({
          keys: (page.Contents ?? []).map((item) => item.Key ?? ''),
          prefixes: (page.CommonPrefixes ?? []).map((common) => common.Prefix ?? ''),
          keyCount: page.KeyCount,
          truncated: page.IsTruncated,
        });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        if (pages.length > 100) throw new Error('listing does not end');
      } while (token);
      return pages;
    }

    it.each([1, 2, 3, 4, 7, 1000])(
      'returns each common prefix once, counted in MaxKeys, at MaxKeys %i',
      async (maxKeys) => {
        // Arrange
        const input = { Bucket: 'fixes-src', Prefix: 'dl/', Delimiter: '/', MaxKeys: maxKeys };
        // Act
        const server = await pagesOf(s3.s3, input);
        const expected = await pagesOf(model.client(), input);
        // Assert
        expect(server).toEqual(expected);
        expect(server.flatMap((page) => page.prefixes)).toEqual(['dl/a/', 'dl/b/', 'dl/c/', 'dl/e/', 'dl/f/']);
      },
    );

    it.each(['dl/a', 'dl/a/1', 'dl/b/', 'dl/b/2', 'dl/d', 'dl/e/2'])(
      'rolls the keys after StartAfter %s into their common prefix, as S3 does',
      async (startAfter) => {
        // Arrange
        const input = { Bucket: 'fixes-src', Prefix: 'dl/', Delimiter: '/', MaxKeys: 2, StartAfter: startAfter };
        // Act
        const server = await pagesOf(s3.s3, input);
        const expected = await pagesOf(model.client(), input);
        // Assert
        expect(server).toEqual(expected);
      },
    );

    it('pages the top level and a level two deep the same way', async () => {
      // Arrange
      const top = { Bucket: 'fixes-src', Delimiter: '/', MaxKeys: 1 };
      const deep = { Bucket: 'fixes-src', Prefix: 'dl/a/', Delimiter: '/', MaxKeys: 1 };
      // Act
      const [serverTop, serverDeep] = [await pagesOf(s3.s3, top), await pagesOf(s3.s3, deep)];
      // Assert: other tests' keys sit at the top too, so the top is checked for being sorted and unique
      const topPrefixes = serverTop.flatMap((page) => page.prefixes);
      expect(topPrefixes).toContain('dl/');
      expect(new Set(topPrefixes).size).toBe(topPrefixes.length);
      expect(topPrefixes).toEqual([...topPrefixes].sort());
      expect(serverDeep).toEqual(await pagesOf(model.client(), deep));
    });
  });

  it('gives the List step the same keys as one chain when it pages levels and splits ranges on this server', async () => {
    // Arrange: a level of 12 common prefixes, one prefix of 300 numbered keys, direct keys between, and
    // pages of 10 so that levels span pages and the numbered prefix is cut into key ranges
    const keys = [
      ...Array.from({ length: 12 }, (_, i) => `split/d${String(i).padStart(2, '0')}/x`),
      ...Array.from({ length: 300 }, (_, i) => `split/n/k${String(i).padStart(3, '0')}`),
      'split/m',
      'split/z',
    ];
    await s3.putMany(
      'fixes-src',
      keys.map((key) => ({ key, body: 'k' })),
    );
    const range = { bucket: 'fixes-src', prefix: 'split/', role: 'source' as const, pageSize: 10 };
    const keysOf = async (pages: AsyncGenerator<{ objects: Array<{ key: string }> }>) => {
      const all: string[] = [];
      for await (const page of pages) all.push(...page.objects.map((object) => object.key));
      return all;
    };
    // Act
    const chain = await keysOf(listPages(s3.s3, range));
    const ordered = await keysOf(listPagesOrdered(s3.s3, range, { concurrency: 8 }));
    const resumed = await keysOf(listPagesOrdered(s3.s3, { ...range, startAfter: 'split/n/k123' }, { concurrency: 8 }));
    // Runs of the level's prefixes listed together (above 2 a page; S3's pages would need 4 x 3 of 1,000)
    const grouped = await keysOf(listPagesOrdered(s3.s3, range, { concurrency: 3, groupAbove: 2 }));
    const groupedResumed = await keysOf(
      listPagesOrdered(s3.s3, { ...range, startAfter: 'split/d03/x' }, { concurrency: 3, groupAbove: 2 }),
    );
    // Assert
    expect(chain).toEqual([...keys].sort());
    expect(ordered).toEqual(chain);
    expect(resumed).toEqual(chain.slice(chain.indexOf('split/n/k123') + 1));
    expect(grouped).toEqual(chain);
    expect(groupedResumed).toEqual(chain.slice(chain.indexOf('split/d03/x') + 1));
  });
});
