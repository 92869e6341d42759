/**
 * Identity records on the embedded S3 server, through the real ASL and handlers (local runner): a single
 * part above the multipart threshold is copied in parts, and a sync right after the copy copies nothing.
 * This server gives a multipart upload its whole object's MD5 as ETag (NOTES.md), so here the listings
 * alone prove the copy and no record is needed; test/sim/identity-records.test.ts (S3 model: SSE-KMS and
 * `-N` ETags) and the compat suite (moto, Ceph RGW) cover the servers where only a record can.
 */
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { MiB } from '../../functions/shared/job';
import { runOnTestS3 } from '../support/local-run';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'ir-state';
let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
  for (const bucket of ['ir-src', 'ir-dst', STATE]) await s3.createBucket(bucket);
  await s3.put('ir-src', 'data/single-11MiB.bin', Buffer.alloc(11 * MiB, 3));
  await s3.put('ir-src', 'data/small.txt', 'small');
});

afterAll(async () => {
  await s3?.stop();
});

describe('a no-op sync after a copy in parts of a single-part source (embedded server)', () => {
  it('copies nothing, and keeps a record exactly where the ETags differ', async () => {
    // Arrange
    const input = (mode: string) => ({
      source: { bucket: 'ir-src', prefix: 'data/' },
      target: { bucket: 'ir-dst', prefix: 'copy/' },
      options: { mode, multipartThreshold: 5 * MiB, partSize: 5 * MiB },
    });
    const copied = await runOnTestS3(s3, STATE, input('copy'));

    // Act
    const synced = await runOnTestS3(s3, STATE, input('sync'));

    // Assert
    expect(copied.objects).toMatchObject({ copied: 2, failed: 0 });
    expect(synced.objects).toMatchObject({ selected: 2, copied: 0, skipped: 2, failed: 0 });
    const [source, target] = await Promise.all([
      s3.s3.send(new HeadObjectCommand({ Bucket: 'ir-src', Key: 'data/single-11MiB.bin' })),
      s3.s3.send(new HeadObjectCommand({ Bucket: 'ir-dst', Key: 'copy/single-11MiB.bin' })),
    ]);
    const records = await s3.s3.send(new ListObjectsV2Command({ Bucket: STATE, Prefix: 'identity/' }));
    expect(records.KeyCount ?? 0).toBe(source.ETag === target.ETag ? 0 : 1);
  });
});
