import { Logger } from '@aws-lambda-powertools/logger';
import { HeadObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { CopyStats } from '../../functions/copy/copy-context';
import { copyBatch } from '../../functions/copy/copy-engine';
import { DEFAULT_OPTIONS, type ManifestObject, parseJob } from '../../functions/shared/job';
import { startTestS3, type TestS3 } from '../support/s3';

const logger = new Logger({ serviceName: 'copy-settings-test', logLevel: 'SILENT' });

describe('sync of objects written again since their copy (settings check, embedded S3 server)', () => {
  let s3: TestS3;
  const job = parseJob({
    source: { bucket: 'settings-src' },
    target: { bucket: 'settings-dst' },
    options: { ...DEFAULT_OPTIONS, mode: 'sync' },
  });

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket('settings-src');
    await s3.createBucket('settings-dst');
  });
  afterAll(async () => {
    await s3?.stop();
  });

  /** Puts the same bytes on both sides, the target with these settings. */
  async function seed(key: string, targetType: string, targetMetadata: Record<string, string>) {
    await s3.put('settings-src', key, 'same bytes', { ContentType: 'text/csv', Metadata: { owner: 'ana' } });
    await s3.put('settings-dst', key, 'same bytes', { ContentType: targetType, Metadata: targetMetadata });
    const head = await s3.s3.send(new HeadObjectCommand({ Bucket: 'settings-src', Key: key }));
    return { key, size: head.ContentLength ?? 0, etag: head.ETag ?? '', lastModified: new Date().toISOString() };
  }

  async function sync(objects: ManifestObject[]) {
    let stats: CopyStats | undefined;
    const result = await copyBatch(
      { job, jobId: 'job', batch: { id: 'b', objects, bytes: 0 } },
      {
        s3: s3.makeS3(),
        logger,
        remainingTimeMs: () => 900_000,
        onStats: (s) => {
          stats = s;
        },
      },
    );
    return { result, stats };
  }

  it('copies an object whose content type and metadata changed in place, and skips one whose did not', async () => {
    // Arrange: same bytes (same ETag) on both sides; one target's settings are the old ones.
    const changed = await seed('changed.csv', 'text/plain', { owner: 'bob' });
    const same = await seed('same.csv', 'text/csv', { owner: 'ana' });

    // Act
    const { result, stats } = await sync([
      { ...changed, checkSettings: true },
      { ...same, checkSettings: true },
    ]);

    // Assess
    expect(result).toMatchObject({ copied: 1, skipped: 1, failed: 0 });
    expect(stats?.settingsChecked).toBe(2);
    const target = await s3.s3.send(new HeadObjectCommand({ Bucket: 'settings-dst', Key: 'changed.csv' }));
    expect([target.ContentType, target.Metadata]).toEqual(['text/csv', { owner: 'ana' }]);
  });

  it('copies an object whose tags differ from its target when the source was written again', async () => {
    // Arrange
    const tagged = await seed('tagged.csv', 'text/csv', { owner: 'ana' });
    await s3.s3.send(
      new PutObjectTaggingCommand({
        Bucket: 'settings-src',
        Key: 'tagged.csv',
        Tagging: { TagSet: [{ Key: 'tier', Value: 'gold' }] },
      }),
    );

    // Act
    const { result } = await sync([{ ...tagged, checkSettings: true }]);

    // Assess: copied (what the copy keeps of the tags is the copy's business: the embedded server drops them).
    expect(result).toMatchObject({ copied: 1, failed: 0 });
  });

  it('skips without comparing settings when the list step did not ask for it', async () => {
    // Arrange
    const changed = await seed('unmarked.csv', 'text/plain', { owner: 'bob' });

    // Act
    const { result, stats } = await sync([changed]);

    // Assess
    expect(result).toMatchObject({ copied: 0, skipped: 1 });
    expect(stats?.settingsChecked).toBe(0);
  });
});
