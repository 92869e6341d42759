/**
 * A copy job at AWS scale, simulated: the REAL list code, planner and copy engine run against the S3
 * model (sim/s3-model.ts) in virtual time, as the state machine would run them on AWS:
 * - the List step itself, slice after slice (listSlice, functions/list/list-slice.ts: the partitioned
 *   listing, batches planned from the rates the previous slice's copies measured and in whole rounds of
 *   the Map's MaxConcurrency, the manifest written to a state bucket); the next slice is listed once the
 *   previous Map run has ended, as in the ASL;
 * - a Distributed Map of `mapMaxConcurrency` child executions over the batches; each child is one copy
 *   invocation (copyBatch) on one of as many Lambda execution environments, each with its own S3 client
 *   (SDK standard retries, 3 attempts, emulated in virtual time), reused by its next batches;
 * - the ASL's Retry for a failed batch (CopyBatchError: 3 retries from 5 s, doubling, full jitter;
 *   CopyTimeBudgetError: 5 from 1 s, x1.5);
 * - S3's per-partition rates (503 SlowDown above them) and latencies (sim/limits.ts).
 * At the end every target object is checked against its source's content descriptor.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { type AdaptiveLimitOptions, adaptiveLimitOf } from '../functions/copy/adaptive-limit';
import { copyBatch } from '../functions/copy/copy-engine';
import type { Continuation } from '../functions/list/contract';
import { listSlice } from '../functions/list/list-slice';
import { combineRates } from '../functions/list/rate-plan';
import type { MeasuredRates } from '../functions/shared/copy-rates';
import { CopyBatchError, CopyTimeBudgetError } from '../functions/shared/errors';
import { type Batch, DEFAULT_OPTIONS, type Job, parseJob } from '../functions/shared/job';
import { VirtualClock } from './clock';
import { sameContent } from './content';
import { AWS_RATE_LIMITS, awsLatency, seededRandom } from './limits';
import { S3Model } from './s3-model';

export interface CopyScenario {
  objects: number;
  /** Keys spread evenly over this many first-level prefixes ("p0000/" ...): S3 partitions by prefix. */
  prefixes: number;
  objectBytes: number;
  /** Distributed Map MaxConcurrency: child executions (copy invocations) at once. */
  mapMaxConcurrency: number;
  /** The job's per-invocation concurrency (objects in flight in one copy invocation). */
  concurrency: number;
  /** AIMD on each worker's client (functions/copy/adaptive-limit.ts), or none (today's engine before it). */
  adaptive: boolean;
  /** AIMD settings when `adaptive` (default: DEFAULT_ADAPTIVE_LIMIT). */
  adaptiveOptions?: AdaptiveLimitOptions;
  sliceMaxObjects?: number;
  /** Objects per batch (the planner's cap; default DEFAULT_OPTIONS.maxObjectsPerBatch, 1,000). */
  maxObjectsPerBatch?: number;
  seed?: number;
  /** Lambda's time per invocation before the handler runs (scheduling, a warm start). */
  invokeOverheadMs?: number;
  /** options.listConcurrency: partitions the List step lists at once (default: the List step's, 32). */
  listConcurrency?: number;
  /**
   * Whether the List step knows the Map's MaxConcurrency and plans whole rounds of it, as deployed
   * (S3XCOPY_MAP_MAX_CONCURRENCY); false: the fewest batches, as before (default true).
   */
  planForMap?: boolean;
}

/** Where one slice's time went. */
export interface SliceTimeline {
  slice: number;
  objects: number;
  batches: number;
  /** The List step (listing, planning, the manifest). */
  listSeconds: number;
  /** The slice's Map run, first child started to last child ended. */
  copySeconds: number;
  /** Map children running, on average over the Map run (at most mapMaxConcurrency): the Map's tail. */
  meanChildren: number;
  /** CopyObject requests in flight, on average over the Map run (at most mapMaxConcurrency x concurrency). */
  meanCopiesInFlight: number;
}

