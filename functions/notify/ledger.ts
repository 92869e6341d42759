/**
 * The ledger of one execution (DESIGN.md): every selected object has exactly one fate, so
 * `selected = copied + skipped + failed + notAttempted`. The list totals say what was selected and what
 * listing skipped; the ResultWriter files (results.ts) say what the copy workers did; whatever was selected
 * but appears in no result (a batch left PENDING, objects a time-budget stop never reached, a Map Run that
 * never ran) was not attempted. The local runner and Notify both build it here, from the same files.
 */
import type { AggregatedResults } from './results';

/** What listing reported (the last List output's cumulative totals); older outputs lack the newer fields. */
export interface ListedTotals {
  listed?: number;
  selected?: number;
  skipped?: number;
  bytes?: number;
  selectedBytes?: number;
  skippedByReason?: Record<string, number>;
}

export interface LedgerObjects {
  listed: number;
  selected: number;
  /** The target holds these objects' bytes, written by this run. */
  copied: number;
  skipped: number;
  failed: number;
  notAttempted: number;
  /** A dry run: the objects a real run would copy (the same number as notAttempted). */
  wouldCopy?: number;
  skippedByReason: Record<string, number>;
  failedByCode: Record<string, number>;
}

export interface LedgerBytes {
  /** Bytes of the selected objects: the same set as objects.selected. */
  selected: number;
  /** Bytes the copy workers wrote. */
  copied: number;
  /** A dry run: bytes of the objects a real run would copy. */
  wouldCopy?: number;
}

export interface Ledger {
  objects: LedgerObjects;
  bytes: LedgerBytes;
}

function sumInto(target: Record<string, number>, source: Record<string, number> | undefined): void {
  for (const [name, value] of Object.entries(source ?? {})) target[name] = (target[name] ?? 0) + value;
}

/**
 * Builds the ledger from the list totals and the aggregated ResultWriter files.
 * @param results undefined when no Map ran (a dry run, nothing to copy, a failure before copying)
 */
export function buildLedger(totals: ListedTotals, results: AggregatedResults | undefined, dryRun: boolean): Ledger {
  const selected = totals.selected ?? 0;
  const skippedByReason: Record<string, number> = {};
  sumInto(skippedByReason, totals.skippedByReason);
  sumInto(skippedByReason, results?.skippedByReason);
  const copied = results?.objects.copied ?? 0;
  const skipped = (totals.skipped ?? 0) + (results?.objects.skipped ?? 0);
  const failed = results?.objects.failed ?? 0;
  const notAttempted = Math.max(0, selected - copied - skipped - failed);
  return {
    objects: {
      listed: totals.listed ?? 0,
      selected,
      copied,
      skipped,
      failed,
      notAttempted,
      ...(dryRun ? { wouldCopy: notAttempted } : {}),
      skippedByReason,
      failedByCode: { ...(results?.failedByCode ?? {}) },
    },
    bytes: {
      selected: totals.selectedBytes ?? totals.bytes ?? 0,
      copied: results?.bytesCopied ?? 0,
      ...(dryRun ? { wouldCopy: totals.bytes ?? 0 } : {}),
    },
  };
}
