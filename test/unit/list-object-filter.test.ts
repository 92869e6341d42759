import { createObjectFilter } from '../../functions/list/object-filter';
import { type JobInput, type ManifestObject, resolveJob } from '../../functions/shared/job';

const jobWith = (filter: JobInput['filter']) =>
  resolveJob({
    source: { bucket: 'src-bucket', prefix: 'data/2026/' },
    target: { bucket: 'dst-bucket', prefix: 'mirror/' },
    filter,
  });

const object = (relativeKey: string, extra: Partial<ManifestObject> = {}): ManifestObject => ({
  key: `data/2026/${relativeKey}`,
  size: 100,
  etag: '"e"',
  lastModified: '2026-06-01T00:00:00.000Z',
  ...extra,
});

const selected = (filter: JobInput['filter'], objects: ManifestObject[]) =>
  objects.filter(createObjectFilter(jobWith(filter))).map((o) => o.key.slice('data/2026/'.length));

describe('createObjectFilter', () => {
  it('matches globs against the key relative to the source prefix', () => {
    // Arrange
    const objects = [object('a.parquet'), object('deep/er/b.parquet'), object('c.csv')];
    // Act / Assert
    expect(selected({ include: ['**/*.parquet'] }, objects)).toEqual(['a.parquet', 'deep/er/b.parquet']);
  });

  it('keeps * within one path segment', () => {
    // Arrange
    const objects = [object('top.txt'), object('sub/inner.txt')];
    // Act / Assert
    expect(selected({ include: ['*.txt'] }, objects)).toEqual(['top.txt']);
  });

  it('lets an exclude win over an include', () => {
    // Arrange
    const objects = [object('keep/a.parquet'), object('tmp/b.parquet'), object('tmp/c.csv')];
    // Act / Assert
    expect(selected({ include: ['**/*.parquet'], exclude: ['tmp/**'] }, objects)).toEqual(['keep/a.parquet']);
  });

  it('matches dotfiles like any other name', () => {
    // Arrange
    const objects = [object('.hidden/x.parquet'), object('.env')];
    // Act / Assert
    expect(selected({ include: ['**'] }, objects)).toEqual(['.hidden/x.parquet', '.env']);
  });

  it('selects everything when there is no filter', () => {
    // Arrange
    const objects = [object('a'), object('b/c', { size: 0 })];
    // Act / Assert
    expect(selected(undefined, objects)).toEqual(['a', 'b/c']);
  });

  it('treats minSize and maxSize as inclusive bounds', () => {
    // Arrange
    const objects = [9, 10, 20, 21].map((size) => object(`s${size}`, { size }));
    // Act / Assert
    expect(selected({ minSize: 10, maxSize: 20 }, objects)).toEqual(['s10', 's20']);
  });

  it('includes modifiedAfter itself and excludes modifiedBefore itself', () => {
    // Arrange
    const objects = [
      object('before', { lastModified: '2026-01-31T23:59:59.000Z' }),
      object('start', { lastModified: '2026-02-01T00:00:00.000Z' }),
      object('inside', { lastModified: '2026-02-15T12:00:00.000Z' }),
      object('end', { lastModified: '2026-03-01T00:00:00.000Z' }),
    ];
    // Act / Assert
    expect(
      selected({ modifiedAfter: '2026-02-01T00:00:00Z', modifiedBefore: '2026-03-01T00:00:00Z' }, objects),
    ).toEqual(['start', 'inside']);
  });

  it('compares dates with offsets by instant', () => {
    // Arrange: 01:30 at +02:00 is 23:30 UTC the day before
    const objects = [object('late', { lastModified: '2026-01-31T23:45:00.000Z' })];
    // Act / Assert
    expect(selected({ modifiedAfter: '2026-02-01T01:30:00+02:00' }, objects)).toEqual(['late']);
  });
});
