import { featureEstimateFromFlags, restoreCost } from '../../cli/cost/feature-costs';
import { PRICES } from '../../cli/cost/prices';

const GiB = 1024 ** 3;

describe('restoreCost', () => {
  it('prices the request fee per tier and the retrieval per GB from the dated table', () => {
    // Act: 1,000 objects of 1 GiB from Flexible Retrieval, Standard tier, kept 30 days
    const cost = restoreCost({
      objects: 1000,
      averageSizeBytes: GiB,
      storageClass: 'GLACIER',
      tier: 'Standard',
      days: 30,
    });

    // Assess: $0.05 per 1,000 requests, $0.01 per GB, 1,000 GB of Standard storage for a month
    expect(cost.requests).toBeCloseTo(0.05, 10);
    expect(cost.retrieval).toBeCloseTo(10, 10);
    expect(cost.restoredCopyStorage).toBeCloseTo(1000 * PRICES.archiveRetrieval.restoredCopyPerGbMonth, 10);
    expect(cost.heads).toBeCloseTo(2 * 1000 * PRICES.s3.getHeadPerRequest, 12);
    expect(cost.total).toBeCloseTo(cost.requests + cost.retrieval + cost.heads + cost.restoredCopyStorage, 10);
  });

  it('charges no request or retrieval fee for Bulk from Flexible Retrieval, but does for Deep Archive', () => {
    const plan = { objects: 1000, averageSizeBytes: GiB, tier: 'Bulk' as const, days: 1 };
    expect(restoreCost({ ...plan, storageClass: 'GLACIER' })).toMatchObject({ requests: 0, retrieval: 0 });
    const deep = restoreCost({ ...plan, storageClass: 'DEEP_ARCHIVE' });
    expect(deep.requests).toBeCloseTo(0.025, 10);
    expect(deep.retrieval).toBeCloseTo(2.5, 10);
  });
});

describe('the estimate flags for restores and deletes', () => {
  it('prices each delete as the HEAD that proves it (DeleteObject is free) and restores by class and tier', () => {
    const estimate = featureEstimateFromFlags(
      { archived: '2000', archiveClass: 'deep_archive', restore: 'standard', deletes: '500' },
      GiB,
    );
    expect(estimate.restores).toMatchObject({ objects: 2000, storageClass: 'DEEP_ARCHIVE', tier: 'Standard', days: 1 });
    expect(estimate.restores?.cost.requests).toBeCloseTo(0.2, 10);
    // 500 HEADs at $0.0004 per 1,000, and the one listing of the source prefix at $0.005 per 1,000
    expect(estimate.deletes?.cost.requests).toBe(0);
    expect(estimate.deletes?.cost.heads).toBeCloseTo(500 * 0.0000004 + 0.000005, 12);
    expect(estimate.deletes?.cost.total).toBeCloseTo(estimate.deletes?.cost.heads ?? -1, 12);
  });

  it('names the flag and the fix', () => {
    expect(() =>
      featureEstimateFromFlags({ archived: '10', archiveClass: 'DEEP_ARCHIVE', restore: 'Expedited' }, 1),
    ).toThrow(/--restore: S3 offers no Expedited retrieval for DEEP_ARCHIVE: use Standard or Bulk/);
    expect(() => featureEstimateFromFlags({ restore: 'Bulk' }, 1)).toThrow(/add --archived N/);
    expect(() => featureEstimateFromFlags({ archived: '1', archiveClass: 'STANDARD' }, 1)).toThrow(
      /--archive-class: "STANDARD" is not an archived storage class/,
    );
  });
});
