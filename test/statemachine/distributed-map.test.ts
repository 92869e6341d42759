/**
 * The local Map Run (cli/runner/distributed-map.ts) on its own: concurrency, tolerated failures, PENDING
 * items, and the ResultWriter layout, with children that succeed or fail on demand.
 */
import { runDistributedMap } from '../../cli/runner/distributed-map';
import { applyTemplate, queryPath } from '../../cli/runner/paths';
import { assertNodeVersion } from '../../cli/runner/runner';
import type { ResultWriterEntry, ResultWriterManifest } from '../../functions/notify/results';
import { startTestS3, type TestS3 } from '../support/s3';

const BUCKET = 'map-state';
let s3: TestS3;

const mapState = (extra: Record<string, unknown> = {}) => ({
  Type: 'Map',
  ItemReader: {
    Resource: 'arn:aws:states:::s3:getObject',
    ReaderConfig: { InputType: 'JSON' },
    Parameters: { 'Bucket.$': '$.manifest.bucket', 'Key.$': '$.manifest.key' },
  },
  ItemSelector: { 'jobId.$': '$.jobId', 'item.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' },
  ResultWriter: {
    Resource: 'arn:aws:states:::s3:putObject',
    Parameters: { Bucket: BUCKET, 'Prefix.$': '$.prefix' },
  },
  ...extra,
});

async function manifestOf(items: unknown[], name: string) {
  await s3.put(BUCKET, `manifests/${name}.json`, JSON.stringify(items));
  return { manifest: { bucket: BUCKET, key: `manifests/${name}.json` }, jobId: name, prefix: `results/${name}` };
}

async function readJson<T>(key: string): Promise<T> {
  return JSON.parse((await s3.getBody(BUCKET, key)).toString()) as T;
}

const deps = (runChild: Parameters<typeof runDistributedMap>[2]['runChild']) => ({
  stateS3: s3.s3,
  runChild,
  context: { Execution: { Name: 'exec-1' } },
  stateMachineArn: 'arn:aws:states:local:111111111111:stateMachine:s3xcopy',
});

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(BUCKET);
});

afterAll(async () => {
  await s3?.stop();
});

