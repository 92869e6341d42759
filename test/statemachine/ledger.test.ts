import type { S3Client } from '@aws-sdk/client-s3';
import type { LocalRunOptions, LocalRunResult } from '../../cli/runner/runner';
import { runOnTestS3 } from '../support/local-run';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'ledger-state';
let s3: TestS3;
let runs = 0;

async function buckets() {
  runs++;
  const source = `ledger-src-${runs}`;
  const target = `ledger-dst-${runs}`;
  await s3.createBucket(source);
  await s3.createBucket(target);
  return { source, target };
}

/** Makes every CopyObject of these target keys fail with AccessDenied. */
function denyCopiesOf(keys: string[]): Pick<LocalRunOptions, 'configureS3'> {
  const denied = new Set(keys);
  return {
    configureS3: (client: S3Client, role) => {
      if (role !== 'target') return;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: string };
          if (context.commandName === 'CopyObjectCommand' && input.Key !== undefined && denied.has(input.Key)) {
            throw Object.assign(new Error('Access Denied'), {
              name: 'AccessDenied',
              $metadata: { httpStatusCode: 403 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'testDenyCopies' },
      );
    },
  };
}

function run(input: unknown, extra: Partial<LocalRunOptions> = {}) {
  return runOnTestS3(s3, STATE, input, extra);
}

function expectIdentity(result: LocalRunResult): void {
  const o = result.objects;
  expect(o.copied + o.skipped + o.failed + o.notAttempted).toBe(o.selected);
}

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(STATE);
});

afterAll(async () => {
  await s3?.stop();
});

describe('the ledger of a local run', () => {
  it('counts the copied objects of a batch in which one object failed', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(
      source,
      ['a/1', 'a/2', 'a/3'].map((key) => ({ key, body: `body of ${key}` })),
    );

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target } }, denyCopiesOf(['a/2']));

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.objects).toMatchObject({ selected: 3, copied: 2, skipped: 0, failed: 1, notAttempted: 0 });
    expect(result.bytes.copied).toBe(Buffer.byteLength('body of a/1') + Buffer.byteLength('body of a/3'));
    expect(result.notification?.objects).toMatchObject({ copied: 2, failed: 1, notAttempted: 0 });
    expect((await s3.listKeys(target)).sort()).toEqual(['a/1', 'a/3']);
    expectIdentity(result);
    // Every failed key is in the state bucket's failures file, which the result and the message name.
    expect(result.failuresFile).toBe(`s3://${STATE}/reports/${result.jobId}/failures.jsonl`);
    const lines = (await s3.getBody(STATE, `reports/${result.jobId}/failures.jsonl`)).toString().trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ key: 'a/2', code: 'AccessDenied', batchId: 's0-b0' }),
    ]);
  });

  it('names every failed key in failures.jsonl when a batch fails more objects than its result may name', async () => {
    // Prepare: one batch of 260 objects, 250 of which fail (the result names at most 100).
    const { source, target } = await buckets();
    const denied = Array.from({ length: 250 }, (_, i) => `f/${String(i).padStart(3, '0')}`);
    const fine = Array.from({ length: 10 }, (_, i) => `g/${i}`);
    await s3.putMany(
      source,
      [...denied, ...fine].map((key) => ({ key, body: key })),
    );

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target } }, denyCopiesOf(denied));

    // Assess: the file lists all 250 with their code, and the ledger's counts still add up.
    expect(result.status).toBe('FAILED');
    expect(result.objects).toMatchObject({ selected: 260, copied: 10, skipped: 0, failed: 250, notAttempted: 0 });
    expectIdentity(result);
    const lines = (await s3.getBody(STATE, `reports/${result.jobId}/failures.jsonl`))
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { key: string; code: string; batchId: string });
    expect(lines).toHaveLength(250);
    expect(lines.map((line) => line.key).sort()).toEqual(denied);
    expect(new Set(lines.map((line) => `${line.code} ${line.batchId}`))).toEqual(new Set(['AccessDenied s0-b0']));
    const ledger = JSON.parse((await s3.getBody(STATE, `reports/${result.jobId}/ledger.json`)).toString());
    expect(ledger).toMatchObject({
      objects: { selected: 260, copied: 10, failed: 250, notAttempted: 0, failedByCode: { AccessDenied: 250 } },
      failuresListed: 250,
      failuresUnnamed: 0,
    });
    expect(ledger.objects.failedByCode.unnamed).toBeUndefined();
    expect(result.failures).toHaveLength(250);
  });

  it('names every failed key when fewer than 100 fail but their long keys and messages overflow the result', async () => {
    // Prepare: 60 failures of 400-character keys; the result a failed batch carries keeps 16,000
    // characters, so it cannot name them all although they are under the 100 it may name.
    const { source, target } = await buckets();
    const denied = Array.from(
      { length: 60 },
      (_, i) => `long/${'a'.repeat(200)}/${'b'.repeat(180)}/${String(i).padStart(3, '0')}`,
    );
    await s3.putMany(
      source,
      [...denied, 'g/0'].map((key) => ({ key, body: 'x' })),
    );

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target } }, denyCopiesOf(denied));

    // Assess: every failed key is named, none counted as unnamed.
    expect(result.objects).toMatchObject({ selected: 61, copied: 1, failed: 60, notAttempted: 0 });
    expectIdentity(result);
    const lines = (await s3.getBody(STATE, `reports/${result.jobId}/failures.jsonl`)).toString().trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { key: string }).key).sort()).toEqual(denied);
    const ledger = JSON.parse((await s3.getBody(STATE, `reports/${result.jobId}/ledger.json`)).toString());
    expect(ledger).toMatchObject({ failuresListed: 60, failuresUnnamed: 0 });
  });

  it('counts the batches left pending by the tolerated-failure threshold as not attempted', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(
      source,
      ['p/1', 'p/2', 'p/3', 'p/4'].map((key) => ({ key, body: key })),
    );

    // Act: one batch at a time, the first fails, and no failure is tolerated.
    const result = await run(
      { source: { bucket: source }, target: { bucket: target }, options: { maxObjectsPerBatch: 1 } },
      { ...denyCopiesOf(['p/1']), mapMaxConcurrency: 1 },
    );

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.objects).toMatchObject({ selected: 4, copied: 0, failed: 1, notAttempted: 3 });
    expect(result.notification?.objects).toMatchObject({ failed: 1, notAttempted: 3 });
    expect(result.notification?.subject).toMatch(/1 failed, 3 not attempted of 4/);
    expect(await s3.listKeys(target)).toEqual([]);
    expectIdentity(result);
  });

  it('counts what a sync dry run would copy, not every selected object', async () => {
    // Prepare: a full copy first, then one changed object.
    const { source, target } = await buckets();
    await s3.putMany(
      source,
      ['d/1', 'd/2', 'd/3'].map((key) => ({ key, body: key })),
    );
    await run({ source: { bucket: source }, target: { bucket: target } });
    await s3.put(source, 'd/2', 'd/2 changed, longer');

    // Act
    const result = await run({
      source: { bucket: source },
      target: { bucket: target },
      options: { mode: 'sync', dryRun: true },
    });

    // Assess
    expect(result.objects).toMatchObject({ selected: 3, copied: 0, skipped: 2, failed: 0, notAttempted: 1 });
    expect(result.objects.wouldCopy).toBe(1);
    expect(result.bytes).toMatchObject({
      selected: 3 + Buffer.byteLength('d/2 changed, longer') + 3,
      wouldCopy: Buffer.byteLength('d/2 changed, longer'),
      copied: 0,
    });
    expectIdentity(result);
  });
});

