/**
 * `s3xcopy estimate` prices a no-op sync's LIST requests from the object count alone; the List step
 * (functions/list/list-slice.ts) asks what its partitioned listing needs. This holds the two together on
 * the S3 model, on the layout the sync cost goal is measured on (bench/sync-identity.bench.ts: folders of
 * 10,000 numbered keys), scaled down to 30,000 objects so that it runs in seconds.
 */

import { buildScenario } from '../../cli/cost/scenarios';
import type { Continuation } from '../../functions/list/contract';
import { listSlice } from '../../functions/list/list-slice';
import { resolveJob } from '../../functions/shared/job';
import { S3Model, type SeedObject } from '../../sim/s3-model';

/** The estimate may differ from the measured count by this share at most. */
const TOLERANCE = 0.1;

/**
 * Folders of 10,000 keys numbered in steps of 10 (folder f holds f, f + 10, f + 20, ...): each splits by
 * its second digit into ranges of one page, as the bench's 100 folders do.
 */
function* mirrorObjects(objects: number): Generator<SeedObject> {
  const folders = objects / 10_000;
  for (let k = 0; k < 10_000; k++) {
    for (let folder = 0; folder < folders; folder++) {
      yield {
        key: `data/${folder}/object-${String(folder + 10 * k).padStart(6, '0')}.bin`,
        size: 1000,
        origin: 'same',
      };
    }
  }
}

/** Runs the List step slice after slice over an unchanged mirror; returns the ListObjectsV2 count. */
async function measuredNoopSyncLists(objects: number, listConcurrency: number): Promise<number> {
  const model = new S3Model();
  for (const bucket of ['src', 'dst', 'state']) model.createBucket(bucket);
  model.seed('src', mirrorObjects(objects));
  model.seed('dst', mirrorObjects(objects));
  const s3 = model.client();
  const job = resolveJob({
    source: { bucket: 'src', prefix: '' },
    target: { bucket: 'dst', prefix: '' },
    options: { mode: 'sync', listConcurrency },
  });
  let continuation: Continuation | null = null;
  do {
    const output = await listSlice({
      job,
      jobId: 'noop',
      continuation,
      clients: { source: s3, target: async () => s3, state: s3 },
      stateBucket: 'state',
    });
    expect(output.slice.objects).toBe(0);
    continuation = output.continuation;
  } while (continuation);
  return model.stats.requests.ListObjectsV2 ?? 0;
}

function estimatedLists(objects: number, listConcurrency: number): number {
  const scenario = buildScenario('s3xcopy-standard', {
    objects,
    averageSizeBytes: 1000,
    mode: 'sync',
    changedFraction: 0,
    listConcurrency,
  });
  return scenario.counts.s3Requests?.LIST ?? 0;
}

describe('estimate of a no-op sync LIST requests', () => {
  it('counts the partitioned listing within 10% of what the List step asks on the model', async () => {
    // Prepare
    const objects = 30_000;

    // Act
    const measured = await measuredNoopSyncLists(objects, 32);
    const estimated = estimatedLists(objects, 32);

    // Assess: both sides' pages (60) and the partitioned listing's extra (2 empty ranges per folder of
    // 10 pages and the slice's start), which one page per 1,000 keys alone (60) left out
    expect(Math.abs(estimated - measured) / measured).toBeLessThanOrEqual(TOLERANCE);
    expect(estimated).toBeGreaterThan(60);
  });

  it('counts one chain per side with listConcurrency 1, as the List step asks', async () => {
    // Prepare
    const objects = 30_000;

    // Act
    const measured = await measuredNoopSyncLists(objects, 1);
    const estimated = estimatedLists(objects, 1);

    // Assess
    expect(Math.abs(estimated - measured) / measured).toBeLessThanOrEqual(TOLERANCE);
  });
});
