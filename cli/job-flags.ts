/**
 * The job flags `run` and `start` share: S3 URIs, repeatable globs and the copy options, each parsed
 * with an error that names the flag and the accepted form (exit 2).
 */
import { isValidBucketName, type JobInput } from '../functions/shared/job';
import { UsageError } from './errors';
import { type FeatureFlags, featureOptionsFromFlags } from './feature-flags';
import { parseSize } from './size';

/** Commander's collector for repeatable flags (--include A --include B). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Parses `s3://BUCKET[/PREFIX]`.
 * @throws UsageError naming the flag and showing the expected form
 */
export function parseS3Uri(text: string, option: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(text);
  if (!match) {
    throw new UsageError(`${option}: "${text}" is not an S3 URI. Use s3://BUCKET or s3://BUCKET/PREFIX/.`);
  }
  const bucket = match[1] ?? '';
  if (bucket === '') {
    throw new UsageError(`${option}: "${text}" names no bucket. Use s3://BUCKET or s3://BUCKET/PREFIX/.`);
  }
  return { bucket: checkBucketName(bucket, option), prefix: match[2] ?? '' };
}

/**
 * Checks an S3 bucket name given on the command line.
 * @throws UsageError naming the flag and the rule
 */
export function checkBucketName(bucket: string, option: string): string {
  if (!isValidBucketName(bucket)) {
    throw new UsageError(
      `${option}: "${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots and hyphens).`,
    );
  }
  return bucket;
}

/** The copy-option flags, as commander hands them over (strings). */
export interface OptionFlags extends FeatureFlags {
  mode?: string;
  dryRun?: boolean;
  concurrency?: string;
  multipartThreshold?: string;
  partSize?: string;
  verify?: string;
  sliceMaxObjects?: string;
  listConcurrency?: string;
}

/**
 * A whole number from 1 to `max` given as `option`.
 * @throws UsageError naming the option, the range and, when given, the `hint` (its default)
 */
function wholeNumberFlag(text: string, option: string, max: number, hint?: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= max)) {
    throw new UsageError(`${option}: "${text}" is not a whole number from 1 to ${max}${hint ? ` (${hint})` : ''}.`);
  }
  return value;
}

/**
 * Turns the option flags into job options; a flag not given stays unset, so defaults apply.
 * @throws UsageError naming the flag
 */
export function jobOptionsFromFlags(flags: OptionFlags): NonNullable<JobInput['options']> {
  // --restore/--restore-days (cli/feature-flags.ts).
  const options: NonNullable<JobInput['options']> = featureOptionsFromFlags(flags);
  if (flags.mode !== undefined) {
    if (flags.mode !== 'copy' && flags.mode !== 'sync') {
      throw new UsageError(`--mode: "${flags.mode}" is not a mode. Use --mode copy or --mode sync.`);
    }
    options.mode = flags.mode;
  }
  if (flags.dryRun) options.dryRun = true;
  if (flags.concurrency !== undefined) options.concurrency = wholeNumberFlag(flags.concurrency, '--concurrency', 1000);
  if (flags.multipartThreshold !== undefined) {
    options.multipartThreshold = parseSize(flags.multipartThreshold, '--multipart-threshold');
  }
  if (flags.partSize !== undefined) options.partSize = parseSize(flags.partSize, '--part-size');
  if (flags.verify !== undefined) {
    if (flags.verify !== 'multipart' && flags.verify !== 'all' && flags.verify !== 'none') {
      throw new UsageError(`--verify: "${flags.verify}" is not a scope. Use --verify multipart, all or none.`);
    }
    options.verify = flags.verify;
  }
  if (flags.sliceMaxObjects !== undefined) {
    options.sliceMaxObjects = wholeNumberFlag(
      flags.sliceMaxObjects,
      '--slice-max-objects',
      1_000_000,
      'default 100000',
    );
  }
  if (flags.listConcurrency !== undefined) {
    options.listConcurrency = wholeNumberFlag(
      flags.listConcurrency,
      '--list-concurrency',
      256,
      'default 32; 1 = one listing chain',
    );
  }
  return options;
}

/**
 * A picomatch pattern that matches exactly this one path segment (every character a glob could read
 * specially is escaped): how `run` selects the single object a --source URI names.
 */
export function escapeGlob(name: string): string {
  return name.replace(/[\\*?[\]{}()!+@|^$#.,~-]/g, '\\$&');
}
