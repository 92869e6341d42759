import fc from 'fast-check';
import { featureOptionsFromFlags } from '../../cli/feature-flags';
import { isArchived, parseRestoreHeader } from '../../functions/list/archived-objects';
import { toManifestObject } from '../../functions/list/s3-listing';

describe('parseRestoreHeader', () => {
  it('reads a restore in progress, a finished one, and none', () => {
    // Prepare / Act / Assess
    expect(parseRestoreHeader('ongoing-request="true"')).toBe('ongoing');
    expect(parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"')).toBe('restored');
    expect(parseRestoreHeader(undefined)).toBe('none');
    expect(parseRestoreHeader('')).toBe('none');
  });

  it('never calls an object restored unless the header says ongoing-request="false"', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const state = parseRestoreHeader(text);
        if (state === 'restored') expect(text).toMatch(/ongoing-request\s*=\s*"false"/i);
      }),
    );
  });
});

describe('the listing keeps the storage class of archived objects only', () => {
  it('marks GLACIER and DEEP_ARCHIVE, and leaves others as before', () => {
    // Prepare
    const base = { Key: 'k', Size: 1, ETag: '"e"', LastModified: new Date(0) };

    // Act
    const glacier = toManifestObject({ ...base, StorageClass: 'GLACIER' });
    const deep = toManifestObject({ ...base, StorageClass: 'DEEP_ARCHIVE' });
    const it = toManifestObject({ ...base, StorageClass: 'INTELLIGENT_TIERING' });
    const ir = toManifestObject({ ...base, StorageClass: 'GLACIER_IR' });

    // Assess
    expect([glacier, deep].map(isArchived)).toEqual([true, true]);
    expect([it, ir].map(isArchived)).toEqual([false, false]);
    expect(ir).not.toHaveProperty('storageClass');
  });
});

describe('--restore and --restore-days', () => {
  it('become options.restore, the tier case-insensitive', () => {
    expect(featureOptionsFromFlags({ restore: 'bulk', restoreDays: '7' })).toEqual({
      restore: { tier: 'Bulk', days: 7 },
    });
    expect(featureOptionsFromFlags({})).toEqual({});
  });

  it('name the flag and the fix when wrong', () => {
    expect(() => featureOptionsFromFlags({ restore: 'Fast', restoreDays: '1' })).toThrow(
      /--restore: "Fast" is not a retrieval tier\. Use --restore Standard/,
    );
    expect(() => featureOptionsFromFlags({ restore: 'Standard' })).toThrow(/--restore needs --restore-days N/);
    expect(() => featureOptionsFromFlags({ restoreDays: '3' })).toThrow(/--restore-days needs --restore TIER/);
    expect(() => featureOptionsFromFlags({ restore: 'Standard', restoreDays: '0' })).toThrow(
      /--restore-days: "0" is not a whole number of days from 1 to 30000/,
    );
  });
});
