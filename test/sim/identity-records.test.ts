/**
 * Identity records end to end: the real ASL and handlers (local runner) against the S3 model, whose
 * SSE-KMS objects get a new ETag with every write, as on S3 (the embedded server has no SSE-KMS). A copy
 * whose target ETag differs from the source's leaves a record in the state bucket; the next sync proves
 * the target current from the records' listing, never a GET or HEAD per object.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CopyObjectCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { runSummaryJson, summaryLine } from '../../cli/commands/run';
import type { LocalRunOptions } from '../../cli/runner/runner';
import { IdentityRecords } from '../../functions/copy/identity-records';
import { multipartEtagOf } from '../../functions/copy/multipart-copy';
import { copyEventBatch } from '../../functions/events/event-copy';
import {
  type IdentityFacts,
  identityPrefix,
  identityRecordEtag,
  recordProves,
} from '../../functions/shared/identity-record';
import { DEFAULT_OPTIONS, MiB, parseJob } from '../../functions/shared/job';
import { S3Model } from '../../sim/s3-model';
import { runOnModel } from '../support/local-run';

const STATE = 'ir-state';
const SOURCE = { bucket: 'ir-src', prefix: 'data/' };
const TARGET = { bucket: 'ir-dst', prefix: 'copy/' };
const OBJECTS = 30;

function setup() {
  const model = new S3Model();
  for (const bucket of [SOURCE.bucket, TARGET.bucket, STATE]) model.createBucket(bucket);
  // The usual default of a target bucket in another account: every write gets its own ETag.
  model.setDefaultEncryption(TARGET.bucket, { kmsKeyId: 'arn:aws:kms:us-east-1:222222222222:key/target' });
  model.seed(
    SOURCE.bucket,
    Array.from({ length: OBJECTS }, (_, i) => ({ key: `data/k-${String(i).padStart(3, '0')}`, size: 1000 + i })),
  );
  const run = (options: Record<string, unknown> = {}, extra: Partial<LocalRunOptions> = {}) =>
    runOnModel(model, STATE, { source: SOURCE, target: TARGET, options }, extra);
  /** Requests of each operation made while `action` ran. */
  const counted = async <T>(action: () => Promise<T>) => {
    const before = { ...model.stats.requests };
    const result = await action();
    const delta = (operation: string) => (model.stats.requests[operation] ?? 0) - (before[operation] ?? 0);
    return { result, delta };
  };
  return { model, run, counted, s3: model.client() };
}

