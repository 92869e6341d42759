import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { readMapRunRates } from '../notify/results';
import { BucketRegions, createS3Client, createStsClient, RegionalS3Clients, s3ClientFactory } from '../shared/clients';
import {
  assertDeploymentAllows,
  assertStateBucketApart,
  type DeploymentConfig,
  ENV,
  loadConfig,
} from '../shared/config';
import type { MeasuredRates } from '../shared/copy-rates';
import { errorMessage, InvalidJobError } from '../shared/errors';
import { describeIssues, type Job, type JobDefaults, resolveJob } from '../shared/job';
import { createObservability, type Observability } from '../shared/observability';
import { TargetClients } from '../shared/target-role';
import { ListEventSchema, type ListOutput, type PreviousMapRun, ZERO_TOTALS } from './contract';
import { DEFAULT_TIME_MARGIN_MS, listSlice } from './list-slice';
import { isDeletesEvent, runMirrorDeletes } from './mirror-deletes';
import { combineRates } from './rate-plan';
import { isEventsRequest, type ObjectRef, parseObjectCreatedEvents } from './s3-events';

export interface ListHandlerDeps {
  config: DeploymentConfig;
  /** Lists and HEADs the source bucket (the function's own role). */
  sourceS3: S3Client;
  /** The same, in the source bucket's region when it is not sourceS3's (deployed: regions known or discovered). */
  sourceClients?: RegionalS3Clients;
  /** Writes manifests to the state bucket (the function's own role). */
  stateS3: S3Client;
  /** Lists the target in sync mode, acting as the target role. */
  targetClients: TargetClients;
  observability?: Observability;
  /** Stop a slice when the Lambda has less than this left (default 60 s). */
  marginMs?: number;
}

/** The resolved job's size limit (functions/shared/job.ts, where resolveJob checks it). */
export { MAX_JOB_JSON_BYTES } from '../shared/job';

/** What the execution's original input asks for: a job, or the keys of a batch of S3 events. */
export interface ListRequest {
  job: Job;
  /** Keys mode only. */
  refs?: ObjectRef[];
  /** Keys mode: event batch items that named no created object, with why. */
  ignored: string[];
}

/**
 * Resolves the execution's original input into the job (deployment defaults merged in): a job as
 * given, or, for a batch of S3 events, the deployment's job restricted to the events' keys. Every slice
 * calls this again with the same input and gets the same result.
 * @throws InvalidJobError naming every bad field
 */
export function resolveListRequest(request: unknown, defaults: JobDefaults): ListRequest {
  const resolved: ListRequest = isEventsRequest(request)
    ? { job: resolveJob({}, defaults), ...parseObjectCreatedEvents(request) }
    : { job: resolveJob(request, defaults), ignored: [] };
  return resolved;
}

/**
 * The list function: one slice per invocation (see listSlice). Event:
 * `{ request, jobId, continuation?, previousMapRun? }`; output: ListOutput (DESIGN.md).
 */
