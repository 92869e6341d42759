/**
 * Flat costs: `s3xcopy run` (the CLI in a fresh process: runner, ASL, handlers, state store) at growing job
 * sizes, with every S3 request answered by the in-memory S3 model (bench/run-on-model.ts), so the
 * figures are s3xcopy's own time per object and memory, not a server's. Peak RSS is the child's VmHWM.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { type BenchOptions, type BenchSection, mib, ratio, round, runSectionFromCommandLine } from './harness';

const CHILD = path.join(__dirname, 'run-on-model.ts');
const TIME_GOAL = 1.2;

interface ChildResult {
  objects: number;
  sliceMaxObjects: number | null;
  exitCode: number;
  seconds: number;
  peakRssBytes: number;
  seededRssBytes: number;
  copied: number;
  modelRequests: number;
}

/** The job's default slice (functions/shared/job.ts DEFAULT_OPTIONS.sliceMaxObjects). */
const DEFAULT_SLICE = 100_000;

function runChild(objects: number, sliceMaxObjects?: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CHILD, String(objects), ...(sliceMaxObjects ? [String(sliceMaxObjects)] : [])],
      { timeout: 900_000, maxBuffer: 64 * 2 ** 20 },
      (error, _stdout, stderr) => {
        const line = stderr.trim().split('\n').pop() ?? '';
        try {
          const result = JSON.parse(line) as ChildResult;
          if (result.exitCode !== 0 || result.copied !== objects) {
            reject(new Error(`s3xcopy run of ${objects} objects: exit ${result.exitCode}, copied ${result.copied}`));
          } else resolve(result);
        } catch {
          reject(new Error(`bench/run-on-model.ts ${objects} failed: ${error?.message ?? ''} ${stderr.slice(-500)}`));
        }
      },
    );
  });
}

export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  // Time per object: jobs that fit the default slice. Memory bounded by the slice: the same objects in
  // small slices, so the job is many slices long.
  const sizes = options.quick ? [1_000, 5_000] : [2_000, 20_000, 100_000];
  const slice = options.quick ? 1_000 : 10_000;
  const sliced = options.quick ? [2_000, 5_000] : [20_000, 100_000];
  const results: ChildResult[] = [];
  for (const size of sizes) results.push(await runChild(size));
  const slicedResults: ChildResult[] = [];
  for (const size of sliced) slicedResults.push(await runChild(size, slice));
  const first = results[0] as ChildResult;
  const perObject = (r: ChildResult) => (r.seconds * 1000) / r.objects;
  const own = (r: ChildResult) => r.peakRssBytes - r.seededRssBytes;
  const last = results[results.length - 1] as ChildResult;
  const growth = perObject(last) / perObject(first);
  const slicedFirst = slicedResults[0] as ChildResult;
  const slicedLast = slicedResults[slicedResults.length - 1] as ChildResult;
  const rssGrowth = own(slicedLast) / own(slicedFirst);
  const rows = [...results, ...slicedResults].map((r) => ({
    objects: r.objects,
    'objects per slice': r.sliceMaxObjects ?? DEFAULT_SLICE,
    seconds: round(r.seconds),
    'ms per object': round(perObject(r)),
    'per-object time vs smallest': ratio(perObject(r), perObject(first)),
    'peak RSS MiB': mib(r.peakRssBytes),
    'RSS before the run MiB': mib(r.seededRssBytes),
    "s3xcopy's peak MiB": mib(own(r)),
    'S3 requests': r.modelRequests,
  }));
  return {
    title: 'Flat costs: s3xcopy run from 2,000 to 100,000 objects',
    rows,
    notes: [
      "Each row is one fresh `s3xcopy run --json` process (cli/main.ts through tsx) copying the objects of 1 KB under 100 prefixes; the S3 model answers every request in the same process, without latency, so the time is s3xcopy's own: listing, planning, the manifest, the local state machine and Distributed Map, the copy handler, the results. 'RSS before the run' is the process once the model holds the source objects and the code is loaded (after a full collection); 's3xcopy's peak' is the peak RSS (VmHWM) above it. The model's target objects (about 0.2 KB each) still count in it.",
      `Goal (issue 14): time per object grows <= ${TIME_GOAL}x from the smallest job to the largest: ${growth <= TIME_GOAL ? 'met' : 'not met'} (${ratio(perObject(last), perObject(first))}; the smallest job carries the fixed start-up).`,
      `Memory bounded by the slice: with ${slice.toLocaleString('en-US')} objects per slice, s3xcopy's peak is ${mib(own(slicedFirst))} MiB for ${slicedFirst.objects.toLocaleString('en-US')} objects and ${mib(own(slicedLast))} MiB for ${slicedLast.objects.toLocaleString('en-US')} (${ratio(own(slicedLast), own(slicedFirst))} for ${ratio(slicedLast.objects, slicedFirst.objects)} the objects; goal <= ${TIME_GOAL}x: ${rssGrowth <= TIME_GOAL ? 'met' : 'not met'}). A job that fits one slice holds that slice: the rows above grow with the job because their slice is the job.`,
    ],
    goals: [
      {
        goal: `3. \`s3xcopy run\` time per object, ${first.objects.toLocaleString('en-US')} to ${last.objects.toLocaleString('en-US')} objects`,
        target: `<= ${TIME_GOAL}x`,
        before: 'not measured',
        measured: `${ratio(perObject(last), perObject(first))} (${round(perObject(first))} to ${round(perObject(last))} ms)`,
        met: growth <= TIME_GOAL,
        holdsBack: 'per-object time grows with the job: see the rows above for where.',
      },
      {
        goal: `3. Peak RSS bounded by the slice (${slice.toLocaleString('en-US')}-object slices, ${slicedFirst.objects.toLocaleString('en-US')} to ${slicedLast.objects.toLocaleString('en-US')} objects)`,
        target: `<= ${TIME_GOAL}x`,
        before: '270 MB at 2,000, 610 MB at 20,000 (whole process)',
        measured: `${ratio(own(slicedLast), own(slicedFirst))} (s3xcopy's peak ${mib(own(slicedFirst))} to ${mib(own(slicedLast))} MiB)`,
        met: rssGrowth <= TIME_GOAL,
        holdsBack: 'memory grows with the job although slices are bounded: something outlives its slice.',
      },
    ],
    headline: `Flat costs: s3xcopy run took ${round(perObject(first))} ms per object at ${first.objects.toLocaleString('en-US')} objects and ${round(perObject(last))} ms at ${last.objects.toLocaleString('en-US')} (${ratio(perObject(last), perObject(first))}, goal <= ${TIME_GOAL}x); in ${slice.toLocaleString('en-US')}-object slices its peak memory was ${mib(own(slicedFirst))} MiB at ${slicedFirst.objects.toLocaleString('en-US')} objects and ${mib(own(slicedLast))} MiB at ${slicedLast.objects.toLocaleString('en-US')} (${ratio(own(slicedLast), own(slicedFirst))}).`,
    chart: {
      unit: 'ms per object',
      bars: results.map((r) => ({ label: `${r.objects.toLocaleString('en-US')} objects`, value: round(perObject(r)) })),
    },
  };
}

if (require.main === module) runSectionFromCommandLine('growth', run);
