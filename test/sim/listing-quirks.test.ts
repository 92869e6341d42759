/**
 * The List step against servers whose delimited listings contradict AWS (sim/s3-model.ts ListingQuirks:
 * moto's StartAfter that drops its own common prefix, the unpatched s3rver's one-level delimiter walk,
 * its common prefixes outside MaxKeys and its tokens that name the last key). Partitioning is an
 * optimisation: whatever a delimited page says, every source key is listed exactly once, and a mirror
 * never marks for deletion a target key whose source exists.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import type { Continuation, ListOutput } from '../../functions/list/contract';
import { compareKeys } from '../../functions/list/key-order';
import { listSlice } from '../../functions/list/list-slice';
import { deletesKey } from '../../functions/list/mirror-deletes';
import { ListingOrderError, listPagesChecked, listPagesOrdered } from '../../functions/list/ordered-listing';
import { type ListedPage, listPages } from '../../functions/list/s3-listing';
import { type Batch, resolveJob } from '../../functions/shared/job';
import { type ListingQuirks, S3Model } from '../../sim/s3-model';

/** Each server's quirks as seen (docs/compatibility.md), each one alone, and all at once. */
const QUIRKS: Record<string, ListingQuirks> = {
  aws: {},
  moto: { startAfterOmitsOwnPrefix: true },
  's3rver (unpatched)': { shallowCommonPrefixes: true, prefixesOutsideMaxKeys: true, tokenNamesLastKey: true },
  'shallow prefixes only': { shallowCommonPrefixes: true },
  'prefixes outside MaxKeys only': { prefixesOutsideMaxKeys: true },
  'tokens naming the last key only': { tokenNamesLastKey: true },
  all: {
    startAfterOmitsOwnPrefix: true,
    shallowCommonPrefixes: true,
    prefixesOutsideMaxKeys: true,
    tokenNamesLastKey: true,
  },
};

