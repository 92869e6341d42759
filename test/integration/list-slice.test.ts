import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import type { Continuation, ListOutput } from '../../functions/list/contract';
import { type ListSliceParams, listSlice } from '../../functions/list/list-slice';
import { parseObjectCreatedEvents } from '../../functions/list/s3-events';
import { type Batch, BatchSchema, type JobInput, resolveJob } from '../../functions/shared/job';
import { startTestS3, type TestS3 } from '../support/s3';
import { seedObjects } from './list-seed';

const SRC = 'list-src';
const DST = 'list-dst';
const STATE = 'list-state';

let s3: TestS3;

const keysOf = (prefix: string, count: number, dirs = 1) =>
  Array.from(
    { length: count },
    (_, i) => `${prefix}d${String(i % dirs).padStart(2, '0')}/k${String(i).padStart(6, '0')}.txt`,
  );

const job = (input: JobInput) =>
  resolveJob({ ...input, source: { bucket: SRC, ...input.source }, target: { bucket: DST, ...input.target } });

const params = (jobInput: JobInput, extra: Partial<ListSliceParams> = {}): ListSliceParams => ({
  job: job(jobInput),
  jobId: 'exec-1',
  clients: { source: s3.s3, target: async () => s3.s3, state: s3.s3 },
  stateBucket: STATE,
  ...extra,
});

async function readManifest(output: ListOutput): Promise<Batch[]> {
  if (!output.manifest) return [];
  const response = await s3.s3.send(new GetObjectCommand({ Bucket: output.manifest.bucket, Key: output.manifest.key }));
  const batches = JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString());
  return (batches as unknown[]).map((batch) => BatchSchema.parse(batch));
}

const manifestKeys = async (output: ListOutput) =>
  (await readManifest(output)).flatMap((b) => b.objects.map((o) => o.key));

/** Runs slices until the continuation is null, as the state machine does. */
async function runAllSlices(first: ListSliceParams): Promise<ListOutput[]> {
  const outputs: ListOutput[] = [];
  let continuation: Continuation | null = null;
  do {
    const output = await listSlice({ ...first, continuation });
    outputs.push(output);
    continuation = output.continuation;
    if (outputs.length > 100) throw new Error('runaway slicing');
  } while (continuation);
  return outputs;
}

beforeAll(async () => {
  s3 = await startTestS3();
  for (const bucket of [SRC, DST, STATE, 'events-src']) await s3.createBucket(bucket);
  await seedObjects(
    s3.server.directory,
    SRC,
    keysOf('paged/', 2600).map((key) => ({ key, body: 'x' })),
  );
  await seedObjects(
    s3.server.directory,
    SRC,
    keysOf('big/', 25_000, 40).map((key) => ({ key, body: 'y' })),
  );
});
afterAll(() => s3.stop());

