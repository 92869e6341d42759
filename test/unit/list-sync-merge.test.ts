import { TargetCursor, targetIsCurrent } from '../../functions/list/sync-merge';
import type { ManifestObject } from '../../functions/shared/job';

const object = (key: string, extra: Partial<ManifestObject> = {}): ManifestObject => ({
  key,
  size: 10,
  etag: '"aaa"',
  lastModified: '2026-06-01T00:00:00.000Z',
  ...extra,
});

async function* pagesOf(...pages: ManifestObject[][]) {
  for (const [i, objects] of pages.entries()) yield { objects, more: i < pages.length - 1 };
}

describe('targetIsCurrent', () => {
  it('is true for the same size and ETag', () => {
    expect(targetIsCurrent(object('a'), object('b', { lastModified: '2020-01-01T00:00:00.000Z' }))).toBe(true);
  });

  it('is true for the same size, another ETag and a target not older than the source', () => {
    expect(targetIsCurrent(object('a'), object('b', { etag: '"bbb-2"' }))).toBe(true);
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
    for (const key of ['t/a', 't/b', 't/e', 't/f', 't/g', 't/h']) found.push((await cursor.find(key))?.key);
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
    expect([first?.key, second?.key]).toEqual(['t/\uFFFD', 't/\u{1F600}']);
  });
});
