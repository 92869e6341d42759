/**
 * Large objects across invocations: one object copied in a single (hypothetical, unlimited) invocation vs
 * across Lambda invocations of 900 s and 120 s, resuming from the progress record each time. Runs in the
 * in-memory S3 model (sim/) on a virtual clock, since no machine here can copy terabytes: server-side
 * copy speed is the model's assumption (100 MB/s per UploadPartCopy, tens of ms per small request), so
 * the TIMES are the model's; the REQUEST COUNTS and invocations are what the engine really sent, and the
 * cost is priced from them with cli/cost/prices.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { PRICES } from '../cli/cost/prices';
import { copyBatch } from '../functions/copy/copy-engine';
import { S3ProgressStore } from '../functions/copy/progress-record';
import { CopyTimeBudgetError } from '../functions/shared/errors';
import { FUNCTION_SIZING } from '../functions/shared/function-sizing';
import { type CopyInput, DEFAULT_OPTIONS, parseJob, S3_LIMITS, TiB } from '../functions/shared/job';
import { VirtualClock } from '../sim/clock';
import { sameContent } from '../sim/content';
import { awsLatency, seededRandom } from '../sim/limits';
import { S3Model } from '../sim/s3-model';
import { type BenchOptions, type BenchSection, round, runSectionFromCommandLine } from './harness';

const logger = new Logger({ serviceName: 'bench-resume', logLevel: 'SILENT' });
const KEY = 'huge/object.bin';
/** Reads and other GET-tier requests; everything else the copy sends is at the PUT tier (Abort is free). */
const GET_TIER = new Set(['HeadObject', 'GetObject', 'GetObjectTagging']);
const FREE = new Set(['AbortMultipartUpload']);

interface Outcome {
  invocations: number;
  requests: Record<string, number>;
  stateRequests: Record<string, number>;
  simulatedSeconds: number;
  lambdaSeconds: number;
  cpuSeconds: number;
}

