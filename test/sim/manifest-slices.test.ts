/**
 * The list step of a manifest job, slice by slice, against the S3 model (the manifest is a large CSV, and
 * the time margin is forced so that every slice stops at its first check): the validate pass spans
 * several slices and writes no batch, a bad line near the end fails the job before any batch exists, and
 * the read pass resumes at byte offsets without losing or repeating a row.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Continuation, ListOutput } from '../../functions/list/contract';
import { type ListSliceParams, listSlice } from '../../functions/list/list-slice';
import { InvalidManifestError } from '../../functions/list/manifest';
import { type Batch, resolveJob } from '../../functions/shared/job';
import { S3Model } from '../../sim/s3-model';

const ROWS = 2500;
const keys = Array.from({ length: ROWS }, (_, i) => `data/k${String(i).padStart(5, '0')}`);

async function setup(lines: string[]) {
  const model = new S3Model();
  for (const bucket of ['src', 'dst', 'state']) model.createBucket(bucket);
  model.seed(
    'src',
    keys.map((key) => ({ key, size: 10 })),
  );
  const s3 = model.client();
  await s3.send(new PutObjectCommand({ Bucket: 'src', Key: 'lists/big.csv', Body: `${lines.join('\n')}\n` }));
  const params: ListSliceParams = {
    job: resolveJob({
      source: { bucket: 'src', prefix: 'data/', manifest: { bucket: 'src', key: 'lists/big.csv' } },
      target: { bucket: 'dst', prefix: 'copy/' },
    }),
    jobId: 'job-1',
    clients: { source: s3, target: async () => s3, state: s3 },
    stateBucket: 'state',
    // Always short of time: every slice stops at its first time check (each still makes progress).
    timeLeftMs: () => 0,
    marginMs: 1,
  };
  return { model, s3, params };
}

async function batchesOf(model: S3Model, output: ListOutput): Promise<Batch[]> {
  if (!output.manifest) return [];
  const response = await model
    .client()
    .send(new GetObjectCommand({ Bucket: output.manifest.bucket, Key: output.manifest.key }));
  return JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString());
}

describe('manifest slices (S3 model)', () => {
  it('validates in several slices that write nothing, then reads every row exactly once from byte offsets', async () => {
    // Prepare
    const { model, params } = await setup(keys.map((key) => `src,${key}`));

    // Act
    const outputs: ListOutput[] = [];
    let continuation: Continuation | null = null;
    do {
      const output = await listSlice({ ...params, continuation });
      outputs.push(output);
      continuation = output.continuation;
      if (outputs.length > 200) throw new Error('runaway slicing');
    } while (continuation);

    // Assess: the first three slices validate (1,000 rows per time check) and plan nothing
    const phases = outputs.map((output) => output.continuation?.manifest?.phase ?? 'done');
    expect(phases.slice(0, 3)).toEqual(['validate', 'validate', 'read']);
    expect(outputs.slice(0, 3).map((output) => output.manifest)).toEqual([null, null, null]);
    const planned = (await Promise.all(outputs.map((output) => batchesOf(model, output))))
      .flat()
      .flatMap((batch) => batch.objects.map((object) => object.key));
    expect(planned).toEqual(keys);
    expect(outputs.at(-1)?.totals).toMatchObject({ listed: ROWS, selected: ROWS, manifestRows: ROWS });
  });

  it('fails with the line number in a validate slice, before any slice planned a batch', async () => {
    // Prepare: line 2,400 names another bucket
    const lines = keys.map((key) => `src,${key}`);
    lines[2399] = 'elsewhere,data/k02399';
    const { model, params } = await setup(lines);

    // Act
    const outputs: ListOutput[] = [];
    let continuation: Continuation | null = null;
    let failure: unknown;
    try {
      do {
        const output = await listSlice({ ...params, continuation });
        outputs.push(output);
        continuation = output.continuation;
      } while (continuation);
    } catch (error) {
      failure = error;
    }

    // Assess
    expect(failure).toBeInstanceOf(InvalidManifestError);
    expect((failure as Error).message).toContain('s3://src/lists/big.csv line 2400 names bucket "elsewhere"');
    expect(outputs.map((output) => output.manifest)).toEqual([null, null]);
    expect(model.keys('state')).toEqual([]);
  });
});
