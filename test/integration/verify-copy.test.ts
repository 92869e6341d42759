/**
 * The check after a copy (functions/copy/verify-copy.ts) against the embedded server: tags a server
 * dropped are put back, anything else that differs fails the object with CopyVerificationFailed.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { createCopyContext } from '../../functions/copy/copy-context';
import {
  CopyVerificationError,
  describeDifferences,
  readSource,
  shouldVerify,
  verifyCopy,
} from '../../functions/copy/verify-copy';
import { DEFAULT_OPTIONS, parseJob } from '../../functions/shared/job';
import { startTestS3, type TestS3 } from '../support/s3';

let s3: TestS3;
const logger = new Logger({ serviceName: 'verify-copy-test', logLevel: 'SILENT' });

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket('verify-src');
  await s3.createBucket('verify-dst');
});

afterAll(async () => {
  await s3?.stop();
});

function context() {
  const job = parseJob({
    source: { bucket: 'verify-src', prefix: '' },
    target: { bucket: 'verify-dst', prefix: '' },
    options: { ...DEFAULT_OPTIONS, verify: 'all' },
  });
  return createCopyContext(job, {
    s3: s3.s3,
    logger,
    remainingTimeMs: () => 900_000,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    jobId: 'verify-test',
  });
}

describe('verifyCopy', () => {
  it('puts back the tags a server dropped and reports one repair', async () => {
    // Arrange: the target has the bytes and metadata but none of the tags.
    const settings = { ContentType: 'text/plain', Metadata: { color: 'blue' } };
    await s3.put('verify-src', 'tagged.txt', 'same bytes', settings);
    await s3.s3.send(
      new PutObjectTaggingCommand({
        Bucket: 'verify-src',
        Key: 'tagged.txt',
        Tagging: {
          TagSet: [
            { Key: 'team', Value: 'data eng' },
            { Key: 'n', Value: '1' },
          ],
        },
      }),
    );
    await s3.put('verify-dst', 'tagged.txt', 'same bytes', settings);
    const ctx = context();

    // Act
    const repairs = await verifyCopy(ctx, 'tagged.txt', await readSource(ctx, 'tagged.txt', undefined), {
      multipart: false,
    });

    // Assess
    expect(repairs).toBe(1);
    const tags = await s3.s3.send(new GetObjectTaggingCommand({ Bucket: 'verify-dst', Key: 'tagged.txt' }));
    expect((tags.TagSet ?? []).map((t) => `${t.Key}=${t.Value}`).sort()).toEqual(['n=1', 'team=data eng']);
  });

  it('fails with CopyVerificationFailed naming what differs when metadata was not kept', async () => {
    // Arrange
    await s3.put('verify-src', 'meta.txt', 'bytes', { Metadata: { color: 'blue' } });
    await s3.put('verify-dst', 'meta.txt', 'bytes', { Metadata: { color: 'red' } });
    const ctx = context();

    // Act
    const verifying = verifyCopy(ctx, 'meta.txt', await readSource(ctx, 'meta.txt', undefined), { multipart: false });

    // Assess
    await expect(verifying).rejects.toThrow(CopyVerificationError);
    await expect(verifying).rejects.toMatchObject({ name: 'CopyVerificationFailed' });
    await expect(verifying).rejects.toThrow(/s3:\/\/verify-dst\/meta\.txt.*user metadata differs/);
  });

  it('fails when the target holds other bytes (size and ETag differ)', async () => {
    // Arrange
    await s3.put('verify-src', 'size.txt', 'the full content');
    await s3.put('verify-dst', 'size.txt', 'short');
    const ctx = context();

    // Act
    const verifying = verifyCopy(ctx, 'size.txt', await readSource(ctx, 'size.txt', undefined), { multipart: false });

    // Assess
    await expect(verifying).rejects.toThrow(/size 5 instead of 16/);
  });

  it('accepts a faithful copy without writing anything', async () => {
    // Arrange
    const settings = { ContentType: 'application/json', CacheControl: 'max-age=5', Metadata: { a: 'b' } };
    await s3.put('verify-src', 'same.json', '{}', settings);
    await s3.put('verify-dst', 'same.json', '{}', settings);
    const ctx = context();
    const before = await s3.s3.send(new HeadObjectCommand({ Bucket: 'verify-dst', Key: 'same.json' }));

    // Act
    const repairs = await verifyCopy(ctx, 'same.json', await readSource(ctx, 'same.json', undefined), {
      multipart: false,
    });

    // Assess
    expect(repairs).toBe(0);
    const after = await s3.s3.send(new HeadObjectCommand({ Bucket: 'verify-dst', Key: 'same.json' }));
    expect(after.LastModified).toEqual(before.LastModified);
  });
});

describe('shouldVerify', () => {
  it('checks multipart copies by default, every copy with all, none with none', () => {
    // Assess
    expect([shouldVerify(undefined, true), shouldVerify(undefined, false)]).toEqual([true, false]);
    expect([shouldVerify('all', true), shouldVerify('all', false)]).toEqual([true, true]);
    expect([shouldVerify('none', true), shouldVerify('none', false)]).toEqual([false, false]);
  });
});

describe('describeDifferences', () => {
  it('compares a non-date Expires as text and a date as an instant', () => {
    // Arrange
    const source = { $metadata: {}, ContentLength: 1, ExpiresString: '0' };
    const sameDate = { $metadata: {}, ContentLength: 1, ExpiresString: 'Tue, 01 Jan 2030 00:00:00 GMT' };

    // Assess
    expect(describeDifferences(source, { $metadata: {}, ContentLength: 1 }, false)).toEqual([
      'Expires undefined instead of "0"',
    ]);
    expect(
      describeDifferences(
        sameDate,
        { $metadata: {}, ContentLength: 1, ExpiresString: '2030-01-01T00:00:00.000Z' },
        false,
      ),
    ).toEqual([]);
  });
});
