/**
 * The flags of issue 13's features that `run` and `start` share (archived objects: --restore,
 * --restore-days), each parsed with an error that names the flag and the accepted form (exit 2).
 */
import { type Command, Option } from 'commander';
import { type JobInput, RESTORE_TIERS, type RestoreTier } from '../functions/shared/job';
import { UsageError } from './errors';

export interface FeatureFlags {
  restore?: string;
  restoreDays?: string;
  delete?: boolean;
  maxDelete?: string;
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
    'sync mode: delete target objects under the target prefix that have no source object (after filters), once every copy succeeded',
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
    .addOption(maxDeleteOption());
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
  if (flags.delete) options.delete = true;
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

/** The summary line's mirror-deletes part: ", 3 deleted" (or, in a dry run, " (3 would be deleted)"). */
export function deletesSummary(result: { deletes?: { deleted: number; toDelete: number; dryRun: boolean } }): string {
  const deletes = result.deletes;
  if (!deletes) return '';
  return deletes.dryRun ? ` (${deletes.toDelete} would be deleted)` : `, ${deletes.deleted} deleted`;
}
