/**
 * Listing completeness on each server of the matrix: more than 1,000 keys in one folder, a key deep below
 * a folder with no key of its own, slices that end inside a folder, and `sync --delete` over all of it.
 * Each run goes through a counting proxy (test/support/fault-proxy.ts, no faults) so the LIST requests
 * it cost are measured, and every key is checked in the target by reading it back.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { type CliRun, type CliSummary, cli } from './cli';
import type { CompatServer } from './connect';
import { listKeys } from './oracle';

/** 1,500 keys in one folder, one key six folders deep, and a folder of five (source prefix `list/`). */
export const LISTING_KEYS = [
  ...Array.from({ length: 1500 }, (_, i) => `list/2024/k${String(i).padStart(4, '0')}`),
  'list/deep/a/b/c/d/e/f.txt',
  ...Array.from({ length: 5 }, (_, i) => `list/small/k${i}`),
];

/**
 * 1,100 keys in the only folder of `one/`, and 5 in the only folder of `small/`: moto's delimited page
 * after a StartAfter inside a folder is empty when no other folder follows (under `list/`, `list/deep/`
 * and `list/small/` follow `list/2024/`, and the page is not empty).
 */
export const ONE_FOLDER_KEYS = Array.from({ length: 1100 }, (_, i) => `one/2024/k${String(i).padStart(4, '0')}`);
export const SMALL_FOLDER_KEYS = Array.from({ length: 5 }, (_, i) => `small/f/k${i}`);

/** What one scenario measured: keys the CLI listed, keys present in the source, LIST requests. */
interface Measured {
  listed: number;
  present: number;
  lists: number;
  deletes?: CliSummary['deletes'];
}

function report(server: string, scenario: string, measured: Measured): void {
  // One line per scenario, the figures docs/compatibility.md quotes.
  console.log(
    `[compat listing] ${server} | ${scenario} | listed ${measured.listed} of ${measured.present} | LIST requests ${measured.lists}` +
      (measured.deletes
        ? ` | deletes: ${measured.deletes.toDelete} to delete, ${measured.deletes.proven} proven, ${measured.deletes.refused} refused, ${measured.deletes.deleted} deleted, ${measured.deletes.failed} failed`
        : ''),
  );
}

