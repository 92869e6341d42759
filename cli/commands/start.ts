/**
 * `s3xcopy start`: starts an execution of the deployed state machine with a job built from flags (the
 * deployment's defaults fill in the rest), and with --watch follows it until it ends: slices listed,
 * Map Run batch counts, bytes planned. Exit 0 when the execution SUCCEEDED, 1 otherwise, 2 on bad usage.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { describeIssues, type JobInput, JobInputSchema } from '../../functions/shared/job';
import { EXIT, UsageError } from '../errors';
import type { CliIo } from '../io';
import { collect, jobOptionsFromFlags, parseS3Uri } from '../job-flags';
import { formatBytes } from '../size';

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[\w-]{1,80}$/;
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

interface StartFlags {
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
  return job as JobInput;
}

/** Reads the progress of an execution: its status, its Map Runs' item counts, the latest List totals. */
export async function readProgress(
  sfn: SFNClient,
  executionArn: string,
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
    const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn }));
    const counts = run.itemCounts;
    batches.total += counts?.total ?? 0;
    batches.succeeded += counts?.succeeded ?? 0;
    batches.failed += (counts?.failed ?? 0) + (counts?.timedOut ?? 0) + (counts?.aborted ?? 0);
    batches.running += counts?.running ?? 0;
    batches.pending += counts?.pending ?? 0;
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

/** The cumulative totals of the last List step to finish, from the recent execution history. */
async function latestListTotals(sfn: SFNClient, executionArn: string): Promise<Progress['totals']> {
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100 }));
  for (const event of history.events ?? []) {
    const exited = event.stateExitedEventDetails;
    if (event.type !== 'TaskStateExited' || exited?.name !== 'List' || !exited.output) continue;
    try {
      const output = JSON.parse(exited.output) as { totals?: Progress['totals'] };
      if (output.totals) return output.totals;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Registers `s3xcopy start`. */
export function register(program: Command, io: CliIo): void {
  program
    .command('start')
    .description(
      'Start a copy on the deployed state machine. Flags override the deployment defaults; with none, it copies what the deployment is configured to copy.',
    )
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
    .option('--part-size <size>', 'part size for multipart copies (e.g. 64MiB)')
    .option('--name <name>', 'execution name (1-80 of A-Z a-z 0-9 _ -); becomes the job id')
    .option('--region <region>', 'region of the state machine (default: the one in its ARN)')
    .option('--watch', 'follow the execution until it ends; exit 0 if it SUCCEEDED, 1 otherwise')
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
        let lastLine = '';
        for (;;) {
          const progress = await readProgress(sfn, executionArn);
          const line = progressLine(progress);
          if (line !== lastLine) io.stderr(`${line}\n`);
          lastLine = line;
          if (progress.status !== 'RUNNING' && progress.status !== 'PENDING_REDRIVE') {
            reportEnd(io, executionArn, progress, flags.json === true);
            process.exitCode = progress.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
            return;
          }
          await sleep(pollSeconds * 1000);
        }
      } finally {
        sfn.destroy();
      }
    });
}

function reportEnd(
  io: CliIo,
  executionArn: string,
  progress: Progress & { execution: DescribeExecutionCommandOutput },
  json: boolean,
) {
  const { execution } = progress;
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
        executionArn,
        mapRuns: progress.mapRuns,
        batches: progress.batches,
        totals: progress.totals ?? null,
        ...(execution.error ? { error: execution.error, cause: execution.cause ?? '' } : {}),
        output,
      })}\n`,
    );
    return;
  }
  const error = execution.error ? ` ${execution.error}: ${execution.cause ?? ''}` : '';
  io.stdout(`${progressLine(progress)}${error}\n`);
}