describe('listSlice on the embedded S3 server', () => {
  it('lists and HEADs a seeded object exactly as one PUT with the same body', async () => {
    // Arrange
    await s3.put(SRC, 'fidelity/put.txt', 'same body');
    await seedObjects(s3.server.directory, SRC, [{ key: 'fidelity/seeded.txt', body: 'same body' }]);
    // Act
    const page = await s3.s3.send(new ListObjectsV2Command({ Bucket: SRC, Prefix: 'fidelity/' }));
    const heads = await Promise.all(
      ['fidelity/put.txt', 'fidelity/seeded.txt'].map((Key) => s3.s3.send(new HeadObjectCommand({ Bucket: SRC, Key }))),
    );
    // Assert
    const [put, seeded] = page.Contents ?? [];
    expect(seeded).toMatchObject({ ETag: put?.ETag, Size: put?.Size, StorageClass: put?.StorageClass });
    expect(heads[1]).toMatchObject({ ETag: heads[0]?.ETag, ContentLength: 9, ContentType: heads[0]?.ContentType });
  });

  it('lists 2,600 keys across three server pages into one slice with every key once', async () => {
    // Act
    const output = await listSlice(params({ source: { prefix: 'paged/' }, target: { prefix: 'copy/' } }));
    // Assert
    expect(await manifestKeys(output)).toEqual(expect.arrayContaining(keysOf('paged/', 2600)));
    expect((await manifestKeys(output)).length).toBe(2600);
    expect(output).toMatchObject({
      manifest: { bucket: STATE, key: 'manifests/exec-1/part-0.json' },
      slice: { number: 0, objects: 2600, bytes: 2600, batches: 3 },
      totals: { listed: 2600, selected: 2600, skipped: 0, bytes: 2600 },
      continuation: null,
      dryRun: false,
    });
  });

  it('covers 25,000 keys in three slices of at most 10,000, every key exactly once', async () => {
    // Act
    const outputs = await runAllSlices(
      params({ source: { prefix: 'big/' }, target: { prefix: 'copy/' }, options: { sliceMaxObjects: 10_000 } }),
    );
    // Assert
    expect(outputs.map((o) => o.slice.objects)).toEqual([10_000, 10_000, 5_000]);
    expect(outputs.map((o) => o.manifest?.key)).toEqual([0, 1, 2].map((n) => `manifests/exec-1/part-${n}.json`));
    const keys = (await Promise.all(outputs.map(manifestKeys))).flat();
    expect(keys).toHaveLength(25_000);
    expect(new Set(keys)).toEqual(new Set(keysOf('big/', 25_000, 40)));
    expect(outputs.at(-1)?.totals).toEqual({
      listed: 25_000,
      selected: 25_000,
      skipped: 0,
      bytes: 25_000,
      selectedBytes: 25_000,
      skippedByReason: {},
    });
  });

  it('resumes exactly after the last key taken when a slice ends in the middle of a page', async () => {
    // Act
    const outputs = await runAllSlices(params({ source: { prefix: 'paged/' }, options: { sliceMaxObjects: 700 } }));
    // Assert
    expect(outputs.map((o) => o.slice.objects)).toEqual([700, 700, 700, 500]);
    expect(outputs.map((o) => o.continuation?.startAfter)).toEqual([
      keysOf('paged/', 2600)[699],
      keysOf('paged/', 2600)[1399],
      keysOf('paged/', 2600)[2099],
      undefined,
    ]);
    const keys = (await Promise.all(outputs.map(manifestKeys))).flat();
    expect(keys.sort()).toEqual(keysOf('paged/', 2600).sort());
  });

  it('ends the listing without an empty last slice when the cap falls on the last key', async () => {
    // Act
    const outputs = await runAllSlices(params({ source: { prefix: 'paged/' }, options: { sliceMaxObjects: 1300 } }));
    // Assert
    expect(outputs.map((o) => o.slice.objects)).toEqual([1300, 1300]);
    expect(outputs[1]?.continuation).toBeNull();
  });

  it('selects by globs relative to the prefix, size bounds and modification dates', async () => {
    // Arrange
    const at = (iso: string) => new Date(iso);
    await seedObjects(s3.server.directory, SRC, [
      { key: 'filtered/a.parquet', body: '12345', lastModified: at('2026-02-10T00:00:00Z') },
      { key: 'filtered/deep/b.parquet', body: '1234567890', lastModified: at('2026-02-10T00:00:00Z') },
      { key: 'filtered/tmp/c.parquet', body: '12345', lastModified: at('2026-02-10T00:00:00Z') },
      { key: 'filtered/d.csv', body: '12345', lastModified: at('2026-02-10T00:00:00Z') },
      { key: 'filtered/e.parquet', body: '1', lastModified: at('2026-02-10T00:00:00Z') },
      { key: 'filtered/old.parquet', body: '12345', lastModified: at('2026-01-01T00:00:00Z') },
    ]);
    // Act
    const output = await listSlice(
      params({
        source: { prefix: 'filtered/' },
        filter: {
          include: ['**/*.parquet'],
          exclude: ['tmp/**'],
          minSize: 2,
          modifiedAfter: '2026-02-01T00:00:00Z',
        },
      }),
    );
    // Assert
    expect((await manifestKeys(output)).sort()).toEqual(['filtered/a.parquet', 'filtered/deep/b.parquet']);
    expect(output.totals).toEqual({
      listed: 6,
      selected: 2,
      skipped: 0,
      bytes: 15,
      selectedBytes: 15,
      skippedByReason: {},
    });
  });

  it('writes the manifest of a dry run and says nothing is to be copied', async () => {
    // Act
    const output = await listSlice(params({ source: { prefix: 'filtered/' }, options: { dryRun: true } }));
    // Assert
    expect(output.dryRun).toBe(true);
    expect(await manifestKeys(output)).toHaveLength(6);
  });

  it('returns no manifest when nothing under the prefix is selected', async () => {
    // Act
    const output = await listSlice(params({ source: { prefix: 'nothing-here/' } }));
    // Assert
    expect(output).toMatchObject({ manifest: null, slice: { objects: 0, batches: 0 }, continuation: null });
  });

  it('fails with the bucket named when the source bucket does not exist', async () => {
    // Act
    const attempt = listSlice(params({ source: { bucket: 'no-such-bucket', prefix: 'x/' } }));
    // Assert
    await expect(attempt).rejects.toMatchObject({
      name: 'BucketAccessError',
      message: expect.stringContaining('no-such-bucket'),
    });
  });
});

