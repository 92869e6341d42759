import fc from 'fast-check';
import { syncEntry, TargetCursor, type TargetLookup, targetIsCurrent } from '../../functions/list/sync-merge';
import { identityRecordEtag } from '../../functions/shared/identity-record';
import type { ManifestObject } from '../../functions/shared/job';

const object = (key: string, extra: Partial<ManifestObject> = {}): ManifestObject => ({
  key,
  size: 10,
  etag: '"aaa"',
  lastModified: '2026-06-01T00:00:00.000Z',
  ...extra,
});

describe('syncEntry', () => {
  it('skips a target with the same content written after the source', () => {
    expect(syncEntry(object('a'), object('b', { lastModified: '2026-06-01T00:00:01.000Z' }))).toBeUndefined();
    expect(syncEntry(object('a'), object('b'))).toBeUndefined();
  });

  it('asks for a settings check when the source was written after its copy with the same size and ETag', () => {
    expect(syncEntry(object('a'), object('b', { lastModified: '2026-05-31T23:59:59.000Z' }))).toEqual({
      ...object('a'),
      checkSettings: true,
    });
  });

  it('takes a target whose ETag differs as current when its identity record names both writes', () => {
    // Arrange
    const target = object('b', { etag: '"kms-write"', lastModified: '2026-06-01T00:00:01.000Z' });
    const record = identityRecordEtag({ size: 10, sourceEtag: '"aaa"', targetEtag: '"kms-write"' });

    // Act / Assert
    expect(syncEntry(object('a'), target, record)).toBeUndefined();
    expect(
      syncEntry(object('a'), target, identityRecordEtag({ size: 10, sourceEtag: '"aaa"', targetEtag: '"x"' })),
    ).toEqual(object('a'));
    expect(syncEntry(object('a', { size: 11 }), { ...target, size: 11 }, record)).toEqual(object('a', { size: 11 }));
  });

  it('asks a record-proven target written before its source for a settings check, naming the proven ETag', () => {
    // Arrange
    const target = object('b', { etag: '"kms-write"', lastModified: '2026-05-31T23:59:59.000Z' });
    const record = identityRecordEtag({ size: 10, sourceEtag: '"aaa"', targetEtag: '"kms-write"' });

    // Act / Assert
    expect(syncEntry(object('a'), target, record)).toEqual({
      ...object('a'),
      checkSettings: true,
      recordedTargetEtag: '"kms-write"',
    });
  });

  it('copies a stale same-size target outright, however new it is', () => {
    expect(syncEntry(object('a'), object('b', { etag: '"bbb"', lastModified: '2030-01-01T00:00:00.000Z' }))).toEqual(
      object('a'),
    );
  });
});

/** The found key, undefined when absent, "paused after X" when the cursor stopped. */
const describeLookup = (lookup: TargetLookup) =>
  lookup.kind === 'found' ? lookup.object.key : lookup.kind === 'paused' ? `paused after ${lookup.after}` : undefined;

async function* pagesOf(...pages: ManifestObject[][]) {
  for (const [i, objects] of pages.entries()) yield { objects, more: i < pages.length - 1 };
}

describe('targetIsCurrent', () => {
  it('is true for the same size and ETag', () => {
    expect(targetIsCurrent(object('a'), object('b', { lastModified: '2020-01-01T00:00:00.000Z' }))).toBe(true);
  });

  it('is false for the same size and another ETag, however new the target (no timestamp proves identity)', () => {
    expect(targetIsCurrent(object('a'), object('b', { etag: '"bbb-2"' }))).toBe(false);
    expect(targetIsCurrent(object('a'), object('b', { etag: '"bbb"', lastModified: '2030-01-01T00:00:00.000Z' }))).toBe(
      false,
    );
  });

  it('is false for another ETag and an older target', () => {
    expect(targetIsCurrent(object('a'), object('b', { etag: '"bbb"', lastModified: '2026-05-31T23:59:59.000Z' }))).toBe(
      false,
    );
  });

  it('is false for another size even with a newer target', () => {
    expect(targetIsCurrent(object('a'), object('b', { size: 11, lastModified: '2027-01-01T00:00:00.000Z' }))).toBe(
      false,
    );
  });
});