describe('sync and content identity', () => {
  it('recopies an object overwritten with the same size whose target is not older (no timestamp proves identity)', async () => {
    // Prepare: the target holds other bytes of the same size, written after the source (as when the source
    // is overwritten in the same second as its last copy: S3 timestamps have one-second precision).
    const { source, target } = await buckets();
    await s3.put(source, 's/same-size', 'new content A');
    await s3.put(target, 's/same-size', 'old content B');

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target }, options: { mode: 'sync' } });

    // Assess
    expect(result.objects).toMatchObject({ selected: 1, copied: 1, skipped: 0 });
    expect((await s3.getBody(target, 's/same-size')).toString()).toBe('new content A');
  });

  it('still skips an object whose target has the same size and ETag, without a HEAD', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.put(source, 's/kept', 'identical bytes');
    await s3.put(target, 's/kept', 'identical bytes');

    // Act
    const result = await run({ source: { bucket: source }, target: { bucket: target }, options: { mode: 'sync' } });

    // Assess
    expect(result.objects).toMatchObject({ selected: 1, copied: 0, skipped: 1, skippedByReason: { unchanged: 1 } });
    expect(result.stats.s3.source.HeadObjectCommand ?? 0).toBe(0);
    expect(result.stats.s3.target.HeadObjectCommand ?? 0).toBe(0);
  });
});

describe('inputs that get a clear answer', () => {
  it('skips the folder marker of the source prefix (data/ itself) when it would map to an empty target key', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.put(source, 'm/', '');
    await s3.put(source, 'm/a.txt', 'a');

    // Act
    const result = await run({ source: { bucket: source, prefix: 'm/' }, target: { bucket: target } });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({
      selected: 2,
      copied: 1,
      skipped: 1,
      failed: 0,
      notAttempted: 0,
      skippedByReason: { prefixMarker: 1 },
    });
    expect(await s3.listKeys(target)).toEqual(['a.txt']);
  });

  it('copies the folder marker of the source prefix onto the target prefix when there is one', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.put(source, 'm/', '');
    await s3.put(source, 'm/a.txt', 'a');

    // Act
    const result = await run({ source: { bucket: source, prefix: 'm/' }, target: { bucket: target, prefix: 'copy/' } });

    // Assess
    expect(result.objects).toMatchObject({ selected: 2, copied: 2, skipped: 0 });
    expect((await s3.listKeys(target)).sort()).toEqual(['copy/', 'copy/a.txt']);
  });
});
