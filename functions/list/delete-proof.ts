/**
 * The proof a mirror delete acts on, and the ledger of what each candidate became.
 *
 * A listing can only say "I did not see a source object for this target key", and a listing can be wrong:
 * servers that drop a common prefix after StartAfter, or answer a deep delimited listing with nothing, made
 * earlier versions delete good copies. So just before deleting a target object we ask the source for the
 * mapped key itself (HeadObject), with the list function's own role, which lists the source bucket: S3
 * answers such a caller 404 for a missing key. Only that 404 (NotFound, NoSuchKey) proves the source is
 * gone. A 200 means the listing missed a source object (refused: it is kept, and the run fails so someone
 * looks at the listing, which missed its copy too); a 403 or any other error proves nothing (kept, and
 * reported with the action, key and code).
 */
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { awsErrorCode, errorMessage, httpStatusOf } from '../shared/errors';
import type { Job } from '../shared/job';

/** One candidate that could not be settled: which request failed, on which key, with which code. */
export interface DeleteFailure {
  action: 'HeadObject' | 'DeleteObject';
  /** The target key (the HEAD asked for its mapped source key, named in the message). */
  key: string;
  code: string;
  message: string;
}

/**
 * The delete ledger of a run. Every candidate ends in exactly one of refused, deleted (a dry run: proven),
 * failed, notAttempted: `toDelete = refused + deleted + failed + notAttempted` (dry run: `proven` for
 * `deleted`). `proven` counts the 404s, so `proven = deleted + failures with action DeleteObject`.
 */
export interface DeleteLedger {
  toDelete: number;
  proven: number;
  refused: number;
  deleted: number;
  failed: number;
  notAttempted: number;
  /** The first MAX_REPORTED failures; `failed` is the exact count. */
  failures: DeleteFailure[];
  /** The first MAX_REPORTED refused keys (their source exists). */
  refusedKeys: string[];
}

/** Failures and refused keys named in the output (it travels in the state machine's 256 KiB payload). */
export const MAX_REPORTED = 20;

export function emptyLedger(toDelete: number): DeleteLedger {
  return { toDelete, proven: 0, refused: 0, deleted: 0, failed: 0, notAttempted: 0, failures: [], refusedKeys: [] };
}

/** What the HEAD of the mapped source key says. */
export type SourceEvidence =
  | { kind: 'absent' }
  | { kind: 'exists' }
  | { kind: 'unknown'; code: string; message: string };

/** The source key a target key mirrors (the inverse of the copy's key mapping). */
export function sourceKeyOf(job: Job, targetKey: string): string {
  return job.source.prefix + targetKey.slice(job.target.prefix.length);
}

/**
 * HEADs the mapped source key. Only a 404 that names a missing key counts as absent: the SDK names a
 * bodiless 404 NotFound, a GET-style one NoSuchKey. Anything else (403, 5xx, a network error) proves nothing.
 */
export async function sourceEvidence(source: S3Client, job: Job, targetKey: string): Promise<SourceEvidence> {
  try {
    await source.send(
      new HeadObjectCommand({
        Bucket: job.source.bucket,
        Key: sourceKeyOf(job, targetKey),
        ...(job.options.requestPayer ? { RequestPayer: 'requester' } : {}),
      }),
    );
    return { kind: 'exists' };
  } catch (error) {
    const code = awsErrorCode(error);
    if (httpStatusOf(error) === 404 && (code === 'NotFound' || code === 'NoSuchKey')) return { kind: 'absent' };
    return { kind: 'unknown', code, message: errorMessage(error) };
  }
}

function fail(ledger: DeleteLedger, failure: DeleteFailure): void {
  ledger.failed++;
  if (ledger.failures.length < MAX_REPORTED) ledger.failures.push(failure);
}

/**
 * Settles one candidate: HEAD the source, then (proven absent, not a dry run) delete the target object.
 * Adds the outcome to the ledger; never throws for a per-key error.
 * @returns `proven` when the source key was proven absent (a dry run names it as one it would delete),
 *   and `deleted` when the target object was then deleted too
 */
export async function settleCandidate(
  clients: { source: S3Client; target: S3Client | undefined },
  job: Job,
  key: string,
  ledger: DeleteLedger,
): Promise<{ proven: boolean; deleted: boolean }> {
  const evidence = await sourceEvidence(clients.source, job, key);
  if (evidence.kind === 'exists') {
    ledger.refused++;
    if (ledger.refusedKeys.length < MAX_REPORTED) ledger.refusedKeys.push(key);
    return { proven: false, deleted: false };
  }
  if (evidence.kind === 'unknown') {
    const message = `HEAD s3://${job.source.bucket}/${sourceKeyOf(job, key)} proved nothing (${evidence.message}); the target object is kept`;
    fail(ledger, { action: 'HeadObject', key, code: evidence.code, message });
    return { proven: false, deleted: false };
  }
  ledger.proven++;
  if (!clients.target) return { proven: true, deleted: false };
  try {
    await clients.target.send(new DeleteObjectCommand({ Bucket: job.target.bucket, Key: key }));
    ledger.deleted++;
    return { proven: true, deleted: true };
  } catch (error) {
    fail(ledger, { action: 'DeleteObject', key, code: awsErrorCode(error), message: errorMessage(error) });
    return { proven: true, deleted: false };
  }
}

/**
 * Why a run's deletes are not a success, or undefined when every candidate was settled as the mirror
 * wants (deleted, or proven in a dry run). Becomes the execution's error (ASL: DeletesUnsettled).
 */
export function unsettledCause(ledger: DeleteLedger, where: string): string | undefined {
  const parts: string[] = [];
  if (ledger.failed > 0) {
    const named = ledger.failures
      .slice(0, 5)
      .map((f) => `${f.action} ${f.key} (${f.code})`)
      .join(', ');
    const more = ledger.failed > 5 ? ` and ${ledger.failed - 5} more` : '';
    parts.push(`${ledger.failed} failed: ${named}${more}`);
  }
  if (ledger.refused > 0) {
    parts.push(
      `${ledger.refused} refused because the source object exists (the listing missed it, so it was not copied either: ${ledger.refusedKeys.slice(0, 5).join(', ')})`,
    );
  }
  if (ledger.notAttempted > 0) parts.push(`${ledger.notAttempted} not attempted (a later run with --delete does them)`);
  if (parts.length === 0) return undefined;
  return `Mirror deletes under ${where}: ${ledger.deleted} of ${ledger.toDelete} deleted; ${parts.join('; ')}`;
}