function modelWith(quirks: ListingQuirks, keys: readonly string[], pageSize?: number): S3Model {
  const model = new S3Model({ listingQuirks: quirks, ...(pageSize ? { maxKeysPerPage: pageSize } : {}) });
  for (const bucket of ['src', 'dst', 'state']) model.createBucket(bucket);
  model.seed(
    'src',
    keys.map((key) => ({ key, size: 10, origin: key.replace(/^data\//, '') })),
  );
  return model;
}

async function keysOf(pages: AsyncIterable<ListedPage>): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of pages) keys.push(...page.objects.map((object) => object.key));
  return keys;
}

async function recorded<T>(s3: S3Client, key: string | undefined, empty: T): Promise<T> {
  if (key === undefined) return empty;
  const response = await s3.send(new GetObjectCommand({ Bucket: 'state', Key: key }));
  return JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString()) as T;
}

/** Every slice of a sync job from src/data/ to dst/copy/ until the continuation ends. */
async function runSlices(
  model: S3Model,
  options: { delete: boolean; sliceMaxObjects: number; listConcurrency: number },
): Promise<{ planned: string[]; deletes: string[]; listed: number }> {
  const s3 = model.client();
  const job = resolveJob({
    source: { bucket: 'src', prefix: 'data/' },
    target: { bucket: 'dst', prefix: 'copy/' },
    options: { mode: 'sync', ...options },
  });
  const planned: string[] = [];
  const deletes: string[] = [];
  let continuation: Continuation | null = null;
  let output: ListOutput;
  let slices = 0;
  let toDelete = 0;
  do {
    output = await listSlice({
      job,
      jobId: 'job-1',
      continuation,
      clients: { source: s3, target: async () => s3, state: s3 },
      stateBucket: 'state',
    });
    const batches = await recorded<Batch[]>(s3, output.manifest?.key, []);
    planned.push(...batches.flatMap((batch) => batch.objects.map((object) => object.key)));
    if ((output.totals.toDelete ?? 0) > toDelete) {
      deletes.push(...(await recorded<string[]>(s3, deletesKey('job-1', output.slice.number), [])));
    }
    toDelete = output.totals.toDelete ?? 0;
    continuation = output.continuation;
    if (++slices > 2000) throw new Error('runaway slicing');
  } while (continuation);
  return { planned, deletes, listed: output.totals.listed };
}

describe('listing on servers that contradict themselves (S3 model quirks)', () => {
  it('lists all 1,500 keys of one folder after a full first page where StartAfter drops its own prefix (moto)', async () => {
    // Prepare
    const keys = Array.from({ length: 1500 }, (_, i) => `data/2024/k${String(i).padStart(4, '0')}`);
    const model = modelWith(QUIRKS.moto as ListingQuirks, keys);

    // Act
    const listed = await keysOf(
      listPagesOrdered(model.client(), { bucket: 'src', prefix: 'data/', role: 'source' }, { concurrency: 32 }),
    );

    // Assess
    expect(listed).toEqual(keys);
  });

  it('resumes every slice inside a folder where StartAfter drops its own prefix (moto)', async () => {
    // Prepare: 5 objects in one folder, 2 a slice
    const keys = Array.from({ length: 5 }, (_, i) => `data/f/k${i}`);
    const model = modelWith(QUIRKS.moto as ListingQuirks, keys);

    // Act
    const result = await runSlices(model, { delete: false, sliceMaxObjects: 2, listConcurrency: 32 });

    // Assess
    expect(result.planned).toEqual(keys);
  });

  it('lists a key deep below a folder that a delimited listing does not see (unpatched s3rver)', async () => {
    // Prepare: a full first page, then a delimited listing of data/ that shows no data/deep/
    const keys = [
      ...Array.from({ length: 1512 }, (_, i) => `data/2024/k${String(i).padStart(4, '0')}`),
      'data/deep/a/b/c/d/e/f.txt',
    ];
    const model = modelWith(QUIRKS['s3rver (unpatched)'] as ListingQuirks, keys);

    // Act
    const listed = await keysOf(
      listPagesOrdered(model.client(), { bucket: 'src', prefix: 'data/', role: 'source' }, { concurrency: 32 }),
    );

    // Assess
    expect(listed).toEqual(keys);
  });

  it.each(Object.keys(QUIRKS))('lists every key exactly once, as one flat chain does, on %s', async (name) => {
    const quirks = QUIRKS[name] as ListingQuirks;
    const segment = fc.constantFrom('a', 'b', 'k0', 'k1', 'z', 'é', '\u{1F600}');
    const keyTree = fc.uniqueArray(
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `data/${parts.join('/')}`),
      { maxLength: 60 },
    );
    await fc.assert(
      fc.asyncProperty(
        keyTree,
        fc.option(fc.array(segment, { minLength: 1, maxLength: 4 }), { nil: undefined }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 0, max: 4 }),
        async (keys, resume, pageSize, concurrency, maxDepth) => {
          // Prepare
          const model = modelWith(quirks, keys, pageSize);
          const s3 = model.client();
          const range = {
            bucket: 'src',
            prefix: 'data/',
            role: 'source' as const,
            ...(resume ? { startAfter: `data/${resume.join('/')}` } : {}),
          };

          // Act
          const flat = await keysOf(listPages(s3, range));
          const ordered = await keysOf(listPagesOrdered(s3, range, { concurrency, maxDepth, groupAbove: 1 }));

          // Assess: the flat chain is what the bucket holds after the resume key
          const expected = [...keys]
            .sort(compareKeys)
            .filter((key) => range.startAfter === undefined || compareKeys(key, range.startAfter) > 0);
          expect(flat).toEqual(expected);
          expect(ordered).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it.each(Object.keys(QUIRKS))(
    'sync --delete plans every stale key once and never marks a key whose source exists, on %s',
    async (name) => {
      const quirks = QUIRKS[name] as ListingQuirks;
      const segment = fc.constantFrom('a', 'b', 'k0', 'k1', 'z');
      const relative = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('/'));
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(relative, { maxLength: 50 }),
          fc.uniqueArray(relative, { maxLength: 20 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 2, max: 8 }),
          async (sources, targetOnly, sliceMaxObjects, pageSize, listConcurrency) => {
            // Prepare: a third of the sources are current in the target, a third stale, a third missing
            const model = modelWith(
              quirks,
              sources.map((key) => `data/${key}`),
              pageSize,
            );
            const sourceSet = new Set(sources);
            model.seed('dst', [
              ...sources.flatMap((key, i) =>
                i % 3 === 2 ? [] : [{ key: `copy/${key}`, size: 10, origin: i % 3 === 0 ? key : `stale ${key}` }],
              ),
              ...targetOnly.filter((key) => !sourceSet.has(key)).map((key) => ({ key: `copy/${key}`, size: 1 })),
            ]);

            // Act
            const result = await runSlices(model, { delete: true, sliceMaxObjects, listConcurrency });

            // Assess
            const expectedPlan = sources
              .filter((_, i) => i % 3 !== 0)
              .map((key) => `data/${key}`)
              .sort(compareKeys);
            expect(result.planned).toEqual(expectedPlan);
            expect(result.listed).toBe(sources.length);
            for (const key of result.deletes) expect(sourceSet.has(key.slice('copy/'.length))).toBe(false);
            expect(result.deletes.sort(compareKeys)).toEqual(
              targetOnly
                .filter((key) => !sourceSet.has(key))
                .map((key) => `copy/${key}`)
                .sort(compareKeys),
            );
          },
        ),
        { numRuns: 40 },
      );
    },
  );

  it.each([1, 8])(
    'fails, naming bucket and key, when a server lists keys out of order (list concurrency %i)',
    async (concurrency) => {
      // Prepare: a server whose pages come in reverse order
      const keys = Array.from({ length: 30 }, (_, i) => `data/k${String(i).padStart(2, '0')}`);
      const model = modelWith(QUIRKS.aws as ListingQuirks, keys, 10);
      const s3 = model.client();
      s3.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          const output = result.output as { Contents?: unknown[] };
          output.Contents?.reverse();
          return result;
        },
        { step: 'initialize', priority: 'high', name: 'reversePages' },
      );
      const range = { bucket: 'src', prefix: 'data/', role: 'source' as const };

      // Act
      const listing = keysOf(listPagesOrdered(s3, range, { concurrency }));

      // Assess
      await expect(listing).rejects.toThrow(ListingOrderError);
      await expect(keysOf(listPagesOrdered(s3, range, { concurrency }))).rejects.toThrow(
        /bucket src, prefix "data\/": it returned the key "data\/k0\d" after "data\/k\d\d"/,
      );
      await expect(keysOf(listPagesChecked(s3, range))).rejects.toThrow(ListingOrderError);
    },
  );
});