/** Source keys whose target copy is missing or holds other bytes (each body is its source key). */
async function missingInTarget(s3: S3Client, bucket: string, keys: string[], from: string, to: string) {
  const limit = pLimit(16);
  const missing = await Promise.all(
    keys.map((key) =>
      limit(async () => {
        const targetKey = to + key.slice(from.length);
        try {
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: targetKey }));
          return (await object.Body?.transformToString()) === key ? [] : [`${targetKey} (other bytes)`];
        } catch {
          return [targetKey];
        }
      }),
    ),
  );
  return missing.flat();
}

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) {
    throw new Error(`s3xcopy exited ${run.code}, expected ${code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
}

/** Defines the listing scenarios against `connectTo()`'s server (called from each server's suite). */
export function defineListingSuite(name: string, connectTo: () => Promise<CompatServer>): void {
  describe(`listing completeness against ${name}`, () => {
    let server: CompatServer;
    let proxy: FaultProxy;
    const run = randomBytes(3).toString('hex');
    const src = `list-src-${run}`;
    const dst = `list-dst-${run}`;
    /** Runs the CLI through the counting proxy; returns the run and the LIST requests it made. */
    const runCli = async (args: string[]) => {
      const before = proxy.counts().lists;
      const result = await cli([...args, '--endpoint', proxy.url, '--json'], server.cliEnv, 280_000);
      return { result, lists: proxy.counts().lists - before };
    };

    beforeAll(async () => {
      server = await connectTo();
      proxy = await startFaultProxy({ upstream: server.endpoint });
      await server.s3.send(new CreateBucketCommand({ Bucket: src }));
      await server.s3.send(new CreateBucketCommand({ Bucket: dst }));
      const limit = pLimit(16);
      await Promise.all(
        [...LISTING_KEYS, ...ONE_FOLDER_KEYS, ...SMALL_FOLDER_KEYS].map((key) =>
          limit(() => server.s3.send(new PutObjectCommand({ Bucket: src, Key: key, Body: key }))),
        ),
      );
    }, 280_000);

    afterAll(async () => {
      await proxy?.close();
      await server?.stop();
    });

    it('copies every key: 1,500 in one folder, one deep below a folder without keys; 1,100 in the only folder', async () => {
      // Act
      const { result, lists } = await runCli(['run', '--source', `s3://${src}/list/`, '--target', `s3://${dst}/all/`]);

      const one = await runCli(['run', '--source', `s3://${src}/one/`, '--target', `s3://${dst}/one/`]);

      // Assess
      report(name, 'copy, 1,100 keys in the only folder', {
        listed: one.result.json?.objects.listed ?? 0,
        present: ONE_FOLDER_KEYS.length,
        lists: one.lists,
      });
      expectExit(one.result, 0);
      expect(one.result.json?.objects).toMatchObject({
        listed: ONE_FOLDER_KEYS.length,
        copied: ONE_FOLDER_KEYS.length,
      });
      expect(await missingInTarget(server.s3, dst, ONE_FOLDER_KEYS, 'one/', 'one/')).toEqual([]);
      report(name, 'copy, one slice', {
        listed: result.json?.objects.listed ?? 0,
        present: LISTING_KEYS.length,
        lists,
      });
      expectExit(result, 0);
      expect(result.json?.objects).toMatchObject({ listed: LISTING_KEYS.length, copied: LISTING_KEYS.length });
      expect(await missingInTarget(server.s3, dst, LISTING_KEYS, 'list/', 'all/')).toEqual([]);
    });

    it('copies every key when slices end inside a folder', async () => {
      // Act: slices of 400 end inside list/2024/; slices of 2 end inside small/f/
      const all = await runCli([
        'run',
        '--source',
        `s3://${src}/list/`,
        '--target',
        `s3://${dst}/sliced/`,
        '--slice-max-objects',
        '400',
      ]);
      const small = await runCli([
        'run',
        '--source',
        `s3://${src}/small/`,
        '--target',
        `s3://${dst}/small/`,
        '--slice-max-objects',
        '2',
      ]);

      // Assess
      const smallKeys = SMALL_FOLDER_KEYS;
      report(name, 'slices of 400', {
        listed: all.result.json?.objects.listed ?? 0,
        present: LISTING_KEYS.length,
        lists: all.lists,
      });
      report(name, 'slices of 2 in a folder of 5', {
        listed: small.result.json?.objects.listed ?? 0,
        present: smallKeys.length,
        lists: small.lists,
      });
      expectExit(all.result, 0);
      expectExit(small.result, 0);
      expect(all.result.json?.objects).toMatchObject({ listed: LISTING_KEYS.length, copied: LISTING_KEYS.length });
      expect(small.result.json?.objects).toMatchObject({ listed: 5, copied: 5 });
      expect(await missingInTarget(server.s3, dst, LISTING_KEYS, 'list/', 'sliced/')).toEqual([]);
      expect(await missingInTarget(server.s3, dst, smallKeys, 'small/', 'small/')).toEqual([]);
    });

    it('sync --delete in slices keeps every key whose source exists and deletes only target-only keys', async () => {
      // Arrange: a full mirror, eleven stale copies and three keys the source does not have
      const seeded = await runCli(['run', '--source', `s3://${src}/list/`, '--target', `s3://${dst}/mirror/`]);
      expectExit(seeded.result, 0);
      const stale = LISTING_KEYS.filter((_, i) => i % 150 === 0);
      for (const key of stale) {
        await server.s3.send(new PutObjectCommand({ Bucket: dst, Key: `mirror/${key.slice(5)}`, Body: 'stale' }));
      }
      const targetOnly = ['mirror/2024/gone-0', 'mirror/deep/gone-1', 'mirror/zz/gone-2'];
      for (const key of targetOnly) await server.s3.send(new PutObjectCommand({ Bucket: dst, Key: key, Body: 'x' }));

      // Act
      const { result, lists } = await runCli([
        'run',
        '--source',
        `s3://${src}/list/`,
        '--target',
        `s3://${dst}/mirror/`,
        '--mode',
        'sync',
        '--delete',
        '--slice-max-objects',
        '400',
      ]);

      const oneSeeded = await runCli(['run', '--source', `s3://${src}/one/`, '--target', `s3://${dst}/one-mirror/`]);
      expectExit(oneSeeded.result, 0);
      await server.s3.send(new PutObjectCommand({ Bucket: dst, Key: 'one-mirror/2024/gone', Body: 'x' }));
      const one = await runCli([
        'run',
        '--source',
        `s3://${src}/one/`,
        '--target',
        `s3://${dst}/one-mirror/`,
        '--mode',
        'sync',
        '--delete',
        '--slice-max-objects',
        '400',
      ]);

      // Assess
      report(name, 'sync --delete, 1,100 keys in the only folder, slices of 400', {
        listed: one.result.json?.objects.listed ?? 0,
        present: ONE_FOLDER_KEYS.length,
        lists: one.lists,
        deletes: one.result.json?.deletes,
      });
      expectExit(one.result, 0);
      expect(await missingInTarget(server.s3, dst, ONE_FOLDER_KEYS, 'one/', 'one-mirror/')).toEqual([]);
      expect(await listKeys(server.s3, dst, 'one-mirror/')).toHaveLength(ONE_FOLDER_KEYS.length);
      report(name, 'sync --delete, slices of 400', {
        listed: result.json?.objects.listed ?? 0,
        present: LISTING_KEYS.length,
        lists,
        deletes: result.json?.deletes,
      });
      expectExit(result, 0);
      expect(result.json?.deletes).toMatchObject({ toDelete: 3, proven: 3, refused: 0, deleted: 3, failed: 0 });
      expect(one.result.json?.deletes).toMatchObject({ toDelete: 1, proven: 1, refused: 0, deleted: 1, failed: 0 });
      expect(result.json?.objects).toMatchObject({ listed: LISTING_KEYS.length, copied: stale.length });
      expect(await missingInTarget(server.s3, dst, LISTING_KEYS, 'list/', 'mirror/')).toEqual([]);
      const left = await listKeys(server.s3, dst, 'mirror/');
      expect(left.filter((key) => targetOnly.includes(key))).toEqual([]);
      expect(left).toHaveLength(LISTING_KEYS.length);
    });
  });
}
