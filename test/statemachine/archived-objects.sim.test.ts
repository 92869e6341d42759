/**
 * Archived source objects, end to end: the real statemachine/copy.asl.json run by the local runner with
 * the real handlers, against the in-memory S3 model (sim/s3-model.ts), NOT the embedded server: the
 * embedded server has no storage classes, no RestoreObject and no x-amz-restore. The model answers as S3
 * documents: InvalidObjectState for a copy of an archived object, RestoreObject 202/409, HEAD's
 * x-amz-restore; its restores finish when the test says so (completeRestores).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type LocalRunOptions, runLocal } from '../../cli/runner/runner';
import type { ArchivedEntry } from '../../functions/list/archived-objects';
import { S3Model, type S3ModelOptions, s3Error } from '../../sim/s3-model';
import { modelEndpoint, quietRun } from '../support/local-run';

const STATE = 'arch-state';

function setup(faults: S3ModelOptions['faults'] = {}) {
  const model = new S3Model({ faults });
  for (const bucket of ['arch-src', 'arch-dst', STATE]) model.createBucket(bucket);
  model.seed('arch-src', [
    { key: 'data/hot-1', size: 100 },
    { key: 'data/hot-2', size: 200 },
    { key: 'data/cold-glacier', size: 300, storageClass: 'GLACIER' },
    { key: 'data/cold-deep', size: 400, storageClass: 'DEEP_ARCHIVE' },
    { key: 'data/ia', size: 50, storageClass: 'STANDARD_IA' },
  ]);
  const messages: string[] = [];
  const run = (options: Record<string, unknown>, extra: Partial<LocalRunOptions> = {}) =>
    runLocal({
      onNotification: (notification) => messages.push(notification.body),
      input: {
        source: { bucket: 'arch-src', prefix: 'data/' },
        target: { bucket: 'arch-dst', prefix: 'copy/' },
        options,
      },
      endpoint: modelEndpoint(model),
      ...quietRun(STATE),
      ...extra,
    });
  return { model, run, messages };
}

async function archiveReport(model: S3Model, jobId: string): Promise<ArchivedEntry[]> {
  const response = await model
    .client()
    .send(new GetObjectCommand({ Bucket: STATE, Key: `manifests/${jobId}/archived-0.jsonl` }));
  const text = await (response.Body as { transformToString(): Promise<string> }).transformToString();
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ArchivedEntry);
}

describe('archived source objects (S3 model: the embedded server has no storage classes or restores)', () => {
  it('skips GLACIER and DEEP_ARCHIVE objects as archived instead of failing their batch, and names them', async () => {
    // Prepare
    const { model, run, messages } = setup();

    // Act
    const result = await run({});

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({ selected: 5, copied: 3, skipped: 2, failed: 0, notAttempted: 0 });
    expect(result.objects.skippedByReason).toEqual({ archived: 2 });
    expect(model.keys('arch-dst')).toEqual(['copy/hot-1', 'copy/hot-2', 'copy/ia']);
    // No restore was asked for: no HEAD and no RestoreObject on the archived objects.
    expect(model.stats.requests.RestoreObject ?? 0).toBe(0);
    expect(model.stats.errors.InvalidObjectState ?? 0).toBe(0);
    expect(messages.at(-1)).toContain('Archived:  2 archived, not copied');
    expect((await archiveReport(model, result.jobId)).map((entry) => [entry.key, entry.outcome])).toEqual([
      ['data/cold-deep', 'archived'],
      ['data/cold-glacier', 'archived'],
    ]);
  });

  it('starts restores with --restore, reports them as restoring, and a later sync run copies them once restored', async () => {
    // Prepare
    const { model, run, messages } = setup();
    const restore = { tier: 'Bulk', days: 3 };

    // Act: the first run starts the restores
    const first = await run({ mode: 'sync', restore });

    // Assess
    expect(first.status).toBe('SUCCEEDED');
    expect(first.objects).toMatchObject({ selected: 5, copied: 3, skipped: 2, failed: 0 });
    expect(first.objects.skippedByReason).toEqual({ restoring: 2 });
    expect(model.stats.requests.RestoreObject).toBe(2);
    expect(model.object('arch-src', 'data/cold-deep')?.restore).toEqual({ ongoing: true, days: 3, tier: 'Bulk' });
    expect(messages.at(-1)).toContain('2 still restoring');

    // Act: a sync run while the restores still run asks for nothing new
    const second = await run({ mode: 'sync', restore });
    expect(second.objects.skippedByReason).toEqual({ unchanged: 3, restoring: 2 });
    expect(model.stats.requests.RestoreObject).toBe(2);

    // Act: S3 finishes the restores; the next sync run copies them
    expect(model.completeRestores('arch-src')).toBe(2);
    const third = await run({ mode: 'sync', restore });

    // Assess
    expect(third.status).toBe('SUCCEEDED');
    expect(third.objects).toMatchObject({ selected: 5, copied: 2, skipped: 3, failed: 0 });
    expect(third.objects.skippedByReason).toEqual({ unchanged: 3 });
    expect(model.object('arch-dst', 'copy/cold-glacier')?.content).toEqual(
      model.object('arch-src', 'data/cold-glacier')?.content,
    );
    expect(model.keys('arch-dst')).toHaveLength(5);
  });

  it('does not ask for an Expedited restore of a DEEP_ARCHIVE object, which S3 refuses, and says why', async () => {
    // Prepare
    const { model, run } = setup();

    // Act
    const result = await run({ restore: { tier: 'Expedited', days: 1 } });

    // Assess
    expect(result.objects.skippedByReason).toEqual({ archived: 1, restoring: 1 });
    expect(model.stats.requests.RestoreObject).toBe(1);
    const report = await archiveReport(model, result.jobId);
    expect(report).toContainEqual(
      expect.objectContaining({ key: 'data/cold-deep', outcome: 'archived', note: expect.stringContaining('Bulk') }),
    );
  });

  it('skips an object the listing cannot tell is archived (Intelligent-Tiering archive tier) when its copy meets InvalidObjectState', async () => {
    // Prepare: the listing shows INTELLIGENT_TIERING; S3 refuses the copy as it does for its archive tiers
    const { model, run } = setup({
      CopyObject: (input) => {
        if (input.Key === 'copy/it-archived') {
          throw s3Error('InvalidObjectState', "The operation is not valid for the object's storage class");
        }
      },
    });
    model.seed('arch-src', [{ key: 'data/it-archived', size: 10, storageClass: 'INTELLIGENT_TIERING' }]);
    // Act
    const result = await run({});

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({ selected: 6, copied: 3, skipped: 3, failed: 0 });
    expect(result.objects.skippedByReason).toEqual({ archived: 3 });
  });
});
