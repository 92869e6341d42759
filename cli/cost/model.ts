/**
 * The cost model: prices a job from its counts (state transitions, Lambda invocations, S3 requests,
 * STS and SNS calls, Express child executions, S3 Batch Operations jobs) with the list prices in
 * ./prices.ts. Pure arithmetic, no I/O: the same function prices a local run's measured counts
 * (bench/) and a planned job's estimated counts (`s3xcopy estimate`, ./scenarios.ts).
 *
 * The figure is split in two, because they answer different questions:
 * - S3 requests: what the copy itself costs; any tool that copies the same objects pays about this much.
 * - orchestration: what the machinery around the requests costs (Step Functions, Lambda, STS, SNS,
 *   Batch Operations fees); this is where designs differ.
 * Not priced (the same for every design, or outside the copy): storage of the copies, data transfer
 * (free within a region; cross-region copies add $0.02/GB), KMS requests, CloudWatch Logs and metrics,
 * free tiers.
 */
import { PRICES } from './prices';

/** S3 request types the model prices, by the name S3's pricing page and our logs use. */
export const S3_REQUEST_TYPES = [
  'LIST',
  'GET',
  'HEAD',
  'PUT',
  'COPY',
  'UploadPartCopy',
  'CreateMultipartUpload',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'GetObjectTagging',
  'DELETE',
] as const;
export type S3RequestType = (typeof S3_REQUEST_TYPES)[number];

/** Which price tier each request type is billed at (see ./prices.ts for the sources). */
const S3_TIER: Record<S3RequestType, 'putTier' | 'getTier' | 'free'> = {
  LIST: 'putTier',
  PUT: 'putTier',
  COPY: 'putTier',
  UploadPartCopy: 'putTier',
  CreateMultipartUpload: 'putTier',
  CompleteMultipartUpload: 'putTier',
  GET: 'getTier',
  HEAD: 'getTier',
  GetObjectTagging: 'getTier',
  AbortMultipartUpload: 'free',
  DELETE: 'free',
};

/** The price of one request of `type` in us-east-1. */
export function s3RequestPrice(type: S3RequestType, prices = PRICES): number {
  const tier = S3_TIER[type];
  if (tier === 'putTier') return prices.s3.putCopyPostListPerRequest;
  if (tier === 'getTier') return prices.s3.getHeadPerRequest;
  return prices.s3.deletePerRequest;
}

/**
 * Maps an AWS SDK v3 S3 command name (`CopyObjectCommand`) to the request type it is billed as, or
 * undefined for commands the model does not price (bucket administration, which a copy job never runs).
 */
export function s3RequestTypeOfCommand(commandName: string): S3RequestType | undefined {
  const name = commandName.replace(/Command$/, '');
  const byCommand: Record<string, S3RequestType> = {
    ListObjectsV2: 'LIST',
    ListObjects: 'LIST',
    GetObject: 'GET',
    HeadObject: 'HEAD',
    PutObject: 'PUT',
    CopyObject: 'COPY',
    UploadPartCopy: 'UploadPartCopy',
    UploadPart: 'PUT',
    CreateMultipartUpload: 'CreateMultipartUpload',
    CompleteMultipartUpload: 'CompleteMultipartUpload',
    AbortMultipartUpload: 'AbortMultipartUpload',
    GetObjectTagging: 'GetObjectTagging',
    DeleteObject: 'DELETE',
    DeleteObjects: 'DELETE',
  };
  return byCommand[name];
}

/** One Lambda function's use during a job. */
export interface LambdaUsage {
  /** Which function (list, copy, notify, ...), for the breakdown. */
  name: string;
  invocations: number;
  /**
   * Billed duration summed over all invocations, in milliseconds. Lambda bills each invocation rounded
   * up to 1 ms, so a sum of measured durations is exact to within a millisecond per invocation.
   */
  totalDurationMs: number;
  /** Configured memory; Lambda bills configured memory, not memory used. */
  memoryMb: number;
  /** Default arm64 (what infra/ deploys). */
  architecture?: 'arm64' | 'x86_64';
}

/** Express child executions (Distributed Map with ExecutionType EXPRESS). */
export interface ExpressUsage {
  executions: number;
  /**
   * Average duration of one execution. Billing rounds each execution up to 100 ms; the model rounds the
   * average, which is exact when executions last about the same time (batches of the same size do).
   */
  averageDurationMs: number;
  /** Memory the execution used (definition + payloads), billed in 64 MB chunks; a small workflow is 64 MB. */
  memoryMb: number;
}

/** What a job did, in the units AWS bills. Every count is optional and defaults to zero. */
export interface UsageCounts {
  /** Objects the job handled (copied or skipped): the denominator of the per-million figure. */
  objects: number;
  /**
   * Standard-workflow state transitions by state name, retries included. A Distributed Map's child
   * executions add one transition each when they start (count them under any name, e.g. `MapChildStart`).
   */
  stateTransitions?: Record<string, number>;
  lambda?: LambdaUsage[];
  s3Requests?: Partial<Record<S3RequestType, number>>;
  stsCalls?: number;
  snsPublishes?: number;
  expressExecutions?: ExpressUsage;
  /** S3 Batch Operations: jobs created and object operations performed. */
  batchOperations?: { jobs: number; objects: number };
  /** SQS requests (SendMessage, ReceiveMessage, DeleteMessageBatch), each 64 KB chunk one request. */
  sqsRequests?: number;
  /** EventBridge Pipes requests (events read from the source). */
  pipeRequests?: number;
  /** EventBridge events billed on ingestion (S3's opt-in data events; AWS management events are free). */
  eventBridgeEvents?: number;
}

