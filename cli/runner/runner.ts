/**
 * The local runner: executes statemachine/copy.asl.json in-process with aws-local-stepfunctions and the
 * real list, copy and notify handlers, against any S3 endpoint (the embedded server, an S3-compatible
 * server, or AWS itself with the caller's credentials). `s3xcopy run`, `s3xcopy demo`, the state machine
 * tests and the benchmarks all go through `runLocal`.
 */
// First: the handlers import ESM-only packages, which require() resolves only with this hook.
import './esm-interop';
import { Console } from 'node:console';
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import { StateMachine } from 'aws-local-stepfunctions';
import { createCopyHandler } from '../../functions/copy/handler';
import type { ListOutput } from '../../functions/list/contract';
import { createListHandler } from '../../functions/list/handler';
import type { DeletesOutput } from '../../functions/list/mirror-deletes';
import { createNotifyHandler, type NotifyOutput, resultsPrefix } from '../../functions/notify/handler';
import { buildLedger, type LedgerBytes, type LedgerObjects } from '../../functions/notify/ledger';
import type { Notification } from '../../functions/notify/message';
import type { NotificationPublisher } from '../../functions/notify/publisher';
import { reportsPrefix } from '../../functions/notify/report-files';
import { aggregateResults, decodeCause, emptyResults } from '../../functions/notify/results';
import { actingAs, type CallIdentity, installCallRecorder, recordCall } from '../../functions/shared/call-recorder';
import { createS3Client, createStsClient, type S3Endpoint } from '../../functions/shared/clients';
import type { DeploymentConfig } from '../../functions/shared/config';
import { splitBatchResult } from '../../functions/shared/errors';
import { FUNCTION_SIZING } from '../../functions/shared/function-sizing';
import type { Batch, CopyFailure, CopyResult, Job, JobDefaults } from '../../functions/shared/job';
import type { Observability } from '../../functions/shared/observability';
import { TargetClients } from '../../functions/shared/target-role';
import { startEmbeddedS3 } from '../embedded-s3';
import {
  DEFAULT_SLICES_PER_EXECUTION,
  LocalExecutionStarter,
  type RequestedExecution,
  runChainedExecutions,
  startExecutionStates,
} from './continue-as-new';
import {
  type AslDefinition,
  type AslState,
  adaptForLocal,
  lambdaTaskStates,
  loadDefinition,
  type Placeholder,
  retryingStates,
} from './definition';
import { type ChildOutcome, runDistributedMap } from './distributed-map';
import { invokeLocal, type LocalFunction, type LocalHandler } from './lambda';
import { jobOpenUploads, openUploadsFile, settleOpenUploads } from './open-uploads';
import { SliceHeapGuard } from './slice-heap';
import { countRequests, emptyStats, increment, type RunStats } from './stats';

/** aws-local-stepfunctions needs Promise.withResolvers (Node 22+); on older Node every Task fails silently. */
export const MIN_NODE_MAJOR = 22;

/** Lambda settings the local run mimics: the deployed ones (the cost model prices the same memory). */
export const LOCAL_FUNCTIONS = FUNCTION_SIZING;
type FunctionName = keyof typeof LOCAL_FUNCTIONS;

/** The state bucket of the in-process store used when the run is given none. */
export const LOCAL_STATE_BUCKET = 's3xcopy-local-state';

/** What the runner reports while it runs. */
export type ProgressEvent =
  | {
      type: 'slice';
      number: number;
      objects: number;
      bytes: number;
      batches: number;
      totals: ListOutput['totals'];
      dryRun: boolean;
      more: boolean;
      /** The rates and batch limits the slice was planned with (functions/list/rate-plan.ts). */
      plan: ListOutput['plan'];
    }
  | { type: 'batch'; batchId: string; objects: number; bytes: number; result: CopyResult }
  | { type: 'batch-error'; batchId: string; error: string; message: string }
  | { type: 'retry'; state: string; attempt: number };

