/**
 * `s3xcopy start`: starts an execution of the deployed state machine with a job built from flags (the
 * deployment's defaults fill in the rest), and with --watch follows it until it ends: slices listed,
 * Map Run batch counts, bytes planned; a job that continued in new executions (ContinueAsNew) is followed
 * to its last execution and its ledger printed once. Exit codes as DESIGN.md says: 0 only when the execution SUCCEEDED
 * and no batch failed (a job with toleratedFailurePercentage can succeed with failed batches, whose
 * objects were not copied), 1 otherwise, 2 on bad usage.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import {
  describeIssues,
  type JobInput,
  JobInputSchema,
  MAX_JOB_JSON_BYTES,
  prefixProblems,
} from '../../functions/shared/job';
import { EXIT, UsageError } from '../errors';
import { addFeatureOptions, type FeatureFlags, manifestFromFlags } from '../feature-flags';
import type { CliIo } from '../io';
import { collect, jobOptionsFromFlags, parseS3Uri } from '../job-flags';
import { formatBytes } from '../size';
import { COMMAND_DESCRIPTIONS } from './descriptions';

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[\w-]{1,80}$/;
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

interface StartFlags extends FeatureFlags {
  stateMachineArn: string;
  source?: string;
  target?: string;
  targetRoleArn?: string;
  externalId?: string;
  include: string[];
  exclude: string[];
  mode?: string;
  dryRun?: boolean;
  concurrency?: string;
  multipartThreshold?: string;
  partSize?: string;
  name?: string;
  region?: string;
  watch?: boolean;
  pollSeconds: string;
  json?: boolean;
}

/** Map Run item counts added up over every slice's Map Run. */
export interface BatchCounts {
  total: number;
  succeeded: number;
  failed: number;
  running: number;
  pending: number;
}

/** What one poll saw. */
export interface Progress {
  status: string;
  /** Slices whose batches went to a Map Run (one Map Run per slice with something to copy). */
  mapRuns: number;
  batches: BatchCounts;
  /** The latest List output's cumulative totals, when one was found in the recent history. */
  totals?: { listed: number; selected: number; skipped: number; bytes: number };
}

/**
 * Builds the execution input from the flags: only what was given, so the deployment's defaults
 * (S3XCOPY_* environment) supply the rest, exactly as a console start with `{}` does.
 * @throws UsageError naming the flag or job field
 */
export function jobInputFromFlags(flags: Omit<StartFlags, 'stateMachineArn' | 'pollSeconds'>): JobInput {
  const job: Record<string, Record<string, unknown>> = {};
  if (flags.source) job.source = parseS3Uri(flags.source, '--source');
  const manifest = manifestFromFlags(flags);
  if (manifest) job.source = { ...job.source, manifest };
  const target: Record<string, unknown> = flags.target ? parseS3Uri(flags.target, '--target') : {};
  if (flags.targetRoleArn) target.roleArn = flags.targetRoleArn;
  if (flags.externalId) target.externalId = flags.externalId;
  if (Object.keys(target).length > 0) job.target = target;
  if (flags.include.length > 0 || flags.exclude.length > 0) {
    job.filter = {
      ...(flags.include.length > 0 ? { include: flags.include } : {}),
      ...(flags.exclude.length > 0 ? { exclude: flags.exclude } : {}),
    };
  }
  const options = jobOptionsFromFlags(flags);
  if (Object.keys(options).length > 0) job.options = options;
  const parsed = JobInputSchema.safeParse(job);
  if (!parsed.success) throw new UsageError(`Invalid job: ${describeIssues(parsed.error)}`);
  // The deployment fills in the rest, so only what the flags set is checked here (the list step checks
  // the whole job); these would otherwise fail the execution after it started.
  for (const side of ['source', 'target'] as const) {
    const value = job[side]?.prefix;
    if (typeof value !== 'string' || value === '') continue;
    const problems = prefixProblems(value.endsWith('/') ? value : `${value}/`);
    if (problems.length > 0) throw new UsageError(`Invalid job: ${side}.prefix ${problems.join('; ')}`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(job));
  if (bytes > MAX_JOB_JSON_BYTES) {
    throw new UsageError(
      `Invalid job: the job is ${bytes} bytes of JSON; at most ${MAX_JOB_JSON_BYTES} fit beside a batch in a copy invocation: shorten the --include/--exclude lists`,
    );
  }
  return job as JobInput;
}

/**
 * Item counts of Map Runs that have ended, by Map Run ARN. They no longer change, so a long job's later
 * polls describe only the running Map Run instead of every slice's again (DescribeMapRun is throttled).
 */
export type FinishedMapRuns = Map<string, BatchCounts>;

const FINISHED_MAP_RUN = new Set(['SUCCEEDED', 'FAILED', 'ABORTED']);

/**
 * Reads the progress of an execution: its status, its Map Runs' item counts, the latest List totals.
 * Counts of Map Runs that have ended are taken from, and added to, `finished`.
 */
export async function readProgress(
  sfn: SFNClient,
  executionArn: string,
  finished: FinishedMapRuns = new Map(),
): Promise<Progress & { execution: DescribeExecutionCommandOutput }> {
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const mapRunArns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListMapRunsCommand({ executionArn, ...(nextToken ? { nextToken } : {}) }));
    for (const run of page.mapRuns ?? []) if (run.mapRunArn) mapRunArns.push(run.mapRunArn);
    nextToken = page.nextToken;
  } while (nextToken);
  const batches: BatchCounts = { total: 0, succeeded: 0, failed: 0, running: 0, pending: 0 };
  for (const mapRunArn of mapRunArns) {
    let counts = finished.get(mapRunArn);
    if (!counts) {
      const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn }));
      const items = run.itemCounts;
      counts = {
        total: items?.total ?? 0,
        succeeded: items?.succeeded ?? 0,
        failed: (items?.failed ?? 0) + (items?.timedOut ?? 0) + (items?.aborted ?? 0),
        running: items?.running ?? 0,
        pending: items?.pending ?? 0,
      };
      if (run.status && FINISHED_MAP_RUN.has(run.status)) finished.set(mapRunArn, counts);
    }
    for (const key of Object.keys(batches) as Array<keyof BatchCounts>) batches[key] += counts[key];
  }
  const totals = await latestListTotals(sfn, executionArn);
  return {
    execution,
    status: execution.status ?? 'UNKNOWN',
    mapRuns: mapRunArns.length,
    batches,
    ...(totals ? { totals } : {}),
  };
}

