/**
 * The optional features' flags that `run` and `start` share (archived objects: --restore,
 * --restore-days), each parsed with an error that names the flag and the accepted form (exit 2).
 */
import { type Command, Option } from 'commander';
import {
  isValidBucketName,
  type JobInput,
  MANIFEST_FORMATS,
  type ManifestFormat,
  RESTORE_TIERS,
  type RestoreTier,
} from '../functions/shared/job';
import { UsageError } from './errors';

export interface FeatureFlags {
  restore?: string;
  restoreDays?: string;
  delete?: boolean;
  maxDelete?: string;
  allowEmptySource?: boolean;
  manifest?: string;
  manifestFormat?: string;
  requestPayer?: boolean;
}

/** --manifest s3://BUCKET/KEY. */
export function manifestOption(): Option {
  return new Option(
    '--manifest <uri>',
    'copy the objects a manifest names instead of listing the source: an S3 Batch Operations CSV (bucket,key[,versionId], keys URL-encoded) or an S3 Inventory manifest.json; rows must name the --source bucket and keys under its prefix',
  );
}

/** --manifest-format csv|inventory. */
export function manifestFormatOption(): Option {
  return new Option(
    '--manifest-format <format>',
    'csv or inventory (default: inventory for a key ending in manifest.json, csv otherwise)',
  );
}

/** --request-payer. */
export function requestPayerOption(): Option {
  return new Option(
    '--request-payer',
    'the source bucket is Requester Pays: send x-amz-request-payer: requester on every source request (you pay for them)',
  );
}

/**
 * The manifest a job reads, from --manifest and --manifest-format.
 * @throws UsageError naming the flag and the fix
 */
export function manifestFromFlags(
  flags: FeatureFlags,
): { bucket: string; key: string; format?: ManifestFormat } | undefined {
  if (flags.manifest === undefined) {
    if (flags.manifestFormat !== undefined) {
      throw new UsageError(
        '--manifest-format needs --manifest s3://BUCKET/KEY. Example: --manifest s3://lists/run-1.csv',
      );
    }
    return undefined;
  }
  const match = /^s3:\/\/([^/]+)\/(.+)$/s.exec(flags.manifest);
  if (!match) {
    throw new UsageError(
      `--manifest: "${flags.manifest}" names no manifest object. Use s3://BUCKET/KEY, e.g. --manifest s3://lists/run-1.csv or s3://inventory/src/daily/2026-12-01T01-00Z/manifest.json`,
    );
  }
  const bucket = match[1] as string;
  if (!isValidBucketName(bucket)) {
    throw new UsageError(
      `--manifest: "${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots and hyphens).`,
    );
  }
  let format: ManifestFormat | undefined;
  if (flags.manifestFormat !== undefined) {
    format = MANIFEST_FORMATS.find((name) => name === flags.manifestFormat?.trim().toLowerCase());
    if (!format) {
      throw new UsageError(`--manifest-format: "${flags.manifestFormat}" is not a format. Use csv or inventory.`);
    }
  }
  return { bucket, key: match[2] as string, ...(format ? { format } : {}) };
}

/** --restore TIER (a new Option per command: commander keeps state on it). */
export function restoreOption(): Option {
  return new Option(
    '--restore <tier>',
    'start restores of archived (GLACIER, DEEP_ARCHIVE) objects with this retrieval tier: Standard, Bulk or Expedited; a later sync run copies them once restored (default: skip them as archived)',
  );
}

/** --restore-days N. */
export function restoreDaysOption(): Option {
  return new Option('--restore-days <n>', 'days the restored copy stays readable (with --restore; 1-30000)');
}

/** --delete (mirror). */
export function deleteOption(): Option {
  return new Option(
    '--delete',
    'sync mode: delete target objects under the target prefix that have no source object (after filters), once every copy succeeded; each delete needs a HEAD of its source key answering 404 just before it',
  );
}

/** --allow-empty-source (with --delete). */
export function allowEmptySourceOption(): Option {
  return new Option(
    '--allow-empty-source',
    'with --delete: delete even when the source lists no object, or (without --max-delete) when more than 50% of the target prefix would go; without it such a run stops before deleting (exit 2)',
  );
}

/** --max-delete N or N%. */
export function maxDeleteOption(): Option {
  return new Option(
    '--max-delete <n>',
    'with --delete: stop with an error, deleting nothing, if more than N objects (or N% of the target prefix) would be deleted',
  );
}