export interface LocalRunOptions {
  /** The execution input: a (partial) job, or a batch of S3 events (keys mode). */
  input: unknown;
  /** Where the source and target buckets are. */
  endpoint: S3Endpoint;
  /**
   * The deployment defaults the functions would read from their environment (S3XCOPY_*): source,
   * target, role and options. Keys mode (S3 events as input) takes its job from these.
   */
  defaults?: JobDefaults;
  /**
   * A bucket on `endpoint` for manifests and ResultWriter files. Without it, an in-process S3 store
   * holds them and the results are saved under `outputDir/results/`.
   */
  stateBucket?: string;
  /** Notifications, Lambda logs, results and stats.json go here (default: <tmpdir>/s3xcopy/<execution name>). */
  outputDir?: string;
  /** The execution name, which is also the job id (default: s3xcopy-<UTC time>-<random>). */
  executionName?: string;
  /** The Distributed Map's MaxConcurrency (${MapMaxConcurrency}; infra's default is the same). */
  mapMaxConcurrency?: number;
  /** Slices per execution before the job continues in a new one (${SlicesPerExecution}; infra's default is the same). */
  slicesPerExecution?: number;
  /** STS client for the target role (default: one for the endpoint's region); tests pass a mocked one. */
  sts?: STSClient;
  /** Where notifications go (default: the notifications file and `onNotification`). */
  publisher?: NotificationPublisher;
  onNotification?: (notification: Notification) => void;
  onProgress?: (event: ProgressEvent) => void;
  /** Wait this long before every retry instead of the ASL's backoff (tests use 0). */
  retryIntervalMs?: number;
  /** Extra setup for every S3 client the run makes (tests add fault injection here). */
  configureS3?: (client: S3Client, role: 'source' | 'target' | 'state') => void;
  /** Where Powertools logs of the handlers go (default: outputDir/lambda.log); never stdout. */
  logStream?: NodeJS.WritableStream;
  /** The ASL file (default statemachine/copy.asl.json). */
  definitionFile?: string;
  /** The copy function's timeout in seconds (default: the deployed 900): `s3xcopy run --invocation-timeout`. */
  copyTimeoutSeconds?: number;
}

export interface LocalRunResult {
  status: 'SUCCEEDED' | 'FAILED';
  executionArn: string;
  /** Every execution of the job, the first (executionArn) included: more than one when it continued as new. */
  executions: string[];
  jobId: string;
  /** The Fail state's error and (decoded) cause. */
  error?: { error: string; cause: string };
  /** The last List output: the resolved job and the listing totals. */
  list?: ListOutput;
  /** features (issue 13): the MirrorDeletes step's output, when the job deletes (options.delete). */
  deletes?: DeletesOutput;
  /**
   * The ledger (functions/notify/ledger.ts), built from the ResultWriter files exactly as Notify builds
   * it when deployed: selected = copied + skipped + failed + notAttempted.
   */
  objects: LedgerObjects;
  bytes: LedgerBytes;
  batches: { succeeded: number; failed: number; pending: number };
  /** Every failed key the results name, in batch order (each batch's last attempt). */
  failures: CopyFailure[];
  /** What Notify sent, when it ran. */
  notification?: NotifyOutput;
  /** Where the ResultWriter files are: s3://STATE_BUCKET/results/<jobId>/, or a local directory. */
  results?: string;
  /** Every failed key with its code (Notify's failures.jsonl): s3://STATE/reports/<jobId>/..., or the saved local copy. */
  failuresFile?: string;
  /**
   * Multipart uploads of this run or an earlier one still open after the run tried to abort them
   * (open-uploads.ts): `open` is 0 when none is; `file` lists them for the next run, which retries.
   */
  openUploads?: { open: number; file: string };
  outputDir: string;
  stats: RunStats;
}

