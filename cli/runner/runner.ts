/**
 * The local runner: executes statemachine/copy.asl.json in-process with aws-local-stepfunctions and the
 * real list, copy and notify handlers, against any S3 endpoint (the embedded server, an S3-compatible
 * server, or AWS itself with the caller's credentials). `s3xcopy run`, `s3xcopy demo`, the state machine
 * tests and the benchmarks all go through `runLocal`. Its parts, one module each: the run's clients
 * (run-clients.ts), the functions (local-functions.ts), the state machine (local-machine.ts), the report
 * (run-report.ts).
 */
// First: the handlers import ESM-only packages, which require() resolves only with this hook.
import './esm-interop';
import { Console } from 'node:console';
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import type { ListOutput } from '../../functions/list/contract';
import type { DeletesOutput } from '../../functions/list/mirror-deletes';
import type { NotifyOutput } from '../../functions/notify/handler';
import type { LedgerBytes, LedgerObjects } from '../../functions/notify/ledger';
import type { Notification } from '../../functions/notify/message';
import type { NotificationPublisher } from '../../functions/notify/publisher';
import type { S3Endpoint } from '../../functions/shared/clients';
import type { DeploymentConfig } from '../../functions/shared/config';
import type { CopyFailure, JobDefaults } from '../../functions/shared/job';
import type { Observability } from '../../functions/shared/observability';
import { DEFAULT_SLICES_PER_EXECUTION, runChainedExecutions } from './continue-as-new';
import { createLocalFunctions, LOCAL_FUNCTIONS } from './local-functions';
import { createLocalMachine, localExecutionArn } from './local-machine';
import { countingPublisher, filePublisher } from './local-publisher';
import type { ProgressEvent } from './progress-event';
import { openRunClients } from './run-clients';
import { type RunReport, reportRun } from './run-report';
import { emptyStats, type RunStats } from './stats';

export { LOCAL_FUNCTIONS } from './local-functions';
export type { ProgressEvent } from './progress-event';
export { LOCAL_STATE_BUCKET } from './run-clients';

/** aws-local-stepfunctions needs Promise.withResolvers (Node 22+); on older Node every Task fails silently. */
export const MIN_NODE_MAJOR = 22;

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
  /** The MirrorDeletes step's output, when the job deletes (options.delete). */
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
  /**
   * Multipart uploads of a key whose CreateMultipartUpload answer was lost that could not be proven this
   * job's (functions/copy/stray-uploads.ts): left open, named by id. Absent when none.
   */
  strayUploads?: Array<{ key: string; uploadId: string }>;
  /** Copies that needed an identity record, and whether the records outlive the run (run-report.ts). */
  identityRecords?: RunReport['identityRecords'];
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

/** Where the handlers' Powertools logs go: the caller's stream, or the run directory's lambda.log. */
function openLogStream(
  options: LocalRunOptions,
  outputDir: string,
): { stream: NodeJS.WritableStream; close(): Promise<void> } {
  if (options.logStream) return { stream: options.logStream, close: async () => undefined };
  const owned: WriteStream = createWriteStream(path.join(outputDir, 'lambda.log'), { flags: 'a' });
  return { stream: owned, close: () => new Promise<void>((resolve) => owned.end(resolve)) };
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
  const log = openLogStream(options, outputDir);
  const clients = await openRunClients(options, stats).catch(async (error: unknown) => {
    await log.close();
    throw error;
  });
  try {
    const { stateBucket } = clients;
    const config: DeploymentConfig = { defaults: options.defaults ?? {}, stateBucket, notifyOnSuccess: true };
    const publisher =
      options.publisher ??
      filePublisher(path.join(outputDir, 'notifications.txt'), executionName, options.onNotification);
    const mapMaxConcurrency = options.mapMaxConcurrency ?? 40;
    const { functions, observed } = createLocalFunctions({
      config,
      mapMaxConcurrency,
      sourceS3: clients.sourceS3,
      stateS3: clients.stateS3,
      stateBucket,
      targetClients: clients.targetClients,
      publisher: countingPublisher(publisher, stats),
      observability: (name) => localObservability(`s3xcopy-${name}`, log.stream),
      stats,
      ...(options.copyTimeoutSeconds ? { copyTimeoutSeconds: options.copyTimeoutSeconds } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const machine = createLocalMachine({
      executionName,
      input: options.input,
      stateBucket,
      stateS3: clients.stateS3,
      mapMaxConcurrency,
      slicesPerExecution: options.slicesPerExecution ?? DEFAULT_SLICES_PER_EXECUTION,
      functions,
      stats,
      ...(options.definitionFile ? { definitionFile: options.definitionFile } : {}),
      ...(options.retryIntervalMs !== undefined ? { retryIntervalMs: options.retryIntervalMs } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const executionArn = localExecutionArn(executionName);
    // A long job continues in new executions (ContinueAsNew): run them in turn; the last one ends the job.
    const executions = await runChainedExecutions(
      { name: executionName, arn: executionArn, input: options.input },
      machine.starter,
      machine.runExecution,
    );
    stats.executions.parent = executions.length;
    const last = executions[executions.length - 1]?.outcome ?? { status: 'FAILED' as const };
    const jobId = observed.lastList?.jobId ?? executionName;
    const report = await reportRun({
      jobId,
      observed,
      clients,
      endpoint: options.endpoint,
      outputDir,
      mapRuns: stats.executions.mapRuns,
    });
    stats.durationMs = Date.now() - startedAt;
    await writeFile(path.join(outputDir, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
    return {
      status: last.status,
      executionArn,
      executions: executions.map(({ execution }) => execution.arn),
      jobId,
      ...(last.error ? { error: last.error } : {}),
      ...(observed.lastList ? { list: observed.lastList } : {}),
      ...(observed.mirrorDeletes ? { deletes: observed.mirrorDeletes } : {}),
      ...report,
      ...(observed.notification ? { notification: observed.notification } : {}),
      outputDir,
      stats,
    };
  } finally {
    await clients.close();
    await log.close();
  }
}
