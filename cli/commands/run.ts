/**
 * `s3xcopy run`: executes statemachine/copy.asl.json in-process with the real handlers (cli/runner),
 * against AWS with the caller's credentials, or against any S3-compatible server with --endpoint.
 * Everything is checked before anything is written: bad flags, URIs and sizes, an invalid job, a bucket
 * that does not exist (exit 2).
 */
import '../runner/esm-interop';
import { HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { createS3Client, createStsClient, type S3Endpoint } from '../../functions/shared/clients';
import { assertStateBucketApart } from '../../functions/shared/config';
import { awsErrorCode, errorMessage, httpStatusOf } from '../../functions/shared/errors';
import { formatBytes, formatCount } from '../../functions/shared/format';
import { type Job, type JobInput, resolveJob, useNameRules } from '../../functions/shared/job';
import { embeddedEndpoint } from '../embedded-s3';
import { EXIT, UsageError } from '../errors';
import { addFeatureOptions, deletesSummary, manifestFromFlags } from '../feature-flags';
import type { CliIo } from '../io';
import { checkBucketName, collect, escapeGlob, jobOptionsFromFlags, type OptionFlags, parseS3Uri } from '../job-flags';
import { createProgressReporter } from '../progress';
import type { LocalRunOptions, LocalRunResult } from '../runner/runner';
import { parseDuration } from '../size';
import { stsEndpointFor } from '../sts-endpoint';
import { COMMAND_DESCRIPTIONS } from './descriptions';

/**
 * Set to 1 when --endpoint is the embedded S3 server (`s3xcopy demo`'s, or one a test started): the CLI
 * then uses that server's fixed credentials and applies its client-side signing fix. Never needed for AWS
 * or a real S3-compatible server.
 */
export const EMBEDDED_ENV = 'S3XCOPY_EMBEDDED';

/** The job flags `run` (and `start`) share. */
export interface JobFlags extends OptionFlags {
  source: string;
  target: string;
  targetRoleArn?: string;
  externalId?: string;
  include: string[];
  exclude: string[];
  mode: string;
}

interface RunFlags extends JobFlags {
  invocationTimeout?: string;
  endpoint?: string;
  stsEndpoint?: string;
  region?: string;
  stateBucket?: string;
  json?: boolean;
}

/** Adds the job flags (source, target, role, filters, options) to a command. */
export function addJobOptions(command: Command): Command {
  command
    .requiredOption(
      '--source <uri>',
      'source, s3://BUCKET[/PREFIX]; a URI naming one object (s3://BUCKET/KEY) copies that object alone into the target prefix, as `aws s3 cp` does (run only); without a trailing "/" it must name an object, or a prefix KEY/ holding objects',
    )
    .requiredOption('--target <uri>', 'target, s3://BUCKET[/PREFIX]')
    .option('--target-role-arn <arn>', 'role in the target account to assume for the copy')
    .option('--external-id <id>', 'ExternalId the target role requires')
    .option('--include <glob>', 'copy only keys matching GLOB (relative to the source prefix; repeatable)', collect, [])
    .option('--exclude <glob>', 'skip keys matching GLOB (repeatable)', collect, [])
    .option('--mode <mode>', 'copy (every object) or sync (skip objects the target already has)', 'copy')
    .option('--dry-run', 'list and plan, copy nothing')
    .option('--concurrency <n>', 'parallel copies per batch')
    .option('--multipart-threshold <size>', 'copy objects at least this big in parts (e.g. 64MiB)')
    .option('--part-size <size>', 'part size for multipart copies (e.g. 64MiB)')
    .option(
      '--verify <scope>',
      'check (and repair) what the target holds after each copy: multipart (default), all, or none',
    )
    .option(
      '--slice-max-objects <n>',
      'objects listed and copied per slice (default 100000); a local run holds one slice in memory at a time',
    )
    .option(
      '--list-concurrency <n>',
      'partitions of the source prefix listed at once (default 32); 1 lists one ListObjectsV2 chain',
    );
  // --restore, --restore-days, --delete, --max-delete (cli/feature-flags.ts).
  return addFeatureOptions(command);
}

/**
 * Turns the job flags into a validated job input.
 * @throws UsageError / InvalidJobError (exit 2) naming the flag or field
 */
export function jobFromFlags(flags: JobFlags): JobInput {
  const source = parseS3Uri(flags.source, '--source');
  const target = parseS3Uri(flags.target, '--target');
  const options = jobOptionsFromFlags(flags);
  const manifest = manifestFromFlags(flags);
  const job: JobInput = {
    source: { ...source, ...(manifest ? { manifest } : {}) },
    target: {
      ...target,
      ...(flags.targetRoleArn ? { roleArn: flags.targetRoleArn } : {}),
      ...(flags.externalId ? { externalId: flags.externalId } : {}),
    },
    filter: { include: flags.include, exclude: flags.exclude },
    options,
  };
  resolveJob(job);
  return job;
}

/** The S3 endpoint for the flags: AWS (default chain) without --endpoint; the embedded server's settings with S3XCOPY_EMBEDDED=1. */
export function endpointFromFlags(flags: { endpoint?: string; region?: string }, env = process.env): S3Endpoint {
  if (!flags.endpoint) return flags.region ? { region: flags.region } : {};
  let url: URL;
  try {
    url = new URL(flags.endpoint);
  } catch {
    throw new UsageError(`--endpoint: "${flags.endpoint}" is not a URL. Example: --endpoint http://127.0.0.1:9000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--endpoint: "${flags.endpoint}" must be an http:// or https:// URL.`);
  }
  if (env[EMBEDDED_ENV] === '1') {
    return { ...embeddedEndpoint(flags.endpoint), ...(flags.region ? { region: flags.region } : {}) };
  }
  return { endpoint: flags.endpoint, ...(flags.region ? { region: flags.region } : {}) };
}

async function checkBucket(s3: S3Client, bucket: string, role: string, requestPayer = false): Promise<void> {
  try {
    // HeadBucket cannot carry x-amz-request-payer, which a Requester Pays bucket
    // demands of other accounts; a one-key listing can, and the run lists the bucket anyway.
    await s3.send(
      requestPayer
        ? new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1, RequestPayer: 'requester' })
        : new HeadBucketCommand({ Bucket: bucket }),
    );
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404) throw new UsageError(`${role} bucket ${bucket} does not exist. Check the name in --${role}.`);
    if (status === 403) {
      throw new UsageError(
        `${role} bucket ${bucket}: access denied (403) with these credentials. Check the bucket policy and your AWS credentials.`,
      );
    }
    throw new UsageError(`Cannot reach ${role} bucket ${bucket}: ${awsErrorCode(error)}: ${errorMessage(error)}`);
  }
}