describe('the local Map Run', () => {
  it('never runs more children at once than MaxConcurrency and shapes each input with ItemSelector', async () => {
    // Prepare
    const input = await manifestOf(
      Array.from({ length: 12 }, (_, i) => ({ n: i })),
      'concurrency',
    );
    let running = 0;
    let peak = 0;
    const seen: unknown[] = [];

    // Act
    await runDistributedMap(
      mapState({ MaxConcurrency: 3 }),
      input,
      deps(async (childInput) => {
        running++;
        peak = Math.max(peak, running);
        seen.push(childInput);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return { status: 'SUCCEEDED', output: { ok: true } };
      }),
    );

    // Assess
    expect(peak).toBe(3);
    expect(seen).toHaveLength(12);
    expect(seen).toContainEqual({ jobId: 'concurrency', item: { n: 7 }, index: 7 });
  });

  it('writes manifest.json and SUCCEEDED/FAILED files under <Prefix>/<mapRunId>/ and returns their location', async () => {
    // Prepare
    const input = await manifestOf([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }], 'layout');

    // Act
    const output = (await runDistributedMap(
      mapState({ ToleratedFailurePercentage: 50 }),
      input,
      deps(async (childInput) =>
        (childInput as { index: number }).index === 2
          ? { status: 'FAILED', error: 'CopyBatchError', cause: '{"errorMessage":"x"}' }
          : { status: 'SUCCEEDED', output: { copied: 1 } },
      ),
    )) as { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };

    // Assess
    expect(output.ResultWriterDetails.Bucket).toBe(BUCKET);
    expect(output.ResultWriterDetails.Key).toMatch(/^results\/layout\/[0-9a-f-]{36}\/manifest\.json$/);
    const manifest = await readJson<ResultWriterManifest>(output.ResultWriterDetails.Key);
    expect(manifest.MapRunArn).toBe(output.MapRunArn);
    const succeeded = await readJson<ResultWriterEntry[]>(manifest.ResultFiles.SUCCEEDED?.[0]?.Key as string);
    const failed = await readJson<ResultWriterEntry[]>(manifest.ResultFiles.FAILED?.[0]?.Key as string);
    expect(succeeded.map((e) => JSON.parse(e.Output as string))).toEqual([{ copied: 1 }, { copied: 1 }, { copied: 1 }]);
    expect(failed).toEqual([
      expect.objectContaining({ Status: 'FAILED', Error: 'CopyBatchError', Cause: '{"errorMessage":"x"}' }),
    ]);
    expect(JSON.parse(failed[0]?.Input as string)).toEqual({ jobId: 'layout', item: { n: 2 }, index: 2 });
    expect(manifest.ResultFiles.PENDING).toEqual([]);
  });

  it('writes only each child’s output with Transformation COMPACT, keeping full records for failed children', async () => {
    // Prepare
    const input = await manifestOf([{ n: 0 }, { n: 1 }, { n: 2 }], 'compact');
    const writer = { ...mapState().ResultWriter, WriterConfig: { Transformation: 'COMPACT', OutputType: 'JSON' } };

    // Act
    const output = (await runDistributedMap(
      mapState({ ResultWriter: writer, ToleratedFailurePercentage: 50 }),
      input,
      deps(async (childInput) => {
        const { index } = childInput as { index: number };
        return index === 1
          ? { status: 'FAILED', error: 'CopyBatchError', cause: 'one failed' }
          : { status: 'SUCCEEDED', output: { batchId: `b${index}`, copied: index + 1 } };
      }),
    )) as { ResultWriterDetails: { Key: string } };

    // Assess
    const manifest = await readJson<ResultWriterManifest>(output.ResultWriterDetails.Key);
    expect(await readJson<unknown[]>(manifest.ResultFiles.SUCCEEDED?.[0]?.Key as string)).toEqual([
      { batchId: 'b0', copied: 1 },
      { batchId: 'b2', copied: 3 },
    ]);
    const failed = await readJson<ResultWriterEntry[]>(manifest.ResultFiles.FAILED?.[0]?.Key as string);
    expect(failed).toEqual([
      expect.objectContaining({ Status: 'FAILED', Error: 'CopyBatchError', Cause: 'one failed' }),
    ]);
    expect(JSON.parse(failed[0]?.Input as string)).toEqual({ jobId: 'compact', item: { n: 1 }, index: 1 });
  });

  it('writes one value per line with OutputType JSONL, and splices array outputs in with FLATTEN', async () => {
    // Prepare
    const input = await manifestOf([{ n: 0 }, { n: 1 }], 'flatten');
    const writer = { ...mapState().ResultWriter, WriterConfig: { Transformation: 'FLATTEN', OutputType: 'JSONL' } };

    // Act
    const output = (await runDistributedMap(
      mapState({ ResultWriter: writer, MaxConcurrency: 1 }),
      input,
      deps(async (childInput) => ({ status: 'SUCCEEDED', output: [(childInput as { index: number }).index, 'x'] })),
    )) as { ResultWriterDetails: { Key: string } };

    // Assess
    const manifest = await readJson<ResultWriterManifest>(output.ResultWriterDetails.Key);
    const text = (await s3.getBody(BUCKET, manifest.ResultFiles.SUCCEEDED?.[0]?.Key as string)).toString();
    expect(text).toBe('0\n"x"\n1\n"x"\n');
  });

  it('refuses a WriterConfig AWS would reject before running any child', async () => {
    // Prepare
    const input = await manifestOf([{ n: 0 }], 'bad-writer');
    const writer = { ...mapState().ResultWriter, WriterConfig: { Transformation: 'SMALL', OutputType: 'JSON' } };
    let started = 0;

    // Act
    const run = runDistributedMap(
      mapState({ ResultWriter: writer }),
      input,
      deps(async () => {
        started++;
        return { status: 'SUCCEEDED', output: {} };
      }),
    );

    // Assess
    await expect(run).rejects.toThrow(/WriterConfig\.Transformation must be NONE, COMPACT or FLATTEN, not "SMALL"/);
    expect(started).toBe(0);
  });

  it('fails with States.ExceedToleratedFailureThreshold, still writing results, when failures pass the threshold', async () => {
    // Prepare
    const input = await manifestOf([{ n: 0 }, { n: 1 }, { n: 2 }], 'exceeded');
    const keysBefore = await s3.listKeys(BUCKET, 'results/exceeded/');

    // Act
    const run = runDistributedMap(
      mapState({ ToleratedFailurePercentage: 30 }),
      input,
      deps(async (childInput) =>
        (childInput as { index: number }).index === 0
          ? { status: 'FAILED', error: 'AssumeRoleError', cause: 'no' }
          : { status: 'SUCCEEDED', output: {} },
      ),
    );

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'States.ExceedToleratedFailureThreshold' });
    expect(keysBefore).toEqual([]);
    expect((await s3.listKeys(BUCKET, 'results/exceeded/')).some((k) => k.endsWith('/manifest.json'))).toBe(true);
  });

  it('stops starting children once the threshold is crossed and reports the rest as PENDING', async () => {
    // Prepare
    const input = await manifestOf(
      Array.from({ length: 5 }, (_, i) => ({ n: i })),
      'pending',
    );
    let started = 0;

    // Act
    const run = runDistributedMap(
      mapState({ MaxConcurrency: 1 }),
      input,
      deps(async () => {
        started++;
        return { status: 'FAILED', error: 'CopyBatchError', cause: 'x' };
      }),
    );

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'States.ExceedToleratedFailureThreshold' });
    expect(started).toBe(1);
    const manifestKey = (await s3.listKeys(BUCKET, 'results/pending/')).find((k) => k.endsWith('/manifest.json'));
    const manifest = await readJson<ResultWriterManifest>(manifestKey as string);
    expect(await readJson<ResultWriterEntry[]>(manifest.ResultFiles.PENDING?.[0]?.Key as string)).toHaveLength(4);
  });

  it('fails with States.ItemReaderFailed when the manifest is missing', async () => {
    // Act / Assess
    await expect(
      runDistributedMap(
        mapState(),
        { manifest: { bucket: BUCKET, key: 'manifests/none.json' }, prefix: 'results/none' },
        deps(async () => ({ status: 'SUCCEEDED', output: {} })),
      ),
    ).rejects.toMatchObject({
      name: 'States.ItemReaderFailed',
      message: expect.stringContaining('manifests/none.json'),
    });
  });
});

describe('the runner', () => {
  it('refuses Node versions older than 22, where aws-local-stepfunctions fails every Task', () => {
    // Act / Assess
    expect(() => assertNodeVersion('20.20.2')).toThrow(/Node\.js 22 or later \(this is 20\.20\.2\)/);
    expect(() => assertNodeVersion('24.21.0')).not.toThrow();
  });
});

describe('reference paths', () => {
  it('reads fields of the input and of the context', () => {
    // Act / Assess
    expect(queryPath('$.a.b', { a: { b: 3 } }, {})).toBe(3);
    expect(queryPath("$['odd key'][1]", { 'odd key': [0, 9] }, {})).toBe(9);
    expect(queryPath('$$.Map.Item.Index', {}, { Map: { Item: { Index: 4 } } })).toBe(4);
    expect(applyTemplate({ 'x.$': '$.a', fixed: { y: 1 } }, { a: 'v' }, {})).toEqual({ x: 'v', fixed: { y: 1 } });
  });

  it('fails loudly on a missing field or a path it does not evaluate', () => {
    // Act / Assess
    expect(() => queryPath('$.missing', {}, {})).toThrow(/no such field/);
    expect(() => queryPath('$..deep', {}, {})).toThrow(/only simple reference paths/);
  });
});
