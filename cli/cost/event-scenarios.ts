/**
 * What copying objects as S3 events announce them costs (`s3xcopy estimate --trigger s3-events`), per
 * design, against S3 Replication. Pure arithmetic over the same prices and assumptions as ./scenarios.ts.
 *
 * Designs:
 * - `event-direct-lambda`: what s3xcopy deploys (s3Events.delivery "lambda"): the bucket's own event
 *   notifications -> SQS -> an event source mapping -> the events function copies the batch itself
 *   (functions/events/). No Step Functions.
 * - `event-direct-lambda-eventbridge`: the same, fed by an EventBridge rule (s3Events.source "eventbridge"),
 *   which bills every S3 event as an opt-in data event.
 * - `event-pipe-workflow`: EventBridge -> SQS -> a Pipe -> one Standard execution of the whole workflow per
 *   batch (s3Events.delivery "pipe"), the path before the direct one.
 * - `s3-replication`: S3's own replication; no orchestration charge, but versioning on both buckets, keys
 *   unchanged, and Batch Replication for objects that existed before the rule.
 */
import { EVENTS_FUNCTION_SIZING } from '../../functions/shared/function-sizing';
import { DEFAULT_OPTIONS } from '../../functions/shared/job';
import { priceUsage, type S3RequestType, type UsageCounts } from './model';
import { PRICES } from './prices';
import {
  DEFAULT_ASSUMPTIONS,
  EVENT_DESIGNS,
  type EventDesign,
  type Scenario,
  type ScenarioAssumptions,
  s3xcopyRequestsPerObject,
} from './scenarios';

export { EVENT_DESIGNS, type EventDesign };

export const EVENT_DESIGN_TITLES: Record<EventDesign, string> = {
  'event-direct-lambda': 'S3 events -> SQS -> events function (s3xcopy)',
  'event-direct-lambda-eventbridge': 'S3 events via EventBridge -> SQS -> events function',
  'event-pipe-workflow': 'S3 events via EventBridge -> SQS -> Pipe -> workflow',
  's3-replication': 'S3 Replication',
};

/** The most events one execution or invocation takes (infra's s3Events.batchSize limit). */
export const MAX_EVENTS_PER_EXECUTION = 50;

/** A stream of S3 events to price: how many objects, their size, and how many arrive together. */
export interface PlannedEvents {
  objects: number;
  averageSizeBytes: number;
  /** Events per invocation (direct path) or per execution (pipe): 1 when each arrives alone. */
  eventsPerExecution: number;
  multipartThreshold?: number;
  partSize?: number;
}

/**
 * Standard transitions of one execution the pipe starts for one batch (statemachine/copy.asl.json, success
 * path, as the local runner counts them: test/cli/estimate-events.test.ts checks the figure against it), plus
 * the Distributed Map's one transition per child it starts and the child's Copy state.
 */
export const PIPE_EXECUTION_TRANSITIONS: Record<string, number> = {
  Init: 1,
  Start: 1,
  List: 1,
  Listed: 1,
  AnythingToCopy: 1,
  PrepareCopy: 1,
  CopyBatches: 1,
  MoreSlices: 1,
  DeletesRequested: 1,
  NotifySuccess: 1,
  Done: 1,
  MapChildStart: 1,
  'child:Copy': 1,
};

type Requests = Partial<Record<S3RequestType, number>>;

function times(requests: Requests, factor: number, into: Requests = {}): Requests {
  for (const [type, count] of Object.entries(requests) as Array<[S3RequestType, number]>) {
    if (count * factor > 0) into[type] = (into[type] ?? 0) + count * factor;
  }
  return into;
}

/**
 * SQS requests for `messages` messages consumed in batches of `perBatch`: one SendMessage each, and per
 * batch one ReceiveMessage and one DeleteMessageBatch per 10 messages (the most one call handles).
 */
export function sqsRequests(messages: number, perBatch: number): number {
  const batches = Math.ceil(messages / perBatch);
  const callsPerBatch = Math.ceil(perBatch / PRICES.sqs.messagesPerReceive);
  return messages + batches * 2 * callsPerBatch;
}

interface EventPlan {
  job: PlannedEvents;
  multipart: boolean;
  perObject: Requests;
  /** Milliseconds of S3 requests one object takes, one after another. */
  objectWorkMs: number;
  batches: number;
}

