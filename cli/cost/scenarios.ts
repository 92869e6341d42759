/**
 * Scenario builders: turn a planned job (objects, average size, mode, batching and multipart settings)
 * into the counts each design would bill, then price them with ./model.ts. Pure arithmetic.
 *
 * Designs compared (docs/cost.md explains each assumption):
 * - `s3xcopy-standard`: s3xcopy as deployed; Standard parent, Distributed Map with Standard children,
 *   one child (one copy Lambda invocation) per batch of up to 1,250 objects (the default maxObjectsPerBatch).
 * - `s3xcopy-express`: the same with Express children (ExecutionType EXPRESS).
 * - `per-object-executions`: the same state machine without batching: one child execution and one
 *   Lambda invocation per object (what a naive "one execution per object" design pays).
 * - `sequential-lambda`: the original hand-written Lambda: lists, then one CopyObject per object in a loop,
 *   re-invoking itself every 15 minutes with a continuation.
 * - `s3-batch-operations`: one S3 Batch Operations Copy job over a manifest of the same objects.
 *
 * Every object is assumed to have the average size: a mix of sizes changes the multipart share and so
 * the request count; price a mix as the sum of one scenario per size class.
 */
import { choosePartSize } from '../../functions/copy/part-plan';
import { batchCount } from '../../functions/list/planner';
import { DEFAULT_LIST_CONCURRENCY, DEFAULT_OPTIONS, GiB } from '../../functions/shared/job';
import { type CostBreakdown, priceUsage, type S3RequestType, type UsageCounts } from './model';

/** ListObjectsV2 returns at most 1,000 keys a page. */
const KEYS_PER_LIST_PAGE = 1000;
/**
 * What the partitioned source listing (listConcurrency above 1, the default) asks beyond one page per
 * 1,000 keys: key ranges that turn out empty, and a slice's delimited pages that find its folders. Measured
 * by bench/sync-identity.bench.ts (`BENCH_SYNC_BREAKDOWN=1`): 1,000,000 keys in 100 folders of 10,000
 * listed the source in 1,204 requests: 2 ranges found empty per folder of 10 pages, and 2 delimited
 * pages and 2 empty ranges to find the folders (2,000 keys directly in one folder: 4 requests for 2 pages). The share per page depends on the layout (folders of exactly one page cost two requests each,
 * a folder of 100,000 keys about 1.1 a page; docs/scale.md); this is the figure of the mirror the
 * sync goal is priced on. test/unit/list-cost-estimate.test.ts holds the estimate to a run on the model.
 */
export const PARTITIONED_LISTING_EXTRA = { perPage: 0.2, perSlice: 2 };
/** CopyObject copies at most 5 GB (S3 limit); larger objects need a multipart copy. */
const COPY_OBJECT_MAX_BYTES = 5 * GiB;
/** Express workflows stop after 5 minutes. */
const EXPRESS_MAX_DURATION_MS = 5 * 60 * 1000;
/** S3 accepts about 3,500 PUT/COPY/POST requests a second per prefix; the wall clock assumes one prefix. */
const S3_WRITE_REQUESTS_PER_SECOND = 3500;
/** Lambda's maximum invocation time: the sequential Lambda runs in invocations of this length. */
const LAMBDA_MAX_DURATION_MS = 15 * 60 * 1000;

/** A job to estimate, in the terms the job options use (defaults: functions/shared/job.ts DEFAULT_OPTIONS). */
export interface PlannedJob {
  /** Objects selected for the job (listed and matched by the filters). */
  objects: number;
  averageSizeBytes: number;
  mode: 'copy' | 'sync';
  /** Sync only: the share of objects whose target differs (0..1) and so gets copied. Default 1, a first sync. */
  changedFraction?: number;
  maxObjectsPerBatch?: number;
  maxBytesPerBatch?: number;
  multipartThreshold?: number;
  partSize?: number;
  /** Requests in flight in one copy invocation. */
  concurrency?: number;
  sliceMaxObjects?: number;
  /** Source partitions listed at once (options.listConcurrency); 1 = one chain, with no extra requests. */
  listConcurrency?: number;
  /** Whether multipart copies carry the source's tags over (one GetObjectTagging each). Default 'copy'. */
  tags?: 'copy' | 'none';
  /** Which copies are checked afterwards (functions/copy/verify-copy.ts). Default 'multipart'. */
  verify?: 'multipart' | 'all' | 'none';
}

