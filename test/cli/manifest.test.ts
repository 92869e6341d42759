/**
 * `s3xcopy run --manifest` as a user runs it: a child process against the embedded S3 server, with the
 * manifest put in the source bucket. The embedded server has no versioning: versioned rows are tested on
 * the S3 model (test/statemachine/manifest.sim.test.ts).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startTestS3, type TestS3 } from '../support/s3';

const ROOT = path.join(__dirname, '..', '..');
let s3: TestS3;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'node',
      ['bin/s3xcopy.js', ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          AWS_REGION: 'us-east-1',
          S3XCOPY_EMBEDDED: '1',
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const run = (manifest: string, target: string, extra: string[] = []) =>
  cli([
    'run',
    '--source',
    's3://man-src/data/',
    '--manifest',
    manifest,
    '--target',
    `s3://man-dst/${target}/`,
    '--endpoint',
    s3.server.url,
    '--json',
    ...extra,
  ]);

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket('man-src');
  await s3.createBucket('man-dst');
  await s3.putMany('man-src', [
    { key: 'data/a.txt', body: 'alpha' },
    { key: 'data/b c.txt', body: 'bravo charlie' },
    { key: 'data/d+e.txt', body: 'delta plus echo' },
    { key: 'data/not-listed.txt', body: 'never in a manifest' },
  ]);
});

afterAll(async () => {
  await s3?.stop();
});

describe('s3xcopy run --manifest', () => {
  it('copies exactly the objects a Batch Operations CSV names, decoding URL-encoded keys', async () => {
    // Arrange: "+" and %20 are spaces, %2B a literal "+"; a quoted field and a CRLF line end.
    await s3.put(
      'man-src',
      'lists/run.csv',
      'man-src,data/a.txt\r\nman-src,data/b+c.txt\n"man-src","data/d%2Be.txt"\n',
    );

    // Act
    const result = await run('s3://man-src/lists/run.csv', 'csv');

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      objects: { listed: 3, selected: 3, copied: 3, failed: 0 },
    });
    expect(await s3.listKeys('man-dst', 'csv/')).toEqual(['csv/a.txt', 'csv/b c.txt', 'csv/d+e.txt']);
    expect((await s3.getBody('man-dst', 'csv/d+e.txt')).toString()).toBe('delta plus echo');
  });

  it('copies the objects of an S3 Inventory report (manifest.json and its gzip CSV files), passing over delete markers', async () => {
    // Arrange: the inventory's destination bucket is the source bucket here; the files are named by key.
    const data = [
      '"man-src","data/a.txt","","true","false","5"',
      '"man-src","data/gone.txt","","true","true","0"',
      '"man-src","data/b%20c.txt","","true","false","13"',
    ].join('\n');
    await s3.put('man-src', 'inventory/data/1.csv.gz', gzipSync(`${data}\n`));
    await s3.put(
      'man-src',
      'inventory/2026-12-01T01-00Z/manifest.json',
      JSON.stringify({
        sourceBucket: 'man-src',
        destinationBucket: 'arn:aws:s3:::man-src',
        version: '2016-11-30',
        fileFormat: 'CSV',
        fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size',
        files: [{ key: 'inventory/data/1.csv.gz', size: 1, MD5checksum: '0' }],
      }),
    );

    // Act
    const result = await run('s3://man-src/inventory/2026-12-01T01-00Z/manifest.json', 'inv');

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ objects: { listed: 2, copied: 2, failed: 0 } });
    expect(await s3.listKeys('man-dst', 'inv/')).toEqual(['inv/a.txt', 'inv/b c.txt']);
  });

  it('fails with exit 2, naming the line, and writes nothing when a line is malformed', async () => {
    // Arrange: line 3 is bad; lines 1-2 are good and would be copied if the job did not validate first.
    await s3.put('man-src', 'lists/bad.csv', 'man-src,data/a.txt\nman-src,data/b+c.txt\nman-src,data/%zz\n');

    // Act
    const result = await run('s3://man-src/lists/bad.csv', 'bad');

    // Assess
    expect(result.code).toBe(2);
    const summary = JSON.parse(result.stdout);
    expect(summary.error.error).toBe('InvalidManifestError');
    expect(summary.error.cause).toContain('s3://man-src/lists/bad.csv line 3');
    expect(summary.objects.copied).toBe(0);
    expect(await s3.listKeys('man-dst', 'bad/')).toEqual([]);
  });

  it('rejects a row naming another bucket than the source, before any copy', async () => {
    // Arrange
    await s3.put('man-src', 'lists/other.csv', 'man-src,data/a.txt\nman-dst,data/a.txt\n');

    // Act
    const result = await run('s3://man-src/lists/other.csv', 'other');

    // Assess
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error.cause).toContain(
      'line 2 names bucket "man-dst", not the job\'s source bucket man-src',
    );
    expect(await s3.listKeys('man-dst', 'other/')).toEqual([]);
  });

  it('estimate --manifest counts the objects, and their average size from an Inventory Size column', async () => {
    // Act (the inventory of the Inventory test: 2 objects of 5 and 13 bytes, one delete marker)
    const result = await cli([
      'estimate',
      '--manifest',
      's3://man-src/inventory/2026-12-01T01-00Z/manifest.json',
      '--endpoint',
      s3.server.url,
      '--json',
    ]);

    // Assess
    expect(result.code).toBe(0);
    const estimate = JSON.parse(result.stdout);
    expect(estimate.job).toMatchObject({ objects: 2, averageSizeBytes: 9 });
    expect(estimate.manifest).toMatchObject({ rows: 2, bytes: 18, files: 1, headRequests: 2 });
  });

  it('estimate --manifest counts only the current version of each key of an all-versions Inventory, as a job copies', async () => {
    // Arrange: a.txt has a current and a noncurrent version; the job would copy the current one only.
    const data = [
      '"man-src","data/a.txt","v2","true","false","5"',
      '"man-src","data/a.txt","v1","false","false","100"',
      '"man-src","data/b.txt","v1","true","false","7"',
    ].join('\n');
    await s3.put('man-src', 'versions/data/1.csv.gz', gzipSync(`${data}\n`));
    await s3.put(
      'man-src',
      'versions/2026-12-01T01-00Z/manifest.json',
      JSON.stringify({
        sourceBucket: 'man-src',
        destinationBucket: 'arn:aws:s3:::man-src',
        version: '2016-11-30',
        fileFormat: 'CSV',
        fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size',
        files: [{ key: 'versions/data/1.csv.gz', size: 1, MD5checksum: '0' }],
      }),
    );

    // Act
    const result = await cli([
      'estimate',
      '--manifest',
      's3://man-src/versions/2026-12-01T01-00Z/manifest.json',
      '--endpoint',
      s3.server.url,
      '--json',
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).manifest).toMatchObject({ rows: 2, bytes: 12 });
  });

  it('estimate --manifest of a CSV needs --avg-size (a CSV has no sizes), exit 2', async () => {
    // Act
    const result = await cli(['estimate', '--manifest', 's3://man-src/lists/run.csv', '--endpoint', s3.server.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--avg-size SIZE is required (a CSV manifest has no sizes');
  });

  it('refuses --manifest without an object key, naming the flag (exit 2)', async () => {
    // Act
    const result = await run('s3://man-src/', 'none');

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--manifest: "s3://man-src/" names no manifest object');
  });
});