/** @throws when Node is older than 22 (aws-local-stepfunctions would fail every Task, hidden by catchers). */
export function assertNodeVersion(version = process.versions.node): void {
  const major = Number(version.split('.')[0]);
  if (!(major >= MIN_NODE_MAJOR)) {
    throw new Error(
      `The local runner needs Node.js ${MIN_NODE_MAJOR} or later (this is ${version}): aws-local-stepfunctions uses ` +
        'Promise.withResolvers. Run it through npm (`npm start`, `npx s3xcopy`), which uses the Node 24 `npm install` brings.',
    );
  }
}

/** Records a call the Step Functions service makes as the state machine's role (S3XCOPY_RECORD_CALLS). */
function recordStateMachineCall(service: string, command: string, input: Record<string, string | boolean>): void {
  recordCall({ identity: 'stateMachine', service, command, input, outcome: 'ok' });
}

/** A new execution name: unique, sortable, and valid as an execution name and a jobId. */
export function newExecutionName(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `s3xcopy-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * Powertools Logger and Metrics for a handler run locally: same JSON lines and EMF documents as in
 * Lambda, written to `stream` (a log file) so stdout stays clean for --json.
 */
export function localObservability(serviceName: string, stream: NodeJS.WritableStream): Observability {
  const sink = new Console({ stdout: stream, stderr: stream });
  const logger = new Logger({ serviceName });
  (logger as unknown as { console: Console }).console = sink;
  const metrics = new Metrics({ namespace: 's3xcopy', serviceName, logger: sink });
  (metrics as unknown as { console: Console }).console = sink;
  return { logger, metrics };
}

function placeholderValues(
  stateBucket: string,
  mapMaxConcurrency: number,
  slicesPerExecution: number,
): Record<Placeholder, string> {
  const fn = (name: string) => `arn:aws:lambda:local:111111111111:function:s3xcopy-${name}`;
  return {
    ListFunctionArn: fn('list'),
    CopyFunctionArn: fn('copy'),
    NotifyFunctionArn: fn('notify'),
    StateBucket: stateBucket,
    MapMaxConcurrency: String(mapMaxConcurrency),
    SlicesPerExecution: String(slicesPerExecution),
  };
}

/**
 * A deep copy made in this realm. Not structuredClone: under Jest its objects come from another realm,
 * and aws-local-stepfunctions then stops treating nested payload templates as plain objects.
 */
function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

const definitionCache = new Map<string, AslDefinition>();

function loadCached(values: Record<Placeholder, string>, file?: string): AslDefinition {
  const cacheKey = JSON.stringify([values, file]);
  let definition = definitionCache.get(cacheKey);
  if (!definition) {
    definition = loadDefinition(values, file);
    definitionCache.set(cacheKey, definition);
  }
  return copyJson(definition);
}

async function drain(
  events: AsyncGenerator<{ type: string; state?: { name: string } }>,
  counts: Record<string, number>,
) {
  for await (const event of events) {
    if ((event.type === 'StateEntered' || event.type === 'StateRetried') && event.state) {
      increment(counts, event.state.name);
    }
  }
}

function errorOf(error: unknown): { name: string; message: string } {
  let current = error as { name?: string; message?: string; cause?: unknown } | undefined;
  // aws-local-stepfunctions wraps the state's error in an ExecutionError (error.cause).
  while (current && current.name === 'ExecutionError' && current.cause) {
    current = current.cause as typeof current;
  }
  return { name: current?.name ?? 'Error', message: current?.message ?? String(error) };
}

async function saveResults(s3: S3Client, bucket: string, prefix: string, directory: string): Promise<number> {
  let token: string | undefined;
  let saved = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const item of page.Contents ?? []) {
      if (!item.Key) continue;
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: item.Key }));
      const file = path.join(directory, ...item.Key.slice(prefix.length).split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await (response.Body as { transformToString(): Promise<string> }).transformToString());
      saved++;
    }
    token = page.NextContinuationToken;
  } while (token);
  return saved;
}

/**
 * Runs the state machine once, locally, with the real handlers.
 * @returns how the execution ended, the counts, the failures and the run's statistics; a FAILED
 *   execution resolves (with `error`), only a broken setup rejects
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  assertNodeVersion();
  const startedAt = Date.now();
  const executionName = options.executionName ?? newExecutionName();
  const outputDir = options.outputDir ?? path.join(tmpdir(), 's3xcopy', executionName);
  await mkdir(outputDir, { recursive: true });
  const stats = emptyStats(
    Object.fromEntries(Object.entries(LOCAL_FUNCTIONS).map(([name, settings]) => [name, settings.memoryMB])),
  );

  const ownedLog: WriteStream | undefined = options.logStream
    ? undefined
    : createWriteStream(path.join(outputDir, 'lambda.log'), { flags: 'a' });
  const logStream = options.logStream ?? (ownedLog as WriteStream);

  // The state store: a bucket the caller named on the endpoint, or a private in-process server.
  const localState = options.stateBucket ? undefined : await startEmbeddedS3();
  const stateBucket = options.stateBucket ?? LOCAL_STATE_BUCKET;
  const withCounting = (role: 'source' | 'target' | 'state', endpoint: S3Endpoint): S3Endpoint => ({
    ...endpoint,
    configure: (client) => {
      endpoint.configure?.(client);
      countRequests(client, stats.s3[role]);
      options.configureS3?.(client, role);
    },
  });
  const stateS3 = createS3Client(withCounting('state', localState?.endpoint ?? options.endpoint));
  const sourceS3 = createS3Client(withCounting('source', options.endpoint));
  const targetEndpoint = withCounting('target', options.endpoint);
  const sts = options.sts ?? createStsClient(options.endpoint.region);
  countRequests(sts, stats.sts);
  installCallRecorder(sts, 'sts');
  const targetClients = new TargetClients(sts, (credentials) =>
    createS3Client(targetEndpoint, credentials ? { credentials } : {}),
  );

  try {
    if (localState) {
      await stateS3.send(new CreateBucketCommand({ Bucket: stateBucket }));
      // The private store's setup is not part of what a deployed execution does (or is billed for).
      delete stats.s3.state.CreateBucketCommand;
    }

    const config: DeploymentConfig = { defaults: options.defaults ?? {}, stateBucket, notifyOnSuccess: true };
    const notificationsFile = path.join(outputDir, 'notifications.txt');
    const publisher: NotificationPublisher = options.publisher ?? {
      async publish(notification) {
        const attributes = Object.entries(notification.attributes)
          .map(([name, value]) => `${name}=${value.StringValue}`)
          .join(' ');
        await appendFile(
          notificationsFile,
          `Subject: ${notification.subject}\nAttributes: ${attributes}\n\n${notification.body}\n---\n`,
        );
        options.onNotification?.(notification);
        // Deployed, this is Notify's sns:Publish to the deployment's topic: recorded as that call.
        recordCall({ identity: 'notify', service: 'sns', command: 'PublishCommand', input: {}, outcome: 'ok' });
        return { messageId: `local-${executionName}` };
      },
    };
    const countingPublisher: NotificationPublisher = {
      async publish(notification) {
        stats.sns.publish++;
        return publisher.publish(notification);
      },
    };

    const observability = (name: string) => localObservability(`s3xcopy-${name}`, logStream);
    let lastList: ListOutput | undefined;
    let mirrorDeletes: DeletesOutput | undefined;
    let notification: NotifyOutput | undefined;
    // The list step runs between two Map Runs: the right moment to drop the last slice's garbage.
    const heapGuard = new SliceHeapGuard();
    // The Map's MaxConcurrency: the ASL runs with it and the List step plans whole rounds of it.
    const mapMaxConcurrency = options.mapMaxConcurrency ?? 40;

    const functions: Record<FunctionName, LocalFunction> = {
      list: {
        name: 's3xcopy-list',
        ...LOCAL_FUNCTIONS.list,
        stats: stats.lambda.list,
        handler: createListHandler({
          // The List step plans whole rounds of the Map's MaxConcurrency, as the deployed one reads it
          // from S3XCOPY_MAP_MAX_CONCURRENCY.
          config: { ...config, mapMaxConcurrency },
          sourceS3,
          stateS3,
          targetClients,
          observability: observability('list'),
        }) as LocalHandler,
        onResult: (result) => {
          // features (issue 13): the MirrorDeletes step is the list function too.
          if ((result as { kind?: string }).kind === 'mirrorDeletes') {
            mirrorDeletes = result as DeletesOutput;
            return;
          }
          const output = result as ListOutput;
          lastList = output;
          heapGuard.sliceEnded();
          options.onProgress?.({
            type: 'slice',
            ...output.slice,
            totals: output.totals,
            dryRun: output.dryRun,
            more: output.continuation !== null,
            plan: output.plan,
          });
        },
      },
      copy: {
        name: 's3xcopy-copy',
        ...LOCAL_FUNCTIONS.copy,
        ...(options.copyTimeoutSeconds ? { timeoutSeconds: options.copyTimeoutSeconds } : {}),
        stats: stats.lambda.copy,
        handler: createCopyHandler({
          targetClients,
          state: { s3: stateS3, bucket: stateBucket },
          observability: observability('copy'),
        }) as LocalHandler,
        onResult: (result, event) => {
          const batch = (event as { batch: Batch }).batch;
          const copyResult = result as CopyResult;
          options.onProgress?.({
            type: 'batch',
            batchId: batch.id,
            objects: batch.objects.length,
            bytes: batch.bytes,
            result: copyResult,
          });
        },
        onError: (error, event) => {
          const batch = (event as { batch?: Batch }).batch;
          if (!batch) return;
          const name = error instanceof Error ? error.name : 'Error';
          // The human part only: the batch result record (errors.ts) is for the ledger, not for people.
          const message = splitBatchResult(error instanceof Error ? error.message : String(error)).text;
          options.onProgress?.({ type: 'batch-error', batchId: batch.id, error: name, message });
        },
      },
      notify: {
        name: 's3xcopy-notify',
        ...LOCAL_FUNCTIONS.notify,
        stats: stats.lambda.notify,
        handler: createNotifyHandler({
          config,
          publisher: countingPublisher,
          stateS3,
          observability: observability('notify'),
        }) as LocalHandler,
        onResult: (result) => {
          notification = result as NotifyOutput;
        },
      },
    };

    const values = placeholderValues(
      stateBucket,
      mapMaxConcurrency,
      options.slicesPerExecution ?? DEFAULT_SLICES_PER_EXECUTION,
    );
    const byArn = new Map<string, LocalFunction>([
      [values.ListFunctionArn, functions.list],
      [values.CopyFunctionArn, functions.copy],
      [values.NotifyFunctionArn, functions.notify],
    ]);
    const invoke = async (request: unknown) => {
      const { FunctionName, Payload } = (request ?? {}) as { FunctionName?: string; Payload?: unknown };
      const fn = FunctionName ? byArn.get(FunctionName) : undefined;
      if (!fn) throw new Error(`The local runner has no function ${String(FunctionName)}`);
      // The state machine's role invokes; the function then calls AWS as its own role.
      recordStateMachineCall('lambda', 'InvokeCommand', { FunctionName: fn.name });
      return actingAs(fn.name.replace(/^s3xcopy-/, '') as CallIdentity, () => invokeLocal(fn, Payload));
    };

    const filled = loadCached(values, options.definitionFile);
    const { definition, maps } = adaptForLocal(filled);
    const stateMachineArn = 'arn:aws:states:local:111111111111:stateMachine:s3xcopy';
    const executionArn = `arn:aws:states:local:111111111111:execution:s3xcopy:${executionName}`;
    const context = {
      Execution: { Id: executionArn, Name: executionName, RoleArn: 'arn:aws:iam::111111111111:role/s3xcopy-local' },
      StateMachine: { Id: stateMachineArn, Name: 's3xcopy' },
    };

    const allStates: Record<string, AslState> = { ...filled.States };
    const taskHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const name of lambdaTaskStates(allStates)) taskHandlers[name] = invoke;
    const starter = new LocalExecutionStarter(
      stateMachineArn,
      executionName,
      (name) => `arn:aws:states:local:111111111111:execution:s3xcopy:${name}`,
    );
    for (const name of startExecutionStates(allStates)) {
      // ContinueAsNew: the state machine's role starts the next execution of the same state machine.
      taskHandlers[name] = (request) => {
        recordStateMachineCall('states', 'StartExecutionCommand', {});
        return starter.handler(request);
      };
    }
    const retryOverrides: Record<string, number> = {};
    if (options.retryIntervalMs !== undefined) {
      for (const name of retryingStates(allStates)) retryOverrides[name] = options.retryIntervalMs;
    }
    const runOverrides = {
      // biome-ignore lint/suspicious/noExplicitAny: the library's handler type is its own JSONValue.
      taskResourceLocalHandlers: taskHandlers as any,
      ...(options.retryIntervalMs !== undefined ? { retryIntervalOverrides: retryOverrides } : {}),
    };

    for (const [mapName, mapState] of Object.entries(maps)) {
      const processor = mapState.ItemProcessor ?? mapState.Iterator;
      const { ProcessorConfig: _ignored, ...childDefinition } = processor;
      const child = new StateMachine(childDefinition, { validationOptions: { noValidate: true } });
      taskHandlers[mapName] = async (input) => {
        stats.executions.mapRuns++;
        const parentInput = copyJson(input);
        // The Map Run starts its children as executions of this state machine, as the state machine's role;
        // its ItemReader and ResultWriter read and write the state bucket as that role too.
        recordStateMachineCall('states', 'StartExecutionCommand', { MapRun: true });
        return actingAs('stateMachine', () =>
          runDistributedMap(mapState, parentInput, {
            stateS3,
            stateMachineArn,
            context: { ...context, Execution: { ...context.Execution, Input: options.input } },
            runChild: async (childInput, info): Promise<ChildOutcome> => {
              stats.executions.children++;
              const execution = child.run(childInput as never, {
                overrides: runOverrides,
                context: { Execution: { Id: info.arn, Name: info.name }, StateMachine: context.StateMachine },
              });
              const drained = drain(execution.eventLogs, stats.transitions.children);
              try {
                const output = await execution.result;
                return { status: 'SUCCEEDED', output };
              } catch (error) {
                const { name, message } = errorOf(error);
                return { status: 'FAILED', error: name, cause: message };
              } finally {
                await drained;
              }
            },
          }),
        );
      };
    }

    const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
    const runExecution = async (run: RequestedExecution) => {
      const execution = machine.run(run.input as never, {
        overrides: runOverrides,
        context: { ...context, Execution: { ...context.Execution, Id: run.arn, Name: run.name } },
      });
      const drained = (async () => {
        for await (const event of execution.eventLogs) {
          if ((event.type === 'StateEntered' || event.type === 'StateRetried') && 'state' in event) {
            increment(stats.transitions.parent, event.state.name);
            if (event.type === 'StateRetried') {
              options.onProgress?.({ type: 'retry', state: event.state.name, attempt: event.retry.attempt });
            }
          }
        }
      })();
      let outcome: { status: LocalRunResult['status']; error?: LocalRunResult['error'] } = { status: 'SUCCEEDED' };
      try {
        await execution.result;
      } catch (caught) {
        const { name, message } = errorOf(caught);
        outcome = { status: 'FAILED', error: { error: name, cause: decodeCause(message).message } };
      }
      await drained;
      return outcome;
    };
    // A long job continues in new executions (ContinueAsNew): run them in turn; the last one ends the job.
    const executions = await runChainedExecutions(
      { name: executionName, arn: executionArn, input: options.input },
      starter,
      runExecution,
    );
    stats.executions.parent = executions.length;
    const last = executions[executions.length - 1]?.outcome ?? { status: 'FAILED' as const };
    const status = last.status;
    const error = last.error;

    let results: string | undefined;
    const jobId = lastList?.jobId ?? executionName;
    if (stats.executions.mapRuns > 0) {
      if (localState) {
        const directory = path.join(outputDir, 'results');
        await saveResults(stateS3, stateBucket, resultsPrefix(jobId), directory);
        results = directory;
      } else {
        results = `s3://${stateBucket}/${resultsPrefix(jobId)}`;
      }
    }
    // Notify's report files (the ledger and every failed key) outlive the private store too.
    let failuresFile = notification?.failuresFile;
    if (
      localState &&
      (await saveResults(stateS3, stateBucket, reportsPrefix(jobId), path.join(outputDir, 'reports'))) > 0
    ) {
      failuresFile = failuresFile && path.join(outputDir, 'reports', 'failures.jsonl');
    }

    // The same files and the same arithmetic as the deployed Notify: what a local run reports is what a
    // deployed one would. Every failure is kept (a local run's caller gets the full list).
    const aggregated =
      stats.executions.mapRuns > 0
        ? await aggregateResults(stateS3, stateBucket, resultsPrefix(jobId), Number.POSITIVE_INFINITY)
        : emptyResults();
    const ledger = buildLedger(lastList?.totals ?? {}, aggregated, lastList?.dryRun ?? false);
    const openUploads = lastList
      ? await settleRunUploads(
          lastList.job,
          jobId,
          options.endpoint,
          stateS3,
          stateBucket,
          targetClients,
          stats.executions.mapRuns > 0,
        )
      : undefined;
    stats.durationMs = Date.now() - startedAt;
    await writeFile(path.join(outputDir, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
    return {
      status,
      executionArn,
      executions: executions.map(({ execution }) => execution.arn),
      jobId,
      ...(error ? { error } : {}),
      ...(lastList ? { list: lastList } : {}),
      ...(mirrorDeletes ? { deletes: mirrorDeletes } : {}),
      objects: ledger.objects,
      bytes: ledger.bytes,
      batches: aggregated.batches,
      failures: aggregated.failures,
      ...(notification ? { notification } : {}),
      ...(results ? { results } : {}),
      ...(failuresFile ? { failuresFile } : {}),
      ...(openUploads ? { openUploads } : {}),
      outputDir,
      stats,
    };
  } finally {
    sourceS3.destroy();
    stateS3.destroy();
    if (!options.sts) sts.destroy();
    if (localState) await localState.stop();
    if (ownedLog) await new Promise<void>((resolve) => ownedLog.end(resolve));
  }
}

/**
 * Ends the run's multipart uploads still open, and those earlier runs to the same target left open
 * (open-uploads.ts). What cannot be aborted (the server is still down) is listed for the next run.
 * @param copied whether the run started a Map Run: without one no copy ran, so the job has no progress
 *   record to read (a no-op sync then lists only source and target, as `aws s3 sync` does)
 */
async function settleRunUploads(
  job: Job,
  jobId: string,
  endpoint: S3Endpoint,
  stateS3: S3Client,
  stateBucket: string,
  targetClients: TargetClients,
  copied: boolean,
): Promise<{ open: number; file: string }> {
  const file = openUploadsFile(endpoint.endpoint, job.target.bucket);
  const fresh = copied ? await jobOpenUploads(stateS3, stateBucket, jobId) : [];
  const stillOpen = await settleOpenUploads(file, fresh, () =>
    targetClients.forBucket(job.target, jobId, job.target.bucket),
  );
  return { open: stillOpen.length, file };
}