/**
 * Timing and deployment assumptions. The S3 figures are typical same-region latencies and server-side copy
 * rates, not guarantees; they only move the Lambda and Express duration charges, which are a small part of
 * the total (docs/cost.md shows how little).
 */
export interface ScenarioAssumptions {
  /** One S3 request that moves no data (HEAD, CreateMultipartUpload, Complete, a tiny COPY). */
  requestLatencyMs: number;
  /** One ListObjectsV2 page of 1,000 keys. */
  listPageMs: number;
  /** Server-side copy rate of one CopyObject or UploadPartCopy request. */
  copyBytesPerSecond: number;
  /** Per invocation: runtime start amortised, STS AssumeRole, parsing the input. */
  invocationOverheadMs: number;
  lambdaMemoryMb: { list: number; copy: number; notify: number };
  architecture: 'arm64' | 'x86_64';
  /** Child executions running at once (infra's mapMaxConcurrency). */
  mapMaxConcurrency: number;
  /** Memory an Express child uses: a one-state workflow with a < 256 KiB payload fits the first 64 MB chunk. */
  expressChildMemoryMb: number;
  /** Express child time beyond its Lambda invocation (starting, invoking, returning). */
  expressChildOverheadMs: number;
}

export const DEFAULT_ASSUMPTIONS: ScenarioAssumptions = {
  requestLatencyMs: 60,
  listPageMs: 150,
  copyBytesPerSecond: 100 * 1e6,
  invocationOverheadMs: 100,
  lambdaMemoryMb: { list: 1024, copy: 1024, notify: 256 },
  architecture: 'arm64',
  mapMaxConcurrency: 40,
  expressChildMemoryMb: 64,
  expressChildOverheadMs: 100,
};

export const DESIGNS = [
  's3xcopy-standard',
  's3xcopy-express',
  'per-object-executions',
  'sequential-lambda',
  's3-batch-operations',
] as const;
export type Design = (typeof DESIGNS)[number];

/**
 * The designs `estimate --trigger s3-events` prices (event-scenarios.ts builds them). Named here beside
 * DESIGNS so a Scenario can name either without this module importing event-scenarios.ts, which
 * imports this one.
 */
export const EVENT_DESIGNS = [
  'event-direct-lambda',
  'event-direct-lambda-eventbridge',
  'event-pipe-workflow',
  's3-replication',
] as const;
export type EventDesign = (typeof EVENT_DESIGNS)[number];

export const DESIGN_TITLES: Record<Design, string> = {
  's3xcopy-standard': 's3xcopy (Standard parent, Standard children)',
  's3xcopy-express': 's3xcopy (Standard parent, Express children)',
  'per-object-executions': 'one execution per object',
  'sequential-lambda': 'original sequential Lambda',
  's3-batch-operations': 'S3 Batch Operations',
};

/** One design's counts and price for a planned job. */
export interface Scenario {
  /** A design of DESIGNS, or of EVENT_DESIGNS (./event-scenarios.ts, `--trigger s3-events`). */
  design: Design | EventDesign;
  title: string;
  counts: UsageCounts;
  cost: CostBreakdown;
  /**
   * Rough wall-clock time of the whole job under the assumptions (S3 request rate limits ignored); null
   * where AWS sets the pace (Batch Operations).
   */
  estimatedWallClockSeconds: number | null;
  /** False when the design cannot do this job (objects over 5 GB, Express batches over 5 minutes). */
  feasible: boolean;
  notes: string[];
}

/** The planned job with every default filled in and derived quantities computed once. */
interface Plan {
  job: Required<PlannedJob>;
  toCopy: number;
  multipart: boolean;
  partsPerObject: number;
  objectsPerBatch: number;
  batches: number;
  slices: number;
  /** Slices with at least one batch: each writes a manifest and runs the Distributed Map. */
  copySlices: number;
  sourceListPages: number;
  targetListPages: number;
  /** The partitioned listing's requests beyond sourceListPages (s3xcopy's own List step only). */
  partitionedListingExtra: number;
}

