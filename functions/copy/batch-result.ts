/** Turns a batch's per-object outcomes into the copy worker's result (DESIGN.md) and its log lines. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CopyFailure, CopyResult } from '../shared/job';
import type { Outcome } from './copy-object';

/** At most this many failures are logged one per line and returned in the result; counts stay exact. */
export const MAX_REPORTED_FAILURES = 100;

export interface BatchSummary {
  result: CopyResult;
  /** Every failure (the result keeps only the first MAX_REPORTED_FAILURES). */
  failures: CopyFailure[];
  /** Objects the time budget stopped before they were copied. */
  stopped: number;
}

/** Counts outcomes: `selected = copied + skipped + failed + stopped` for the batch. */
export function summarizeOutcomes(batchId: string, outcomes: readonly Outcome[]): BatchSummary {
  const result: CopyResult = {
    batchId,
    copied: 0,
    skipped: 0,
    failed: 0,
    bytesCopied: 0,
    skippedByReason: {},
    failures: [],
  };
  const failures: CopyFailure[] = [];
  let stopped = 0;
  for (const outcome of outcomes) {
    if (outcome.kind === 'copied') {
      result.copied++;
      result.bytesCopied += outcome.bytes;
    } else if (outcome.kind === 'skipped') {
      result.skipped++;
      result.skippedByReason[outcome.reason] = (result.skippedByReason[outcome.reason] ?? 0) + 1;
    } else if (outcome.kind === 'failed') {
      failures.push(outcome.failure);
    } else {
      stopped++;
    }
  }
  result.failed = failures.length;
  // The result travels through Step Functions (256 KiB): keep the first failures, the count stays exact.
  result.failures = failures.slice(0, MAX_REPORTED_FAILURES);
  return { result, failures, stopped };
}

/** One line per reported failure and one summary line for the batch (never a line per copied object). */
export function logBatch(
  logger: Logger,
  summary: BatchSummary,
  objects: number,
  durationMs: number,
  work: {
    partsCopied: number;
    copiedBytes: number;
    uploadsResumed: number;
    layoutFallbacks?: number;
    settingsChecked?: number;
  } = {
    partsCopied: 0,
    copiedBytes: 0,
    uploadsResumed: 0,
  },
): void {
  const { result, failures, stopped } = summary;
  for (const failure of result.failures) {
    logger.error('Object copy failed', { key: failure.key, code: failure.code, error: failure.message });
  }
  logger.info('Copy batch finished', {
    objects,
    copied: result.copied,
    skipped: result.skipped,
    skippedByReason: result.skippedByReason,
    failed: result.failed,
    notStarted: stopped,
    bytesCopied: result.bytesCopied,
    durationMs,
    partsCopied: work.partsCopied,
    uploadsResumed: work.uploadsResumed,
    // Copies whose ETag will differ from the source's (its layout could not be replayed: source-layout.ts),
    // and objects whose settings a sync compared (settings-check.ts): only when there were any.
    ...(work.layoutFallbacks ? { layoutFallbacks: work.layoutFallbacks } : {}),
    ...(work.settingsChecked ? { settingsChecked: work.settingsChecked } : {}),
    // Identity records of copies whose ETag differs from the source's (copy/identity-records.ts).
    ...(result.identityRecords ? { identityRecords: result.identityRecords } : {}),
    // This invocation's measured server-side copy rate, to check the rate model (shared/copy-rates.ts).
    measuredBytesPerSecond: durationMs > 0 ? Math.round((work.copiedBytes / durationMs) * 1000) : 0,
    ...(failures.length > MAX_REPORTED_FAILURES ? { unloggedFailures: failures.length - MAX_REPORTED_FAILURES } : {}),
  });
}