function planEvents(job: PlannedEvents, a: ScenarioAssumptions): EventPlan {
  for (const [name, value] of [
    ['objects', job.objects],
    ['eventsPerExecution', job.eventsPerExecution],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${name} must be a whole number >= 1, got ${value}`);
  }
  const threshold = job.multipartThreshold ?? DEFAULT_OPTIONS.multipartThreshold;
  const multipart = job.averageSizeBytes > threshold;
  const partSize = job.partSize ?? DEFAULT_OPTIONS.partSize;
  const partsPerObject = multipart ? Math.ceil(job.averageSizeBytes / partSize) : 0;
  // The events function checks the target (the sync rule), copies, and HEADs the source before and after.
  const perObject = times(s3xcopyRequestsPerObject({ multipart, partsPerObject, mode: 'sync', tags: 'copy' }), 1, {
    HEAD: 2,
  });
  const requestCount = Object.values(perObject).reduce((sum, count) => sum + (count ?? 0), 0);
  const objectWorkMs = requestCount * a.requestLatencyMs + (job.averageSizeBytes / a.copyBytesPerSecond) * 1000;
  return { job, multipart, perObject, objectWorkMs, batches: Math.ceil(job.objects / job.eventsPerExecution) };
}

function eventScenario(design: EventDesign, counts: UsageCounts, notes: string[]): Scenario {
  return {
    design,
    title: EVENT_DESIGN_TITLES[design],
    counts,
    cost: priceUsage(counts),
    // Events are copied as they arrive: the job has no wall clock of its own.
    estimatedWallClockSeconds: null,
    feasible: true,
    notes,
  };
}

function directLambda(p: EventPlan, a: ScenarioAssumptions, viaEventBridge: boolean): Scenario {
  const perBatch = p.job.eventsPerExecution;
  const invocationMs =
    a.invocationOverheadMs + Math.max(p.objectWorkMs, (perBatch * p.objectWorkMs) / DEFAULT_OPTIONS.concurrency);
  const counts: UsageCounts = {
    objects: p.job.objects,
    lambda: [
      {
        name: 'events',
        invocations: p.batches,
        totalDurationMs: p.batches * invocationMs,
        memoryMb: EVENTS_FUNCTION_SIZING.memoryMB,
        architecture: a.architecture,
      },
    ],
    s3Requests: times(p.perObject, p.job.objects),
    sqsRequests: sqsRequests(p.job.objects, perBatch),
    ...(viaEventBridge ? { eventBridgeEvents: p.job.objects } : {}),
    stsCalls: p.batches,
  };
  const notes = viaEventBridge
    ? ['as above, plus EventBridge, which bills S3 events as opt-in data events: $1.00 per million']
    : [
        `${p.batches} invocations of up to ${perBatch} event(s), ${EVENTS_FUNCTION_SIZING.memoryMB} MB each; no Step Functions`,
        'per object: HEAD source, HEAD target (a duplicate event is skipped), the copy, HEAD source again (a newer upload is copied again)',
        'SNS only for objects that failed on every delivery; reports/events/ in the state bucket only then',
      ];
  return eventScenario(viaEventBridge ? 'event-direct-lambda-eventbridge' : 'event-direct-lambda', counts, notes);
}

function pipeWorkflow(p: EventPlan, a: ScenarioAssumptions): Scenario {
  const perBatch = p.job.eventsPerExecution;
  const executions = p.batches;
  const transitions: Record<string, number> = {};
  for (const [state, count] of Object.entries(PIPE_EXECUTION_TRANSITIONS)) transitions[state] = count * executions;
  const copyMs =
    a.invocationOverheadMs + Math.max(p.objectWorkMs, (perBatch * p.objectWorkMs) / DEFAULT_OPTIONS.concurrency);
  // List HEADs every key (and the target, when it checks), writes the manifest; notify reads two results.
  const listMs = a.invocationOverheadMs + (perBatch / DEFAULT_OPTIONS.concurrency + 1) * a.requestLatencyMs;
  const notifyMs = a.invocationOverheadMs + 5 * a.requestLatencyMs;
  const lambda = (name: string, totalDurationMs: number, memoryMb: number) => ({
    name,
    invocations: executions,
    totalDurationMs,
    memoryMb,
    architecture: a.architecture,
  });
  // Per execution on the state bucket: manifest PUT, ItemReader GET, ResultWriter 2 PUTs, notify's LIST,
  // 2 GETs and the 2 report PUTs.
  const stateBucket: Requests = { PUT: 5, GET: 3, LIST: 1 };
  const counts: UsageCounts = {
    objects: p.job.objects,
    stateTransitions: transitions,
    lambda: [
      lambda('list', executions * listMs, a.lambdaMemoryMb.list),
      lambda('copy', executions * copyMs, a.lambdaMemoryMb.copy),
      lambda('notify', executions * notifyMs, a.lambdaMemoryMb.notify),
    ],
    s3Requests: times(stateBucket, executions, times(p.perObject, p.job.objects)),
    sqsRequests: sqsRequests(p.job.objects, perBatch),
    pipeRequests: p.job.objects,
    eventBridgeEvents: p.job.objects,
    stsCalls: 2 * executions,
    snsPublishes: executions,
  };
  const perExecution = Object.values(PIPE_EXECUTION_TRANSITIONS).reduce((sum, count) => sum + count, 0);
  return eventScenario('event-pipe-workflow', counts, [
    `${executions} Standard executions of ${perExecution} transitions and 3 Lambda invocations each`,
  ]);
}

function replication(p: EventPlan): Scenario {
  const counts: UsageCounts = { objects: p.job.objects, s3Requests: { PUT: p.job.objects } };
  return eventScenario('s3-replication', counts, [
    'no orchestration charge; one replication PUT per object at the target',
    'needs versioning on both buckets and keeps keys unchanged (no prefix mapping, no sync rule)',
    'objects that existed before the rule need S3 Batch Replication: $0.25 per job + $1.00 per million objects',
  ]);
}

/**
 * Prices every event design for a stream of S3 events, in EVENT_DESIGNS order.
 * @throws RangeError naming the field when objects or eventsPerExecution is not a whole number >= 1
 */
export function buildEventScenarios(
  job: PlannedEvents,
  assumptions: ScenarioAssumptions = DEFAULT_ASSUMPTIONS,
): Scenario[] {
  const p = planEvents(job, assumptions);
  return [
    directLambda(p, assumptions, false),
    directLambda(p, assumptions, true),
    pipeWorkflow(p, assumptions),
    replication(p),
  ];
}