describe('listSlice in sync mode', () => {
  const older = new Date('2026-03-01T00:00:00Z');
  const newer = new Date('2026-03-02T00:00:00Z');

  beforeAll(async () => {
    await seedObjects(s3.server.directory, SRC, [
      { key: 'sync/same.txt', body: 'same', lastModified: newer },
      { key: 'sync/resized.txt', body: 'source body', lastModified: older },
      { key: 'sync/target-newer.txt', body: 'aaaa', lastModified: older },
      { key: 'sync/target-older.txt', body: 'bbbb', lastModified: newer },
      { key: 'sync/missing.txt', body: 'new', lastModified: older },
      // S3 order: U+FFFD, then the target-only key, then the emoji; JavaScript puts the emoji first.
      { key: 'sync/\uFFFD.txt', body: 'repl', lastModified: older },
      { key: 'sync/\u{1F600}.txt', body: 'smile', lastModified: older },
    ]);
    await seedObjects(s3.server.directory, DST, [
      { key: 'mirror/same.txt', body: 'same', lastModified: older },
      { key: 'mirror/resized.txt', body: 'target', lastModified: newer },
      { key: 'mirror/target-newer.txt', body: 'AAAA', lastModified: newer },
      { key: 'mirror/target-older.txt', body: 'BBBB', lastModified: older },
      { key: 'mirror/only-in-target.txt', body: 'extra', lastModified: older },
      { key: 'mirror/\uFFFD.txt', body: 'repl', lastModified: older },
      { key: 'mirror/\uFFFE-only-in-target.txt', body: 'x', lastModified: older },
      { key: 'mirror/\u{1F600}.txt', body: 'smile', lastModified: older },
    ]);
  });

  it('copies only what the target lacks or holds with other content, whatever its date, comparing keys in UTF-8 order', async () => {
    // Act
    const output = await listSlice(
      params({ source: { prefix: 'sync/' }, target: { prefix: 'mirror/' }, options: { mode: 'sync' } }),
    );
    // Assert
    const objects = (await readManifest(output)).flatMap((batch) => batch.objects);
    expect(objects.map((o) => o.key).sort()).toEqual([
      'sync/missing.txt',
      'sync/resized.txt',
      // Same content, written after its copy: its settings are compared by the copy worker.
      'sync/same.txt',
      // Same size, other bytes, a newer target: a timestamp proves nothing, so it is copied.
      'sync/target-newer.txt',
      'sync/target-older.txt',
    ]);
    expect(objects.filter((o) => o.checkSettings).map((o) => o.key)).toEqual(['sync/same.txt']);
    expect(output.totals).toEqual({
      listed: 7,
      selected: 7,
      skipped: 2,
      bytes: 11 + 4 + 4 + 4 + 3,
      selectedBytes: 35,
      skippedByReason: { unchanged: 2 },
    });
  });

  it('gives the same diff over slices of one object each', async () => {
    // Act
    const outputs = await runAllSlices(
      params({
        source: { prefix: 'sync/' },
        target: { prefix: 'mirror/' },
        options: { mode: 'sync', sliceMaxObjects: 1 },
      }),
    );
    // Assert
    const keys = (await Promise.all(outputs.map(manifestKeys))).flat();
    expect(keys.sort()).toEqual([
      'sync/missing.txt',
      'sync/resized.txt',
      'sync/same.txt',
      'sync/target-newer.txt',
      'sync/target-older.txt',
    ]);
    expect(outputs.at(-1)?.totals).toEqual({
      listed: 7,
      selected: 7,
      skipped: 2,
      bytes: 26,
      selectedBytes: 35,
      skippedByReason: { unchanged: 2 },
    });
  });

  it('lists the target only through the target client', async () => {
    // Arrange
    const target = jest.fn(async () => s3.s3);
    // Act
    await listSlice(
      params(
        { source: { prefix: 'sync/' }, target: { prefix: 'mirror/' }, options: { mode: 'sync' } },
        { clients: { source: s3.s3, state: s3.s3, target } },
      ),
    );
    await listSlice(
      params(
        { source: { prefix: 'sync/' }, target: { prefix: 'mirror/' } },
        { clients: { source: s3.s3, state: s3.s3, target } },
      ),
    );
    // Assert: once for the sync job, never for the copy job
    expect(target).toHaveBeenCalledTimes(1);
  });
});