/**
 * Checks that the buckets exist before anything runs: the source (and the state bucket) with the
 * caller's credentials, the target too unless a role is assumed for it (the run then reports a bad role).
 */
export async function preflight(endpoint: S3Endpoint, job: Job, stateBucket?: string): Promise<void> {
  const s3 = createS3Client(endpoint);
  try {
    await checkBucket(s3, job.source.bucket, 'source', job.options.requestPayer === true);
    if (!job.target.roleArn) await checkBucket(s3, job.target.bucket, 'target');
    if (stateBucket) await checkBucket(s3, stateBucket, 'state');
  } finally {
    s3.destroy();
  }
}

/**
 * `--source s3://BUCKET/KEY` naming one object (no trailing "/", and HEAD finds it): the job selects
 * exactly that object, copied into the target prefix under its own name, as `aws s3 cp` does. A URI that
 * names no object is accepted as the prefix KEY/ only when that prefix holds objects (as
 * `aws s3 cp --recursive s3://BUCKET/dir` reads `dir/`); otherwise it is an error: a mistyped object name
 * silently became an empty prefix before, and with --delete that emptied the target.
 * @throws UsageError (exit 2) when the URI names no object and no non-empty prefix, when the HEAD is
 *   denied and no prefix holds objects, or when --include is combined with an object source
 */
