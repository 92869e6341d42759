/**
 * Mirror deletes (sync --delete), end to end on the embedded S3 server: the real ASL with the real list,
 * copy and notify handlers, the deletes run by the final MirrorDeletes step.
 */
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { type LocalRunOptions, runLocal } from '../../cli/runner/runner';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'md-state';
let s3: TestS3;
let runs = 0;

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(STATE);
});

afterAll(async () => {
  await s3?.stop();
});

/**
 * Source: in/a, in/b, in/tmp/x (excluded by the job). Target: out/a (same), out/gone-1, out/gone-2
 * (target-only), out/tmp/old (target-only but excluded), out/tmp/x (its source is excluded), and
 * elsewhere/keep (outside the target prefix).
 */
async function seed() {
  runs++;
  const source = `md-src-${runs}`;
  const target = `md-dst-${runs}`;
  await s3.createBucket(source);
  await s3.createBucket(target);
  for (const key of ['a', 'b', 'tmp/x']) await s3.put(source, `in/${key}`, `body of ${key}`);
  await s3.put(target, 'out/a', 'body of a');
  for (const key of ['out/gone-1', 'out/gone-2', 'out/tmp/old', 'out/tmp/x', 'elsewhere/keep']) {
    await s3.put(target, key, 'old');
  }
  return { source, target };
}

function run(
  buckets: { source: string; target: string },
  options: Record<string, unknown>,
  extra: Partial<LocalRunOptions> = {},
) {
  const messages: string[] = [];
  const result = runLocal({
    input: {
      source: { bucket: buckets.source, prefix: 'in/' },
      target: { bucket: buckets.target, prefix: 'out/' },
      filter: { exclude: ['tmp/**'] },
      options: { mode: 'sync', delete: true, ...options },
    },
    endpoint: s3.server.endpoint,
    stateBucket: STATE,
    retryIntervalMs: 0,
    logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
    onNotification: (notification) => messages.push(notification.body),
    ...extra,
  });
  return { result, messages };
}

describe('sync --delete (mirror), on the embedded S3 server', () => {
  it('deletes target objects with no source under the target prefix, never excluded keys or keys outside it', async () => {
    // Prepare
    const buckets = await seed();

    // Act
    const { result, messages } = run(buckets, {});
    const outcome = await result;

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.objects).toMatchObject({ selected: 2, copied: 1, skipped: 1, failed: 0 });
    expect(outcome.deletes).toMatchObject({ toDelete: 2, deleted: 2, dryRun: false });
    expect(outcome.list?.totals).toMatchObject({ toDelete: 2, targetListed: 5 });
    expect(await s3.listKeys(buckets.target)).toEqual(['elsewhere/keep', 'out/a', 'out/b', 'out/tmp/old', 'out/tmp/x']);
    expect(messages.at(-1)).toContain('Deleted:   2 target objects with no source object (mirror)');
  });

  it('deletes nothing when a copy of the run failed', async () => {
    // Prepare: every CopyObject of out/b is denied
    const buckets = await seed();
    const deny: Partial<LocalRunOptions> = {
      configureS3: (client: S3Client, role) => {
        if (role !== 'target') return;
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'CopyObjectCommand' && (args.input as { Key?: string }).Key === 'out/b') {
              throw Object.assign(new Error('Access Denied'), {
                name: 'AccessDenied',
                $metadata: { httpStatusCode: 403 },
              });
            }
            return next(args);
          },
          { step: 'initialize', name: 'denyOneCopy' },
        );
      },
    };

    // Act
    const { result, messages } = run(buckets, {}, deny);
    const outcome = await result;

    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.objects.failed).toBe(1);
    expect(outcome.deletes).toBeUndefined();
    expect(await s3.listKeys(buckets.target, 'out/gone')).toEqual(['out/gone-1', 'out/gone-2']);
    expect(messages.at(-1)).toContain('Deleted:   0 (2 target objects with no source found');
  });

  it('stops with a clear error before deleting more than --max-delete allows', async () => {
    // Prepare
    const buckets = await seed();

    // Act
    const outcome = await run(buckets, { maxDelete: 1 }).result;

    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.error).toBe('MaxDeleteExceededError');
    expect(outcome.error?.cause).toContain('would delete 2 objects under s3://');
    expect(outcome.error?.cause).toContain('more than --max-delete 1');
    expect(await s3.listKeys(buckets.target, 'out/gone')).toEqual(['out/gone-1', 'out/gone-2']);
    // The copies themselves were done.
    expect(await s3.listKeys(buckets.target, 'out/b')).toEqual(['out/b']);
  });

  it('applies a percentage limit to the target objects the merge walked', async () => {
    // Prepare: 2 of the 5 target objects under the prefix is 40%
    const buckets = await seed();

    // Act
    const refused = await run(buckets, { maxDeletePercent: 30 }).result;
    const allowed = await run(buckets, { maxDeletePercent: 40 }).result;

    // Assess
    expect(refused.error?.cause).toContain('would delete 2 of the 5 objects under s3://');
    expect(refused.error?.cause).toContain('(40.0%), more than --max-delete 30%');
    expect(allowed.status).toBe('SUCCEEDED');
    expect(allowed.deletes?.deleted).toBe(2);
  });

  it('names what it would delete in a dry run and deletes nothing', async () => {
    // Prepare
    const buckets = await seed();

    // Act
    const { result, messages } = run(buckets, { dryRun: true });
    const outcome = await result;

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.deletes).toEqual({
      kind: 'mirrorDeletes',
      toDelete: 2,
      deleted: 0,
      dryRun: true,
      wouldDelete: ['out/gone-1', 'out/gone-2'],
    });
    expect(await s3.listKeys(buckets.target, 'out/gone')).toEqual(['out/gone-1', 'out/gone-2']);
    expect(messages.at(-1)).toContain('would delete out/gone-2');
  });

  it('finds target-only keys across slices and after the last source key', async () => {
    // Prepare: one object per slice; target-only keys before, between and after the source keys
    const buckets = await seed();
    await s3.put(buckets.target, 'out/0-first', 'old');
    await s3.put(buckets.target, 'out/zz-last', 'old');

    // Act
    const outcome = await run(buckets, { sliceMaxObjects: 1 }).result;

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.deletes?.deleted).toBe(4);
    expect(await s3.listKeys(buckets.target)).toEqual(['elsewhere/keep', 'out/a', 'out/b', 'out/tmp/old', 'out/tmp/x']);
  });
});
