/**
 * Formats the one notification an execution sends: an SNS subject under 100 characters, a plain-text
 * body people can act on, and message attributes subscribers can filter on.
 */
import { formatBytes, formatCount } from '../shared/format';
import type { CopyFailure, JobDefaults } from '../shared/job';
import { archivedLines, type DeletesSummaryInput, deletesLines, strayUploadLines } from './feature-lines';
import { buildLedger, type LedgerBytes, type LedgerObjects } from './ledger';
import { type AggregatedResults, decodeCause, type LedgerSource } from './results';

/** What the state machine passes to Notify (statemachine/copy.asl.json, NotifySuccess and NotifyFailure). */
export interface NotifyInput {
  status: 'SUCCEEDED' | 'FAILED';
  execution: { id: string; name: string; startTime?: string };
  /** The state when Notify ran: the last List output (job, jobId, totals), the Map Run, and the caught error. */
  state: {
    job?: {
      source?: { bucket?: string; prefix?: string };
      target?: { bucket?: string; prefix?: string; roleArn?: string };
      options?: { mode?: string; dryRun?: boolean; notifyOnSuccess?: boolean };
    };
    jobId?: string;
    dryRun?: boolean;
    totals?: {
      listed?: number;
      selected?: number;
      skipped?: number;
      bytes?: number;
      selectedBytes?: number;
      skippedByReason?: Record<string, number>;
      /** Target-only objects found for mirror deletes. */
      toDelete?: number;
    };
    error?: { Error?: string; Cause?: string };
    /** The MirrorDeletes step's output (options.delete). */
    mirrorDeletes?: { summary?: DeletesSummaryInput };
  };
}

/** What gets published. */
export interface Notification {
  subject: string;
  body: string;
  /** SNS message attributes (status, jobId, dryRun, failedObjects), so subscriptions can filter. */
  attributes: Record<string, { DataType: 'String' | 'Number'; StringValue: string }>;
}

/** The summary Notify returns (and the local runner prints): the same figures the message shows. */
export interface NotificationSummary {
  status: 'SUCCEEDED' | 'FAILED';
  dryRun: boolean;
  jobId: string;
  source: string;
  target: string;
  /**
   * The ledger: selected = copied + skipped + failed + notAttempted. When the copy results could not
   * be read (`countsUnavailable` says why), copied, skipped, failed and notAttempted are null, never 0.
   */
  objects: Omit<LedgerObjects, 'copied' | 'skipped' | 'failed' | 'notAttempted'> & {
    copied: number | null;
    skipped: number | null;
    failed: number | null;
    notAttempted: number | null;
  };
  bytes: Omit<LedgerBytes, 'copied'> & { copied: number | null };
  /** Why the copy counts are unknown (the state bucket could not be read, the ResultWriter failed). */
  countsUnavailable?: string;
  /** Set when the counts come from the copy function's batch records because the ResultWriter wrote no results. */
  ledgerSource?: LedgerSource;
  /** The first MAX_FAILED_KEYS failed keys; the failures file holds them all. */
  failures: CopyFailure[];
  /** Where every failed key is listed (reports/<jobId>/failures.jsonl in the state bucket). */
  failuresFile?: string;
  error?: { error: string; cause: string };
  results?: string;
  consoleUrl?: string;
  /** False when the execution failed before List resolved the job: source and target are then the deployment defaults. */
  jobResolved: boolean;
  /** Uploads of a key whose create answer was lost, not provably the job's: left open, named by id. */
  strayUploads?: Array<{ key: string; uploadId: string }>;
}

/** SNS: subjects are ASCII, start with a letter/digit/punctuation, have no line breaks, and are under 100 characters. */
export const MAX_SUBJECT_LENGTH = 99;
export const MAX_FAILED_KEYS = 20;

const count = formatCount;