/** Adds the feature flags to a command. */
export function addFeatureOptions(command: Command): Command {
  return command
    .addOption(restoreOption())
    .addOption(restoreDaysOption())
    .addOption(deleteOption())
    .addOption(maxDeleteOption())
    .addOption(allowEmptySourceOption())
    .addOption(manifestOption())
    .addOption(manifestFormatOption())
    .addOption(requestPayerOption());
}

/**
 * Turns the feature flags into job options.
 * @throws UsageError naming the flag and the fix
 */
export function featureOptionsFromFlags(flags: FeatureFlags): NonNullable<JobInput['options']> {
  const options: NonNullable<JobInput['options']> = {};
  if (flags.restore === undefined && flags.restoreDays !== undefined) {
    throw new UsageError('--restore-days needs --restore TIER. Example: --restore Bulk --restore-days 7');
  }
  if (flags.restore !== undefined) {
    const tier = RESTORE_TIERS.find((name) => name.toLowerCase() === flags.restore?.trim().toLowerCase());
    if (!tier) {
      throw new UsageError(
        `--restore: "${flags.restore}" is not a retrieval tier. Use --restore Standard, --restore Bulk or --restore Expedited (not for DEEP_ARCHIVE).`,
      );
    }
    if (flags.restoreDays === undefined) {
      throw new UsageError(
        '--restore needs --restore-days N: how many days the restored copy stays readable. Example: --restore Bulk --restore-days 7',
      );
    }
    const days = /^\d+$/.test(flags.restoreDays.trim()) ? Number(flags.restoreDays) : Number.NaN;
    if (!(days >= 1 && days <= 30_000)) {
      throw new UsageError(`--restore-days: "${flags.restoreDays}" is not a whole number of days from 1 to 30000.`);
    }
    options.restore = { tier: tier satisfies RestoreTier, days };
  }
  if (flags.maxDelete !== undefined && !flags.delete) {
    throw new UsageError('--max-delete limits --delete: add --delete --mode sync, or drop --max-delete.');
  }
  if (flags.allowEmptySource && !flags.delete) {
    throw new UsageError('--allow-empty-source relaxes a guard of --delete: add --delete --mode sync, or drop it.');
  }
  if (flags.delete) options.delete = true;
  if (flags.allowEmptySource) options.allowEmptySource = true;
  if (flags.requestPayer) options.requestPayer = true;
  if (flags.maxDelete !== undefined) {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(flags.maxDelete);
    const value = match ? Number(match[1]) : Number.NaN;
    if (match?.[2] === '%') {
      if (!(value >= 0 && value <= 100)) {
        throw new UsageError(
          `--max-delete: "${flags.maxDelete}" is not a percentage from 0% to 100%. Example: --max-delete 5%`,
        );
      }
      options.maxDeletePercent = value;
    } else {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new UsageError(
          `--max-delete: "${flags.maxDelete}" is not a whole number of objects or a percentage. Example: --max-delete 1000 or --max-delete 5%`,
        );
      }
      options.maxDelete = value;
    }
  }
  return options;
}

/**
 * The summary line's mirror-deletes part: ", deletes: 3 deleted of 4 (4 proven, 1 failed)" (or, in a dry
 * run, " (3 would be deleted)"); every non-zero part of the delete ledger is named.
 */
export function deletesSummary(result: {
  deletes?: {
    deleted: number;
    toDelete: number;
    dryRun: boolean;
    proven?: number;
    refused?: number;
    failed?: number;
    notAttempted?: number;
  };
}): string {
  const deletes = result.deletes;
  if (!deletes) return '';
  const rest = [
    deletes.refused ? `${deletes.refused} refused: source exists` : '',
    deletes.failed ? `${deletes.failed} failed` : '',
    deletes.notAttempted ? `${deletes.notAttempted} not attempted` : '',
  ].filter((part) => part !== '');
  const extra = rest.length > 0 ? `, ${rest.join(', ')}` : '';
  if (deletes.dryRun) return ` (${deletes.proven ?? 0} of ${deletes.toDelete} would be deleted${extra})`;
  return `, ${deletes.deleted} of ${deletes.toDelete} deletes done (${deletes.proven ?? 0} proven${extra})`;
}