export interface CopyOutcome {
  scenario: CopyScenario;
  /** Virtual seconds from the first listing to the last batch's end. */
  seconds: number;
  objectsPerSecond: number;
  /** Of `seconds`, the time spent listing (the List step runs between Map runs, not beside them). */
  listSeconds: number;
  /** ListObjectsV2 requests the List step sent. */
  listRequests: number;
  /** Objects per second while the Map runs were copying (listing left out). */
  copyObjectsPerSecond: number;
  /**
   * What S3 allows for these copies: 3,500 writes/s (CopyObject is a write on the target) per partition a
   * slice touches, weighted by the slice's objects. A listing in key order puts one prefix's keys in
   * the same slices, so a slice often touches one partition however many the bucket has.
   */
  s3LimitPerSecond: number;
  /** What the requests in flight allow at the model's mean copy latency: in flight / 34 ms. */
  concurrencyLimitPerSecond: number;
  copied: number;
  /** Objects whose copy failed after the engine's and the SDK's retries, counted on every batch attempt. */
  objectFailures: number;
  /** Objects still failed after the state machine's batch retries. */
  failedObjects: number;
  batchRetries: number;
  slowDowns: number;
  copyRequests: number;
  /** Copy requests beyond one per object: SDK retries, engine retries and whole batches run again. */
  retries: number;
  /** Of those, the SDK's own. */
  sdkRetries: number;
  /** Target objects whose content differs from their source's (must be 0). */
  contentMismatches: number;
  /** Mean AIMD window per worker at the end (adaptive runs): it grows back once the last batches run alone. */
  finalWindow?: number;
  /** Times the workers' AIMD windows were halved on a throttled attempt (adaptive runs). */
  windowDecreases?: number;
  /** Per slice: listing, Map run, and how full the Map and the copies kept their slots. */
  timeline: SliceTimeline[];
  wallSeconds: number;
}

const FINAL_LIMIT = 3;

/** The model's mean CopyObject time for an object of `bytes` (sim/limits.ts awsLatency's defaults). */
export function meanCopySeconds(bytes: number): number {
  return 0.03 * Math.exp(0.5 ** 2 / 2) + bytes / 100_000_000;
}

