/**
 * The List step's partitioned source listing (functions/list/ordered-listing.ts) against the S3 model with
 * small pages (so a few dozen keys cross many page boundaries and reach every branch: a level listed in
 * one page, a truncated level without common prefixes, and a level whose common prefixes span pages).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import type { Continuation, ListOutput } from '../../functions/list/contract';
import { compareKeys } from '../../functions/list/key-order';
import { listSlice } from '../../functions/list/list-slice';
import { deletesKey } from '../../functions/list/mirror-deletes';
import { listPagesOrdered } from '../../functions/list/ordered-listing';
import { type ListedPage, listPages } from '../../functions/list/s3-listing';
import { type Batch, resolveJob } from '../../functions/shared/job';
import { S3Model } from '../../sim/s3-model';

const keyChar = fc.constantFrom('a', 'b', '/', '-', 'é', '\u{1F600}', '\uFFFD', ' ', '+', '%');
const keySets = fc.uniqueArray(fc.string({ unit: keyChar, minLength: 1, maxLength: 7 }), { maxLength: 90 });
const orderedOptions = fc.record({
  concurrency: fc.integer({ min: 2, max: 8 }),
  pagesAhead: fc.integer({ min: 1, max: 3 }),
  maxDepth: fc.integer({ min: 0, max: 4 }),
  // Pages of a few entries: runs of prefixes listed together above 0 to 3 prefixes on a page, or as on S3
  // (above 4 x concurrency of its 1,000 a page)
  groupAbove: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
});

function modelWith(keys: readonly string[], pageSize: number) {
  const model = new S3Model({ maxKeysPerPage: pageSize });
  for (const bucket of ['src', 'dst', 'state']) model.createBucket(bucket);
  model.seed(
    'src',
    keys.map((key) => ({ key, size: key.length })),
  );
  return { model, s3: model.client() };
}

async function collect(pages: AsyncGenerator<ListedPage>): Promise<ListedPage[]> {
  const all: ListedPage[] = [];
  for await (const page of pages) all.push(page);
  return all;
}

describe('ordered partitioned listing', () => {
  it('hands on the same keys in the same order as one chain, from any resume key', async () => {
    await fc.assert(
      fc.asyncProperty(
        keySets,
        fc.constantFrom('', 'a', 'a/', 'b/'),
        fc.option(fc.string({ unit: keyChar, maxLength: 6 }), { nil: undefined }),
        fc.integer({ min: 1, max: 6 }),
        orderedOptions,
        async (keys, prefix, startAfter, pageSize, options) => {
          // Prepare
          const { s3 } = modelWith(keys, pageSize);
          const range = { bucket: 'src', prefix, role: 'source' as const, startAfter };

          // Act
          const chain = (await collect(listPages(s3, range))).flatMap((page) => page.objects);
          const pages = await collect(listPagesOrdered(s3, range, options));

          // Assess: same objects, same order; no empty page but an empty listing's; only the last page says
          // nothing follows
          expect(pages.flatMap((page) => page.objects)).toEqual(chain);
          expect(pages.every((page) => page.objects.length > 0 || pages.length === 1)).toBe(true);
          expect(pages.map((page) => page.more)).toEqual(pages.map((_, i) => i < pages.length - 1));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands on the same keys in the same order as one chain when it splits large prefixes into key ranges', async () => {
    // Numbered keys (what ranges are cut for), U+10FFFF (what a range's rest starts after) and a
    // non-ASCII character (where no range is cut), many keys for pages of a few, so that ranges split
    // again after their own first page
    const rangeChar = fc.constantFrom('0', '1', '2', '9', 'a', '/', '\u{10FFFF}', 'é');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ unit: rangeChar, minLength: 1, maxLength: 6 }), { maxLength: 160 }),
        fc.constantFrom('', '0', '1/'),
        fc.option(fc.string({ unit: rangeChar, maxLength: 5 }), { nil: undefined }),
        fc.integer({ min: 1, max: 8 }),
        orderedOptions,
        async (keys, prefix, startAfter, pageSize, options) => {
          // Prepare
          const { s3 } = modelWith(keys, pageSize);
          const range = { bucket: 'src', prefix, role: 'source' as const, startAfter };

          // Act
          const chain = (await collect(listPages(s3, range))).flatMap((page) => page.objects.map((o) => o.key));
          const pages = await collect(listPagesOrdered(s3, range, options));

          // Assess
          expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual(chain);
          expect(pages.map((page) => page.more)).toEqual(pages.map((_, i) => i < pages.length - 1));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands on the same keys in the same order as one chain on levels of many small prefixes, from any resume key', async () => {
    // Many common prefixes of a few keys each (so runs of them are listed together), direct keys between them, keys holding U+10FFFF (what a run starts after) right
    // after a prefix, and a second level of their own
    const nameChar = fc.constantFrom('a', 'b', '0', 'é', '\u{1F600}', '\u{10FFFF}', '.');
    const suffix = fc.constantFrom('', 'x', '0/x', '\u{10FFFF}', '\u{10FFFF}x', '\u{10FFFF}/\u{10FFFF}');
    // A few prefixes hold more keys than a page (numbered keys): a run whose first page one prefix fills
    const numbered = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 30 }));
    const manyPrefixes = fc
      .uniqueArray(fc.string({ unit: nameChar, minLength: 1, maxLength: 3 }), { minLength: 10, maxLength: 80 })
      .chain((names) =>
        fc.tuple(
          fc.constant(names),
          fc.array(fc.tuple(fc.array(suffix, { maxLength: 4 }), numbered), {
            minLength: names.length,
            maxLength: names.length,
          }),
          fc.subarray(names),
        ),
      )
      .map(([names, contents, direct]) => [
        ...new Set([
          ...names.flatMap((name, i) => {
            const [suffixes, count] = contents[i] ?? [[], 0];
            return [...suffixes, ...Array.from({ length: count }, (_, n) => `n${n}`)].map((s) => `${name}/${s}`);
          }),
          ...direct,
        ]),
      ]);
    await fc.assert(
      fc.asyncProperty(
        manyPrefixes,
        fc.option(fc.string({ unit: nameChar, maxLength: 4 }), { nil: undefined }),
        fc.integer({ min: 1, max: 12 }),
        orderedOptions.map((options) => ({ ...options, groupAbove: options.groupAbove ?? 0 })),
        async (keys, startAfter, pageSize, options) => {
          // Prepare
          const { s3 } = modelWith(keys, pageSize);
          const range = { bucket: 'src', prefix: '', role: 'source' as const, startAfter };

          // Act
          const chain = (await collect(listPages(s3, range))).flatMap((page) => page.objects.map((o) => o.key));
          const pages = await collect(listPagesOrdered(s3, range, options));

          // Assess
          expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual(chain);
          expect(pages.map((page) => page.more)).toEqual(pages.map((_, i) => i < pages.length - 1));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('leaves out, in the runs a run splits into, the keys of the prefix before it that sort after its start', async () => {
    // Prepare: runs [a/ b/ c/] and [d/ e/ f/]; the second starts after c/ + U+10FFFF and its first page
    // holds only keys of c/ above that (left out), so its split starts from one of them
    const above = Array.from({ length: 7 }, (_, i) => `c/\u{10FFFF}a${i}`);
    const keys = ['a/1', 'b/1', 'c/1', 'c/\u{10FFFF}', ...above, 'd/1', 'e/1', 'f/1'];
    const { s3 } = modelWith(keys, 6);
    const range = { bucket: 'src', prefix: '', role: 'source' as const, startAfter: '0' };

    // Act
    const pages = await collect(listPagesOrdered(s3, range, { concurrency: 2, groupAbove: 0 }));

    // Assess
    expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual([...keys].sort(compareKeys));
  });

  it('lists runs of small prefixes together: far fewer requests than one per prefix', async () => {
    // Prepare: 2,000 prefixes of 10 keys (the 2,000-prefix bucket of the aws-scale bench, scaled down)
    const keys = Array.from(
      { length: 20_000 },
      (_, i) => `p${String(i % 2000).padStart(4, '0')}/obj-${Math.floor(i / 2000)}`,
    );
    const { model, s3 } = modelWith(keys, 1000);

    // Act
    const pages = await collect(
      listPagesOrdered(s3, { bucket: 'src', prefix: '', role: 'source' }, { concurrency: 8 }),
    );

    // Assess: every key once, in S3's order, with about one request per 1,000 keys listed (20) plus the
    // delimiter pages and the runs' splits, not one per prefix (2,000)
    expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual([...keys].sort(compareKeys));
    expect(model.stats.requests.ListObjectsV2).toBeLessThanOrEqual(80);
  });

  it('lists a level of many large prefixes one partition each, as without runs, once a run has shown them large', async () => {
    // Prepare: 200 prefixes of 25 keys, pages of 20 (each prefix fills a page alone)
    const keys = Array.from({ length: 5000 }, (_, i) => `p${String(i % 200).padStart(3, '0')}/k${Math.floor(i / 200)}`);
    const requestsWith = async (groupAbove: number) => {
      const { model, s3 } = modelWith(keys, 20);
      const pages = listPagesOrdered(
        s3,
        { bucket: 'src', prefix: '', role: 'source' },
        { concurrency: 8, groupAbove, pagesAhead: 1 },
      );
      // A slice that takes a few pages and stops, read-ahead in flight
      for (let i = 0; i < 4; i++) await pages.next();
      await new Promise((resolve) => setImmediate(resolve));
      await pages.return(undefined);
      return model.stats.requests.ListObjectsV2 ?? 0;
    };

    // Act
    const withoutRuns = await requestsWith(Number.POSITIVE_INFINITY);
    const withRuns = await requestsWith(2);

    // Assess: the level's first run costs a request of its own (and the rest of its first prefix one);
    // the other runs were not listed to find their prefixes large
    expect(withRuns).toBeLessThanOrEqual(withoutRuns + 2);
  });

  it('lists a prefix of many numbered keys as key ranges side by side, each key once', async () => {
    // Prepare: one prefix of 2,000 keys, pages of 100
    const keys = Array.from({ length: 2000 }, (_, i) => `p/k${String(i).padStart(4, '0')}`);
    const { model, s3 } = modelWith(keys, 100);
    const prefixes: string[] = [];
    s3.middlewareStack.add(
      (next) => async (args) => {
        prefixes.push(String((args.input as { Prefix?: string }).Prefix ?? ''));
        return next(args);
      },
      { step: 'initialize', name: 'recordPrefixes' },
    );

    // Act
    const pages = await collect(
      listPagesOrdered(s3, { bucket: 'src', prefix: 'p/', role: 'source' }, { concurrency: 8 }),
    );

    // Assess: every key once, in order; ranges of the thousands and hundreds digits were listed on their
    // own, and the requests stay near one per page (20) plus the ranges' ends
    expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual(keys);
    expect(prefixes).toContain('p/k1');
    expect(prefixes).toContain('p/k01');
    expect(model.stats.requests.ListObjectsV2).toBeLessThanOrEqual(20 + 60);
  });

  it('lists folders of numbered keys with about one request per page: no delimited page inside them, no guess at a coarser digit', async () => {
    // Prepare: the no-op sync bench's layout scaled down by ten (10 folders of 1,000 keys numbered in
    // steps of 10, pages of 100: each folder is 10 pages)
    const keys = Array.from(
      { length: 10_000 },
      (_, i) => `data/${i % 10}/object-${String(i).padStart(5, '0')}.bin`,
    ).sort(compareKeys);
    const { model, s3 } = modelWith(keys, 100);
    let delimited = 0;
    s3.middlewareStack.add(
      (next) => async (args) => {
        if ((args.input as { Delimiter?: string }).Delimiter !== undefined) delimited++;
        return next(args);
      },
      { step: 'initialize', name: 'countDelimited' },
    );

    // Act
    const pages = await collect(
      listPagesOrdered(s3, { bucket: 'src', prefix: '', role: 'source' }, { concurrency: 32 }),
    );

    // Assess: every key once, in order; two delimited pages (the level of folders and the rest of the
    // bucket after it), and per folder its 10 pages plus two ranges found empty (the rest of the first
    // digit range and what follows the last). Descending into each folder with a delimited page and
    // cutting it at two digits cost 244 requests, 12 of them delimited.
    expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual(keys);
    expect(delimited).toBe(2);
    expect(model.stats.requests.ListObjectsV2).toBeLessThanOrEqual(4 + 10 * 12);
  });

  it('resumes after any key taken so far and lists the rest exactly once, after stopping anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        keySets.filter((keys) => keys.length > 0),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 5 }),
        orderedOptions,
        async (keys, stopSeed, cutSeed, pageSize, options) => {
          // Prepare
          const { s3 } = modelWith(keys, pageSize);
          const range = { bucket: 'src', prefix: '', role: 'source' as const };
          const expected = [...keys].sort(compareKeys);

          // Act: take some pages, stop (read-ahead still in flight), resume after a key within them
          const taken: string[] = [];
          const pages = listPagesOrdered(s3, range, options);
          const stopAfter = 1 + (stopSeed % 4);
          for (let i = 0; i < stopAfter; i++) {
            const next = await pages.next();
            if (next.done) break;
            taken.push(...next.value.objects.map((object) => object.key));
          }
          await pages.return(undefined);
          const cut = cutSeed % taken.length;
          const resumed = await collect(listPagesOrdered(s3, { ...range, startAfter: taken[cut] }, options));

          // Assess
          expect([...taken.slice(0, cut + 1), ...resumed.flatMap((page) => page.objects.map((o) => o.key))]).toEqual(
            expected,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps read-ahead within twice concurrency x pagesAhead pages, the nearest partitions first', async () => {
    // Prepare: 20 partitions of 10 one-key pages each
    const keys = Array.from({ length: 200 }, (_, i) => `p${String(Math.floor(i / 10)).padStart(2, '0')}/k${i % 10}`);
    const { model, s3 } = modelWith(keys, 1);
    const listed: string[] = [];
    s3.middlewareStack.add(
      (next) => async (args) => {
        listed.push(String((args.input as { Prefix?: string }).Prefix ?? ''));
        return next(args);
      },
      { step: 'initialize', name: 'recordPrefixes' },
    );
    const pages = listPagesOrdered(
      s3,
      { bucket: 'src', prefix: '', role: 'source' },
      { concurrency: 4, pagesAhead: 2 },
    );

    // Act: take one page, let every producer fill its buffer, then stop
    await pages.next();
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 50; i++) await Promise.resolve();
    await pages.return(undefined);

    // Assess: the first page, the top level's delimiter pages (one per partition found) and each
    // partition's first delimiter page, the pages taken (2), and at most 2 x 4 x 2 pages read ahead; the
    // partition the slice reads now read further than the fourth
    const requests = model.stats.requests.ListObjectsV2 ?? 0;
    expect(requests).toBeGreaterThan(1 + 4 + 4);
    expect(requests).toBeLessThanOrEqual(1 + 4 + 4 + 2 + 2 * 4 * 2);
    const count = (prefix: string) => listed.filter((p) => p === prefix).length;
    expect(count('p00/')).toBeGreaterThan(count('p03/'));
  });

  it('lists on past a partition whose request is slow, within the read-ahead budget', async () => {
    // Prepare: 40 folders of exactly one page each; the request that confirms p01/ holds nothing more is held
    const keys = Array.from({ length: 400 }, (_, i) => `p${String(Math.floor(i / 10)).padStart(2, '0')}/k${i % 10}`);
    const { s3 } = modelWith(keys, 10);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const folders = new Set<string>();
    s3.middlewareStack.add(
      (next) => async (args) => {
        const prefix = (args.input as { Prefix?: string }).Prefix;
        if (prefix) folders.add(prefix);
        if (prefix === 'p01/') await held;
        return next(args);
      },
      { step: 'initialize', name: 'holdOneFolder' },
    );
    const pages = listPagesOrdered(
      s3,
      { bucket: 'src', prefix: '', role: 'source' },
      { concurrency: 4, pagesAhead: 4 },
    );

    // Act: the slice takes p00/ and waits for p01/ while the others finish
    const first = await pages.next();
    const waiting = pages.next();
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 50; i++) await Promise.resolve();
    const listedWhileHeld = folders.size;
    release();
    const rest = [first.value as ListedPage, (await waiting).value as ListedPage, ...(await collect(pages))];

    // Assess: finished partitions left the window, so twice as many folders as window places were listed
    // while one was held (a window that kept finished partitions would stop at p04/), but no more than the
    // budget of 4 x 4 pages allows (each folder buffers its page and the empty page that confirms its
    // end); every key once, in order
    expect(listedWhileHeld).toBeGreaterThanOrEqual(2 * 4);
    expect(listedWhileHeld).toBeLessThanOrEqual(4 * 4);
    expect(rest.flatMap((page) => page.objects.map((o) => o.key))).toEqual(keys);
  });

  it('reads no further ahead than the keys the caller still wants', async () => {
    // Prepare: 20 partitions of 10 one-key pages each
    const keys = Array.from({ length: 200 }, (_, i) => `p${String(Math.floor(i / 10)).padStart(2, '0')}/k${i % 10}`);
    const { model, s3 } = modelWith(keys, 1);
    const pages = listPagesOrdered(
      s3,
      { bucket: 'src', prefix: '', role: 'source' },
      { concurrency: 4, pagesAhead: 8, keysWanted: () => 3 },
    );

    // Act
    await pages.next();
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 50; i++) await Promise.resolve();
    await pages.return(undefined);

    // Assess: discovery as above (1 + 4 + 4), the partition read now up to pagesAhead, and no page of
    // the other three beyond their first once three keys are buffered
    expect(model.stats.requests.ListObjectsV2).toBeLessThanOrEqual(1 + 4 + 4 + 8 + 1);
  });

  it('pages a level whose common prefixes do not fit one page after its last prefix, never by a delimited token', async () => {
    // Prepare: 6 common prefixes at the top, pages of 2
    const keys = ['a/1', 'b/1', 'c/1', 'd/1', 'e/1', 'f/1', 'top'];
    const { s3 } = modelWith(keys, 2);
    const requests: Array<{ delimited: boolean; token: boolean; startAfter?: string }> = [];
    s3.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Delimiter?: string; ContinuationToken?: string; StartAfter?: string };
        requests.push({
          delimited: input.Delimiter !== undefined,
          token: input.ContinuationToken !== undefined,
          ...(input.StartAfter !== undefined ? { startAfter: input.StartAfter } : {}),
        });
        return next(args);
      },
      { step: 'initialize', name: 'recordRequests' },
    );

    // Act
    const pages = await collect(
      listPagesOrdered(s3, { bucket: 'src', prefix: '', role: 'source' }, { concurrency: 4 }),
    );

    // Assess: every key once, in order; the level went on after the last common prefix of its page (a
    // token would tie it to the server's idea of where a delimited page ended, which some servers get wrong)
    expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual(keys);
    const delimited = requests.filter((r) => r.delimited);
    expect(delimited.some((r) => r.token)).toBe(false);
    expect(delimited.map((r) => r.startAfter)).toContain('d/\u{10FFFF}');
  });

  it('hands on thousands of small partitions in order (the queue drops what it handed on)', async () => {
    // Prepare: 60 x 60 partitions of one key and one direct key each
    const keys = Array.from({ length: 60 }, (_, i) =>
      Array.from({ length: 60 }, (_, j) => [`d${i}/e${j}/k`, `d${i}/f${j}`]),
    ).flat(2);
    const { s3 } = modelWith(keys, 1000);
    const range = { bucket: 'src', prefix: '', role: 'source' as const };

    // Act
    const pages = await collect(listPagesOrdered(s3, range, { concurrency: 8 }));

    // Assess
    expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual([...keys].sort(compareKeys));
  });

  it('lists a folder of 2,000 direct keys with two requests, as one chain does', async () => {
    // Prepare: a flat folder that is the listing's own prefix (pages of 1,000, as on S3)
    const keys = Array.from({ length: 2000 }, (_, i) => `data/${String(i).padStart(6, '0')}.bin`);
    const { model, s3 } = modelWith(keys, 1000);

    // Act
    const pages = await collect(
      listPagesOrdered(s3, { bucket: 'src', prefix: 'data/', role: 'source' }, { concurrency: 32 }),
    );

    // Assess: its second page is asked for as a chain would, not guessed at by character ranges
    expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual(keys);
    expect(model.stats.requests.ListObjectsV2).toBe(2);
  });

  it('still cuts a flat folder of 100,000 keys into ranges listed side by side', async () => {
    // Prepare
    const keys = Array.from({ length: 100_000 }, (_, i) => `data/${String(i).padStart(6, '0')}.bin`);
    const { model, s3 } = modelWith(keys, 1000);
    const prefixes = new Set<string>();
    s3.middlewareStack.add(
      (next) => async (args) => {
        prefixes.add(String((args.input as { Prefix?: string }).Prefix));
        return next(args);
      },
      { step: 'initialize', name: 'recordPrefixes' },
    );

    // Act
    const pages = await collect(
      listPagesOrdered(s3, { bucket: 'src', prefix: 'data/', role: 'source' }, { concurrency: 32 }),
    );

    // Assess: every key once, in order; ranges by character (data/002, ...) beside the folder's own,
    // at about one request per page (100 pages) plus the ranges a cut finds empty
    expect(pages.flatMap((page) => page.objects.map((o) => o.key))).toEqual(keys);
    expect(prefixes.size).toBeGreaterThan(10);
    expect(model.stats.requests.ListObjectsV2).toBeLessThanOrEqual(125);
  });

  it('lists a prefix that fits one page with one request, as one chain does', async () => {
    // Prepare
    const keys = ['a/1', 'a/b/2', 'b/1', 'top'];
    const { model, s3 } = modelWith(keys, 1000);

    // Act
    const pages = await collect(
      listPagesOrdered(s3, { bucket: 'src', prefix: '', role: 'source' }, { concurrency: 8 }),
    );

    // Assess
    expect(pages.map((page) => page.objects.map((o) => o.key))).toEqual([keys]);
    expect(model.stats.requests.ListObjectsV2).toBe(1);
  });
});

async function recorded<T>(s3: S3Client, key: string | undefined, empty: T): Promise<T> {
  if (key === undefined) return empty;
  const response = await s3.send(new GetObjectCommand({ Bucket: 'state', Key: key }));
  return JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString()) as T;
}

/** Every slice of a job until the continuation ends: keys planned (in order), deletes, and the last totals. */
async function runSlices(
  model: S3Model,
  options: { mode: 'copy' | 'sync'; delete: boolean; sliceMaxObjects: number; listConcurrency: number },
  outOfTime: (call: number) => boolean,
) {
  const s3 = model.client();
  const job = resolveJob({
    source: { bucket: 'src', prefix: '' },
    target: { bucket: 'dst', prefix: '' },
    options,
  });
  let calls = 0;
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
      timeLeftMs: () => (outOfTime(calls++) ? 0 : Number.POSITIVE_INFINITY),
      marginMs: 1,
    });
    const batches = await recorded<Batch[]>(s3, output.manifest?.key, []);
    planned.push(...batches.flatMap((batch) => batch.objects.map((object) => object.key)));
    // A slice records its deletes only when it found some.
    if ((output.totals.toDelete ?? 0) > toDelete) {
      deletes.push(...(await recorded<string[]>(s3, deletesKey('job-1', output.slice.number), [])));
    }
    toDelete = output.totals.toDelete ?? 0;
    continuation = output.continuation;
    if (++slices > 500) throw new Error('runaway slicing');
  } while (continuation);
  return { planned, deletes, totals: output.totals };
}

