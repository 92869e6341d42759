/**
 * Mirror deletes (sync --delete), end to end on the embedded S3 server: the real ASL with the real list,
 * copy and notify handlers, the deletes run by the final MirrorDeletes step.
 */
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { exitCodeFor, runSummaryJson, summaryLine } from '../../cli/commands/run';
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
    expect(outcome.deletes).toMatchObject({
      toDelete: 2,
      proven: 2,
      refused: 0,
      deleted: 2,
      failed: 0,
      notAttempted: 0,
      dryRun: false,
    });
    expect(outcome.deletes?.error).toBeUndefined();
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
      proven: 2,
      refused: 0,
      deleted: 0,
      failed: 0,
      notAttempted: 0,
      failures: [],
      refusedKeys: [],
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

    // Act: 4 target objects go, more than the 2 the source selects: an explicit --max-delete allows it
    const outcome = await run(buckets, { sliceMaxObjects: 1, maxDelete: 4 }).result;

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.deletes?.deleted).toBe(4);
    expect(await s3.listKeys(buckets.target)).toEqual(['elsewhere/keep', 'out/a', 'out/b', 'out/tmp/old', 'out/tmp/x']);
  });
});

/** Makes every S3 client of `role` fail `command` for `key` with a 403, as a refusing policy would. */
function deny(role: 'source' | 'target', command: string, key: string): Partial<LocalRunOptions> {
  return {
    configureS3: (client: S3Client, clientRole) => {
      if (clientRole !== role) return;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === command && (args.input as { Key?: string }).Key === key) {
            throw Object.assign(new Error('Access Denied'), {
              name: 'AccessDenied',
              $metadata: { httpStatusCode: 403 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: `deny-${command}-${key}` },
      );
    },
  };
}

describe('sync --delete deletes only on proof, on the embedded S3 server', () => {
  it('refuses to delete a target object whose source exists when the listing missed the source', async () => {
    // Prepare: out/b exists in the target; the source listing leaves in/b out (a server listing artefact)
    const buckets = await seed();
    await s3.put(buckets.target, 'out/b', 'body of b');
    const hideFromListing: Partial<LocalRunOptions> = {
      configureS3: (client: S3Client, role) => {
        if (role !== 'source') return;
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const result = await next(args);
            if (context.commandName === 'ListObjectsV2Command') {
              const output = result.output as { Contents?: Array<{ Key?: string }>; KeyCount?: number };
              output.Contents = output.Contents?.filter((item) => item.Key !== 'in/b');
              output.KeyCount = output.Contents?.length ?? 0;
            }
            return result;
          },
          { step: 'initialize', name: 'hideOneKey' },
        );
      },
    };

    // Act: with a limit of the user's, so the source-count guard leaves the proof to the HEADs
    const { result, messages } = run(buckets, { listConcurrency: 1, maxDelete: 10 }, hideFromListing);
    const outcome = await result;

    // Assess: out/b kept, the run fails and names it; the proven target-only keys are deleted
    expect(outcome.deletes).toMatchObject({ toDelete: 3, proven: 2, refused: 1, deleted: 2, failed: 0 });
    expect(outcome.deletes?.refusedKeys).toEqual(['out/b']);
    expect(await s3.listKeys(buckets.target, 'out/b')).toEqual(['out/b']);
    expect(await s3.listKeys(buckets.target, 'out/gone')).toEqual([]);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.error).toBe('MirrorDeleteError');
    expect(outcome.error?.cause).toContain('1 refused because the source object exists');
    expect(exitCodeFor(outcome)).toBe(1);
    expect(messages.at(-1)).toContain('refused: out/b (its source object exists');
  });

  it('keeps the target object and reports HeadObject with its code when the source HEAD answers 403', async () => {
    // Prepare
    const buckets = await seed();

    // Act
    const outcome = await run(buckets, {}, deny('source', 'HeadObjectCommand', 'in/gone-1')).result;

    // Assess
    expect(outcome.deletes).toMatchObject({ toDelete: 2, proven: 1, refused: 0, deleted: 1, failed: 1 });
    expect(outcome.deletes?.failures).toEqual([
      expect.objectContaining({ action: 'HeadObject', key: 'out/gone-1', code: 'AccessDenied' }),
    ]);
    expect(await s3.listKeys(buckets.target, 'out/gone')).toEqual(['out/gone-1']);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.cause).toContain('HeadObject out/gone-1 (AccessDenied)');
  });

  it('counts a delete step that fails part-way exactly: 39 of 40 deleted, the denied key named with action and code', async () => {
    // Prepare: 40 target-only objects; DeleteObject of one of them is denied
    const buckets = await seed();
    const gone = Array.from({ length: 40 }, (_, i) => `out/many/k${String(i).padStart(2, '0')}`);
    for (const key of ['out/gone-1', 'out/gone-2']) await s3.put(buckets.source, key.replace('out/', 'in/'), 'x');
    await s3.putMany(
      buckets.target,
      gone.map((key) => ({ key, body: 'old' })),
    );

    // Act
    const { result, messages } = run(buckets, { maxDelete: 40 }, deny('target', 'DeleteObjectCommand', 'out/many/k17'));
    const outcome = await result;

    // Assess: the ledger in the result, --json, the summary line and the notification
    expect(outcome.deletes).toMatchObject({
      toDelete: 40,
      proven: 40,
      refused: 0,
      deleted: 39,
      failed: 1,
      notAttempted: 0,
      failures: [expect.objectContaining({ action: 'DeleteObject', key: 'out/many/k17', code: 'AccessDenied' })],
    });
    expect(await s3.listKeys(buckets.target, 'out/many/')).toEqual(['out/many/k17']);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toMatchObject({ error: 'MirrorDeleteError' });
    expect(outcome.error?.cause).toContain('39 of 40 deleted; 1 failed: DeleteObject out/many/k17 (AccessDenied)');
    expect(runSummaryJson(outcome, 1).deletes).toMatchObject({ deleted: 39, failed: 1 });
    expect(summaryLine(outcome, 1)).toContain('39 of 40 deletes done (40 proven, 1 failed)');
    expect(messages.at(-1)).toContain('Deleted:   39 target objects with no source object (mirror): 40 to delete');
    expect(messages.at(-1)).toContain('failed: DeleteObject out/many/k17 (AccessDenied)');
  });

  it('stops before deleting, exit 2, when the source lists no object, unless --allow-empty-source', async () => {
    // Prepare: the source prefix "none/" is empty (a mistyped --source)
    const buckets = await seed();
    const empty = (extra: Record<string, unknown>) =>
      runLocal({
        input: {
          source: { bucket: buckets.source, prefix: 'none/' },
          target: { bucket: buckets.target, prefix: 'out/' },
          options: { mode: 'sync', delete: true, ...extra },
        },
        endpoint: s3.server.endpoint,
        stateBucket: STATE,
        retryIntervalMs: 0,
        logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
      });

    // Act
    const refused = await empty({});
    const before = await s3.listKeys(buckets.target);
    const allowed = await empty({ allowEmptySource: true });

    // Assess
    expect(refused.error?.error).toBe('SourceListingTooSmallError');
    expect(refused.error?.cause).toContain('listed no object');
    expect(refused.error?.cause).toContain('--allow-empty-source');
    expect(exitCodeFor(refused)).toBe(2);
    expect(before).toEqual(['elsewhere/keep', 'out/a', 'out/gone-1', 'out/gone-2', 'out/tmp/old', 'out/tmp/x']);
    expect(allowed.status).toBe('SUCCEEDED');
    expect(allowed.deletes).toMatchObject({ toDelete: 5, deleted: 5 });
    expect(await s3.listKeys(buckets.target)).toEqual(['elsewhere/keep']);
  });

  it('mirrors into a prefix that held only stale objects without a --max-delete', async () => {
    // Prepare: the target prefix holds one stale object and nothing else: every target object goes
    runs++;
    const buckets = { source: `md-src-${runs}`, target: `md-dst-${runs}` };
    await s3.createBucket(buckets.source);
    await s3.createBucket(buckets.target);
    for (const key of ['a', 'b']) await s3.put(buckets.source, `in/${key}`, `body of ${key}`);
    await s3.put(buckets.target, 'out/stale', 'old');

    // Act
    const outcome = await run(buckets, {}).result;

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.deletes).toMatchObject({ toDelete: 1, deleted: 1 });
    expect(await s3.listKeys(buckets.target)).toEqual(['out/a', 'out/b']);
  });

  it('stops before deleting more objects than the source listed, without an explicit --max-delete', async () => {
    // Prepare: 4 more target-only objects: 6 of 9 would go
    const buckets = await seed();
    for (const key of ['out/x1', 'out/x2', 'out/x3', 'out/x4']) await s3.put(buckets.target, key, 'old');

    // Act
    const outcome = await run(buckets, {}).result;

    // Assess
    expect(outcome.error?.error).toBe('SourceListingTooSmallError');
    expect(outcome.error?.cause).toContain('would delete 6 objects under s3://');
    expect(outcome.error?.cause).toContain('more than the 2 objects the source');
    expect(exitCodeFor(outcome)).toBe(2);
    expect(await s3.listKeys(buckets.target, 'out/x')).toEqual(['out/x1', 'out/x2', 'out/x3', 'out/x4']);
  });
});