function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a whole number >= 1, got ${value}`);
}

function plan(input: PlannedJob, mapMaxConcurrency: number): Plan {
  const job: Required<PlannedJob> = {
    changedFraction: 1,
    maxObjectsPerBatch: DEFAULT_OPTIONS.maxObjectsPerBatch,
    maxBytesPerBatch: DEFAULT_OPTIONS.maxBytesPerBatch,
    multipartThreshold: DEFAULT_OPTIONS.multipartThreshold,
    partSize: DEFAULT_OPTIONS.partSize,
    concurrency: DEFAULT_OPTIONS.concurrency,
    sliceMaxObjects: DEFAULT_OPTIONS.sliceMaxObjects,
    listConcurrency: DEFAULT_LIST_CONCURRENCY,
    tags: DEFAULT_OPTIONS.tags,
    verify: DEFAULT_OPTIONS.verify,
    ...input,
  };
  requirePositiveInteger(job.objects, 'objects');
  if (!Number.isSafeInteger(job.averageSizeBytes) || job.averageSizeBytes < 0) {
    throw new RangeError(`averageSizeBytes must be a whole number >= 0, got ${job.averageSizeBytes}`);
  }
  if (!(job.changedFraction >= 0 && job.changedFraction <= 1)) {
    throw new RangeError(`changedFraction must be between 0 and 1, got ${job.changedFraction}`);
  }
  for (const name of [
    'maxObjectsPerBatch',
    'maxBytesPerBatch',
    'partSize',
    'concurrency',
    'sliceMaxObjects',
    'listConcurrency',
  ] as const) {
    requirePositiveInteger(job[name], name);
  }
  const toCopy = job.mode === 'sync' ? Math.round(job.objects * job.changedFraction) : job.objects;
  const multipart = job.averageSizeBytes > job.multipartThreshold;
  const partsPerObject = multipart
    ? Math.ceil(job.averageSizeBytes / choosePartSize(job.averageSizeBytes, job.partSize))
    : 0;
  // The planner closes a batch at maxObjectsPerBatch objects or maxBytesPerBatch bytes; an object larger
  // than the byte cap gets a batch of its own.
  const objectsPerBatch = Math.max(
    1,
    Math.min(job.maxObjectsPerBatch, Math.floor(job.maxBytesPerBatch / Math.max(1, job.averageSizeBytes))),
  );
  const slices = Math.ceil(job.objects / job.sliceMaxObjects);
  // The List step plans each slice's batches in whole rounds of the Map's MaxConcurrency once they are
  // more than one round (planBatches' parallelism): 100,000 small objects are 80 batches of 1,250 (two rounds of 40); 60,000 would be 48, rounded up to 80.
  const share = toCopy / job.objects;
  const sliceBatches = (sliceObjects: number) => {
    const copies = Math.round(sliceObjects * share);
    return Math.min(copies, batchCount(Math.ceil(copies / objectsPerBatch), mapMaxConcurrency));
  };
  const fullSlices = Math.floor(job.objects / job.sliceMaxObjects);
  const batches =
    fullSlices * sliceBatches(job.sliceMaxObjects) + sliceBatches(job.objects - fullSlices * job.sliceMaxObjects);
  const pages = (objects: number) => Math.max(slices, Math.ceil(objects / KEYS_PER_LIST_PAGE));
  return {
    job,
    toCopy,
    multipart,
    partsPerObject,
    objectsPerBatch,
    batches,
    slices,
    copySlices: Math.min(slices, batches),
    sourceListPages: pages(job.objects),
    // Sync lists the target prefix alongside the source; assume the target holds about as many objects.
    targetListPages: job.mode === 'sync' ? pages(job.objects) : 0,
    // A source that fits one page is one request, partitioned or not.
    partitionedListingExtra:
      job.listConcurrency > 1 && pages(job.objects) > slices
        ? Math.round(
            pages(job.objects) * PARTITIONED_LISTING_EXTRA.perPage + slices * PARTITIONED_LISTING_EXTRA.perSlice,
          )
        : 0,
  };
}

type Requests = Partial<Record<S3RequestType, number>>;

function addRequests(into: Requests, add: Requests, times = 1): Requests {
  for (const [type, count] of Object.entries(add) as Array<[S3RequestType, number]>) {
    // Leave out request types that did not happen, so counts read as what a job sends.
    if (count * times === 0) continue;
    into[type] = (into[type] ?? 0) + count * times;
  }
  return into;
}

/**
 * The S3 requests the copy engine (functions/copy/*) makes for one object it copies:
 * sync mode first HEADs the target (the listing may be minutes old); up to the multipart threshold one
 * CopyObject; above it HEAD source (metadata), one HEAD per part of the source (PartNumber: its layout,
 * replayed so the target keeps the source's ETag, functions/copy/source-layout.ts; the source is taken to
 * have been uploaded in parts of the job's part size), GetObjectTagging (when tags are copied),
 * CreateMultipartUpload, one UploadPartCopy per part and CompleteMultipartUpload. The check after the
 * copy (verify-copy.ts, on for multipart copies by default) adds a HEAD of the target and, with tags
 * copied, GetObjectTagging of source and target; for a single-request copy also a HEAD of the source.
 * Repairs (PutObjectTagging) happen only where a server dropped tags and are not counted.
 */
export function s3xcopyRequestsPerObject(p: {
  multipart: boolean;
  partsPerObject: number;
  mode: 'copy' | 'sync';
  tags: 'copy' | 'none';
  verify?: 'multipart' | 'all' | 'none';
}): Requests {
  const requests: Requests = p.mode === 'sync' ? { HEAD: 1 } : {};
  const verify = p.verify ?? DEFAULT_OPTIONS.verify;
  const verified = verify === 'all' || (verify === 'multipart' && p.multipart);
  const tagReads = p.tags === 'copy' ? 2 : 0;
  if (verified) addRequests(requests, { HEAD: p.multipart ? 1 : 2, GetObjectTagging: tagReads });
  if (!p.multipart) return addRequests(requests, { COPY: 1 });
  return addRequests(requests, {
    HEAD: 1 + p.partsPerObject,
    ...(p.tags === 'copy' ? { GetObjectTagging: 1 } : {}),
    CreateMultipartUpload: 1,
    UploadPartCopy: p.partsPerObject,
    CompleteMultipartUpload: 1,
  });
}

/** Milliseconds of S3 request time one copied object takes, summed over its requests (its share of a batch). */
function objectWorkMs(p: Plan, a: ScenarioAssumptions): number {
  const syncHead = p.job.mode === 'sync' ? a.requestLatencyMs : 0;
  const transfer = (bytes: number) => a.requestLatencyMs + (bytes / a.copyBytesPerSecond) * 1000;
  if (!p.multipart) return syncHead + transfer(p.job.averageSizeBytes);
  const control = (p.job.tags === 'copy' ? 4 : 3) * a.requestLatencyMs;
  return syncHead + control + p.partsPerObject * transfer(p.job.averageSizeBytes / p.partsPerObject);
}

/** Wall time of one copied object when it has the invocation to itself (its parts run in parallel). */
function objectWallMs(p: Plan, a: ScenarioAssumptions): number {
  if (!p.multipart) return objectWorkMs(p, a);
  const syncHead = p.job.mode === 'sync' ? a.requestLatencyMs : 0;
  const control = (p.job.tags === 'copy' ? 4 : 3) * a.requestLatencyMs;
  const rounds = Math.ceil(p.partsPerObject / p.job.concurrency);
  return (
    syncHead +
    control +
    rounds * (a.requestLatencyMs + (p.job.averageSizeBytes / p.partsPerObject / a.copyBytesPerSecond) * 1000)
  );
}

/** Duration of one copy invocation over `objects` objects at the job's concurrency. */
function copyInvocationMs(p: Plan, a: ScenarioAssumptions, objects: number): number {
  const parallel = (objects * objectWorkMs(p, a)) / p.job.concurrency;
  return a.invocationOverheadMs + Math.max(objectWallMs(p, a), parallel);
}

/** The list function's invocations (one per slice) and their total duration. */
function listUsage(p: Plan, a: ScenarioAssumptions): { invocations: number; totalDurationMs: number } {
  const pages = p.sourceListPages + p.targetListPages;
  return {
    invocations: p.slices,
    // Each slice also writes its manifest part (one PUT).
    totalDurationMs: p.slices * a.invocationOverheadMs + pages * a.listPageMs + p.copySlices * a.requestLatencyMs,
  };
}

/**
 * Standard transitions of the parent (statemachine/copy.asl.json, success path): Init; per slice List,
 * AnythingToCopy, MoreSlices; per slice with batches PrepareCopy and CopyBatches; then NotifySuccess
 * (which runs on every success: it writes the reports) and Done. Every state entered is one transition.
 */
export function parentTransitions(slices: number, copySlices: number): Record<string, number> {
  return {
    Init: 1,
    List: slices,
    AnythingToCopy: slices,
    PrepareCopy: copySlices,
    CopyBatches: copySlices,
    MoreSlices: slices,
    NotifySuccess: 1,
    Done: 1,
  };
}

/**
 * S3 requests on the state bucket: the list function PUTs one manifest part per slice with batches, the
 * Distributed Map's ItemReader GETs it, and its ResultWriter PUTs a manifest.json and a SUCCEEDED_0.json
 * (2 PUTs a Map Run; a run with failures adds FAILED files, not counted). The notify function then lists
 * the job's results prefix (one page per 1,000 files; none when no slice had batches, since no Map Run
 * wrote any) and GETs both files of every Map Run to total them, and writes the job's two reports
 * (ledger.json and failures.jsonl) on every run. Each copy invocation PUTs its batch record
 * (batch-results/<jobId>/: the ledger's source when the ResultWriter writes no result file).
 */
function stateBucketRequests(copySlices: number, copyInvocations: number): Requests {
  const REPORT_PUTS = 2;
  return addRequests(
    {},
    {
      PUT: copySlices * 3 + REPORT_PUTS + copyInvocations,
      GET: copySlices * 3,
      LIST: copySlices === 0 ? 0 : Math.ceil((copySlices * 2) / 1000),
    },
  );
}

/** The listing's requests: one chain per side, plus the partitioned listing's extra with `partitioned` (s3xcopy's List step). */
function listingRequests(p: Plan, partitioned = false): Requests {
  return addRequests(
    {},
    { LIST: p.sourceListPages + p.targetListPages + (partitioned ? p.partitionedListingExtra : 0) },
  );
}

function scenario(
  design: Design,
  counts: UsageCounts,
  estimatedWallClockSeconds: number | null,
  feasible: boolean,
  notes: string[],
): Scenario {
  return {
    design,
    title: DESIGN_TITLES[design],
    counts,
    cost: priceUsage(counts),
    estimatedWallClockSeconds,
    feasible,
    notes,
  };
}

/**
 * Wall clock of a Distributed Map design: listing, then waves of `mapMaxConcurrency` children, but no
 * faster than S3's write request rate for one prefix allows.
 */
function mapWallClockSeconds(
  p: Plan,
  a: ScenarioAssumptions,
  children: number,
  childMs: number,
  requests: Requests,
): number {
  const list = listUsage(p, a).totalDurationMs / 1000;
  const writes =
    (requests.COPY ?? 0) +
    (requests.UploadPartCopy ?? 0) +
    (requests.CreateMultipartUpload ?? 0) +
    (requests.CompleteMultipartUpload ?? 0);
  const copy = Math.max(
    (Math.ceil(children / a.mapMaxConcurrency) * childMs) / 1000,
    writes / S3_WRITE_REQUESTS_PER_SECOND,
  );
  return list + copy;
}

function s3xcopy(p: Plan, a: ScenarioAssumptions, children: 'standard' | 'express' | 'per-object'): Scenario {
  const objectsPerChild = children === 'per-object' ? 1 : p.objectsPerBatch;
  const childCount = children === 'per-object' ? p.toCopy : p.batches;
  // Children are full batches except the last; price them all at the average batch's duration.
  const averageObjects = childCount > 0 ? p.toCopy / childCount : 0;
  const childMs = childCount > 0 ? copyInvocationMs(p, a, averageObjects) : 0;
  const list = listUsage(p, a);
  const notifyMs = a.invocationOverheadMs + a.requestLatencyMs;
  const requests = addRequests(
    addRequests(listingRequests(p, true), stateBucketRequests(p.copySlices, childCount)),
    s3xcopyRequestsPerObject({ ...p, ...p.job }),
    p.toCopy,
  );
  const transitions: Record<string, number> = {
    ...parentTransitions(p.slices, p.copySlices),
    // A Distributed Map is charged one transition for each child execution it starts.
    MapChildStart: childCount,
    ...(children === 'express' ? {} : { Copy: childCount }),
  };
  const counts: UsageCounts = {
    objects: p.job.objects,
    stateTransitions: transitions,
    lambda: [
      { name: 'list', ...list, memoryMb: a.lambdaMemoryMb.list, architecture: a.architecture },
      {
        name: 'copy',
        invocations: childCount,
        totalDurationMs: childCount * childMs,
        memoryMb: a.lambdaMemoryMb.copy,
        architecture: a.architecture,
      },
      {
        name: 'notify',
        invocations: 1,
        totalDurationMs: notifyMs,
        memoryMb: a.lambdaMemoryMb.notify,
        architecture: a.architecture,
      },
    ],
    s3Requests: requests,
    // Worst case: every list and copy invocation assumes the target role (a warm container reuses it).
    stsCalls: list.invocations + childCount,
    snsPublishes: 1,
    ...(children === 'express'
      ? {
          expressExecutions: {
            executions: childCount,
            averageDurationMs: childMs + a.expressChildOverheadMs,
            memoryMb: a.expressChildMemoryMb,
          },
        }
      : {}),
  };
  const notes: string[] = [];
  let feasible = true;
  if (children === 'express' && childMs + a.expressChildOverheadMs > EXPRESS_MAX_DURATION_MS) {
    feasible = false;
    notes.push(
      `an Express child must finish within 5 minutes; a batch of ${round(averageObjects)} objects takes about ${Math.round(childMs / 1000)} s: use Standard children or smaller batches (maxBytesPerBatch)`,
    );
  }
  if (children !== 'per-object') notes.push(`${childCount} batches of up to ${objectsPerChild} objects`);
  return scenario(
    children === 'standard' ? 's3xcopy-standard' : children === 'express' ? 's3xcopy-express' : 'per-object-executions',
    counts,
    mapWallClockSeconds(p, a, childCount, childMs, requests),
    feasible,
    notes,
  );
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function sequentialLambda(p: Plan, a: ScenarioAssumptions): Scenario {
  const feasible = p.job.averageSizeBytes <= COPY_OBJECT_MAX_BYTES;
  // One CopyObject per object, one at a time, whatever the size (it has no multipart path).
  const perObjectMs =
    (p.job.mode === 'sync' ? a.requestLatencyMs : 0) +
    a.requestLatencyMs +
    (p.job.averageSizeBytes / a.copyBytesPerSecond) * 1000;
  const workMs = (p.sourceListPages + p.targetListPages) * a.listPageMs + p.toCopy * perObjectMs;
  const invocations = Math.max(1, Math.ceil(workMs / (LAMBDA_MAX_DURATION_MS - a.invocationOverheadMs)));
  const counts: UsageCounts = {
    objects: p.job.objects,
    lambda: [
      {
        name: 'sequential-copy',
        invocations,
        totalDurationMs: workMs + invocations * a.invocationOverheadMs,
        memoryMb: a.lambdaMemoryMb.copy,
        architecture: a.architecture,
      },
    ],
    s3Requests: addRequests(listingRequests(p), p.job.mode === 'sync' ? { HEAD: 1, COPY: 1 } : { COPY: 1 }, p.toCopy),
    stsCalls: invocations,
  };
  const notes = [`${invocations} invocations of up to 15 minutes, one after another`];
  if (!feasible) notes.push('CopyObject cannot copy objects over 5 GB, and this design has no multipart path');
  return scenario('sequential-lambda', counts, (workMs + invocations * a.invocationOverheadMs) / 1000, feasible, notes);
}

function batchOperations(p: Plan): Scenario {
  const feasible = p.job.averageSizeBytes <= COPY_OBJECT_MAX_BYTES;
  const counts: UsageCounts = {
    objects: p.job.objects,
    // Building the manifest needs the same listing (both sides for a sync); the job then reads the
    // manifest (GET) and writes a completion report (PUT). Its Copy operation is one CopyObject per object.
    s3Requests: addRequests(addRequests(listingRequests(p), { PUT: 2, GET: 1 }), { COPY: 1 }, p.toCopy),
    batchOperations: { jobs: 1, objects: p.toCopy },
  };
  const notes = [
    'the job is billed per object in its manifest; it has no sync mode, so the manifest must hold only changed objects',
  ];
  if (!feasible) notes.push('its Copy operation uses CopyObject, which cannot copy objects over 5 GB');
  // No wall clock: AWS runs Batch Operations jobs at its own pace (they often take minutes to start).
  return scenario('s3-batch-operations', counts, null, feasible, notes);
}

/** Prices one design for a planned job. */
export function buildScenario(
  design: Design,
  job: PlannedJob,
  assumptions: ScenarioAssumptions = DEFAULT_ASSUMPTIONS,
): Scenario {
  const p = plan(job, assumptions.mapMaxConcurrency);
  switch (design) {
    case 's3xcopy-standard':
      return s3xcopy(p, assumptions, 'standard');
    case 's3xcopy-express':
      return s3xcopy(p, assumptions, 'express');
    case 'per-object-executions':
      return s3xcopy(p, assumptions, 'per-object');
    case 'sequential-lambda':
      return sequentialLambda(p, assumptions);
    case 's3-batch-operations':
      return batchOperations(p);
  }
}

/**
 * Prices every design for a planned job, in DESIGNS order.
 * @throws RangeError naming the field when the job is not a job (0 objects, a negative size, ...).
 */
export function buildScenarios(job: PlannedJob, assumptions: ScenarioAssumptions = DEFAULT_ASSUMPTIONS): Scenario[] {
  return DESIGNS.map((design) => buildScenario(design, job, assumptions));
}
