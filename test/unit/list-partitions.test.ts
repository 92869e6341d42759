import { CopyObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { compareKeys } from '../../functions/list/key-order';
import { discoverPartitions, listPartitions } from '../../functions/list/partitions';
import { DEFAULT_OPTIONS, type ManifestObject, parseJob } from '../../functions/shared/job';
import { S3Model } from '../../sim/s3-model';

const keyChar = fc.constantFrom('a', 'b', '/', '-', 'é', '\u{1F600}', ' ', '+', '%');
const keySets = fc.uniqueArray(fc.string({ unit: keyChar, minLength: 1, maxLength: 7 }), { maxLength: 120 });

function bucketWith(keys: readonly string[], pageSize?: number) {
  const model = new S3Model(pageSize === undefined ? {} : { maxKeysPerPage: pageSize });
  model.createBucket('src');
  model.createBucket('dst');
  model.seed(
    'src',
    keys.map((key) => ({ key, size: key.length })),
  );
  return { model, s3: model.client() };
}

describe('partitioned listing', () => {
  it('lists every key under the prefix exactly once, whatever the keys, depth and parallelism', async () => {
    await fc.assert(
      fc.asyncProperty(
        keySets,
        fc.constantFrom('', 'a', 'a/', 'b/'),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 8 }),
        // Small pages: a level's common prefixes span several pages of a delimiter listing.
        fc.constantFrom(1, 2, 3, 1000),
        async (keys, prefix, target, maxDepth, concurrency, pageSize) => {
          const { s3 } = bucketWith(keys, pageSize);
          const plan = await discoverPartitions(s3, 'src', prefix, { target, maxDepth });
          const listed: string[] = [];
          await listPartitions(s3, plan, {
            bucket: 'src',
            concurrency,
            onObjects: (_partition, objects) => listed.push(...objects.map((o) => o.key)),
          });
          const expected = keys.filter((key) => key.startsWith(prefix)).sort(compareKeys);
          expect([...listed].sort(compareKeys)).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('lists every key exactly once on levels of many small prefixes, whatever the pages', async () => {
    // Many common prefixes of a few keys (one partition each), direct keys among them, a level below some
    const many = fc
      .uniqueArray(fc.string({ unit: fc.constantFrom('a', 'b', '0', 'é', '\u{10FFFF}'), minLength: 1, maxLength: 3 }), {
        minLength: 20,
        maxLength: 80,
      })
      .chain((names) =>
        fc.tuple(
          fc.constant(names),
          fc.array(fc.subarray(['x', 'y/z', '\u{10FFFF}']), { minLength: names.length, maxLength: names.length }),
          fc.subarray(names),
        ),
      )
      .map(([names, suffixes, direct]) => [
        ...new Set([...names.flatMap((name, i) => (suffixes[i] ?? []).map((s) => `${name}/${s}`)), ...direct]),
      ]);
    await fc.assert(
      fc.asyncProperty(
        many,
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(1, 3, 7, 1000),
        async (keys, maxDepth, concurrency, pageSize) => {
          // Prepare
          const { s3 } = bucketWith(keys, pageSize);

          // Act
          const plan = await discoverPartitions(s3, 'src', '', { target: 10_000, maxDepth });
          const listed: string[] = [...plan.direct.map((o) => o.key)];
          await listPartitions(
            s3,
            { ...plan, direct: [] },
            {
              bucket: 'src',
              concurrency,
              onObjects: (_partition, objects) => listed.push(...objects.map((o) => o.key)),
            },
          );

          // Assess
          expect(listed).toHaveLength(keys.length);
          expect([...listed].sort(compareKeys)).toEqual([...keys].sort(compareKeys));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('splits one level further down while there are fewer partitions than the target', async () => {
    const keys = ['logs/2026/01/a', 'logs/2026/02/b', 'logs/2025/12/c', 'logs/top', 'readme'];
    const { s3 } = bucketWith(keys);
    const twoLevels = await discoverPartitions(s3, 'src', '', { target: 3, maxDepth: 2 });
    expect(twoLevels.partitions).toEqual(['logs/2025/', 'logs/2026/']);
    expect(twoLevels.direct.map((o) => o.key)).toEqual(['logs/top', 'readme']);
    expect(twoLevels.requests).toBe(2);
    const threeLevels = await discoverPartitions(s3, 'src', '', { target: 3, maxDepth: 3 });
    expect(threeLevels.partitions).toEqual(['logs/2025/12/', 'logs/2026/01/', 'logs/2026/02/']);
  });

  it('stops every partition when asked and says where each stopped, so a resume lists the rest exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(keySets, fc.integer({ min: 0, max: 6 }), async (keys, pagesBeforeStop) => {
        const { s3 } = bucketWith(keys);
        const plan = await discoverPartitions(s3, 'src', '', { target: 20, maxDepth: 2 });
        const listed: ManifestObject[] = [];
        let pages = 0;
        const result = await listPartitions(s3, plan, {
          bucket: 'src',
          concurrency: 3,
          shouldStop: () => pages >= pagesBeforeStop,
          onObjects: (_partition, objects) => {
            pages++;
            listed.push(...objects);
          },
        });
        const rest = keys.filter((key) =>
          result.unfinished.some(
            (u) => key.startsWith(u.partition) && (u.after === undefined || compareKeys(key, u.after) > 0),
          ),
        );
        expect([...listed.map((o) => o.key), ...rest].sort(compareKeys)).toEqual([...keys].sort(compareKeys));
      }),
      { numRuns: 100 },
    );
  });

  it('merges each partition with its target in sync mode: only what the target lacks is passed on', async () => {
    // Prepare: 300 keys over 3 prefixes and 2 direct keys; the target holds copies of every third key,
    // and one key whose content differs.
    const keys = [
      ...Array.from({ length: 300 }, (_, i) => `p${i % 3}/k${String(i).padStart(3, '0')}`),
      'direct-1',
      'direct-2',
    ];
    const { model, s3 } = bucketWith(keys);
    const current = keys.filter((_, i) => i % 3 === 0);
    for (const key of current) {
      await s3.send(new CopyObjectCommand({ Bucket: 'dst', Key: `mirror/${key}`, CopySource: `src/${key}` }));
    }
    model.seed('dst', [{ key: 'mirror/p1/k001', size: 999 }]);
    const job = parseJob({
      source: { bucket: 'src', prefix: '' },
      target: { bucket: 'dst', prefix: 'mirror/' },
      filter: { include: [], exclude: [] },
      options: { ...DEFAULT_OPTIONS, mode: 'sync' },
    });

    // Act
    const plan = await discoverPartitions(s3, 'src', '', { target: 3, maxDepth: 1 });
    const selected: string[] = [];
    const result = await listPartitions(s3, plan, {
      bucket: 'src',
      concurrency: 3,
      sync: { s3, job },
      onObjects: (_partition, objects) => selected.push(...objects.map((o) => o.key)),
    });

    // Assess
    expect(result.listed).toBe(keys.length);
    expect(result.skipped).toBe(current.length);
    expect(selected.sort(compareKeys)).toEqual(keys.filter((k) => !current.includes(k)).sort(compareKeys));
    expect(selected).toContain('p1/k001');
  });
});
