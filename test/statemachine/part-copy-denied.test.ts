/**
 * Ceph RGW 16.2 denies UploadPartCopy when read access comes from a bucket or role policy, while it
 * honours the same grant on CopyObject (docs/compatibility.md). On S3-compatible servers a large object
 * whose part copies are denied is copied once with CopyObject (copy-object.ts `copyInParts`); under AWS's
 * rules it fails as before. Real ASL, real handlers, embedded S3; the denial is injected on the target
 * client, as RGW would answer it.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LocalRunOptions, LocalRunResult } from '../../cli/runner/runner';
import { MiB, useNameRules } from '../../functions/shared/job';
import { runOnTestS3 } from '../support/local-run';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'part-denied-state';
const BIG = 12 * MiB;
let s3: TestS3;
let runs = 0;

async function buckets() {
  runs++;
  const source = `part-denied-src-${runs}`;
  const target = `part-denied-dst-${runs}`;
  await s3.createBucket(source);
  await s3.createBucket(target);
  return { source, target };
}

/**
 * Denies every request of `commands` on `key` (UploadPartCopy by default) with RGW's AccessDenied, and
 * records the commands the target client sends.
 */
function denyOnTarget(
  key: string,
  commands = ['UploadPartCopyCommand'],
): Pick<LocalRunOptions, 'configureS3'> & { sent: Array<{ command: string; key?: string }> } {
  const deniedCommands = new Set(commands);
  const sent: Array<{ command: string; key?: string }> = [];
  return {
    sent,
    configureS3: (client: S3Client, role) => {
      if (role !== 'target') return;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const command = String(context.commandName);
          const input = args.input as { Key?: string };
          sent.push({ command, ...(input.Key !== undefined ? { key: input.Key } : {}) });
          if (deniedCommands.has(command) && input.Key === key) {
            throw Object.assign(new Error('Access Denied'), {
              name: 'AccessDenied',
              $metadata: { httpStatusCode: 403 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'testDenyOnTarget' },
      );
    },
  };
}

function run(source: string, target: string, extra: Partial<LocalRunOptions>) {
  return runOnTestS3(
    s3,
    STATE,
    {
      source: { bucket: source },
      target: { bucket: target },
      options: { multipartThreshold: 5 * MiB, partSize: 5 * MiB },
    },
    extra,
  );
}

function count(sent: Array<{ command: string; key?: string }>, command: string, key = 'big.bin'): number {
  return sent.filter((entry) => entry.command === command && entry.key === key).length;
}

function expectIdentity(result: LocalRunResult): void {
  const o = result.objects;
  expect(o.copied + o.skipped + o.failed + o.notAttempted).toBe(o.selected);
}

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(STATE);
});

afterEach(() => useNameRules('aws'));

afterAll(async () => {
  await s3?.stop();
});

describe('a large object whose UploadPartCopy is denied', () => {
  it('is copied with one CopyObject after the upload is aborted when the rules are s3-compatible', async () => {
    // Prepare
    const { source, target } = await buckets();
    const body = randomBytes(BIG);
    await s3.putMany(source, [
      { key: 'big.bin', body },
      { key: 'small.txt', body: 'small' },
    ]);
    useNameRules('s3-compatible');
    const fault = denyOnTarget('big.bin');

    // Act
    const result = await run(source, target, fault);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({ selected: 2, copied: 2, skipped: 0, failed: 0, notAttempted: 0 });
    expect(result.bytes.copied).toBe(BIG + Buffer.byteLength('small'));
    expectIdentity(result);
    expect(result.failures).toEqual([]);
    // The multipart copy was tried and aborted first, then exactly one CopyObject copied the object.
    expect(count(fault.sent, 'CreateMultipartUploadCommand')).toBe(1);
    expect(count(fault.sent, 'UploadPartCopyCommand')).toBeGreaterThan(0);
    expect(count(fault.sent, 'AbortMultipartUploadCommand')).toBe(1);
    expect(count(fault.sent, 'CompleteMultipartUploadCommand')).toBe(0);
    expect(count(fault.sent, 'CopyObjectCommand')).toBe(1);
    expect((await s3.getBody(target, 'big.bin')).equals(body)).toBe(true);
    expect(await s3.openUploads(target)).toBe(0);
    expect(result.openUploads?.open ?? 0).toBe(0);
  });

  it('fails with AccessDenied without a CopyObject when the rules are AWS', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(source, [
      { key: 'big.bin', body: randomBytes(BIG) },
      { key: 'small.txt', body: 'small' },
    ]);
    const fault = denyOnTarget('big.bin');

    // Act
    const result = await run(source, target, fault);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.objects).toMatchObject({ selected: 2, copied: 1, skipped: 0, failed: 1, notAttempted: 0 });
    expect(result.objects.failedByCode).toEqual({ AccessDenied: 1 });
    expect(result.bytes.copied).toBe(Buffer.byteLength('small'));
    expectIdentity(result);
    expect(result.failures).toEqual([expect.objectContaining({ key: 'big.bin', code: 'AccessDenied' })]);
    expect(count(fault.sent, 'CopyObjectCommand')).toBe(0);
    expect(count(fault.sent, 'AbortMultipartUploadCommand')).toBeGreaterThan(0);
    expect(await s3.listKeys(target)).toEqual(['small.txt']);
    expect(await s3.openUploads(target)).toBe(0);
  });

  it('fails with AccessDenied after one CopyObject per try when CopyObject is denied too', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(source, [{ key: 'big.bin', body: randomBytes(BIG) }]);
    useNameRules('s3-compatible');
    const fault = denyOnTarget('big.bin', ['UploadPartCopyCommand', 'CopyObjectCommand']);

    // Act
    const result = await run(source, target, fault);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.objects).toMatchObject({ selected: 1, copied: 0, skipped: 0, failed: 1, notAttempted: 0 });
    expect(result.bytes.copied).toBe(0);
    expectIdentity(result);
    expect(result.failures).toEqual([expect.objectContaining({ key: 'big.bin', code: 'AccessDenied' })]);
    // The batch is retried by the ASL; each try makes one multipart attempt and one CopyObject, no more.
    const tries = count(fault.sent, 'CreateMultipartUploadCommand');
    expect(tries).toBeGreaterThan(0);
    expect(count(fault.sent, 'CopyObjectCommand')).toBe(tries);
    expect(count(fault.sent, 'AbortMultipartUploadCommand')).toBe(tries);
    expect(await s3.listKeys(target)).toEqual([]);
    expect(await s3.openUploads(target)).toBe(0);
  });

  it('is not copied with CopyObject when the denial came from CreateMultipartUpload, not a part copy', async () => {
    // Prepare
    const { source, target } = await buckets();
    await s3.putMany(source, [{ key: 'big.bin', body: randomBytes(BIG) }]);
    useNameRules('s3-compatible');
    const fault = denyOnTarget('big.bin', ['CreateMultipartUploadCommand']);

    // Act
    const result = await run(source, target, fault);

    // Assess: a denied write is not RGW's part-copy defect; CopyObject would be denied the same way.
    expect(result.status).toBe('FAILED');
    expect(result.objects).toMatchObject({ selected: 1, copied: 0, failed: 1, notAttempted: 0 });
    expect(result.failures).toEqual([expect.objectContaining({ key: 'big.bin', code: 'AccessDenied' })]);
    expect(count(fault.sent, 'UploadPartCopyCommand')).toBe(0);
    expect(count(fault.sent, 'CopyObjectCommand')).toBe(0);
    expect(await s3.openUploads(target)).toBe(0);
  });
});
