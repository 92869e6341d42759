import picomatch from 'picomatch';
import type { Job, ManifestObject } from '../shared/job';

/** Decides whether a listed object is selected by the job's filter. */
export type ObjectFilter = (object: ManifestObject) => boolean;

/**
 * Builds the job's filter once per slice.
 * - Globs (picomatch) match the key relative to the source prefix: `*` stays within one path segment,
 *   `**` crosses segments, dotfiles match like any other name (a copy tool must not skip them silently).
 *   No include pattern means everything is included; an exclude wins over an include.
 * - minSize and maxSize are inclusive; modifiedAfter is inclusive and modifiedBefore exclusive, so
 *   consecutive windows (a nightly schedule) neither overlap nor leave a gap.
 */
export function createObjectFilter(job: Job): ObjectFilter {
  const { filter } = job;
  const prefixLength = job.source.prefix.length;
  const globOptions = { dot: true, windows: false };
  const included = filter.include.length > 0 ? picomatch(filter.include, globOptions) : undefined;
  const excluded = filter.exclude.length > 0 ? picomatch(filter.exclude, globOptions) : undefined;
  const after = filter.modifiedAfter === undefined ? undefined : Date.parse(filter.modifiedAfter);
  const before = filter.modifiedBefore === undefined ? undefined : Date.parse(filter.modifiedBefore);
  const { minSize, maxSize } = filter;

  return (object) => {
    if (minSize !== undefined && object.size < minSize) return false;
    if (maxSize !== undefined && object.size > maxSize) return false;
    if (after !== undefined || before !== undefined) {
      const modified = Date.parse(object.lastModified);
      if (after !== undefined && modified < after) return false;
      if (before !== undefined && modified >= before) return false;
    }
    if (included || excluded) {
      const relative = object.key.slice(prefixLength);
      if (included && !included(relative)) return false;
      if (excluded?.(relative)) return false;
    }
    return true;
  };
}
