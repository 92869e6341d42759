/**
 * Runs the direct event path locally: S3 Object Created notifications, as the events queue would hold
 * them, handed to the real events handler in batches of `eventsPerInvocation`, as the SQS event source
 * mapping would. It counts what AWS would bill (cli/runner/stats.ts: invocations and their durations,
 * S3 and STS requests; no state transitions, since no execution runs), so the cost model can price a
 * measured run of this path beside the workflow's (`npm run bench:events`, test/cli/estimate-events.test.ts).
 */
// First: the events handler imports an ESM-only package (see esm-interop.ts).
import './esm-interop';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { STSClient } from '@aws-sdk/client-sts';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { WorkflowStarter } from '../../functions/events/hand-over';
import { createEventsHandler, type EventsBatchReport } from '../../functions/events/handler';
import { encodeFormUrl } from '../../functions/list/s3-url-encoding';
import { actingAs, recordCall } from '../../functions/shared/call-recorder';
import { createS3Client, createStsClient, type S3Endpoint } from '../../functions/shared/clients';
import { EVENTS_FUNCTION_SIZING } from '../../functions/shared/function-sizing';
import type { JobDefaults } from '../../functions/shared/job';
import { TargetClients } from '../../functions/shared/target-role';
import { localExecutionArn } from './local-machine';
import { type LocalRunOptions, type LocalRunResult, runLocal } from './runner';
import { countRequests, emptyStats, type RunStats } from './stats';

export interface EventsRunOptions {
  endpoint: S3Endpoint;
  /** The deployment defaults (source, target, options), as the events function reads them from S3XCOPY_*. */
  defaults: JobDefaults;
  /** Keys that were created, one event each, in the order S3 announced them. */
  keys: string[];
  eventsPerInvocation: number;
  /** The queue's maxReceiveCount (default 5, as infra deploys). */
  maxReceiveCount?: number;
  /** STS for the target role (default: one for the endpoint's region); tests pass a stand-in. */
  sts?: STSClient;
  /**
   * Objects too large for one invocation go to the local machine (the real ASL, runLocal), as the deployed
   * function hands them to the state machine: `thresholdBytes` is s3Events.handOverSize; the rest are
   * passed to runLocal (a state bucket on the endpoint, where outputs go, retry intervals).
   */
  handOver?: { thresholdBytes?: number } & Pick<
    LocalRunOptions,
    'stateBucket' | 'outputDir' | 'retryIntervalMs' | 'logStream'
  >;
}

export interface EventsRunResult {
  stats: RunStats;
  /** Every invocation's ledger and failures, in order. */
  reports: EventsBatchReport[];
  /** SQS messages handed back for another delivery, summed over the invocations. */
  retried: number;
  /** The local executions objects were handed over to, by execution name, each run to its end. */
  workflows: Map<string, LocalRunResult>;
}

/**
 * Hands objects to the local machine as StartExecution hands them to the deployed one: at most one
 * execution per name (a second start of a name is "already handed over"), and the invocation does not
 * wait for it (StartExecution returns at once); `settle` waits for every execution started.
 */
export function localMachineStarter(
  options: Pick<EventsRunOptions, 'endpoint' | 'defaults' | 'handOver' | 'sts'>,
): WorkflowStarter & { settle(): Promise<Map<string, LocalRunResult>> } {
  const runs = new Map<string, Promise<LocalRunResult>>();
  const { thresholdBytes: _threshold, ...local } = options.handOver ?? {};
  return {
    async start(name, input) {
      // What the deployed function calls (S3XCOPY_RECORD_CALLS): StartExecution on the state machine.
      recordCall({
        identity: 'events',
        service: 'states',
        command: 'StartExecutionCommand',
        input: { name },
        outcome: 'ok',
      });
      if (runs.has(name)) return { started: false, execution: localExecutionArn(name) };
      // The local machine's own calls are the runner's, as in `s3xcopy run`, not the events function's.
      const run = actingAs('cli', () =>
        runLocal({
          ...local,
          ...(options.sts ? { sts: options.sts } : {}),
          input,
          endpoint: options.endpoint,
          defaults: options.defaults,
          executionName: name,
        }),
      );
      // Read by settle(); a failed run must not become an unhandled rejection before then.
      run.catch(() => undefined);
      runs.set(name, run);
      return { started: true, execution: localExecutionArn(name) };
    },
    async settle() {
      const settled = new Map<string, LocalRunResult>();
      for (const [name, run] of runs) settled.set(name, await run);
      return settled;
    },
  };
}