describe('TargetCursor', () => {
  it('finds keys across page boundaries and answers undefined for missing ones', async () => {
    // Arrange
    const cursor = new TargetCursor(pagesOf([object('t/a'), object('t/c')], [], [object('t/e'), object('t/g')]));
    // Act
    const found = [];
    for (const key of ['t/a', 't/b', 't/e', 't/f', 't/g', 't/h']) found.push(describeLookup(await cursor.find(key)));
    // Assert
    expect(found).toEqual(['t/a', undefined, 't/e', undefined, 't/g', undefined]);
  });

  it('walks in S3 order, where an astral character follows U+FFFD', async () => {
    // Arrange: the target listing in UTF-8 order
    const cursor = new TargetCursor(pagesOf([object('t/\uFFFD'), object('t/\u{1F600}')]));
    // Act
    const first = await cursor.find('t/\uFFFD');
    const second = await cursor.find('t/\u{1F600}');
    // Assert
    expect([describeLookup(first), describeLookup(second)]).toEqual(['t/\uFFFD', 't/\u{1F600}']);
  });

  it('pauses before fetching another page when told to, naming the last key passed over', async () => {
    // Arrange
    let outOfTime = true;
    const cursor = new TargetCursor(pagesOf([object('t/a'), object('t/b')], [object('t/c')], [object('t/z')]), {
      shouldPause: () => outOfTime,
    });
    // Act
    const paused = describeLookup(await cursor.find('t/y'));
    outOfTime = false;
    const resumed = [describeLookup(await cursor.find('t/y')), describeLookup(await cursor.find('t/z'))];
    // Assert
    expect(paused).toBe('paused after t/b');
    expect(resumed).toEqual([undefined, 't/z']);
  });

  it('does not pause after the last page, which needs no fetch', async () => {
    // Arrange
    const shouldPause = jest.fn(() => true);
    const last = new TargetCursor(pagesOf([object('t/a')]), { shouldPause });
    // Act
    const lookup = await last.find('t/z');
    // Assert
    expect(describeLookup(lookup)).toBeUndefined();
    expect(shouldPause).not.toHaveBeenCalled();
  });

  it('never pauses before its first page, so every slice moves forward', async () => {
    // Arrange
    const cursor = new TargetCursor(pagesOf([object('t/a')], [object('t/b')]), { shouldPause: () => true });
    // Act
    const lookup = await cursor.find('t/b');
    // Assert
    expect(describeLookup(lookup)).toBe('paused after t/a');
  });

  it('answers from the page it holds without asking whether to pause', async () => {
    // Arrange
    const shouldPause = jest.fn(() => true);
    const cursor = new TargetCursor(pagesOf([object('t/a'), object('t/c')], [object('t/e')]), { shouldPause });
    // Act
    const results = [];
    for (const key of ['t/a', 't/b', 't/c']) results.push(describeLookup(await cursor.find(key)));
    // Assert
    expect(results).toEqual(['t/a', undefined, 't/c']);
    expect(shouldPause).not.toHaveBeenCalled();
  });

  it('requests the next target page as soon as it hands out the current one', async () => {
    // Arrange: pages that record when each is requested
    const requested: number[] = [];
    const pages = [[object('t/a'), object('t/b')], [object('t/c')], [object('t/d')]];
    async function* recordedPages() {
      for (const [i, objects] of pages.entries()) {
        requested.push(i);
        yield { objects, more: i < pages.length - 1 };
      }
    }
    const cursor = new TargetCursor(recordedPages());
    // Act
    const first = describeLookup(await cursor.find('t/a'));
    const requestedWhileOnFirstPage = [...requested];
    const rest = [describeLookup(await cursor.find('t/c')), describeLookup(await cursor.find('t/d'))];
    // Assert: page 1 was on its way before the merge left page 0, and nothing beyond the last page
    expect(first).toBe('t/a');
    expect(requestedWhileOnFirstPage).toEqual([0, 1]);
    expect(rest).toEqual(['t/c', 't/d']);
    expect(requested).toEqual([0, 1, 2]);
  });

  it('keeps at most one page ahead of the merge', async () => {
    // Arrange
    let requested = 0;
    async function* endless() {
      for (let i = 0; ; i++) {
        requested++;
        yield { objects: [object(`t/${String(i).padStart(4, '0')}`)], more: true };
      }
    }
    const cursor = new TargetCursor(endless());
    // Act
    const found = describeLookup(await cursor.find('t/0004'));
    await cursor.close();
    // Assert: pages 0-4 taken, page 5 ahead, none after
    expect(found).toBe('t/0004');
    expect(requested).toBe(6);
  });

  it('drops the page requested ahead, and its failure, when it closes before needing it', async () => {
    // Arrange
    async function* failingSecondPage() {
      yield { objects: [object('t/a')], more: true };
      throw new Error('page 2 failed');
    }
    const cursor = new TargetCursor(failingSecondPage());
    // Act
    const found = describeLookup(await cursor.find('t/a'));
    const closed = cursor.close();
    // Assert
    expect(found).toBe('t/a');
    await expect(closed).resolves.toBeUndefined();
  });

  it('reports the failure of the page requested ahead when the merge needs that page', async () => {
    // Arrange
    async function* failingSecondPage() {
      yield { objects: [object('t/a')], more: true };
      throw new Error('page 2 failed');
    }
    const cursor = new TargetCursor(failingSecondPage());
    // Act
    await cursor.find('t/a');
    const lookup = cursor.find('t/b');
    // Assert
    await expect(lookup).rejects.toThrow('page 2 failed');
  });

  it('answers every lookup as a plain search of the target keys would, reading ahead or not', async () => {
    const key = fc.stringMatching(/^[a-e]{1,3}$/).map((k) => `t/${k}`);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { maxLength: 30 }),
        fc.uniqueArray(key, { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (targetKeys, lookupKeys, pageSize) => {
          // Arrange
          const sortedTargets = [...targetKeys].sort();
          const pages: ManifestObject[][] = [];
          for (let i = 0; i < sortedTargets.length; i += pageSize) {
            pages.push(sortedTargets.slice(i, i + pageSize).map((k) => object(k)));
          }
          const cursor = new TargetCursor(pagesOf(...pages));
          const passedOver: string[] = [];
          const withOnlyHook = new TargetCursor(pagesOf(...pages), { onTargetOnly: (o) => passedOver.push(o.key) });
          // Act
          const lookups = [...lookupKeys].sort();
          const found = [];
          for (const k of lookups) found.push(describeLookup(await cursor.find(k)));
          for (const k of lookups) await withOnlyHook.find(k);
          await withOnlyHook.drain();
          // Assert
          expect(found).toEqual(lookups.map((k) => (targetKeys.includes(k) ? k : undefined)));
          expect(passedOver).toEqual(sortedTargets.filter((k) => !lookups.includes(k)));
        },
      ),
    );
  });
});
