/**
 * What the optional features (restores, mirror deletes) add to a job's bill, priced from cli/cost/prices.ts: restoring archived
 * objects before the copy (RestoreObject request fee and retrieval per GB by tier, the HEAD that reads
 * x-amz-restore, the restored copy's storage for the days kept) and mirror deletes (DeleteObject, free).
 */
import { RESTORE_TIERS, type RestoreTier } from '../../functions/shared/job';
import { UsageError } from '../errors';
import { formatUsd } from './model';
import { PRICES } from './prices';

export type ArchiveClass = keyof typeof PRICES.archiveRetrieval & ('GLACIER' | 'DEEP_ARCHIVE');

export interface PlannedRestores {
  objects: number;
  averageSizeBytes: number;
  storageClass: ArchiveClass;
  tier: RestoreTier;
  days: number;
}

export interface RestoreCost {
  requests: number;
  retrieval: number;
  /** HEAD of each archived object in the list step (GET tier); done again by each later run until copied. */
  heads: number;
  restoredCopyStorage: number;
  total: number;
}

/** Raised for a tier S3 does not offer for the storage class (Expedited for DEEP_ARCHIVE). */
export class UnsupportedRestoreTierError extends Error {
  constructor(storageClass: string, tier: string) {
    super(`S3 offers no ${tier} retrieval for ${storageClass}: use Standard or Bulk`);
    this.name = 'UnsupportedRestoreTierError';
  }
}

/**
 * The cost of restoring `objects` archived objects once (one run starts the restores, one later run
 * copies them: two HEADs each).
 * @throws UnsupportedRestoreTierError for Expedited on DEEP_ARCHIVE
 */
export function restoreCost(plan: PlannedRestores): RestoreCost {
  const table = PRICES.archiveRetrieval[plan.storageClass] as Partial<
    Record<RestoreTier, { perRequest: number; perGb: number }>
  >;
  const price = table[plan.tier];
  if (!price) throw new UnsupportedRestoreTierError(plan.storageClass, plan.tier);
  const gb = (plan.objects * plan.averageSizeBytes) / 1024 ** 3;
  const requests = plan.objects * price.perRequest;
  const retrieval = gb * price.perGb;
  const heads = 2 * plan.objects * PRICES.s3.getHeadPerRequest;
  const restoredCopyStorage = (gb * PRICES.archiveRetrieval.restoredCopyPerGbMonth * plan.days) / 30;
  return { requests, retrieval, heads, restoredCopyStorage, total: requests + retrieval + heads + restoredCopyStorage };
}

/**
 * Mirror deletes: S3 charges nothing for DeleteObject, and the sync merge already lists the candidates;
 * what costs is the proof, one HEAD of the mapped source key per delete (functions/list/delete-proof.ts),
 * and the one-key listing of the source prefix the delete step makes first.
 */
export function deleteCost(objects: number): { requests: number; heads: number; total: number } {
  const requests = objects * PRICES.s3.deletePerRequest;
  const heads = objects * PRICES.s3.getHeadPerRequest + (objects > 0 ? PRICES.s3.putCopyPostListPerRequest : 0);
  return { requests, heads, total: requests + heads };
}

/** The estimate flags of these features, as commander hands them over. */
export interface FeatureEstimateFlags {
  archived?: string;
  archiveClass?: string;
  restore?: string;
  restoreDays?: string;
  deletes?: string;
}

export interface FeatureEstimate {
  restores?: PlannedRestores & { cost: RestoreCost };
  deletes?: { objects: number; cost: { requests: number; heads: number; total: number } };
}

function wholeNumber(text: string, option: string, minimum: number): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new UsageError(`${option}: "${text}" is not a whole number >= ${minimum}. Example: ${option} 1000`);
  }
  return value;
}

/**
 * Prices restores and deletes from the estimate flags.
 * @throws UsageError naming the flag and the fix
 */
export function featureEstimateFromFlags(flags: FeatureEstimateFlags, averageSizeBytes: number): FeatureEstimate {
  const estimate: FeatureEstimate = {};
  const restoreFlags = [flags.archiveClass, flags.restore, flags.restoreDays].some((flag) => flag !== undefined);
  if (flags.archived === undefined && restoreFlags) {
    throw new UsageError(
      '--archive-class, --restore and --restore-days price restores of --archived N objects: add --archived N. Example: --archived 5000 --restore Bulk',
    );
  }
  if (flags.archived !== undefined) {
    const objects = wholeNumber(flags.archived, '--archived', 1);
    const storageClass = (flags.archiveClass ?? 'GLACIER').toUpperCase();
    if (storageClass !== 'GLACIER' && storageClass !== 'DEEP_ARCHIVE') {
      throw new UsageError(
        `--archive-class: "${flags.archiveClass}" is not an archived storage class. Use --archive-class GLACIER or --archive-class DEEP_ARCHIVE.`,
      );
    }
    const tier = RESTORE_TIERS.find((name) => name.toLowerCase() === (flags.restore ?? 'Standard').toLowerCase());
    if (!tier) {
      throw new UsageError(`--restore: "${flags.restore}" is not a retrieval tier. Use Standard, Bulk or Expedited.`);
    }
    const days = flags.restoreDays === undefined ? 1 : wholeNumber(flags.restoreDays, '--restore-days', 1);
    const plan: PlannedRestores = { objects, averageSizeBytes, storageClass, tier, days };
    let cost: RestoreCost;
    try {
      cost = restoreCost(plan);
    } catch (error) {
      if (error instanceof UnsupportedRestoreTierError) throw new UsageError(`--restore: ${error.message}.`);
      throw error;
    }
    estimate.restores = { ...plan, cost };
  }
  if (flags.deletes !== undefined) {
    const objects = wholeNumber(flags.deletes, '--deletes', 0);
    estimate.deletes = { objects, cost: deleteCost(objects) };
  }
  return estimate;
}

/** The lines the estimate table ends with (none when no feature flag was given). */
export function featureEstimateText(estimate: FeatureEstimate): string[] {
  const lines: string[] = [];
  const { restores, deletes } = estimate;
  if (restores) {
    const c = restores.cost;
    lines.push(
      `Restores: ${restores.objects} ${restores.storageClass} objects, ${restores.tier} tier, kept ${restores.days} day(s): ` +
        `${formatUsd(c.total)} (requests ${formatUsd(c.requests)}, retrieval ${formatUsd(c.retrieval)}, ` +
        `HEADs ${formatUsd(c.heads)}, restored copy storage ${formatUsd(c.restoredCopyStorage)}), on top of the copy above`,
    );
  }
  if (deletes) {
    lines.push(
      `Deletes:  ${deletes.objects} target objects (--delete): ${formatUsd(deletes.cost.total)} (one HEAD of the source key per delete, the proof it acts on: ${formatUsd(deletes.cost.heads)}; S3 charges nothing for DeleteObject; no extra listing)`,
    );
  }
  return lines.length > 0 ? [...lines, ''] : lines;
}