describe('List step with listConcurrency (S3 model)', () => {
  it('plans every key exactly once, in the order one chain plans them, in copy and sync mode and across slices', async () => {
    await fc.assert(
      fc.asyncProperty(
        keySets,
        fc.subarray(['a/1', 'a/b/2', 'b', 'zz/only-in-target', '-', '%/x', '\u{1F600}/y']),
        fc.constantFrom('copy', 'sync'),
        fc.boolean(),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 2, max: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
        async (keys, targetKeys, mode, mirror, sliceMaxObjects, pageSize, listConcurrency, stops) => {
          // Prepare: the target holds copies of some source keys and keys of its own
          const build = () => {
            const { model } = modelWith(keys, pageSize);
            model.seed(
              'dst',
              [...keys.filter((_, i) => i % 3 === 0), ...targetKeys].map((key) => ({ key, size: key.length })),
            );
            return model;
          };
          const options = { mode, delete: mode === 'sync' && mirror, sliceMaxObjects };
          const outOfTime = (call: number) => stops[call % stops.length] === true;

          // Act
          const oneChain = await runSlices(build(), { ...options, listConcurrency: 1 }, outOfTime);
          const partitioned = await runSlices(build(), { ...options, listConcurrency }, outOfTime);

          // Assess
          expect(partitioned.planned).toEqual(oneChain.planned);
          expect(new Set(partitioned.planned).size).toBe(partitioned.planned.length);
          expect(partitioned.deletes).toEqual(oneChain.deletes);
          expect(partitioned.totals).toMatchObject({
            listed: oneChain.totals.listed,
            selected: oneChain.totals.selected,
            skipped: oneChain.totals.skipped,
          });
        },
      ),
      { numRuns: 120 },
    );
  });
});