/** A job's price, in US dollars, split into S3 requests and orchestration. */
export interface CostBreakdown {
  s3Requests: { byType: Partial<Record<S3RequestType, number>>; total: number };
  orchestration: {
    stepFunctionsStandard: number;
    stepFunctionsExpress: number;
    lambdaRequests: number;
    lambdaDuration: number;
    sts: number;
    sns: number;
    batchOperations: number;
    /** SQS, Pipes and EventBridge: what carries events to the workflow (0 for jobs started otherwise). */
    sqs: number;
    pipes: number;
    eventBridge: number;
    total: number;
  };
  total: number;
  /** The same figures scaled to one million objects (total / objects * 1e6); 0 for a job of 0 objects. */
  perMillionObjects: { s3Requests: number; orchestration: number; total: number };
}

function nonNegative(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

/** GB-seconds billed for `durationMs` at `memoryMb` (Lambda and Step Functions use 1 GB = 1024 MB). */
export function gbSeconds(durationMs: number, memoryMb: number): number {
  return (durationMs / 1000) * (memoryMb / 1024);
}

/**
 * Prices a job's counts with the list prices (default: ./prices.ts).
 * @throws RangeError when a count is negative or not finite (a bug in whatever counted).
 */
export function priceUsage(counts: UsageCounts, prices = PRICES): CostBreakdown {
  const objects = nonNegative(counts.objects, 'objects');

  const byType: Partial<Record<S3RequestType, number>> = {};
  let s3Total = 0;
  for (const type of S3_REQUEST_TYPES) {
    const requests = nonNegative(counts.s3Requests?.[type] ?? 0, `s3Requests.${type}`);
    if (requests === 0) continue;
    byType[type] = requests * s3RequestPrice(type, prices);
    s3Total += byType[type];
  }

  let transitions = 0;
  for (const [state, count] of Object.entries(counts.stateTransitions ?? {})) {
    transitions += nonNegative(count, `stateTransitions.${state}`);
  }
  const stepFunctionsStandard = transitions * prices.stepFunctions.standardPerTransition;

  let stepFunctionsExpress = 0;
  if (counts.expressExecutions) {
    const { executions, averageDurationMs, memoryMb } = counts.expressExecutions;
    nonNegative(executions, 'expressExecutions.executions');
    const rounding = prices.stepFunctions.expressDurationRoundingMs;
    const chunk = prices.stepFunctions.expressMemoryChunkMb;
    const billedMs =
      Math.ceil(nonNegative(averageDurationMs, 'expressExecutions.averageDurationMs') / rounding) * rounding;
    // At least one chunk: even an empty workflow is billed 64 MB.
    const billedMb = Math.max(1, Math.ceil(nonNegative(memoryMb, 'expressExecutions.memoryMb') / chunk)) * chunk;
    stepFunctionsExpress =
      executions * prices.stepFunctions.expressPerRequest +
      executions * gbSeconds(billedMs, billedMb) * prices.stepFunctions.expressPerGbSecond;
  }

  let lambdaRequests = 0;
  let lambdaDuration = 0;
  for (const usage of counts.lambda ?? []) {
    const invocations = nonNegative(usage.invocations, `lambda.${usage.name}.invocations`);
    const duration = nonNegative(usage.totalDurationMs, `lambda.${usage.name}.totalDurationMs`);
    const memory = nonNegative(usage.memoryMb, `lambda.${usage.name}.memoryMb`);
    lambdaRequests += invocations * prices.lambda.perRequest;
    lambdaDuration += gbSeconds(duration, memory) * prices.lambda.perGbSecond[usage.architecture ?? 'arm64'];
  }

  const sts = nonNegative(counts.stsCalls ?? 0, 'stsCalls') * prices.sts.perRequest;
  const sns = nonNegative(counts.snsPublishes ?? 0, 'snsPublishes') * prices.sns.publishPerRequest;
  const batch = counts.batchOperations;
  const batchOperations = batch
    ? nonNegative(batch.jobs, 'batchOperations.jobs') * prices.batchOperations.perJob +
      nonNegative(batch.objects, 'batchOperations.objects') * prices.batchOperations.perObject
    : 0;

  const sqs = nonNegative(counts.sqsRequests ?? 0, 'sqsRequests') * prices.sqs.perRequest;
  const pipes = nonNegative(counts.pipeRequests ?? 0, 'pipeRequests') * prices.pipes.perRequest;
  const eventBridge =
    nonNegative(counts.eventBridgeEvents ?? 0, 'eventBridgeEvents') * prices.eventBridge.optInDataEventPerEvent;
  const orchestrationTotal =
    stepFunctionsStandard +
    stepFunctionsExpress +
    lambdaRequests +
    lambdaDuration +
    sts +
    sns +
    batchOperations +
    sqs +
    pipes +
    eventBridge;
  const total = s3Total + orchestrationTotal;
  const perMillion = (value: number) => (objects > 0 ? (value / objects) * 1_000_000 : 0);
  return {
    s3Requests: { byType, total: s3Total },
    orchestration: {
      stepFunctionsStandard,
      stepFunctionsExpress,
      lambdaRequests,
      lambdaDuration,
      sts,
      sns,
      batchOperations,
      sqs,
      pipes,
      eventBridge,
      total: orchestrationTotal,
    },
    total,
    perMillionObjects: {
      s3Requests: perMillion(s3Total),
      orchestration: perMillion(orchestrationTotal),
      total: perMillion(total),
    },
  };
}

/** Formats dollars for tables: cents from $1 up ($5.05), 3 significant digits below ($0.0502, $0.0002). */
export function formatUsd(dollars: number): string {
  if (Math.abs(dollars) >= 1) return `$${dollars.toFixed(2)}`;
  return `$${Number(dollars.toPrecision(3))}`;
}
