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
  exitCode: number;
  seconds: number;
  peakRssBytes: number;
  copied: number;
  modelRequests: number;
}

function runChild(objects: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CHILD, String(objects)],
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
  const sizes = options.quick ? [1_000, 5_000] : [2_000, 20_000, 100_000];
  const results: ChildResult[] = [];
  for (const size of sizes) results.push(await runChild(size));
  const first = results[0] as ChildResult;
  const perObject = (r: ChildResult) => (r.seconds * 1000) / r.objects;
  const last = results[results.length - 1] as ChildResult;
  const growth = perObject(last) / perObject(first);
  const rows = results.map((r) => ({
    objects: r.objects,
    seconds: round(r.seconds),
    'ms per object': round(perObject(r)),
    'per-object time vs smallest': ratio(perObject(r), perObject(first)),
    'peak RSS MiB': mib(r.peakRssBytes),
    'S3 requests': r.modelRequests,
  }));
  return {
    title: 'Flat costs: s3xcopy run from 2,000 to 100,000 objects',
    rows,
    notes: [
      "Each row is one fresh `s3xcopy run --json` process (cli/main.ts through tsx) copying the objects of 1 KB under 100 prefixes; the S3 model answers every request in the same process, without latency, so the time is s3xcopy's own: listing, planning, the manifest, the local state machine and Distributed Map, the copy handler, the results. The model's own objects (about 0.5 KB each, source and target) are part of the RSS.",
      `Goal (issue 14): time per object grows <= ${TIME_GOAL}x from the smallest job to the largest: ${growth <= TIME_GOAL ? 'met' : 'not met'} (${ratio(perObject(last), perObject(first))}; the smallest job carries the fixed start-up). Peak RSS grows with the slice (all three jobs here fit one slice of 100,000 objects): ${mib(first.peakRssBytes)} MiB to ${mib(last.peakRssBytes)} MiB.`,
    ],
    headline: `Flat costs: s3xcopy run took ${round(perObject(first))} ms per object at ${first.objects.toLocaleString('en-US')} objects and ${round(perObject(last))} ms at ${last.objects.toLocaleString('en-US')} (${ratio(perObject(last), perObject(first))}, goal <= ${TIME_GOAL}x); peak RSS ${mib(first.peakRssBytes)} to ${mib(last.peakRssBytes)} MiB.`,
    chart: {
      unit: 'ms per object',
      bars: results.map((r) => ({ label: `${r.objects.toLocaleString('en-US')} objects`, value: round(perObject(r)) })),
    },
  };
}

if (require.main === module) runSectionFromCommandLine('growth', run);