/** One S3 event notification as S3 sends it to a queue: a Records array, the key form-encoded. */
export function notificationMessage(bucket: string, key: string, index: number): SQSRecord {
  const encoded = encodeFormUrl(key);
  const body = {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: encoded, sequencer: index.toString(16).padStart(16, '0') } },
      },
    ],
  };
  return {
    messageId: `message-${index}`,
    receiptHandle: `receipt-${index}`,
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111111111111:s3xcopy-events',
    awsRegion: 'us-east-1',
  } as unknown as SQSRecord;
}

/** Logger and metrics that write nowhere: the run's figures are its stats. */
function silentObservability() {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const console = new Console({ stdout: sink, stderr: sink });
  const logger = new Logger({ serviceName: 's3xcopy-events', logLevel: 'WARN' });
  (logger as unknown as { console: unknown }).console = console;
  const metrics = new Metrics({ namespace: 's3xcopy', serviceName: 's3xcopy-events', logger: console });
  // Metrics writes its EMF lines through its own console, which the option above does not replace.
  (metrics as unknown as { console: unknown }).console = console;
  return { logger, metrics };
}

/**
 * Copies `keys` through the events handler, `eventsPerInvocation` events at a time, and returns what the
 * run counted. Each invocation's duration is its wall time here (no network: shorter than on AWS).
 */
export async function runEventsLocal(options: EventsRunOptions): Promise<EventsRunResult> {
  const stats = emptyStats({ events: EVENTS_FUNCTION_SIZING.memoryMB });
  stats.executions.parent = 0;
  const counted = (role: 'source' | 'target'): S3Endpoint => ({
    ...options.endpoint,
    configure: (client) => {
      options.endpoint.configure?.(client);
      countRequests(client, stats.s3[role]);
    },
  });
  const sts = options.sts ?? createStsClient(options.endpoint.region);
  countRequests(sts, stats.sts);
  const reports: EventsBatchReport[] = [];
  const targetClients = new TargetClients(sts, (credentials) =>
    createS3Client(counted('target'), credentials ? { credentials } : {}),
  );
  const starter = localMachineStarter(options);
  const thresholdBytes = options.handOver?.thresholdBytes;
  const handler = createEventsHandler({
    config: { defaults: options.defaults, notifyOnSuccess: true },
    handOver: { starter, ...(thresholdBytes === undefined ? {} : { thresholdBytes }) },
    targetClients,
    maxReceiveCount: options.maxReceiveCount ?? 5,
    observability: silentObservability(),
    onResult: (report) => reports.push(report),
  });
  const bucket = options.defaults.source?.bucket ?? '';
  const started = Date.now();
  let retried = 0;
  const lambda = stats.lambda.events as RunStats['lambda'][string];
  for (let start = 0; start < options.keys.length; start += options.eventsPerInvocation) {
    const records = options.keys
      .slice(start, start + options.eventsPerInvocation)
      .map((key, offset) => notificationMessage(bucket, key, start + offset));
    const invoked = Date.now();
    const deadline = invoked + EVENTS_FUNCTION_SIZING.timeoutSeconds * 1000;
    const context = { awsRequestId: `local-${start}`, getRemainingTimeInMillis: () => deadline - Date.now() };
    const response = await actingAs('events', () => handler({ Records: records } as SQSEvent, context as never));
    const ms = Date.now() - invoked;
    lambda.invocations++;
    lambda.durationsMs.push(ms);
    lambda.totalMs += ms;
    retried += response.batchItemFailures.length;
  }
  stats.durationMs = Date.now() - started;
  return { stats, reports, retried, workflows: await starter.settle() };
}