const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
]);
const NETWORK_ERRORS = new Set(['TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * True for an error a later poll can get past: throttling (what long watches of big jobs meet), a 5xx,
 * or a network failure. The SDK has already retried these; the watch waits a poll and tries again.
 */
export function isTransientPollError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const details = error as Error & {
    code?: string;
    $retryable?: { throttling?: boolean };
    $metadata?: { httpStatusCode?: number };
  };
  const status = details.$metadata?.httpStatusCode ?? 0;
  return (
    THROTTLING_ERRORS.has(error.name) ||
    details.$retryable !== undefined ||
    status === 429 ||
    status >= 500 ||
    NETWORK_ERRORS.has(error.name) ||
    (details.code !== undefined && NETWORK_ERRORS.has(details.code))
  );
}

/** Consecutive failed polls the watch rides out before it gives up with the last error. */
export const MAX_FAILED_POLLS = 5;

/** The ledger Notify reported (its summary), as the watch reads it from the execution history. */
export interface WatchedLedger {
  dryRun: boolean;
  objects: {
    listed: number;
    selected: number;
    copied: number | null;
    skipped: number | null;
    failed: number | null;
    notAttempted: number | null;
  };
  bytes: { selected: number; copied: number | null };
  countsUnavailable?: string;
  failuresFile?: string;
  /** Set when Notify counted from the copy function's batch records (the ResultWriter wrote no result file). */
  ledgerSource?: { from: string; reason: string; batches: number; batchesWithoutRecord: number };
}

/**
 * Exit code of a watched execution (DESIGN.md): 0 only when it SUCCEEDED and every selected object was
 * copied or skipped, by Notify's ledger when the history has it, else by the Map Runs' batch counts.
 */
export function exitCodeFor(progress: Progress, ledger?: WatchedLedger): number {
  if (progress.status !== 'SUCCEEDED') return EXIT.failed;
  if (!ledger) return progress.batches.failed === 0 ? EXIT.ok : EXIT.failed;
  const { failed, notAttempted } = ledger.objects;
  if (ledger.countsUnavailable || failed === null || notAttempted === null) return EXIT.failed;
  return failed === 0 && (ledger.dryRun || notAttempted === 0) ? EXIT.ok : EXIT.failed;
}

/**
 * The last 100 events of an execution's history, newest first. Sorted by event id as well as asked for in
 * reverse: moto's Step Functions engine ignores reverseOrder and maxResults and returns the whole history
 * oldest first, and the watch would then read the first slice's totals and never find Notify's output.
 */
async function recentHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100 }));
  return [...(history.events ?? [])].sort((a, b) => (b.id ?? 0) - (a.id ?? 0)).slice(0, 100);
}