describe('listSlice in sync mode when time runs out among target-only keys', () => {
  const bKeys = (prefix: string) =>
    Array.from({ length: 2500 }, (_, i) => `${prefix}b${String(i).padStart(4, '0')}.txt`);

  beforeAll(async () => {
    await seedObjects(s3.server.directory, SRC, [
      { key: 'merge/a1.txt', body: 'same' },
      { key: 'merge/d1.txt', body: 'same' },
      { key: 'merge/d2.txt', body: 'new' },
      { key: 'merge-late/d1.txt', body: 'same' },
      { key: 'merge-late/d2.txt', body: 'new' },
    ]);
    await seedObjects(s3.server.directory, DST, [
      { key: 'merge-mirror/a1.txt', body: 'same' },
      ...bKeys('merge-mirror/').map((key) => ({ key, body: 'extra' })),
      { key: 'merge-mirror/d1.txt', body: 'same' },
      ...bKeys('late-mirror/').map((key) => ({ key, body: 'extra' })),
      { key: 'late-mirror/d1.txt', body: 'same' },
    ]);
  });

  /**
   * Runs slices until the continuation is null; in each slice the time runs out once `targetPages`
   * target ListObjectsV2 calls have started (a clock that counts pages instead of milliseconds). The
   * cursor keeps one page requested ahead, so a budget of N lets the merge pass N - 1 pages.
   */
  async function runWithTargetPageBudget(jobInput: JobInput, targetPages: number): Promise<ListOutput[]> {
    const outputs: ListOutput[] = [];
    let continuation: Continuation | null = null;
    do {
      let calls = 0;
      const target = s3.makeS3();
      target.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'ListObjectsV2Command') calls++;
          return next(args);
        },
        { step: 'initialize', name: 'countTargetPages' },
      );
      const output = await listSlice(
        params(jobInput, {
          clients: { source: s3.s3, target: async () => target, state: s3.s3 },
          continuation,
          timeLeftMs: () => (calls >= targetPages ? 0 : Number.POSITIVE_INFINITY),
        }),
      );
      outputs.push(output);
      continuation = output.continuation;
      if (outputs.length > 20) throw new Error('runaway slicing');
    } while (continuation);
    return outputs;
  }

  it('ends the slice in the middle of the merge and resumes the target after the last key passed', async () => {
    // Act
    const outputs = await runWithTargetPageBudget(
      { source: { prefix: 'merge/' }, target: { prefix: 'merge-mirror/' }, options: { mode: 'sync' } },
      3,
    );
    // Assert: slice 0 took a1 and stopped before d1, having passed two target pages
    expect(outputs[0]?.continuation).toEqual({
      startAfter: 'merge/a1.txt',
      targetStartAfter: 'merge-mirror/b1998.txt',
      slice: 1,
      totals: { listed: 1, selected: 1, skipped: 1, bytes: 0, selectedBytes: 4, skippedByReason: { unchanged: 1 } },
    });
    expect(outputs).toHaveLength(2);
    expect((await Promise.all(outputs.map(manifestKeys))).flat()).toEqual(['merge/d2.txt']);
    expect(outputs.at(-1)?.totals).toEqual({
      listed: 3,
      selected: 3,
      skipped: 2,
      bytes: 3,
      selectedBytes: 11,
      skippedByReason: { unchanged: 2 },
    });
  });

  it('makes progress through target-only keys before the first source key is taken', async () => {
    // Act
    const outputs = await runWithTargetPageBudget(
      { source: { prefix: 'merge-late/' }, target: { prefix: 'late-mirror/' }, options: { mode: 'sync' } },
      2,
    );
    // Assert: each of the first two slices passed one target page without taking a source key
    expect(outputs.map((o) => o.continuation)).toEqual([
      {
        targetStartAfter: 'late-mirror/b0999.txt',
        slice: 1,
        totals: { listed: 0, selected: 0, skipped: 0, bytes: 0, selectedBytes: 0, skippedByReason: {} },
      },
      {
        targetStartAfter: 'late-mirror/b1999.txt',
        slice: 2,
        totals: { listed: 0, selected: 0, skipped: 0, bytes: 0, selectedBytes: 0, skippedByReason: {} },
      },
      null,
    ]);
    expect((await Promise.all(outputs.map(manifestKeys))).flat()).toEqual(['merge-late/d2.txt']);
    expect(outputs.at(-1)?.totals).toEqual({
      listed: 2,
      selected: 2,
      skipped: 1,
      bytes: 3,
      selectedBytes: 7,
      skippedByReason: { unchanged: 1 },
    });
  });
});

