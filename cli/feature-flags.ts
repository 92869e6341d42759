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

/** Adds the feature flags to a command. */
export function addFeatureOptions(command: Command): Command {
  return command.addOption(restoreOption()).addOption(restoreDaysOption());
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
  return options;
}
