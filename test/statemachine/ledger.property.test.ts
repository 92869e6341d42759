/**
 * The ledger identity as a property: over random jobs (object counts, batch sizes, tolerated failure
 * percentages, Map concurrency, sync with part of the target already there) with random per-object
 * failures injected at the target S3 client (permanent or transient), the real ASL run by the local
 * runner with the real handlers on the embedded S3 server always reports
 * selected = copied + skipped + failed + notAttempted, and what it reports copied is exactly what the
 * target holds, byte for byte, read back independently.
 */
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { runLocal } from '../../cli/runner/runner';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'ledger-prop-state';
let s3: TestS3;
let runs = 0;

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(STATE);
});

afterAll(async () => {
  await s3?.stop();
});

const bodyOf = (key: string) => `bytes of ${key} `.repeat(1 + (key.length % 3));

/** Fails CopyObject of the `permanent` keys always and of the `transient` keys once each. */
function faults(permanent: Set<string>, transient: Set<string>) {
  const failedOnce = new Set<string>();
  return (client: S3Client, role: 'source' | 'target' | 'state') => {
    if (role !== 'target') return;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        if (context.commandName === 'CopyObjectCommand') {
          const once = transient.has(key) && !failedOnce.has(key);
          if (permanent.has(key) || once) {
            failedOnce.add(key);
            throw Object.assign(new Error('Access Denied'), {
              name: 'AccessDenied',
              $metadata: { httpStatusCode: 403 },
            });
          }
        }
        return next(args);
      },
      { step: 'initialize', name: 'propertyFaults' },
    );
  };
}

const scenario = fc
  .record({
    count: fc.integer({ min: 1, max: 6 }),
    perBatch: fc.integer({ min: 1, max: 4 }),
    tolerated: fc.constantFrom(0, 25, 50, 100),
    concurrency: fc.integer({ min: 1, max: 3 }),
    sync: fc.boolean(),
    // Per object: 0 fine, 1 fails always, 2 fails once, 3 already in the target (sync skips it).
    fates: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 6 }),
  })
  .map((s) => ({ ...s, fates: s.fates.slice(0, s.count) }));

describe('the ledger, over random batches with random failures', () => {
  it('always adds up, and "copied" is exactly what the target holds', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ count, perBatch, tolerated, concurrency, sync, fates }) => {
        // Prepare
        runs++;
        const source = `prop-src-${runs}`;
        const target = `prop-dst-${runs}`;
        await s3.createBucket(source);
        await s3.createBucket(target);
        const keys = Array.from({ length: count }, (_, i) => `k/${String(i).padStart(2, '0')}`);
        await s3.putMany(
          source,
          keys.map((key) => ({ key, body: bodyOf(key) })),
        );
        const present = sync ? keys.filter((_, i) => fates[i] === 3) : [];
        await s3.putMany(
          target,
          present.map((key) => ({ key, body: bodyOf(key) })),
        );
        const permanent = new Set(keys.filter((_, i) => fates[i] === 1));
        const transient = new Set(keys.filter((_, i) => fates[i] === 2));

        // Act
        const result = await runLocal({
          input: {
            source: { bucket: source },
            target: { bucket: target },
            options: {
              mode: sync ? 'sync' : 'copy',
              maxObjectsPerBatch: perBatch,
              toleratedFailurePercentage: tolerated,
            },
          },
          endpoint: s3.server.endpoint,
          stateBucket: STATE,
          mapMaxConcurrency: concurrency,
          retryIntervalMs: 0,
          configureS3: faults(permanent, transient),
          logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
        });

        // Assess: the identity, in the runner's result and in what Notify sent.
        const o = result.objects;
        expect(o.selected).toBe(count);
        expect(o.copied + o.skipped + o.failed + o.notAttempted).toBe(o.selected);
        expect(result.notification?.objects).toMatchObject({
          copied: o.copied,
          skipped: o.skipped,
          failed: o.failed,
          notAttempted: o.notAttempted,
        });
        expect(o.skipped).toBe(present.length);
        // Read back independently: the target holds exactly what was there plus what was copied, byte for byte.
        const held = await s3.listKeys(target);
        for (const key of held) expect((await s3.getBody(target, key)).toString()).toBe(bodyOf(key));
        const copiedKeys = held.filter((key) => !present.includes(key));
        expect(copiedKeys).toHaveLength(o.copied);
        expect(result.bytes.copied).toBe(copiedKeys.reduce((sum, key) => sum + Buffer.byteLength(bodyOf(key)), 0));
        // Failed keys are named, with their code, and none of them is in the target.
        expect(result.failures).toHaveLength(o.failed);
        for (const failure of result.failures) {
          expect(permanent.has(failure.key)).toBe(true);
          expect(failure.code).toBe('AccessDenied');
          expect(held).not.toContain(failure.key);
        }
        // An object whose copy fails only once is copied by the batch's retry, unless its batch never ran.
        for (const key of transient) {
          if (!held.includes(key)) expect(o.notAttempted + o.failed).toBeGreaterThan(0);
        }
        expect(result.status === 'SUCCEEDED').toBe(
          o.failed === 0 ||
            result.batches.failed * 100 <=
              tolerated * (result.batches.succeeded + result.batches.failed + result.batches.pending),
        );
      }),
      {
        numRuns: 6,
        // Found by this test: a sync batch retried after one object failed; its retry finds the object
        // the first attempt copied "unchanged", and only the last attempt reaches the ResultWriter.
        examples: [[{ count: 2, perBatch: 2, tolerated: 0, concurrency: 1, sync: true, fates: [0, 1] }]],
      },
    );
  });
});