export async function objectSourceJob(endpoint: S3Endpoint, input: JobInput): Promise<JobInput> {
  const bucket = input.source?.bucket;
  const key = input.source?.prefix ?? '';
  if (!bucket || key === '' || key.endsWith('/')) return input;
  const payer = input.options?.requestPayer ? { RequestPayer: 'requester' as const } : {};
  const s3 = createS3Client(endpoint);
  try {
    const status = await headStatus(s3, bucket, key, payer);
    if (status !== 200) {
      if (await prefixHoldsObjects(s3, bucket, `${key}/`, payer)) return input;
      const why =
        status === 403
          ? `HEAD answered 403 (access denied): these credentials cannot read it as an object (s3:GetObject), and no object is listed under s3://${bucket}/${key}/`
          : `no such object, and no object is listed under s3://${bucket}/${key}/`;
      throw new UsageError(
        `--source s3://${bucket}/${key} names no object (${why}). Check the key (an object URI must name an existing object), or end the URI with "/" to name a prefix.`,
      );
    }
  } finally {
    s3.destroy();
  }
  if ((input.filter?.include ?? []).length > 0) {
    throw new UsageError(
      `--source s3://${bucket}/${key} names one object, which is copied alone: drop --include, or end the URI with "/" to copy the prefix ${key}/`,
    );
  }
  const slash = key.lastIndexOf('/');
  return {
    ...input,
    source: { ...input.source, prefix: key.slice(0, slash + 1) },
    filter: { ...input.filter, include: [escapeGlob(key.slice(slash + 1))] },
  };
}

/** 200, 404 or 403 for a HEAD of the key; any other answer is a UsageError (the run cannot tell). */
async function headStatus(
  s3: S3Client,
  bucket: string,
  key: string,
  payer: { RequestPayer?: 'requester' },
): Promise<200 | 403 | 404> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...payer }));
    return 200;
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404 || status === 403) return status;
    throw new UsageError(
      `--source: cannot tell whether s3://${bucket}/${key} is an object: ${awsErrorCode(error)}: ${errorMessage(error)}`,
    );
  }
}

/** Whether at least one object is listed under the prefix (a denied listing counts as none). */
async function prefixHoldsObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  payer: { RequestPayer?: 'requester' },
): Promise<boolean> {
  try {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1, ...payer }));
    return (page.Contents ?? []).length > 0;
  } catch (error) {
    if (httpStatusOf(error) === 403) return false;
    throw new UsageError(
      `--source: cannot list s3://${bucket}/${prefix}: ${awsErrorCode(error)}: ${errorMessage(error)}`,
    );
  }
}

/** The `--json` document (DESIGN.md), with the job id, dry-run flag and error as extras. */
export function runSummaryJson(result: LocalRunResult, durationMs: number) {
  return {
    status: result.status,
    jobId: result.jobId,
    dryRun: result.list?.dryRun ?? false,
    objects: result.objects,
    bytes: result.bytes,
    failures: result.failures,
    ...(result.error ? { error: result.error } : {}),
    durationMs,
    copy: copyWork(result),
    results: result.results ?? null,
    failuresFile: result.failuresFile ?? null,
    openUploads: result.openUploads ?? null,
    strayUploads: result.strayUploads ?? [],
    identityRecords: result.identityRecords ?? null,
    // Mirror deletes (--delete).
    ...(result.deletes ? { deletes: result.deletes } : {}),
    outputDir: result.outputDir,
  };
}