/** Makes any text a valid SNS subject: printable ASCII only, one line, at most 99 characters. */
export function toSubject(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?').trim();
  return ascii.length <= MAX_SUBJECT_LENGTH ? ascii : `${ascii.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

/** The AWS console page of an execution, or undefined for a local run (region "local"). */
export function consoleUrl(executionArn: string): string | undefined {
  const region = executionArn.split(':')[3];
  if (!region || region === 'local' || !executionArn.startsWith('arn:aws:states:')) return undefined;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

function location(part: { bucket?: string; prefix?: string } | undefined): string {
  if (!part?.bucket) return '?';
  return `${part.bucket}/${part.prefix ?? ''}`;
}

/**
 * Builds the summary from the Notify input and the aggregated ResultWriter files (undefined when no
 * Map ran: a dry run, nothing to copy, or a failure before copying).
 * @param defaults the deployment's source and target, named when the first List failed before it
 *   resolved the job (the state machine does not pass the execution input: it can be ~256 KiB of S3 events)
 */
export function summarize(
  input: NotifyInput,
  results: AggregatedResults | undefined,
  resultsUrl?: string,
  defaults: JobDefaults = {},
  countsUnavailable?: string,
) {
  const { state } = input;
  const totals = state.totals ?? {};
  const dryRun = state.dryRun ?? state.job?.options?.dryRun ?? false;
  const error = state.error
    ? { error: state.error.Error ?? 'Error', cause: decodeCause(state.error.Cause).message }
    : undefined;
  // A Map Run whose ResultWriter failed left no (or partial) results: its objects' fates are unknown
  // unless they were counted from the copy function's batch records instead.
  const unavailable =
    countsUnavailable ??
    (state.error?.Error === 'States.ResultWriterFailed' && !results?.ledgerSource
      ? `the Distributed Map could not write its results (States.ResultWriterFailed: ${decodeCause(state.error.Cause).message})`
      : undefined);
  const ledger = buildLedger(totals, results, dryRun);
  const summary: NotificationSummary = {
    status: input.status,
    dryRun,
    jobId: state.jobId ?? input.execution.name,
    source: location(state.job ? state.job.source : defaults.source),
    target: location(state.job ? state.job.target : defaults.target),
    jobResolved: state.job !== undefined,
    objects: unavailable
      ? { ...ledger.objects, copied: null, skipped: null, failed: null, notAttempted: null, failedByCode: {} }
      : ledger.objects,
    bytes: unavailable ? { ...ledger.bytes, copied: null } : ledger.bytes,
    ...(unavailable ? { countsUnavailable: unavailable } : {}),
    ...(!unavailable && results?.ledgerSource ? { ledgerSource: results.ledgerSource } : {}),
    failures: (results?.failures ?? []).slice(0, MAX_FAILED_KEYS),
    ...(error ? { error } : {}),
    ...(resultsUrl && results && results.mapRuns > 0 ? { results: resultsUrl } : {}),
    ...(consoleUrl(input.execution.id) ? { consoleUrl: consoleUrl(input.execution.id) } : {}),
    ...(results?.strayUploads?.length ? { strayUploads: results.strayUploads } : {}),
  };
  return summary;
}

/** "unchanged 3, vanished 1": the non-zero counts of a by-reason or by-code table. */
function breakdown(table: Record<string, number>): string {
  const parts = Object.entries(table)
    .filter(([, value]) => value > 0)
    .map(([name, value]) => `${name} ${count(value)}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function subjectFor(summary: NotificationSummary): string {
  const route = `${summary.source} -> ${summary.target}`;
  const { objects } = summary;
  if (objects.copied === null || objects.failed === null || objects.notAttempted === null) {
    return toSubject(`s3xcopy ${summary.status}: ${route}, copy counts unavailable`);
  }
  const notAttempted = objects.notAttempted > 0 ? `, ${count(objects.notAttempted)} not attempted` : '';
  if (summary.status === 'FAILED') {
    const what =
      objects.failed > 0 || objects.notAttempted > 0
        ? `${count(objects.copied)} copied, ${count(objects.failed)} failed${notAttempted} of ${count(objects.selected)} objects`
        : (summary.error?.error ?? 'failed');
    return toSubject(`s3xcopy FAILED: ${route}, ${what}`);
  }
  if (summary.dryRun) {
    return toSubject(
      `s3xcopy DRY RUN: ${route}, ${count(objects.wouldCopy ?? 0)} of ${count(objects.selected)} objects to copy`,
    );
  }
  const failed = objects.failed > 0 ? `, ${count(objects.failed)} failed (tolerated)` : '';
  return toSubject(
    `s3xcopy SUCCEEDED: ${route}, ${count(objects.copied)} copied, ${count(objects.skipped ?? 0)} skipped${failed}${notAttempted}`,
  );
}

/** The ledger lines of the message body. */
function ledgerLines(summary: NotificationSummary): string[] {
  const { objects, bytes } = summary;
  const head = `Objects:   ${count(objects.listed)} listed, ${count(objects.selected)} selected (${formatBytes(bytes.selected)})`;
  if (summary.countsUnavailable || objects.copied === null || bytes.copied === null) {
    return [
      head,
      `Copied:    counts unavailable: ${summary.countsUnavailable ?? 'the copy results could not be read'}`,
      '           (the target may hold some or all of the selected objects; a sync re-run copies only what is missing)',
    ];
  }
  if (summary.dryRun) {
    return [
      head,
      `Dry run:   ${count(objects.wouldCopy ?? 0)} would be copied (${formatBytes(bytes.wouldCopy ?? 0)}), ${count(objects.skipped ?? 0)} skipped${breakdown(objects.skippedByReason)}; nothing was copied`,
    ];
  }
  return [
    head,
    `Copied:    ${count(objects.copied)} (${formatBytes(bytes.copied)})`,
    `Skipped:   ${count(objects.skipped ?? 0)}${breakdown(objects.skippedByReason)}`,
    `Failed:    ${count(objects.failed ?? 0)}${breakdown(objects.failedByCode)}`,
    `Not attempted: ${count(objects.notAttempted ?? 0)}${(objects.notAttempted ?? 0) > 0 ? ' (batches the Map Run never started, or a time-budget stop never reached)' : ''}`,
    ...ledgerSourceLines(summary.ledgerSource),
  ];
}

/** Says the counts came from the batch records, why, and how many batches had none. */
function ledgerSourceLines(source: LedgerSource | undefined): string[] {
  if (!source) return [];
  return [
    `Counted from the copy function's batch records (${count(source.batches - source.batchesWithoutRecord)} of ${count(source.batches)} batches had one; ` +
      `the objects of the ${count(source.batchesWithoutRecord)} without count as not attempted): ${source.reason}`,
  ];
}

/** Formats the notification for a summary (and the batch errors behind it, when a Map ran). */
export function formatNotification(
  summary: NotificationSummary,
  input: NotifyInput,
  results: AggregatedResults | undefined,
): Notification {
  const { objects } = summary;
  const lines = [
    `s3xcopy execution ${input.execution.name} ${summary.dryRun ? 'finished a dry run' : summary.status}.`,
    '',
    `Execution: ${input.execution.id}`,
    ...(summary.consoleUrl ? [`Console:   ${summary.consoleUrl}`] : []),
    ...(input.execution.startTime ? [`Started:   ${input.execution.startTime}`] : []),
    `Job id:    ${summary.jobId}`,
    `Source:    s3://${summary.source}`,
    `Target:    s3://${summary.target}`,
    ...(summary.jobResolved
      ? []
      : [
          '           (the deployment defaults: the execution failed before the job was resolved; see the error below)',
        ]),
    '',
    ...ledgerLines(summary),
    ...archivedLines(summary.objects.skippedByReason, summary.jobId),
    ...deletesLines(input.state.mirrorDeletes?.summary, input.state.totals),
    ...strayUploadLines(summary.strayUploads),
  ];
  if (summary.failures.length > 0) {
    const failed = objects.failed ?? summary.failures.length;
    lines.push(
      '',
      `${failed > summary.failures.length ? `First ${summary.failures.length} of ${count(failed)}` : `All ${summary.failures.length}`} failed keys:`,
    );
    for (const failure of summary.failures) lines.push(`  ${failure.key}  (${failure.code})`);
  }
  if (summary.failuresFile) {
    // Written for every run (with the ledger beside it); named as the failure list only when something failed.
    lines.push(
      '',
      (objects.failed ?? 1) > 0
        ? `Every failed key with its error code: ${summary.failuresFile}`
        : `Report (ledger.json, failures.jsonl): ${summary.failuresFile.replace(/[^/]*$/, '')}`,
    );
  }
  if (results && results.batchErrors.length > 0) {
    lines.push('', 'Failed batches:');
    for (const batch of results.batchErrors.slice(0, 5))
      lines.push(`  ${batch.batchId}: ${batch.error}: ${batch.message}`);
  }
  if (summary.error) {
    lines.push('', `Error: ${summary.error.error}`, `Cause: ${summary.error.cause}`);
  }
  if (summary.results) lines.push('', `Full results: ${summary.results}`);
  return {
    subject: subjectFor(summary),
    body: `${lines.join('\n')}\n`,
    attributes: {
      status: { DataType: 'String', StringValue: summary.status },
      jobId: { DataType: 'String', StringValue: summary.jobId },
      dryRun: { DataType: 'String', StringValue: String(summary.dryRun) },
      ...(objects.failed === null
        ? {}
        : { failedObjects: { DataType: 'Number', StringValue: String(objects.failed) } }),
    },
  };
}