export function createListHandler(deps: ListHandlerDeps) {
  const observability = deps.observability ?? createObservability('s3xcopy-list');
  const { logger, metrics } = observability;
  const marginMs = deps.marginMs ?? DEFAULT_TIME_MARGIN_MS;

  const list = async (event: unknown, context: Partial<Context> | undefined): Promise<ListOutput> => {
    // The state machine's final MirrorDeletes step sends its own event to this function.
    if (isDeletesEvent(event)) {
      // Only the MirrorDeletes state sends this event and reads a DeletesOutput (kind 'mirrorDeletes'); the
      // declared type stays the slice output every other caller gets.
      return (await mirrorDeletes(event, context, deps, logger, marginMs)) as unknown as ListOutput;
    }
    return await listOneSlice(event, context, deps, observability, marginMs);
  };

  return middy(list)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

type Logger = Observability['logger'];

/** Runs the mirror deletes (mirror-deletes.ts) and logs their ledger. */
async function mirrorDeletes(
  event: Parameters<typeof runMirrorDeletes>[0]['event'],
  context: Partial<Context> | undefined,
  deps: ListHandlerDeps,
  logger: Logger,
  marginMs: number,
) {
  const stateBucket = deps.config.stateBucket;
  if (!stateBucket) throw new Error(`${ENV.stateBucket} is not set: mirror deletes read their records from it`);
  const remaining = context?.getRemainingTimeInMillis;
  const output = await runMirrorDeletes({
    event,
    state: deps.stateS3,
    stateBucket,
    // The proof (a HEAD answering 404) is asked with this function's own role: it lists the source,
    // so S3 answers it 404 for a missing key (a role without s3:ListBucket gets 403, which proves nothing).
    source: async (job) => (deps.sourceClients ? await deps.sourceClients.clientFor(job.source.bucket) : deps.sourceS3),
    target: (job, jobId) => deps.targetClients.forTarget(job.target, jobId),
    ...(remaining ? { timeLeftMs: () => remaining.call(context) } : {}),
    marginMs,
  });
  const { failures: _named, refusedKeys: _refused, wouldDelete: _sample, ...ledger } = output;
  if (output.error) logger.error('Mirror deletes not all settled', { ...ledger, failures: output.failures });
  else logger.info('Mirror deletes', ledger);
  return output;
}

/** Validates a slice event, lists one slice of the source (listSlice) and reports what it found. */
async function listOneSlice(
  event: unknown,
  context: Partial<Context> | undefined,
  deps: ListHandlerDeps,
  { logger, metrics }: Observability,
  marginMs: number,
): Promise<ListOutput> {
  const parsed = ListEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidJobError(
      `the list function expects { request, jobId, continuation? } from the state machine: ${describeIssues(parsed.error)}`,
    );
  }
  const { request, jobId } = parsed.data;
  const continuation = parsed.data.continuation ?? null;
  logger.appendKeys({ jobId, slice: continuation?.slice ?? 0 });
  const stateBucket = deps.config.stateBucket;
  if (!stateBucket) {
    throw new Error(`${ENV.stateBucket} is not set: the list function needs the state bucket to write manifests to`);
  }

  const { job, refs, ignored } = resolveListRequest(request, deps.config.defaults);
  assertDeploymentAllows(job, deps.config);
  assertStateBucketApart(job, stateBucket);
  if (ignored.length > 0) {
    logger.warn('Ignored event batch items that name no created object', {
      count: ignored.length,
      first: ignored.slice(0, 20),
    });
  }
  const rates = await sliceRates(deps, logger, continuation?.rates, parsed.data.previousMapRun?.ResultWriterDetails);
  const remaining = context?.getRemainingTimeInMillis;
  const output = await listSlice({
    job,
    jobId,
    continuation,
    ...(refs ? { refs } : {}),
    clients: {
      source: deps.sourceClients ? await deps.sourceClients.clientFor(job.source.bucket) : deps.sourceS3,
      // The manifest's bucket may live in another region than the source.
      ...(job.source.manifest && deps.sourceClients
        ? { manifest: await deps.sourceClients.clientFor(job.source.manifest.bucket) }
        : {}),
      state: deps.stateS3,
      target: () => deps.targetClients.forBucket(job.target, jobId, job.target.bucket),
    },
    stateBucket,
    ...(remaining ? { timeLeftMs: () => remaining.call(context) } : {}),
    marginMs,
    ...(rates ? { rates } : {}),
    ...(deps.config.mapMaxConcurrency ? { mapMaxConcurrency: deps.config.mapMaxConcurrency } : {}),
  });

  const before = continuation?.totals ?? ZERO_TOTALS;
  metrics.addMetric('ObjectsListed', MetricUnit.Count, output.totals.listed - before.listed);
  metrics.addMetric('ObjectsSelected', MetricUnit.Count, output.totals.selected - before.selected);
  metrics.addMetric('ObjectsSkipped', MetricUnit.Count, output.totals.skipped - before.skipped);
  logger.info('Slice listed', {
    mode: job.options.mode,
    // Keys mode: keys named by the events, before those of other buckets or outside the prefix are dropped.
    ...(refs ? { eventKeys: refs.length } : {}),
    source: `s3://${job.source.bucket}/${job.source.prefix}`,
    slice: output.slice,
    totals: output.totals,
    manifest: output.manifest,
    plan: output.plan,
    more: output.continuation !== null,
    dryRun: output.dryRun,
  });
  return output;
}

/**
 * The previous slice's copies measured the server: plan this slice from them (rate-plan.ts), combined
 * with the rates the continuation carries.
 */
async function sliceRates(
  deps: ListHandlerDeps,
  logger: Logger,
  carried: MeasuredRates | undefined,
  previousMapRun: PreviousMapRun['ResultWriterDetails'] | undefined,
): Promise<MeasuredRates | undefined> {
  if (!previousMapRun) return carried;
  try {
    return combineRates(carried, await readMapRunRates(deps.stateS3, previousMapRun.Bucket, previousMapRun.Key));
  } catch (error) {
    // The rates only tune planning: without the last slice's, plan from the job's earlier ones (or the model).
    logger.warn("Could not read the previous slice's copy rates; planning from the earlier ones", {
      bucket: previousMapRun.Bucket,
      key: previousMapRun.Key,
      error: errorMessage(error),
    });
    return carried;
  }
}

function defaultDeps(): ListHandlerDeps {
  const config = loadConfig();
  const s3 = createS3Client({});
  // Buckets in other regions get a client of their own region (the SDK does not follow S3's redirects).
  const regions = new BucketRegions(config.bucketRegions);
  return {
    config,
    sourceS3: s3,
    sourceClients: new RegionalS3Clients((region) => createS3Client({ region }), regions, s3),
    stateS3: s3,
    targetClients: new TargetClients(createStsClient(), s3ClientFactory({}), undefined, undefined, regions),
  };
}

/** The Lambda entry point, with clients and configuration built once per cold start. */
export const handler = createListHandler(defaultDeps());