/** One line for people: outcome, counts, bytes, time, where the results are. */
export function summaryLine(result: LocalRunResult, durationMs: number): string {
  const o = result.objects;
  const count = formatCount;
  const seconds = (durationMs / 1000).toFixed(1);
  if (result.list?.dryRun) {
    return `DRY RUN${deletesSummary(result)}: ${count(o.wouldCopy ?? 0)} of ${count(o.selected)} selected objects (${formatBytes(result.bytes.wouldCopy ?? 0)} of ${formatBytes(result.bytes.selected)}) would be copied, ${count(o.skipped)} skipped, ${count(o.listed)} listed; nothing was copied (${seconds} s)`;
  }
  const notAttempted = o.notAttempted > 0 ? `, ${count(o.notAttempted)} not attempted` : '';
  const head = `${result.status}: ${count(o.copied)} copied, ${count(o.skipped)} skipped, ${count(o.failed)} failed${notAttempted} of ${count(o.selected)} selected (${formatBytes(result.bytes.copied)} copied of ${formatBytes(result.bytes.selected)}) in ${seconds} s`;
  const error = result.error ? `; ${result.error.error}: ${result.error.cause}` : '';
  const work = copyWork(result);
  const parts = work.parts > 0 ? `, ${count(work.parts)} parts` : '';
  const open = result.openUploads?.open
    ? `; ${count(result.openUploads.open)} multipart uploads left open (the server did not answer; the next run to this target aborts them, listed in ${result.openUploads.file})`
    : '';
  const strays = result.strayUploads?.length
    ? `; ${count(result.strayUploads.length)} multipart uploads left open, not provably this job's (ids in --json and the notification)`
    : '';
  return `${head}; ${count(work.invocations)} copy invocations${parts}${deletesSummary(result)}${open}${strays}${unkeptRecords(result)}${error}`;
}

/**
 * Says when the copies' identity records die with the run: copies whose ETag can never equal the
 * source's (an SSE-KMS target, a single part copied in parts) are recognised by a later sync only
 * through their records, and a run without --state-bucket keeps them in its private store.
 */
function unkeptRecords(result: LocalRunResult): string {
  const records = result.identityRecords;
  if (!records || records.kept || records.written === 0) return '';
  return `; ${formatCount(records.written)} copies can be recognised by a later sync only through identity records, which this run kept in its private state store and discards: the next --mode sync copies them again unless runs share a --state-bucket`;
}

/** How much work the copy did: its Lambda invocations (retries included) and the parts it copied. */
export function copyWork(result: LocalRunResult): { invocations: number; parts: number } {
  return {
    invocations: result.stats.lambda.copy?.invocations ?? 0,
    parts: result.stats.s3.target.UploadPartCopyCommand ?? 0,
  };
}

/** Exit code for a finished run: 0 all selected objects copied or skipped (or, in a dry run, planned); 2 a bad manifest; 1 otherwise. */
export function exitCodeFor(result: LocalRunResult): number {
  // A bad manifest is bad input, found by the validate pass before any copy.
  if (result.status !== 'SUCCEEDED' && result.error?.error === 'InvalidManifestError') return EXIT.usage;
  // An empty or much smaller source with --delete stops before any delete: most likely a wrong --source.
  if (result.status !== 'SUCCEEDED' && result.error?.error === 'SourceListingTooSmallError') return EXIT.usage;
  const o = result.objects;
  const settled = o.failed === 0 && (result.list?.dryRun === true || o.notAttempted === 0);
  return result.status === 'SUCCEEDED' && settled ? EXIT.ok : EXIT.failed;
}

/**
 * Runs one job with progress on stderr and the notification echoed to stderr; returns the result.
 * Shared by `run` and `demo`.
 */