/**
 * The summary the last Notify task returned (NotifySuccess or NotifyFailure): the ledger the SNS
 * message states. Read from the end of the execution history, where Notify's TaskSucceeded event holds
 * the function's output.
 */
export async function notifiedLedger(sfn: SFNClient, executionArn: string): Promise<WatchedLedger | undefined> {
  let notifyExited = false;
  for (const event of await recentHistory(sfn, executionArn)) {
    const name = event.stateExitedEventDetails?.name;
    if (event.type === 'TaskStateExited' && (name === 'NotifySuccess' || name === 'NotifyFailure')) {
      notifyExited = true;
      continue;
    }
    if (!notifyExited || event.type !== 'TaskSucceeded') continue;
    try {
      const output = JSON.parse(event.taskSucceededEventDetails?.output ?? '') as { Payload?: WatchedLedger };
      return output.Payload?.objects ? output.Payload : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The ledger line of the watch's end. */
export function ledgerLine(ledger: WatchedLedger): string {
  const { objects } = ledger;
  const n = (value: number | null) => (value === null ? '?' : value.toLocaleString('en-US'));
  if (ledger.countsUnavailable) {
    return `Ledger: ${n(objects.selected)} selected; copy counts unavailable: ${ledger.countsUnavailable}`;
  }
  const failures = ledger.failuresFile ? `; failed keys: ${ledger.failuresFile}` : '';
  const source = ledger.ledgerSource
    ? ` (counted from the batch records: ${n(ledger.ledgerSource.batchesWithoutRecord)} of ${n(ledger.ledgerSource.batches)} batches had none)`
    : '';
  return (
    `Ledger: ${n(objects.selected)} selected = ${n(objects.copied)} copied + ${n(objects.skipped)} skipped + ` +
    `${n(objects.failed)} failed + ${n(objects.notAttempted)} not attempted${ledger.dryRun ? ' (dry run: would be copied)' : ''}${source}${failures}`
  );
}

/** The cumulative totals of the last List step to finish, from the recent execution history. */
async function latestListTotals(sfn: SFNClient, executionArn: string): Promise<Progress['totals']> {
  for (const event of await recentHistory(sfn, executionArn)) {
    const exited = event.stateExitedEventDetails;
    if (event.type !== 'TaskStateExited' || exited?.name !== 'List' || !exited.output) continue;
    try {
      // The List Task puts the function's output at $.listed.Payload (the state keeps { list, carry }).
      const output = JSON.parse(exited.output) as {
        totals?: Progress['totals'];
        listed?: { Payload?: { totals?: Progress['totals'] } };
      };
      const totals = output.listed?.Payload?.totals ?? output.totals;
      if (totals) return totals;
    } catch {
      // A truncated or non-JSON output just means no totals this poll.
    }
  }
  return undefined;
}

/** One progress line for people. */
export function progressLine(progress: Progress): string {
  const { batches, totals } = progress;
  const listed = totals
    ? `listed ${totals.listed.toLocaleString('en-US')}, selected ${totals.selected.toLocaleString('en-US')} (${formatBytes(totals.bytes)}), skipped ${totals.skipped.toLocaleString('en-US')}`
    : 'listing';
  return (
    `${progress.status}: ${listed}; slices copied ${progress.mapRuns}; batches ${batches.succeeded}/${batches.total} done` +
    `, ${batches.running} running, ${batches.failed} failed`
  );
}

/** An execution names, as the one it continued in, an execution the watch already followed. */
export class ContinuationLoopError extends Error {
  constructor(execution: string, next: string) {
    super(
      `Execution ${execution} says it continued in ${next}, which this watch already followed: the chain ` +
        'loops; look at the executions of the state machine in the console.',
    );
    this.name = 'ContinuationLoopError';
  }
}

/**
 * The execution a SUCCEEDED execution continued in (the ASL's ContinueAsNew state, then "Continued":
 * its output holds `continuedAs.executionArn`), or undefined when the job ended in this one.
 */
export function continuedAs(execution: DescribeExecutionCommandOutput): string | undefined {
  if (execution.status !== 'SUCCEEDED' || !execution.output) return undefined;
  try {
    const output = JSON.parse(execution.output) as { continuedAs?: { executionArn?: unknown } };
    const next = output.continuedAs?.executionArn;
    return typeof next === 'string' && next !== '' ? next : undefined;
  } catch {
    // An output that is not JSON (or cut short by the console) names no continuation.
    return undefined;
  }
}

/** Adds an earlier execution's Map Runs to the one being watched: one job, one set of counts. */
function withEarlier<P extends Progress>(progress: P, earlier: Pick<Progress, 'mapRuns' | 'batches'>): P {
  const batches = { ...progress.batches };
  for (const key of Object.keys(batches) as Array<keyof BatchCounts>) batches[key] += earlier.batches[key];
  return { ...progress, mapRuns: progress.mapRuns + earlier.mapRuns, batches };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows an execution until it ends, printing a progress line whenever it changes; a job that continued
 * as new is followed to its last execution, and the Map Runs of every execution count as the job's. Sets
 * the exit code from the end status and Notify's ledger.
 */
async function watchExecution(
  sfn: SFNClient,
  executionArn: string,
  pollSeconds: number,
  io: CliIo,
  json: boolean,
): Promise<void> {
  let lastLine = '';
  let failedPolls = 0;
  const finished: FinishedMapRuns = new Map();
  // A long job continues in new executions (ContinueAsNew): follow the chain to the last one, which
  // notifies, and count the Map Runs of every execution as the job's.
  let watched = executionArn;
  const executions = [executionArn];
  let earlier: Pick<Progress, 'mapRuns' | 'batches'> = {
    mapRuns: 0,
    batches: { total: 0, succeeded: 0, failed: 0, running: 0, pending: 0 },
  };
  for (;;) {
    let progress: Awaited<ReturnType<typeof readProgress>>;
    try {
      progress = withEarlier(await readProgress(sfn, watched, finished), earlier);
      failedPolls = 0;
    } catch (error) {
      failedPolls += 1;
      if (!isTransientPollError(error) || failedPolls >= MAX_FAILED_POLLS) throw error;
      // Wait longer after each failed poll in a row, so a throttled account gets room to recover.
      const waitSeconds = Math.min(pollSeconds * 2 ** failedPolls, 60);
      io.stderr(
        `Progress poll failed (${(error as Error).name}: ${(error as Error).message}); the execution is unaffected, ` +
          `polling again in ${waitSeconds} s (${failedPolls}/${MAX_FAILED_POLLS}).\n`,
      );
      await sleep(waitSeconds * 1000);
      continue;
    }
    const next = continuedAs(progress.execution);
    if (next) {
      if (executions.includes(next)) throw new ContinuationLoopError(watched, next);
      io.stderr(`Continued as ${next}\n`);
      earlier = { mapRuns: progress.mapRuns, batches: progress.batches };
      watched = next;
      executions.push(next);
      continue;
    }
    const line = progressLine(progress);
    if (line !== lastLine) io.stderr(`${line}\n`);
    lastLine = line;
    if (progress.status !== 'RUNNING' && progress.status !== 'PENDING_REDRIVE') {
      const ledger = await notifiedLedger(sfn, watched);
      reportEnd(io, executions, progress, json, ledger);
      process.exitCode = exitCodeFor(progress, ledger);
      return;
    }
    await sleep(pollSeconds * 1000);
  }
}

/** Registers `s3xcopy start`. */
export function register(program: Command, io: CliIo): void {
  const command = program
    .command('start')
    .description(COMMAND_DESCRIPTIONS.start)
    .requiredOption('--state-machine-arn <arn>', 'the deployed state machine (stack output / s3xcopy-copy)')
    .option('--source <uri>', 'source, s3://BUCKET[/PREFIX] (default: the deployment)')
    .option('--target <uri>', 'target, s3://BUCKET[/PREFIX] (default: the deployment)')
    .option('--target-role-arn <arn>', 'role in the target account to assume (default: the deployment)')
    .option('--external-id <id>', 'ExternalId the target role requires')
    .option('--include <glob>', 'copy only keys matching GLOB (relative to the source prefix; repeatable)', collect, [])
    .option('--exclude <glob>', 'skip keys matching GLOB (repeatable)', collect, [])
    .option('--mode <mode>', 'copy (every object) or sync (skip objects the target already has)')
    .option('--dry-run', 'list and plan, copy nothing')
    .option('--concurrency <n>', 'parallel copies per batch')
    .option('--multipart-threshold <size>', 'copy objects at least this big in parts (e.g. 64MiB)')
    .option('--part-size <size>', 'part size for multipart copies (e.g. 64MiB)');
  // Restore, deletes, manifests, Requester Pays (cli/feature-flags.ts), as `run` has them.
  addFeatureOptions(command)
    .option('--name <name>', 'execution name (1-80 of A-Z a-z 0-9 _ -); becomes the job id')
    .option('--region <region>', 'region of the state machine (default: the one in its ARN)')
    .option('--watch', 'follow the execution until it ends; exit 0 if it SUCCEEDED with no failed batch, 1 otherwise')
    .option('--poll-seconds <n>', 'seconds between progress polls with --watch', '5')
    .option('--json', 'print JSON on stdout (the start, and with --watch the final status)')
    .action(async (flags: StartFlags) => {
      const arnMatch = STATE_MACHINE_ARN.exec(flags.stateMachineArn);
      if (!arnMatch) {
        throw new UsageError(
          `--state-machine-arn: "${flags.stateMachineArn}" is not a state machine ARN like arn:aws:states:eu-west-1:111111111111:stateMachine:s3xcopy-copy.`,
        );
      }
      if (flags.name !== undefined && !EXECUTION_NAME.test(flags.name)) {
        throw new UsageError(`--name: "${flags.name}" must be 1-80 letters, digits, "_" or "-".`);
      }
      const pollSeconds = Number(flags.pollSeconds);
      if (!Number.isFinite(pollSeconds) || pollSeconds < 0) {
        throw new UsageError(`--poll-seconds: "${flags.pollSeconds}" is not a number of seconds (0 or more).`);
      }
      const job = jobInputFromFlags(flags);
      const sfn = new SFNClient({ region: flags.region ?? arnMatch[1] });
      try {
        const started = await sfn.send(
          new StartExecutionCommand({
            stateMachineArn: flags.stateMachineArn,
            input: JSON.stringify(job),
            ...(flags.name ? { name: flags.name } : {}),
          }),
        );
        const executionArn = started.executionArn as string;
        if (flags.json && !flags.watch) {
          io.stdout(`${JSON.stringify({ executionArn, startDate: started.startDate?.toISOString() ?? null })}\n`);
        } else {
          io.stderr(`Started ${executionArn}\n`);
        }
        if (!flags.watch) {
          if (!flags.json) io.stdout(`${executionArn}\n`);
          return;
        }
        await watchExecution(sfn, executionArn, pollSeconds, io, flags.json === true);
      } finally {
        sfn.destroy();
      }
    });
}

/**
 * The watch's end: the last execution's status, the whole job's batch counts and the ledger (once).
 * @param executions the job's executions in order: the one started (`executionArn` in --json), then those it
 *   continued in; the last one was watched to its end
 */
function reportEnd(
  io: CliIo,
  executions: readonly string[],
  progress: Progress & { execution: DescribeExecutionCommandOutput },
  json: boolean,
  ledger?: WatchedLedger,
) {
  const { execution } = progress;
  if (progress.status === 'SUCCEEDED' && progress.batches.failed > 0) {
    io.stderr(
      `${progress.batches.failed} batch(es) failed within the job's toleratedFailurePercentage: their objects were ` +
        'not copied. The report and the Map Run results in the state bucket (results/<jobId>/) name them; ' +
        'rerun with --mode sync to copy what is missing.\n',
    );
  }
  if (json) {
    let output: unknown = null;
    try {
      output = execution.output ? JSON.parse(execution.output) : null;
    } catch {
      output = execution.output;
    }
    io.stdout(
      `${JSON.stringify({
        status: progress.status,
        executionArn: executions[0],
        executions,
        mapRuns: progress.mapRuns,
        batches: progress.batches,
        totals: progress.totals ?? null,
        ledger: ledger
          ? {
              objects: ledger.objects,
              bytes: ledger.bytes,
              ...(ledger.countsUnavailable ? { countsUnavailable: ledger.countsUnavailable } : {}),
              ...(ledger.failuresFile ? { failuresFile: ledger.failuresFile } : {}),
              ...(ledger.ledgerSource ? { ledgerSource: ledger.ledgerSource } : {}),
            }
          : null,
        ...(execution.error ? { error: execution.error, cause: execution.cause ?? '' } : {}),
        output,
      })}\n`,
    );
    return;
  }
  const error = execution.error ? ` ${execution.error}: ${execution.cause ?? ''}` : '';
  io.stdout(`${progressLine(progress)}${error}\n`);
  if (ledger) io.stdout(`${ledgerLine(ledger)}\n`);
}