describe('identity records (S3 model with SSE-KMS ETags)', () => {
  it('makes a no-op sync of SSE-KMS targets copy nothing, reading the records from one listing', async () => {
    // Prepare
    const { model, run, counted } = setup();
    const copied = await run();
    const source = model.object(SOURCE.bucket, 'data/k-000');
    const target = model.object(TARGET.bucket, 'copy/k-000');

    // Act
    const { result: synced, delta } = await counted(() => run({ mode: 'sync' }));

    // Assess: the target's ETag is no copy of the source's, yet nothing is copied again.
    expect(copied.objects).toMatchObject({ copied: OBJECTS, failed: 0 });
    expect(target?.etag).not.toBe(source?.etag);
    expect(model.keys(STATE).filter((key) => key.startsWith('identity/'))).toHaveLength(OBJECTS);
    expect(synced.status).toBe('SUCCEEDED');
    expect(synced.objects).toMatchObject({ selected: OBJECTS, copied: 0, skipped: OBJECTS, failed: 0 });
    expect(synced.list?.totals.provenByRecord).toBe(OBJECTS);
    // Per object: nothing. HEAD none; GET only the run's own report files; LIST a page a side, plus records.
    expect(delta('HeadObject')).toBe(0);
    expect(delta('GetObject')).toBeLessThanOrEqual(2);
    expect(delta('CopyObject')).toBe(0);
    expect(delta('ListObjectsV2')).toBeLessThanOrEqual(4);
  });

  it('copies again a target overwritten after its copy (a new ETag), and only that one', async () => {
    // Prepare
    const { run, s3 } = setup();
    await run();
    await s3.send(new PutObjectCommand({ Bucket: TARGET.bucket, Key: 'copy/k-007', Body: Buffer.alloc(1007, 1) }));

    // Act
    const synced = await run({ mode: 'sync' });

    // Assess: same size, a new ETag the record does not name.
    expect(synced.objects).toMatchObject({ copied: 1, skipped: OBJECTS - 1, failed: 0 });
    expect(synced.list?.totals.provenByRecord).toBe(OBJECTS - 1);
  });

  it('copies again a source written again with other bytes of the same size', async () => {
    // Prepare
    const { model, run } = setup();
    await run();
    model.seed(SOURCE.bucket, [{ key: 'data/k-012', size: 1012, origin: 'other bytes' }]);

    // Act
    const synced = await run({ mode: 'sync' });
    const again = await run({ mode: 'sync' });

    // Assess: copied once, and its new record makes the following sync a no-op again.
    expect(synced.objects).toMatchObject({ copied: 1, skipped: OBJECTS - 1, failed: 0 });
    expect(again.objects).toMatchObject({ copied: 0, skipped: OBJECTS, failed: 0 });
  });

  it('still compares the settings of a record-proven target whose source was written again in place', async () => {
    // Prepare: S3 dates have one-second precision, so the rewrites come a second after the copy.
    const { run, s3 } = setup();
    await run();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const rewrite = (key: string, Metadata: Record<string, string>) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: SOURCE.bucket,
          Key: key,
          CopySource: `${SOURCE.bucket}/${key}`,
          MetadataDirective: 'REPLACE',
          Metadata,
        }),
      );
    await rewrite('data/k-001', { colour: 'blue' });
    await rewrite('data/k-002', {});

    // Act
    const synced = await run({ mode: 'sync' });

    // Assess: both keep their ETag (same bytes); only the one whose metadata changed is copied.
    expect(synced.objects).toMatchObject({ copied: 1, skipped: OBJECTS - 1, failed: 0 });
  });

  it.each([
    ['answers CompleteMultipartUpload with its ETag', false],
    ['names no ETag in its CompleteMultipartUpload answer (Ceph RGW 16)', true],
  ])(
    'recognises a single-part source above the multipart threshold, copied in parts, on a server that %s',
    async (_what, dropEtag) => {
      // Prepare: no SSE-KMS here; the copy's parts alone make the ETags differ.
      const model = new S3Model();
      for (const bucket of [SOURCE.bucket, 'plain-dst', STATE]) model.createBucket(bucket);
      model.seed(SOURCE.bucket, [{ key: 'data/big.bin', size: 12 * MiB }]);
      const run = (mode: string) =>
        runOnModel(
          model,
          STATE,
          {
            source: SOURCE,
            target: { bucket: 'plain-dst', prefix: 'copy/' },
            options: { mode, multipartThreshold: 5 * MiB, partSize: 5 * MiB },
          },
          {
            configureS3: (client, role) => {
              if (!dropEtag || role !== 'target') return;
              client.middlewareStack.add(
                (next, context) => async (args) => {
                  const result = await next(args);
                  // RGW's answer parses to an empty ETag.
                  if (context.commandName === 'CompleteMultipartUploadCommand')
                    (result.output as { ETag?: string }).ETag = '';
                  return result;
                },
                { step: 'initialize', priority: 'high', name: 'testNoCompleteEtag' },
              );
            },
          },
        );

      // Act
      const copied = await run('copy');
      const synced = await run('sync');

      // Assess
      expect(copied.objects).toMatchObject({ copied: 1, failed: 0 });
      expect(model.object('plain-dst', 'copy/big.bin')?.etag).toMatch(/-3"$/);
      expect(synced.objects).toMatchObject({ copied: 0, skipped: 1, failed: 0 });
    },
  );

  it('counts the records a copy writes, and says when a run without a state bucket of its own discards them', async () => {
    // Prepare
    const { run } = setup();

    // Act: one run with the caller's state bucket, one with the private in-process store.
    const kept = await run();
    const discarded = await run({}, { stateBucket: undefined });

    // Assess
    expect(kept.identityRecords).toEqual({ written: OBJECTS, notWritten: 0, kept: true });
    expect(summaryLine(kept, 1000)).not.toMatch(/identity records/);
    expect(discarded.status).toBe('SUCCEEDED');
    expect(discarded.identityRecords).toEqual({ written: OBJECTS, notWritten: 0, kept: false });
    expect(summaryLine(discarded, 1000)).toMatch(
      /30 copies can be recognised by a later sync only through identity records, .* unless runs share a --state-bucket/,
    );
    expect(runSummaryJson(discarded, 1000).identityRecords).toEqual({ written: OBJECTS, notWritten: 0, kept: false });
  });

  it('deletes the identity record of a target key the mirror deletes', async () => {
    // Prepare
    const { run, s3 } = setup();
    await run();
    await s3.send(new DeleteObjectCommand({ Bucket: SOURCE.bucket, Key: 'data/k-003' }));

    // Act
    const synced = await run({ mode: 'sync', delete: true, maxDelete: 1 });

    // Assess
    expect(synced.deletes).toMatchObject({ deleted: 1, failed: 0 });
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: STATE, Prefix: identityPrefix({ source: SOURCE, target: TARGET }) }),
    );
    const keys = (listed.Contents ?? []).map((item) => item.Key ?? '');
    expect(keys).toHaveLength(OBJECTS - 1);
    expect(keys.some((key) => key.endsWith('/k-003'))).toBe(false);
  });

  it('keeps the identity record of a target key whose delete failed: the object it describes is still there', async () => {
    // Prepare: the target refuses DeleteObject of copy/k-004, as a refusing policy would
    const { run, s3 } = setup();
    await run();
    await s3.send(new DeleteObjectCommand({ Bucket: SOURCE.bucket, Key: 'data/k-004' }));
    const denyDelete: Partial<LocalRunOptions> = {
      configureS3: (client, role) => {
        if (role !== 'target') return;
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (
              context.commandName === 'DeleteObjectCommand' &&
              (args.input as { Key?: string }).Key === 'copy/k-004'
            ) {
              throw Object.assign(new Error('Access Denied'), {
                name: 'AccessDenied',
                $metadata: { httpStatusCode: 403 },
              });
            }
            return next(args);
          },
          { step: 'initialize', name: 'deny-delete-k-004' },
        );
      },
    };

    // Act
    const synced = await run({ mode: 'sync', delete: true, maxDelete: 1 }, denyDelete);

    // Assess: the object and its record both stay
    expect(synced.deletes).toMatchObject({ proven: 1, deleted: 0, failed: 1 });
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: STATE, Prefix: identityPrefix({ source: SOURCE, target: TARGET }) }),
    );
    expect((listed.Contents ?? []).some((item) => item.Key?.endsWith('/k-004'))).toBe(true);
  });
});

