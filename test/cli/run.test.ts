/**
 * `s3xcopy run` as a user runs it: a child process (`node bin/s3xcopy.js run ...`) against an embedded
 * S3 server started here (S3XCOPY_EMBEDDED=1 tells the CLI it is that server).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { objectSourceJob } from '../../cli/commands/run';
import { startTestS3, type TestS3 } from '../support/s3';

const ROOT = path.join(__dirname, '..', '..');
let s3: TestS3;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
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
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket('cli-src');
  await s3.createBucket('cli-dst');
  await s3.createBucket('cli-untouched');
  await s3.putMany(
    'cli-src',
    Array.from({ length: 12 }, (_, i) => ({ key: `data/file ${i}.txt`, body: `content ${i}` })),
  );
});

afterAll(async () => {
  await s3?.stop();
});

describe('s3xcopy run', () => {
  it('copies and prints one JSON summary on stdout with --json, exit 0', async () => {
    // Act
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data/',
      '--target',
      's3://cli-dst/copy/',
      '--endpoint',
      s3.server.url,
      '--json',
    ]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      status: 'SUCCEEDED',
      objects: { listed: 12, selected: 12, copied: 12, skipped: 0, failed: 0 },
      failures: [],
    });
    expect(summary.bytes.copied).toBeGreaterThan(0);
    expect(typeof summary.durationMs).toBe('number');
    expect(summary.results).toEqual(expect.any(String));
    expect((await s3.getBody('cli-dst', 'copy/file 3.txt')).toString()).toBe('content 3');
  });

  it('copies the one object a --source URI names, into the target prefix, as aws s3 cp does', async () => {
    // Act
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data/file 3.txt',
      '--target',
      's3://cli-dst/one/',
      '--endpoint',
      s3.server.url,
      '--json',
    ]);

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ objects: { selected: 1, copied: 1, skipped: 0, failed: 0 } });
    expect(await s3.listKeys('cli-dst', 'one/')).toEqual(['one/file 3.txt']);
    expect((await s3.getBody('cli-dst', 'one/file 3.txt')).toString()).toBe('content 3');
  });

  it('plans but copies nothing with --dry-run', async () => {
    // Act
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data/',
      '--target',
      's3://cli-untouched/dry/',
      '--endpoint',
      s3.server.url,
      '--dry-run',
      '--json',
    ]);

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      dryRun: true,
      objects: { selected: 12, copied: 0 },
    });
    expect(await s3.listKeys('cli-untouched')).toEqual([]);
  });

  it('skips what the target already has in sync mode and prints a one-line summary', async () => {
    // Prepare
    await cli(['run', '--source', 's3://cli-src/data/', '--target', 's3://cli-dst/sync/', '--endpoint', s3.server.url]);

    // Act
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data/',
      '--target',
      's3://cli-dst/sync/',
      '--endpoint',
      s3.server.url,
      '--mode',
      'sync',
    ]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^SUCCEEDED: 0 copied, 12 skipped, 0 failed of 12 selected/);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('exits 1 with the failed keys when the target role cannot be assumed', async () => {
    // Act: STS is unreachable (a closed port), so the role cannot be assumed for any batch.
    const run = await cli(
      [
        'run',
        '--source',
        's3://cli-src/data/',
        '--target',
        's3://cli-untouched/role/',
        '--target-role-arn',
        'arn:aws:iam::222222222222:role/s3xcopy-target',
        '--endpoint',
        s3.server.url,
        '--json',
      ],
      { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' },
    );

    // Assess
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout);
    expect(summary.status).toBe('FAILED');
    expect(summary.objects.failed).toBe(12);
    // A refused connection (a closed port) is a wrong endpoint or no network, not STS throttling: waiting does not
    // fix it, so it fails at once as AssumeRoleError (functions/shared/target-role.ts isTransientStsError).
    expect(summary.failures[0]).toMatchObject({ code: 'AssumeRoleError' });
    expect(summary.failures[0].message).toMatch(/arn:aws:iam::222222222222:role\/s3xcopy-target/);
    expect(await s3.listKeys('cli-untouched')).toEqual([]);
  });

  it.each([
    [['--source', 'cli-src/data/', '--target', 's3://cli-dst/x/'], /--source: "cli-src\/data\/" is not an S3 URI/],
    [['--source', 's3://', '--target', 's3://cli-dst/x/'], /--source: "s3:\/\/" names no bucket/],
    [['--source', 's3://Bad_Bucket/', '--target', 's3://cli-dst/x/'], /"Bad_Bucket" is not a valid bucket name/],
    [['--source', 's3://cli-src/', '--target', 's3://cli-dst/x/', '--frobnicate'], /unknown option '--frobnicate'/],
    [
      ['--source', 's3://cli-src/', '--target', 's3://no-such-bucket-here/'],
      /target bucket no-such-bucket-here does not exist/,
    ],
    [
      ['--source', 's3://cli-src/', '--target', 's3://cli-dst/x/', '--part-size', '8XB'],
      /--part-size: "8XB" is not a size/,
    ],
    [
      ['--source', 's3://cli-src/', '--target', 's3://cli-dst/x/', '--mode', 'mirror'],
      /--mode: "mirror" is not a mode/,
    ],
    [['--source', 's3://cli-src/a/', '--target', 's3://cli-src/a/b/'], /target\.prefix must not overlap the source/],
    [['--target', 's3://cli-dst/x/'], /required option '--source <uri>' not specified/],
    [['--source', 's3://cli-src//data/', '--target', 's3://cli-dst/x/'], /source\.prefix must not start with "\/"/],
  ])('exits 2 with one clear message and writes nothing for %j', async (args, message) => {
    // Act
    const run = await cli(['run', ...args, '--endpoint', s3.server.url]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    expect(await s3.listKeys('cli-dst', 'x/')).toEqual([]);
  });

  it('exits 2 before anything is written for a job too large to travel with a batch (1,200 --include globs)', async () => {
    // Prepare
    const includes = Array.from({ length: 1200 }, (_, i) => ['--include', `long/pattern/number/${i}/**/*.parquet`]);

    // Act
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data/',
      '--target',
      's3://cli-dst/x/',
      ...includes.flat(),
      '--endpoint',
      s3.server.url,
    ]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/the job is \d+ bytes of JSON; at most 32768/);
    expect(await s3.listKeys('cli-dst', 'x/')).toEqual([]);
  });
});

describe('s3xcopy run --invocation-timeout', () => {
  it('finishes an object that needs several copy invocations, byte for byte, and reports invocations and parts', async () => {
    // Arrange: 60 MiB in 5 MiB parts, one part at a time, and a 2-second local Lambda. The server (in this
    // process) takes 300 ms more per part, so 12 parts cannot fit one invocation however fast this machine is.
    const body = randomBytes(60 * 1024 * 1024);
    const controller = require('@20minutes/s3rver/lib/controllers/object') as Record<
      string,
      (ctx: unknown) => Promise<unknown>
    >;
    const original = controller.uploadPartCopy;
    if (!original) throw new Error('embedded server: uploadPartCopy controller not found');
    controller.uploadPartCopy = async (ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return original(ctx);
    };
    await s3.createBucket('cli-big-src');
    await s3.createBucket('cli-big-dst');
    await s3.put('cli-big-src', 'big.bin', body);
    // Act
    const run = await cli([
      'run',
      '--source',
      's3://cli-big-src/',
      '--target',
      's3://cli-big-dst/',
      '--endpoint',
      s3.server.url,
      '--part-size',
      '5MiB',
      '--multipart-threshold',
      '5MiB',
      '--concurrency',
      '1',
      '--invocation-timeout',
      '2s',
      '--json',
    ]).finally(() => {
      controller.uploadPartCopy = original;
    });
    // Assess
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      status: 'SUCCEEDED',
      objects: { copied: 1, failed: 0 },
      bytes: { copied: body.length },
    });
    expect(summary.copy.invocations).toBeGreaterThan(1);
    expect(summary.copy.parts).toBeGreaterThanOrEqual(12);
    expect((await s3.getBody('cli-big-dst', 'big.bin')).equals(body)).toBe(true);
    expect(await s3.openUploads('cli-big-dst')).toBe(0);
  }, 60_000);

  it('exits 2 naming the option when the timeout is not a duration', async () => {
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/',
      '--target',
      's3://cli-dst/x/',
      '--invocation-timeout',
      'soon',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--invocation-timeout: "soon" is not a duration/);
  });
});

describe('s3xcopy run: a source or state bucket that would lose data is bad input (exit 2)', () => {
  it('exits 2 naming the URI when --source names no object and no prefix, and deletes nothing with --delete', async () => {
    // Prepare: the target holds a mirror that a mistyped source would have emptied
    await s3.createBucket('cli-typo-dst');
    await s3.put('cli-typo-dst', 'm/file 1.txt', 'content 1');

    // Act: data/f9.csv exists neither as an object nor as a prefix data/f9.csv/
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data/f9.csv',
      '--target',
      's3://cli-typo-dst/m/',
      '--mode',
      'sync',
      '--delete',
      '--endpoint',
      s3.server.url,
    ]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--source s3://cli-src/data/f9.csv names no object (no such object');
    expect(await s3.listKeys('cli-typo-dst')).toEqual(['m/file 1.txt']);
  });

  it('accepts a URI without the trailing slash as the prefix KEY/ when that prefix holds objects', async () => {
    // Act
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data',
      '--target',
      's3://cli-untouched/p/',
      '--endpoint',
      s3.server.url,
      '--dry-run',
      '--json',
    ]);

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ objects: { selected: 12 } });
  });

  it('says the HEAD answered 403 when an object URI cannot be read and no prefix holds objects', async () => {
    // Prepare: every HeadObject is denied
    const endpoint = {
      ...s3.server.endpoint,
      configure: (client: S3Client) => {
        s3.server.endpoint.configure?.(client);
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'HeadObjectCommand') {
              throw Object.assign(new Error('Forbidden'), { name: '403', $metadata: { httpStatusCode: 403 } });
            }
            return next(args);
          },
          { step: 'initialize', name: 'denyHead' },
        );
      },
    };

    // Act
    const outcome = objectSourceJob(endpoint, { source: { bucket: 'cli-src', prefix: 'data/file 1.txt' } });

    // Assess
    await expect(outcome).rejects.toThrow(
      '--source s3://cli-src/data/file 1.txt names no object (HEAD answered 403 (access denied)',
    );
  });

  it('exits 2 before anything is written when --state-bucket is the target bucket', async () => {
    // Prepare
    await s3.createBucket('cli-same-dst');

    // Act
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data/',
      '--target',
      's3://cli-same-dst/m/',
      '--state-bucket',
      'cli-same-dst',
      '--endpoint',
      s3.server.url,
    ]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('target.bucket cli-same-dst is also --state-bucket');
    expect(await s3.listKeys('cli-same-dst')).toEqual([]);
  });

  it('exits 2 when --state-bucket is the source bucket', async () => {
    const run = await cli([
      'run',
      '--source',
      's3://cli-src/data/',
      '--target',
      's3://cli-dst/s/',
      '--state-bucket',
      'cli-src',
      '--endpoint',
      s3.server.url,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('source.bucket cli-src is also --state-bucket');
  });
});