/** Runs one scenario to the end and measures it. */
export async function simulateCopy(scenario: CopyScenario): Promise<CopyOutcome> {
  // Hundreds of thousands of SlowDown errors are created and caught; their stack traces are a third of
  // the CPU time and nobody reads them. Restored below.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await simulate(scenario);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

async function simulate(scenario: CopyScenario): Promise<CopyOutcome> {
  const wallStarted = Date.now();
  const seed = scenario.seed ?? 1;
  const random = seededRandom(seed);
  const clock = new VirtualClock(Date.UTC(2026, 0, 1), 0, 60_000);
  const model = seededModel(scenario, clock, seed);
  const job = simulationJob(scenario);
  const listClient = model.client({ sdkRetries: { maxAttempts: 3 } });
  // One client per Lambda execution environment, reused by the batches it runs.
  const idle: S3Client[] = Array.from({ length: scenario.mapMaxConcurrency }, () =>
    model.client({ sdkRetries: { maxAttempts: 3 } }),
  );
  const workers = [...idle];
  const mapLimit = pLimit(scenario.mapMaxConcurrency);
  const children = new MapChildren(scenario, job, clock, random, idle);
  const timeline: SliceTimeline[] = [];

  const started = clock.now();
  let listMs = 0;
  // Seconds the slices would take at S3's limit: the limit of the whole job is objects / this.
  let secondsAtLimit = 0;
  await clock.run(async () => {
    let continuation: Continuation | null = null;
    let rates: MeasuredRates | undefined;
    let slice = 0;
    do {
      // The List step as deployed (functions/list/list-slice.ts): the partitioned listing, the rate plan,
      // planBatches and the manifest written to the state bucket.
      const listStarted = clock.now();
      const output = await listSlice({
        job,
        jobId: 'sim',
        continuation,
        clients: { source: listClient, target: async () => listClient, state: listClient },
        stateBucket: 'state',
        ...(rates ? { rates } : {}),
        ...(scenario.planForMap === false ? {} : { mapMaxConcurrency: scenario.mapMaxConcurrency }),
      });
      const listEnded = clock.now();
      listMs += listEnded - listStarted;
      continuation = output.continuation;
      if (!output.manifest) continue;
      // The Map Run's ItemReader reads the manifest; read here without virtual time (the model keeps its bytes).
      const body = model.object('state', output.manifest.key)?.body;
      if (!body) throw new Error(`simulation: slice ${slice} wrote no manifest at ${output.manifest.key}`);
      const batches = JSON.parse(Buffer.from(body).toString('utf8')) as Batch[];
      const partitions = new Set(
        batches.flatMap((batch) => batch.objects.map((object) => AWS_RATE_LIMITS.partitionOf(object.key))),
      ).size;
      secondsAtLimit += output.slice.objects / (partitions * AWS_RATE_LIMITS.writePerSecond);
      const measured: MeasuredRates[] = [];
      const childMsBefore = children.childMs;
      const copyBusyBefore = model.stats.busyMs.CopyObject ?? 0;
      await Promise.all(
        batches.map((batch) =>
          mapLimit(async () => {
            const batchRates = await children.run(batch);
            if (batchRates) measured.push(batchRates);
          }),
        ),
      );
      const copyMs = clock.now() - listEnded;
      timeline.push({
        slice,
        objects: output.slice.objects,
        batches: batches.length,
        listSeconds: (listEnded - listStarted) / 1000,
        copySeconds: copyMs / 1000,
        meanChildren: (children.childMs - childMsBefore) / copyMs,
        meanCopiesInFlight: ((model.stats.busyMs.CopyObject ?? 0) - copyBusyBefore) / copyMs,
      });
      // As the List handler does with the previous Map Run's results (functions/list/handler.ts).
      rates = combineRates(rates, measured);
      slice++;
    } while (continuation);
  });
  const seconds = (clock.now() - started) / 1000;
  return {
    ...measureOutcome(scenario, model, workers, children, { seconds, listMs, secondsAtLimit }),
    timeline,
    wallSeconds: (Date.now() - wallStarted) / 1000,
  };
}

/** The S3 model with AWS's limits and latency, its three buckets, and the scenario's objects in the source. */
function seededModel(scenario: CopyScenario, clock: VirtualClock, seed: number): S3Model {
  const model = new S3Model({
    clock,
    rateLimits: AWS_RATE_LIMITS,
    latency: awsLatency({ random: seededRandom(seed + 1) }),
    random: seededRandom(seed + 2),
  });
  model.createBucket('source');
  model.createBucket('target');
  model.createBucket('state');
  model.seed(
    'source',
    (function* () {
      for (let i = 0; i < scenario.objects; i++) {
        const prefix = `p${String(i % scenario.prefixes).padStart(4, '0')}/`;
        yield {
          key: `${prefix}obj-${String(Math.floor(i / scenario.prefixes)).padStart(8, '0')}`,
          size: scenario.objectBytes,
        };
      }
    })(),
  );
  return model;
}

/** The copy job the scenario runs: the whole source bucket into the target, with the scenario's options. */
function simulationJob(scenario: CopyScenario): Job {
  return parseJob({
    source: { bucket: 'source', prefix: '' },
    target: { bucket: 'target', prefix: '' },
    filter: { include: [], exclude: [] },
    options: {
      ...DEFAULT_OPTIONS,
      mode: 'copy',
      concurrency: scenario.concurrency,
      ...(scenario.sliceMaxObjects ? { sliceMaxObjects: scenario.sliceMaxObjects } : {}),
      ...(scenario.maxObjectsPerBatch ? { maxObjectsPerBatch: scenario.maxObjectsPerBatch } : {}),
      ...(scenario.listConcurrency ? { listConcurrency: scenario.listConcurrency } : {}),
    },
  });
}

/**
 * The Map's children: each copies one batch on an idle execution environment's client and is retried as
 * the ASL's Retry does. Counts what they copied, failed and retried, and the time they held Map slots.
 */
class MapChildren {
  objectFailures = 0;
  failedObjects = 0;
  batchRetries = 0;
  copied = 0;
  // Time Map children ran (the Map's slots in use), summed over children: the Map's own tail shows here.
  childMs = 0;
  private readonly logger = new Logger({ serviceName: 'copy-simulation', logLevel: 'SILENT' });
  private readonly overhead: number;

  constructor(
    private readonly scenario: CopyScenario,
    private readonly job: Job,
    private readonly clock: VirtualClock,
    private readonly random: () => number,
    private readonly idle: S3Client[],
  ) {
    this.overhead = scenario.invokeOverheadMs ?? 30;
  }

  /** One Map child: the batch copied, retried as the ASL's Retry does; returns what its copies measured. */
  async run(batch: Batch): Promise<MeasuredRates | undefined> {
    const childStarted = this.clock.now();
    try {
      return await this.attempts(batch);
    } finally {
      this.childMs += this.clock.now() - childStarted;
    }
  }

  private async attempts(batch: Batch): Promise<MeasuredRates | undefined> {
    const { clock, random, scenario } = this;
    let budgetRetries = 0;
    let failureRetries = 0;
    for (;;) {
      const s3 = this.idle.pop();
      if (!s3) throw new Error('simulation: more children than execution environments');
      let error: unknown;
      try {
        await clock.sleep(this.overhead);
        const deadline = clock.now() + 900_000;
        const result = await copyBatch(
          { job: this.job, jobId: 'sim', batch },
          {
            s3,
            logger: this.logger,
            remainingTimeMs: () => deadline - clock.now(),
            sleep: (ms) => clock.sleep(ms),
            now: () => clock.now(),
            random,
            adaptiveLimit: scenario.adaptive ? scenario.adaptiveOptions : false,
          },
        );
        this.copied += result.copied;
        return result.rates;
      } catch (caught) {
        error = caught;
      } finally {
        this.idle.push(s3);
      }
      if (error instanceof CopyBatchError) {
        this.objectFailures += error.failures.length;
        if (failureRetries >= FINAL_LIMIT) {
          this.failedObjects += error.failures.length;
          this.copied += batch.objects.length - error.failures.length;
          return undefined;
        }
        failureRetries++;
        this.batchRetries++;
        await clock.sleep(random() * Math.min(60_000, 5_000 * 2 ** (failureRetries - 1)));
      } else if (error instanceof CopyTimeBudgetError && budgetRetries < 5) {
        budgetRetries++;
        this.batchRetries++;
        await clock.sleep(random() * 1_000 * 1.5 ** (budgetRetries - 1));
      } else {
        throw error;
      }
    }
  }
}

/** The run's figures, read from the model and the children once every slice is done. */
function measureOutcome(
  scenario: CopyScenario,
  model: S3Model,
  workers: S3Client[],
  children: MapChildren,
  run: { seconds: number; listMs: number; secondsAtLimit: number },
): Omit<CopyOutcome, 'timeline' | 'wallSeconds'> {
  const { seconds, listMs, secondsAtLimit } = run;
  let contentMismatches = 0;
  for (const key of model.keys('source')) {
    const source = model.object('source', key);
    const target = model.object('target', key);
    if (!source || !target || !sameContent(source.content, target.content)) contentMismatches++;
  }
  const copyRequests = model.stats.requests.CopyObject ?? 0;
  const windows = workers.map((client) => adaptiveLimitOf(client)?.current).filter((w) => w !== undefined);
  const decreases = workers.map((client) => adaptiveLimitOf(client)?.stats.decreases).filter((d) => d !== undefined);
  return {
    scenario,
    seconds,
    objectsPerSecond: scenario.objects / seconds,
    listSeconds: listMs / 1000,
    listRequests: model.stats.requests.ListObjectsV2 ?? 0,
    copyObjectsPerSecond: scenario.objects / (seconds - listMs / 1000),
    s3LimitPerSecond: scenario.objects / secondsAtLimit,
    // The latency model is log-normal around 30 ms with sigma 0.5 (mean 30 x e^(0.125) = 34 ms), plus the
    // object's bytes at 100 MB/s (2.6 ms for 256 KiB).
    concurrencyLimitPerSecond:
      (scenario.mapMaxConcurrency * scenario.concurrency) / meanCopySeconds(scenario.objectBytes),
    copied: children.copied,
    objectFailures: children.objectFailures,
    failedObjects: children.failedObjects,
    batchRetries: children.batchRetries,
    slowDowns: model.stats.slowDowns,
    copyRequests,
    sdkRetries: model.stats.sdkRetries,
    retries: copyRequests - scenario.objects,
    contentMismatches,
    ...(windows.length > 0 ? { finalWindow: windows.reduce((a, b) => a + b, 0) / windows.length } : {}),
    ...(decreases.length > 0 ? { windowDecreases: decreases.reduce((a, b) => a + b, 0) } : {}),
  };
}