describe('listSlice in keys mode', () => {
  const fixture = (name: string): unknown =>
    JSON.parse(readFileSync(path.join(__dirname, '../fixtures/events', name), 'utf8'));

  beforeAll(async () => {
    for (const key of [
      'incoming/red flower.jpg',
      'incoming/a+b=c:d;e,f$g@h&i.csv',
      'incoming/ü/日本語 ファイル.txt',
      'outside/not-in-prefix.txt',
      ...[0, 1, 2, 3, 4].map((n) => `incoming/pipe/00${n} report.json`),
    ]) {
      await s3.put('events-src', key, 'event body!');
    }
  });

  const keysJob = (extra: JobInput = {}) =>
    resolveJob({
      ...extra,
      source: { bucket: 'events-src', prefix: 'incoming/' },
      target: { bucket: DST, prefix: 'events/' },
    });

  it('HEADs the keys of EventBridge events, once each, skipping the deleted one and foreign ones', async () => {
    // Arrange
    const { refs } = parseObjectCreatedEvents(fixture('eventbridge-batch.json'));
    // Act
    const output = await listSlice({ ...params({}), job: keysJob(), refs });
    // Assert
    const [batch] = await readManifest(output);
    expect(batch?.objects.map((o) => o.key)).toEqual([
      'incoming/a+b=c:d;e,f$g@h&i.csv',
      'incoming/red flower.jpg',
      'incoming/ü/日本語 ファイル.txt',
    ]);
    expect(batch?.objects[0]).toMatchObject({ size: 11, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
    expect(output.totals).toEqual({
      listed: 4,
      selected: 4,
      skipped: 1,
      bytes: 33,
      selectedBytes: 33,
      skippedByReason: { vanished: 1 },
    });
  });

  it('takes the keys of SQS-wrapped events, a redelivered message once', async () => {
    // Arrange
    const { refs } = parseObjectCreatedEvents(fixture('sqs-pipe-eventbridge.json'));
    // Act
    const output = await listSlice({ ...params({}), job: keysJob(), refs });
    // Assert
    expect(await manifestKeys(output)).toEqual([0, 1, 2, 3, 4].map((n) => `incoming/pipe/00${n} report.json`));
  });

  it('resumes after the last key taken when the keys span slices', async () => {
    // Arrange
    const { refs } = parseObjectCreatedEvents(fixture('sqs-pipe-eventbridge.json'));
    // Act
    const outputs = await runAllSlices({ ...params({}), job: keysJob({ options: { sliceMaxObjects: 2 } }), refs });
    // Assert
    expect(outputs.map((o) => o.slice.objects)).toEqual([2, 2, 1]);
    expect((await Promise.all(outputs.map(manifestKeys))).flat()).toEqual(
      [0, 1, 2, 3, 4].map((n) => `incoming/pipe/00${n} report.json`),
    );
  });

  /** A client for the same server whose HeadObject answers 403 for some keys, as S3 does without s3:ListBucket. */
  const forbiddingHeadOf = (keys: string[]) => {
    const client = s3.makeS3();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (context.commandName === 'HeadObjectCommand' && keys.includes(input.Key ?? '')) {
          throw Object.assign(new Error('Forbidden'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'forbidHead' },
    );
    return client;
  };

  it('counts a deleted key as skipped when HEAD answers 403 instead of 404', async () => {
    // Arrange
    const { refs } = parseObjectCreatedEvents(fixture('eventbridge-batch.json'));
    const source = forbiddingHeadOf(['incoming/deleted-before-listing.txt']);
    // Act
    const output = await listSlice({
      ...params({}),
      job: keysJob(),
      refs,
      clients: { source, target: async () => s3.s3, state: s3.s3 },
    });
    // Assert
    expect(output.totals).toEqual({
      listed: 4,
      selected: 4,
      skipped: 1,
      bytes: 33,
      selectedBytes: 33,
      skippedByReason: { vanished: 1 },
    });
  });

  it('fails naming s3:GetObject when HEAD is refused for a key that exists', async () => {
    // Arrange
    const { refs } = parseObjectCreatedEvents(fixture('eventbridge-batch.json'));
    const source = forbiddingHeadOf(['incoming/red flower.jpg']);
    // Act
    const attempt = listSlice({
      ...params({}),
      job: keysJob(),
      refs,
      clients: { source, target: async () => s3.s3, state: s3.s3 },
    });
    // Assert
    await expect(attempt).rejects.toMatchObject({
      name: 'BucketAccessError',
      message: expect.stringMatching(/red flower\.jpg.*s3:GetObject/),
    });
  });

  describe('with EventBridge keys that may be form-encoded', () => {
    const stored = [
      'incoming/enc/space as plus.txt',
      'incoming/enc/space as pct.txt',
      'incoming/enc/real+plus.txt',
      'incoming/enc/real%41.txt',
      'incoming/enc/100%.csv',
    ];
    beforeAll(async () => {
      for (const key of stored) await s3.put('events-src', key, 'event body!');
    });

    it('copies the decoded key when it exists and the raw key when only that exists', async () => {
      // Arrange
      const { refs } = parseObjectCreatedEvents(fixture('eventbridge-encoded-keys.json'));
      // Act
      const output = await listSlice({ ...params({}), job: keysJob(), refs });
      // Assert: "never+existed.txt" exists under neither candidate and counts as skipped
      expect((await manifestKeys(output)).sort()).toEqual([...stored].sort());
      expect(output.totals).toEqual({
        listed: 6,
        selected: 6,
        skipped: 1,
        bytes: 55,
        selectedBytes: 55,
        skippedByReason: { vanished: 1 },
      });
    });

    it('falls back to the raw key when HEAD of the decoded key answers 403 and a listing finds no such key', async () => {
      // Arrange
      const { refs } = parseObjectCreatedEvents(fixture('eventbridge-encoded-keys.json'));
      const source = forbiddingHeadOf(['incoming/enc/real plus.txt']);
      // Act
      const output = await listSlice({
        ...params({}),
        job: keysJob(),
        refs,
        clients: { source, target: async () => s3.s3, state: s3.s3 },
      });
      // Assert
      expect(await manifestKeys(output)).toContain('incoming/enc/real+plus.txt');
      expect(output.totals).toEqual({
        listed: 6,
        selected: 6,
        skipped: 1,
        bytes: 55,
        selectedBytes: 55,
        skippedByReason: { vanished: 1 },
      });
    });

    it('takes an object once when two events resolve to the same stored key', async () => {
      // Arrange: "real+plus.txt" decodes to a missing key and falls back; "real%2Bplus.txt" decodes to it
      const event = (key: string) => ({
        'detail-type': 'Object Created',
        detail: { bucket: { name: 'events-src' }, object: { key } },
      });
      const { refs } = parseObjectCreatedEvents([
        event('incoming/enc/real+plus.txt'),
        event('incoming/enc/real%2Bplus.txt'),
      ]);
      // Act
      const output = await listSlice({ ...params({}), job: keysJob(), refs });
      // Assert
      expect(await manifestKeys(output)).toEqual(['incoming/enc/real+plus.txt']);
      expect(output.totals).toMatchObject({ selected: 1, bytes: 11 });
    });
  });

  it('applies the job filter to the HEADed objects', async () => {
    // Arrange
    const { refs } = parseObjectCreatedEvents(fixture('eventbridge-batch.json'));
    // Act
    const output = await listSlice({ ...params({}), job: keysJob({ filter: { include: ['*.jpg'] } }), refs });
    // Assert
    expect(await manifestKeys(output)).toEqual(['incoming/red flower.jpg']);
  });
});

describe('listSlice and ListObjectsV2 key encoding', () => {
  const keys = [
    'enc-list/100%.csv',
    'enc-list/a b.txt',
    'enc-list/a+b.txt',
    'enc-list/x%41.txt',
    'enc-list/ü/日本語 ファイル.txt',
    'enc-list/\u{1F600}.txt',
  ];
  const mirrored = keys.map((key) => key.replace('enc-list/', 'enc-mirror/'));

  /** S3's encoding-type=url as measured on real S3: form encoding, a space as "+", "/" kept. */
  const encodeAsS3 = (key: string) => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

  /**
   * A client for the embedded server (which ignores encoding-type and returns raw keys) whose
   * ListObjectsV2 answers as real S3 does: when the request asks for encoding-type=url, the keys come
   * back url-encoded under EncodingType "url". Records what each request asked for.
   */
  const s3EncodingClient = () => {
    const client = s3.makeS3();
    const asked: (string | undefined)[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName !== 'ListObjectsV2Command') return result;
        const encodingType = (args.input as ListObjectsV2CommandInput).EncodingType;
        asked.push(encodingType);
        if (encodingType === 'url') {
          const output = result.output as ListObjectsV2CommandOutput;
          output.EncodingType = 'url';
          output.Contents = output.Contents?.map((item) => ({ ...item, Key: encodeAsS3(item.Key ?? '') }));
        }
        return result;
      },
      { step: 'initialize', name: 'encodeListingAsS3' },
    );
    return { client, asked };
  };

  beforeAll(async () => {
    for (const key of [...keys, ...mirrored]) await s3.put(key.startsWith('enc-list/') ? SRC : DST, key, 'same');
  });

  it('keeps raw keys with "%", "+", spaces and non-ASCII as they are from a server that ignores encoding-type', async () => {
    // Act
    const output = await listSlice(params({ source: { prefix: 'enc-list/' } }));
    // Assert
    expect((await manifestKeys(output)).sort()).toEqual([...keys].sort());
  });

  it('asks S3 for url-encoded keys and decodes them when the response says so', async () => {
    // Arrange
    const source = s3EncodingClient();
    // Act
    const output = await listSlice(
      params(
        { source: { prefix: 'enc-list/' } },
        { clients: { source: source.client, target: async () => s3.s3, state: s3.s3 } },
      ),
    );
    // Assert
    expect(source.asked).toEqual(['url']);
    expect((await manifestKeys(output)).sort()).toEqual([...keys].sort());
  });

  it('decodes the target listing in sync mode, so every mirrored key is found', async () => {
    // Arrange
    const target = s3EncodingClient();
    // Act
    const output = await listSlice(
      params(
        { source: { prefix: 'enc-list/' }, target: { prefix: 'enc-mirror/' }, options: { mode: 'sync' } },
        { clients: { source: s3.s3, target: async () => target.client, state: s3.s3 } },
      ),
    );
    // Assert
    expect(target.asked).toEqual(['url']);
    expect(output).toMatchObject({ manifest: null, totals: { listed: 6, selected: 6, skipped: 6 } });
  });

  it('decodes the target lookups of keys mode in sync mode', async () => {
    // Arrange
    const target = s3EncodingClient();
    const refs = keys.map((key) => ({ bucket: SRC, key }));
    // Act
    const output = await listSlice({
      ...params(
        { source: { prefix: 'enc-list/' }, target: { prefix: 'enc-mirror/' }, options: { mode: 'sync' } },
        { clients: { source: s3.s3, target: async () => target.client, state: s3.s3 } },
      ),
      refs,
    });
    // Assert
    expect(new Set(target.asked)).toEqual(new Set(['url']));
    expect(output).toMatchObject({ manifest: null, totals: { listed: 6, selected: 6, skipped: 6 } });
  });
});