export async function runWithProgress(
  io: CliIo,
  label: string,
  options: LocalRunOptions,
): Promise<{ result: LocalRunResult; durationMs: number }> {
  const progress = createProgressReporter(io, label);
  const started = Date.now();
  // Loaded here, after the flags and the buckets are checked: the runner brings the Step Functions
  // interpreter, the handlers and Powertools, which a bad flag or a missing bucket never needs.
  const { runLocal } = require('../runner/runner') as typeof import('../runner/runner');
  const result = await runLocal({
    ...options,
    onProgress: (event) => progress.onProgress(event),
    onNotification: (notification) => {
      progress.stop();
      io.stderr(`\n[notification] ${notification.subject}\n${notification.body.replace(/^/gm, '  ')}\n`);
    },
  }).finally(() => progress.stop());
  return { result, durationMs: Date.now() - started };
}

/** Registers `s3xcopy run`. */
export function register(program: Command, io: CliIo): void {
  const command = program.command('run').description(COMMAND_DESCRIPTIONS.run);
  addJobOptions(command)
    .option('--endpoint <url>', 'an S3-compatible server (path-style requests; credentials from the AWS_* variables)')
    .option(
      '--sts-endpoint <url>',
      'where to assume --target-role-arn (default: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else --endpoint, else AWS STS)',
    )
    .option('--region <region>', 'AWS region of the buckets')
    .option(
      '--state-bucket <bucket>',
      'bucket for manifests and results (default: an in-process store; the results are saved to the run directory)',
    )
    .option(
      '--invocation-timeout <duration>',
      "the local copy function's timeout (default 900s, Lambda's); shorter (e.g. 20s) shows large objects resuming across invocations",
    )
    .option('--json', 'print one JSON summary on stdout')
    .action(async (flags: RunFlags) => {
      // An S3-compatible server names buckets and roles its own way (tenant:bucket, arn:aws:iam:::role/R).
      useNameRules(flags.endpoint ? 's3-compatible' : 'aws');
      const copyTimeoutSeconds =
        flags.invocationTimeout === undefined
          ? undefined
          : parseDuration(flags.invocationTimeout, '--invocation-timeout');
      if (copyTimeoutSeconds !== undefined && (copyTimeoutSeconds < 1 || copyTimeoutSeconds > 900)) {
        throw new UsageError('--invocation-timeout must be between 1s and 900s (Lambda allows at most 15 minutes)');
      }
      const endpoint = endpointFromFlags(flags);
      const input = await objectSourceJob(endpoint, jobFromFlags(flags));
      const stsEndpoint = stsEndpointFor(flags);
      const job = resolveJob(input);
      if (flags.stateBucket !== undefined) {
        checkBucketName(flags.stateBucket, '--state-bucket');
        try {
          assertStateBucketApart(job, flags.stateBucket, '--state-bucket');
        } catch (error) {
          throw new UsageError(errorMessage(error).replace(/^Invalid job: /, ''));
        }
      }
      await preflight(endpoint, job, flags.stateBucket);
      const { result, durationMs } = await runWithProgress(io, input.options?.mode ?? 'copy', {
        input,
        endpoint,
        ...(flags.targetRoleArn ? { sts: createStsClient(endpoint.region, stsEndpoint) } : {}),
        ...(flags.stateBucket ? { stateBucket: flags.stateBucket } : {}),
        ...(copyTimeoutSeconds ? { copyTimeoutSeconds } : {}),
      });
      if (flags.json) {
        io.stdout(`${JSON.stringify(runSummaryJson(result, durationMs))}\n`);
      } else {
        io.stdout(`${summaryLine(result, durationMs)}\n`);
        if (result.failures.length > 0) {
          io.stderr(
            `First failed keys:\n${result.failures
              .slice(0, 10)
              .map((f) => `  ${f.key} (${f.code})`)
              .join('\n')}\n`,
          );
          if (result.failuresFile) io.stderr(`Every failed key with its error code: ${result.failuresFile}\n`);
        }
        io.stderr(
          `Results: ${result.results ?? 'none (nothing was copied)'}; logs and notifications: ${result.outputDir}\n`,
        );
      }
      process.exitCode = exitCodeFor(result);
    });
}