describe('identity records that cannot be kept', () => {
  const logger = new Logger({ logLevel: 'SILENT' });
  const job = parseJob({ source: SOURCE, target: TARGET, options: DEFAULT_OPTIONS });
  const facts = { size: 10, sourceEtag: '"aaa"', targetEtag: '"bbb"' };

  it('writes no more records to a state bucket whose ETags are not MD5s, and counts them', async () => {
    // Prepare: a state bucket switched to SSE-KMS (the deployment makes it SSE-S3).
    const model = new S3Model();
    model.createBucket(STATE);
    model.setDefaultEncryption(STATE, { kmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/state' });
    const records = new IdentityRecords({ s3: model.client(), bucket: STATE }, job, logger);

    // Act
    await records.record('copy/a', facts);
    await records.record('copy/b', facts);

    // Assess: the first PUT showed the problem; the second was not sent.
    expect(records.summary()).toEqual({ written: 0, notWritten: 2 });
    expect(model.stats.requests.PutObject).toBe(1);
  });

  it('writes no record whose key would pass 1,024 bytes, and counts it', async () => {
    // Prepare
    const model = new S3Model();
    model.createBucket(STATE);
    const records = new IdentityRecords({ s3: model.client(), bucket: STATE }, job, logger);

    // Act
    await records.record(`copy/${'é'.repeat(500)}`, facts);
    await records.record('copy/short', facts);
    await records.record('copy/same-etag', { ...facts, targetEtag: facts.sourceEtag });

    // Assess: only the short key has a record; equal ETags need none and count nothing.
    expect(records.summary()).toEqual({ written: 1, notWritten: 1 });
    expect(model.keys(STATE)).toEqual([`${identityPrefix(job)}short`]);
  });
});

describe('identity records on the event path (S3 model with SSE-KMS ETags)', () => {
  /** One EventBridge "Object Created" event for a source key, as an SQS message. */
  const message = (key: string, messageId: string) => ({
    messageId,
    body: JSON.stringify({
      version: '0',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: { bucket: { name: SOURCE.bucket }, object: { key } },
    }),
  });

  it('skips a repeated event with one HEAD of the record, where the ETags differ', async () => {
    // Prepare
    const { model, counted } = setup();
    const s3 = model.client();
    const job = parseJob({ source: SOURCE, target: TARGET, options: { ...DEFAULT_OPTIONS, mode: 'sync' } });
    const deps = {
      s3,
      sourceS3: s3,
      logger: new Logger({ logLevel: 'SILENT' }),
      remainingTimeMs: () => 900_000,
      identity: { s3, bucket: STATE, lookUp: true },
    };
    const first = await copyEventBatch(job, [message('data/k-004', 'm1')], deps);

    // Act
    const { result: again, delta } = await counted(() => copyEventBatch(job, [message('data/k-004', 'm2')], deps));

    // Assess
    expect(first.ledger).toMatchObject({ copied: 1, failed: 0 });
    expect(again.ledger).toMatchObject({ copied: 0, skipped: 1, skippedByReason: { unchanged: 1 } });
    expect(delta('CopyObject')).toBe(0);
    // The source, the target, and the one record.
    expect(delta('HeadObject')).toBe(3);
  });
});

describe('multipartEtagOf', () => {
  it("computes the ETag a server gives an upload from its parts' ETags, as Ceph RGW listed it", () => {
    // Assert: one 6 MiB part, as listed by Ceph RGW 16.2.15 after the copy.
    expect(multipartEtagOf(['"fde398be0d6f7a4650b9e5403fa61462"'])).toBe('"5817c6d87853fb165ca1f6481e229f39-1"');
    expect(multipartEtagOf(['"fde398be0d6f7a4650b9e5403fa61462"', 'not-an-md5'])).toBeUndefined();
    expect(multipartEtagOf([])).toBeUndefined();
  });
});

describe('a record proves exactly one pair of writes', () => {
  const etag = fc.stringMatching(/^[0-9a-f]{32}(-[1-9][0-9]{0,3})?$/);
  const facts = fc.record({ size: fc.nat({ max: 2 ** 40 }), sourceEtag: etag, targetEtag: etag });

  it('never proves a changed source, an overwritten target or another size current', () => {
    fc.assert(
      fc.property(facts, facts, (recorded: IdentityFacts, now: IdentityFacts) => {
        // Act
        const proven = recordProves(now, `"${identityRecordEtag(recorded)}"`);

        // Assess
        const same =
          recorded.size === now.size &&
          recorded.sourceEtag === now.sourceEtag &&
          recorded.targetEtag === now.targetEtag;
        expect(proven).toBe(same);
      }),
    );
  });

  it('proves the facts it was written for, however the ETags are quoted', () => {
    fc.assert(
      fc.property(facts, (recorded: IdentityFacts) => {
        const quoted = {
          ...recorded,
          sourceEtag: `"${recorded.sourceEtag}"`,
          targetEtag: `W/"${recorded.targetEtag}"`,
        };
        expect(recordProves(quoted, identityRecordEtag(recorded))).toBe(true);
      }),
    );
  });
});
