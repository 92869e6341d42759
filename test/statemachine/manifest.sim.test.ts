/**
 * Manifest jobs end to end on the in-memory S3 model (sim/s3-model.ts), through the real ASL file and
 * handlers (the local runner), NOT the embedded server: the embedded server has no versioning and no
 * Requester Pays. The model keeps replaced objects as noncurrent versions and reads the version a request
 * names (VersionId, `?versionId=` in a copy source); a Requester Pays bucket refuses reads without
 * RequestPayer=requester (403), as S3 does.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { preflight } from '../../cli/commands/run';
import { type LocalRunOptions, runLocal } from '../../cli/runner/runner';
import { resolveJob } from '../../functions/shared/job';
import { sameContent } from '../../sim/content';
import { S3Model } from '../../sim/s3-model';
import { modelEndpoint, quietRun } from '../support/local-run';

const STATE = 'man-state';
const MiB = 1024 * 1024;

function setup() {
  const model = new S3Model();
  for (const bucket of ['man-src', 'man-dst', STATE]) model.createBucket(bucket);
  const putManifest = (key: string, body: string) =>
    model.client().send(new PutObjectCommand({ Bucket: 'man-src', Key: key, Body: body }));
  const run = (
    manifestKey: string | null,
    options: Record<string, unknown> = {},
    extra: Partial<LocalRunOptions> = {},
  ) =>
    runLocal({
      input: {
        source: {
          bucket: 'man-src',
          prefix: 'data/',
          ...(manifestKey ? { manifest: { bucket: 'man-src', key: manifestKey } } : {}),
        },
        target: { bucket: 'man-dst', prefix: 'copy/' },
        options: { multipartThreshold: 5 * MiB, partSize: 5 * MiB, ...options },
      },
      endpoint: modelEndpoint(model),
      ...quietRun(STATE),
      ...extra,
    });
  return { model, run, putManifest };
}

describe('manifest jobs (S3 model: the embedded server has no versions or Requester Pays)', () => {
  it('copies the version each row names, on the single and the multipart path, not the current one', async () => {
    // Prepare: two versions of each key; the manifest names the older ones.
    const { model, run, putManifest } = setup();
    model.seed('man-src', [
      { key: 'data/small', size: 1000, origin: 'small-old' },
      { key: 'data/big', size: 12 * MiB, origin: 'big-old' },
    ]);
    const oldSmall = model.object('man-src', 'data/small');
    const oldBig = model.object('man-src', 'data/big');
    model.seed('man-src', [
      { key: 'data/small', size: 2000, origin: 'small-new' },
      { key: 'data/big', size: 13 * MiB, origin: 'big-new' },
    ]);
    await putManifest(
      'lists/v.csv',
      `man-src,data/small,${oldSmall?.versionId}\nman-src,data/big,${oldBig?.versionId}\n`,
    );

    // Act
    const result = await run('lists/v.csv');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({ selected: 2, copied: 2, failed: 0 });
    const small = model.object('man-dst', 'copy/small');
    const big = model.object('man-dst', 'copy/big');
    expect(small?.size).toBe(1000);
    expect(big?.size).toBe(12 * MiB);
    expect(big?.parts?.length).toBe(3);
    expect(small && oldSmall && sameContent(small.content, oldSmall.content)).toBe(true);
    expect(big && oldBig && sameContent(big.content, oldBig.content)).toBe(true);
  });

  it('fails the job before any copy when some rows name a version and others do not', async () => {
    // Prepare
    const { model, run, putManifest } = setup();
    model.seed('man-src', [
      { key: 'data/a', size: 10 },
      { key: 'data/b', size: 10 },
    ]);
    await putManifest(
      'lists/mixed.csv',
      `man-src,data/a,${model.object('man-src', 'data/a')?.versionId}\nman-src,data/b\n`,
    );

    // Act
    const result = await run('lists/mixed.csv');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error?.error).toBe('InvalidManifestError');
    expect(result.error?.cause).toContain('line 2 lacks a versionId');
    expect(model.keys('man-dst')).toEqual([]);
  });

  it('fails the job before any copy when a manifest names two versions of one key (the last copy would win)', async () => {
    // Prepare
    const { model, run, putManifest } = setup();
    model.seed('man-src', [{ key: 'data/big', size: 12 * MiB, origin: 'v1' }]);
    const v1 = model.object('man-src', 'data/big')?.versionId;
    model.seed('man-src', [{ key: 'data/big', size: 13 * MiB, origin: 'v2' }]);
    const v2 = model.object('man-src', 'data/big')?.versionId;
    await putManifest('lists/two.csv', `man-src,data/big,${v1}\nman-src,data/big,${v1}\nman-src,data/big,${v2}\n`);

    // Act
    const result = await run('lists/two.csv');

    // Assess: the same version twice is one row; another version of the key is refused by line.
    expect(result.status).toBe('FAILED');
    expect(result.error?.error).toBe('InvalidManifestError');
    expect(result.error?.cause).toContain('line 3 names another version of data/big (line 1 names');
    expect(model.keys('man-dst')).toEqual([]);
  });

  it('reads a manifest in bounded slices (a byte offset each) and copies every row once', async () => {
    // Prepare: 25 rows, 4 objects a slice: 7 slices after the validate pass.
    const { model, run, putManifest } = setup();
    const keys = Array.from({ length: 25 }, (_, i) => `data/k${String(i).padStart(2, '0')}`);
    model.seed(
      'man-src',
      keys.map((key) => ({ key, size: 100 })),
    );
    await putManifest('lists/many.csv', `${keys.map((key) => `man-src,${key}`).join('\n')}\n`);

    // Act
    const result = await run('lists/many.csv', { sliceMaxObjects: 4 });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({ listed: 25, selected: 25, copied: 25, failed: 0 });
    expect(model.keys('man-dst')).toEqual(keys.map((key) => key.replace('data/', 'copy/')));
    expect(result.stats.lambda.list?.invocations ?? 0).toBeGreaterThanOrEqual(7);
  });

  it('reads a Requester Pays source only with requestPayer: every list, HEAD and copy request carries it', async () => {
    // Prepare
    const { model, run, putManifest } = setup();
    model.seed('man-src', [
      { key: 'data/small', size: 1000, tags: [{ Key: 'k', Value: 'v' }] },
      { key: 'data/big', size: 12 * MiB, tags: [{ Key: 'k', Value: 'v' }] },
    ]);
    await putManifest('lists/rp.csv', 'man-src,data/small\nman-src,data/big\n');
    model.setRequesterPays('man-src');

    // Act
    const refused = await run('lists/rp.csv');
    const paid = await run('lists/rp.csv', { requestPayer: true, verify: 'all' });

    // Assess
    expect(refused.status).toBe('FAILED');
    expect(model.keys('man-dst')).toEqual(['copy/big', 'copy/small']);
    expect(paid.status).toBe('SUCCEEDED');
    expect(paid.objects).toMatchObject({ copied: 2, failed: 0 });
    expect(model.object('man-dst', 'copy/big')?.tags).toEqual([{ Key: 'k', Value: 'v' }]);
  });

  it('lists a Requester Pays source in sync mode only with requestPayer (no manifest)', async () => {
    // Prepare
    const { model, run } = setup();
    model.seed('man-src', [
      { key: 'data/one', size: 10 },
      { key: 'data/two', size: 20 },
    ]);
    model.setRequesterPays('man-src');

    // Act
    const refused = await run(null, { mode: 'sync' });
    const paid = await run(null, { mode: 'sync', requestPayer: true });

    // Assess
    expect(refused.status).toBe('FAILED');
    expect(refused.error?.cause).toContain('man-src');
    expect(paid.status).toBe('SUCCEEDED');
    expect(model.keys('man-dst')).toEqual(['copy/one', 'copy/two']);
  });
});

describe('s3xcopy run preflight with --request-payer (S3 model)', () => {
  const endpointFor = (model: S3Model) => ({
    region: 'us-east-1',
    credentials: { accessKeyId: 'MODEL', secretAccessKey: 'MODEL' },
    configure: (client: S3Client) => model.attach(client),
  });

  it('checks a Requester Pays source with a paid one-key listing, and still names a missing bucket', async () => {
    // Prepare
    const model = new S3Model();
    for (const bucket of ['rp-src', 'rp-dst']) model.createBucket(bucket);
    model.setRequesterPays('rp-src');
    const job = (bucket: string) =>
      resolveJob({ source: { bucket }, target: { bucket: 'rp-dst' }, options: { requestPayer: true } });

    // Act / Assess
    await expect(preflight(endpointFor(model), job('rp-src'))).resolves.toBeUndefined();
    expect(model.stats.requests.ListObjectsV2).toBe(1);
    await expect(preflight(endpointFor(model), job('rp-missing'))).rejects.toThrow(
      'source bucket rp-missing does not exist',
    );
  });
});