/** Copies one object of `size` bytes with Lambda invocations of `timeoutMs` (Infinity: one invocation). */
async function copyAcross(size: number, timeoutMs: number): Promise<Outcome> {
  const cpuStarted = process.cpuUsage();
  const clock = new VirtualClock();
  const model = new S3Model({ clock, latency: awsLatency({ random: seededRandom(11), copyBytesPerSecond: 100e6 }) });
  const stateModel = new S3Model({ clock });
  for (const bucket of ['src', 'dst']) model.createBucket(bucket);
  stateModel.createBucket('state');
  model.seed('src', [{ key: KEY, size, origin: 'v1' }]);
  const listed = model.object('src', KEY);
  if (!listed) throw new Error('seed failed');
  const input: CopyInput = {
    job: parseJob({
      source: { bucket: 'src', prefix: '' },
      target: { bucket: 'dst', prefix: '' },
      filter: { include: [], exclude: [] },
      options: { ...DEFAULT_OPTIONS },
    }),
    jobId: 'bench-resume',
    batch: {
      id: 's0-b0',
      bytes: size,
      objects: [{ key: KEY, size, etag: listed.etag, lastModified: new Date(listed.lastModified).toISOString() }],
    },
  };
  const progress = new S3ProgressStore(stateModel.client(), 'state');
  const started = clock.now();
  let lambdaMs = 0;
  const invocations = await clock.run(async () => {
    for (let invocation = 1; invocation <= 1000; invocation++) {
      const begun = clock.now();
      const deadline = begun + timeoutMs;
      try {
        await copyBatch(input, {
          s3: model.client(),
          logger,
          progress,
          remainingTimeMs: () => (Number.isFinite(deadline) ? deadline - clock.now() : 365 * 24 * 3600_000),
          now: () => clock.now(),
          sleep: (ms) => clock.sleep(ms),
          random: seededRandom(invocation),
        });
        return invocation;
      } catch (error) {
        if (!(error instanceof CopyTimeBudgetError)) throw error;
      } finally {
        lambdaMs += clock.now() - begun;
      }
    }
    throw new Error('not finished after 1,000 invocations');
  });
  const target = model.object('dst', KEY);
  if (!target || !sameContent(target.content, listed.content)) throw new Error('the target does not hold the source');
  const cpu = process.cpuUsage(cpuStarted);
  return {
    invocations,
    requests: { ...model.stats.requests },
    stateRequests: { ...stateModel.stats.requests },
    simulatedSeconds: (clock.now() - started) / 1000,
    lambdaSeconds: lambdaMs / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

function requestCost(requests: Record<string, number>): number {
  let dollars = 0;
  for (const [operation, count] of Object.entries(requests)) {
    if (FREE.has(operation)) continue;
    dollars += count * (GET_TIER.has(operation) ? PRICES.s3.getHeadPerRequest : PRICES.s3.putCopyPostListPerRequest);
  }
  return dollars;
}

const dollars = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;

export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const cases: Array<{ size: number; timeoutMs: number; label: string }> = [
    { size: 5 * TiB, timeoutMs: Number.POSITIVE_INFINITY, label: '5 TiB, one invocation (no 15-min limit)' },
    { size: 5 * TiB, timeoutMs: 900_000, label: '5 TiB, 900 s invocations' },
    { size: 5 * TiB, timeoutMs: 120_000, label: '5 TiB, 120 s invocations' },
    ...(options.quick
      ? []
      : [
          {
            size: S3_LIMITS.maxObjectBytes,
            timeoutMs: Number.POSITIVE_INFINITY,
            label: '48.8 TiB (S3 maximum), one invocation (no 15-min limit)',
          },
          { size: S3_LIMITS.maxObjectBytes, timeoutMs: 900_000, label: '48.8 TiB (S3 maximum), 900 s invocations' },
        ]),
  ];
  const memoryGb = FUNCTION_SIZING.copy.memoryMB / 1024;
  const rows: BenchSection['rows'] = [];
  const totals: number[] = [];
  for (const entry of cases) {
    const outcome = await copyAcross(entry.size, entry.timeoutMs);
    const s3Dollars = requestCost(outcome.requests);
    const stateDollars = requestCost(outcome.stateRequests);
    const lambdaDollars =
      outcome.invocations * PRICES.lambda.perRequest +
      outcome.lambdaSeconds * memoryGb * PRICES.lambda.perGbSecond.arm64;
    // Each retry of the Copy task is one more state transition.
    const sfnDollars = (outcome.invocations - 1) * PRICES.stepFunctions.standardPerTransition;
    const total = s3Dollars + stateDollars + lambdaDollars + sfnDollars;
    totals.push(total);
    const stateRequests = Object.values(outcome.stateRequests).reduce((sum, n) => sum + n, 0);
    const otherRequests =
      Object.values(outcome.requests).reduce((sum, n) => sum + n, 0) - (outcome.requests.UploadPartCopy ?? 0);
    rows.push({
      case: entry.label,
      invocations: outcome.invocations,
      UploadPartCopy: outcome.requests.UploadPartCopy ?? 0,
      'other S3 requests': otherRequests,
      'record requests': stateRequests,
      'simulated h': round(outcome.simulatedSeconds / 3600),
      'S3 $': dollars(s3Dollars + stateDollars),
      'Lambda $': dollars(lambdaDollars),
      'Step Functions $': dollars(sfnDollars),
      'total $': dollars(total),
      'CPU s': round(outcome.cpuSeconds),
    });
  }
  const one = totals[0] ?? 0;
  const many = totals[1] ?? 0;
  return {
    title: 'Large object across invocations (S3 model): requests and cost of resuming',
    rows,
    notes: [
      "The in-memory S3 model (sim/) on a virtual clock: each UploadPartCopy takes part size / 100 MB/s, small requests tens of ms (log-normal). Times are the model's; request counts and invocations are what the engine sent. Prices: cli/cost/prices.ts (us-east-1). Lambda: 1 GiB arm64, billed for the simulated duration of each invocation.",
      'Default options: concurrency 32, part size 64 MiB raised to fit 10,000 parts (5 TiB: 525 MiB parts; 48.8 TiB: 5 GiB parts). Record requests: the progress record in the state bucket (a GET and a PUT per invocation, a PUT every 30 s of copying and one at each stop).',
      `Resuming costs what it records: every part is copied once in every case, so UploadPartCopy is the same whether the object takes one invocation or many; the extra is record requests and retries (5 TiB: ${dollars(many - one)} more across 900 s invocations than in one).`,
      'A single invocation over 15 minutes is not possible on Lambda: the "one invocation" rows are the lower bound resuming is compared with.',
    ],
    headline: `Large object across invocations (S3 model): ${rows[1]?.case}: ${rows[1]?.invocations} invocations, ${rows[1]?.['total $']} vs ${rows[0]?.['total $']} in one unlimited invocation; every part copied once.`,
  };
}

if (require.main === module) runSectionFromCommandLine('resume', run);
