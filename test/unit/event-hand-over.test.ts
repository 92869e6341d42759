import fc from 'fast-check';
import { bytesWithinTime, executionName, handOverInput, handsOver } from '../../functions/events/hand-over';
import { parseObjectCreatedEvents } from '../../functions/list/s3-events';

const GiB = 1024 ** 3;
const version = {
  key: 'in/a.bin',
  etag: '"0123456789abcdef0123456789abcdef"',
  lastModified: '2026-12-01T00:00:00.000Z',
};

describe('hand-over of objects too large for one events invocation', () => {
  it('names every object version with a valid Step Functions execution name (1-80 of A-Z a-z 0-9 - _)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1024 }), fc.string(), (key, etag) => {
        // Act
        const name = executionName('src-bucket', { key, etag, lastModified: version.lastModified });
        // Assert
        expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
      }),
    );
  });

  it('gives another name to another ETag, LastModified, key or bucket, and the same name to the same version', () => {
    // Act
    const names = [
      executionName('src', version),
      executionName('src', { ...version, etag: '"ffff"' }),
      executionName('src', { ...version, lastModified: '2026-12-02T00:00:00.000Z' }),
      executionName('src', { ...version, key: 'in/b/a.bin' }),
      executionName('other', version),
    ];
    // Assert
    expect(new Set(names).size).toBe(names.length);
    expect(executionName('src', { ...version, etag: version.etag.replace(/"/g, '') })).toBe(names[0]);
  });

  it('builds an input from which the list step reads back exactly the key, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), (key) => {
        // Act
        const parsed = parseObjectCreatedEvents(handOverInput('src', { key, size: 1, etag: '"e"' }));
        // Assert: the first candidate the list step HEADs is the key itself
        expect(parsed.refs.map((ref) => [ref.bucket, ref.key])).toEqual([['src', key]]);
      }),
    );
  });

  it('hands over by the configured threshold, or by what the model says fits in the time left', () => {
    // Assert: a fresh 15-minute invocation (870 s before the margin) plans half the bulk batch, 16 GiB
    expect(bytesWithinTime(870_000)).toBe(16 * GiB);
    expect(handsOver(16 * GiB, 870_000)).toBe(false);
    expect(handsOver(16 * GiB + 1, 870_000)).toBe(true);
    expect(handsOver(1 * GiB, 870_000, 512 * 1024 ** 2)).toBe(true);
    expect(handsOver(1 * GiB, 10_000)).toBe(true);
    expect(handsOver(1, -5_000)).toBe(true);
  });
});
