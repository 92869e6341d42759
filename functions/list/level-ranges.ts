/**
 * Turns the common prefixes of one delimited page into key ranges that tile the level's range, and cuts
 * a run of common prefixes into smaller runs, the same way.
 *
 * A common prefix only proposes a cut: ranges run from just after the previous cut to the end of the
 * keys under the last prefix of the group (or the level's own end), so a key the delimited page did not
 * account for (a prefix it left out, a key between two prefixes) still falls into exactly one range.
 */
import { compareKeys } from './key-order';
import {
  boundAfterPrefix,
  type LevelUnit,
  type LowerBound,
  type Partition,
  prefixAfterLower,
  prefixWithinThrough,
  type RangeUnit,
} from './listing-units';

/**
 * A level is grouped once its page holds more than GROUP_ABOVE x concurrency common prefixes: with that
 * many, a range each costs a LIST each however few keys it holds (2,000 prefixes of 100 keys: 2,000
 * requests of 100 keys), while a run of them listed flat returns up to 1,000 keys a request. Below it, one
 * range per prefix keeps large prefixes (a run's first page cannot tell a large prefix from a full run)
 * at one request each.
 */
export const GROUP_ABOVE = 4;

/**
 * Consecutive ranges over `members` (sorted common prefixes one level below `bounds.prefix`), `runLength`
 * prefixes each: the first from `bounds`' lower bound, each next one after the last prefix of the one
 * before, the last one up to `bounds.through`. With no member, one range of the whole.
 */
export function rangesOver(
  bounds: Pick<RangeUnit, 'prefix' | 'depth' | 'startAfter' | 'skip' | 'through'>,
  members: string[],
  runLength: number,
): RangeUnit[] {
  const units: RangeUnit[] = [];
  const count = Math.max(1, Math.ceil(members.length / Math.max(1, runLength)));
  for (let i = 0; i < count; i++) {
    const group = members.slice(i * runLength, (i + 1) * runLength);
    const before = members[i * runLength - 1];
    const lower: LowerBound =
      before === undefined
        ? {
            ...(bounds.startAfter !== undefined ? { startAfter: bounds.startAfter } : {}),
            ...(bounds.skip ? { skip: bounds.skip } : {}),
          }
        : boundAfterPrefix(before);
    const through = i === count - 1 ? bounds.through : group[group.length - 1];
    units.push({
      kind: 'range',
      prefix: bounds.prefix,
      depth: bounds.depth,
      ...lower,
      ...(through !== undefined ? { through } : {}),
      ...(group.length > 0 ? { members: group } : {}),
    });
  }
  return units;
}

/**
 * The common prefixes a delimited page of `level` proposes as cuts: those whose keys lie inside the
 * level's range, sorted, once each (a server may repeat a prefix across pages or list it out of order),
 * plus the prefix holding the lower bound's key, which a server may leave out (moto).
 */
export function cutsInside(level: Partition, prefixes: string[], delimiter: string): string[] {
  const all = new Set(prefixes);
  const resume = level.startAfter;
  if (resume?.startsWith(level.prefix)) {
    const cut = resume.indexOf(delimiter, level.prefix.length);
    if (cut >= 0) all.add(resume.slice(0, cut + delimiter.length));
  }
  return [...all]
    .filter(
      (entry) =>
        entry.startsWith(level.prefix) &&
        entry.length > level.prefix.length &&
        prefixAfterLower(entry, level) &&
        prefixWithinThrough(entry, level.through),
    )
    .sort(compareKeys);
}

/**
 * The units that replace a level after its delimited page: ranges tiling the level's range, grouped into
 * about `concurrency` runs when the page holds more than `groupAbove` prefixes. When the page was
 * truncated, the last range ends with the last prefix and a level unit lists the rest of the level.
 */
export function levelRanges(
  level: LevelUnit,
  cuts: string[],
  options: { concurrency: number; groupAbove: number; truncated: boolean },
): Array<RangeUnit | LevelUnit> {
  const runLength = cuts.length > options.groupAbove ? Math.ceil(cuts.length / options.concurrency) : 1;
  const lastCut = cuts[cuts.length - 1];
  const rest = options.truncated && lastCut !== undefined;
  const bounds = {
    prefix: level.prefix,
    depth: level.depth,
    ...(level.startAfter !== undefined ? { startAfter: level.startAfter } : {}),
    ...(level.skip ? { skip: level.skip } : {}),
    ...(rest ? { through: lastCut } : level.through !== undefined ? { through: level.through } : {}),
  };
  const units: Array<RangeUnit | LevelUnit> = rangesOver(bounds, cuts, runLength);
  if (rest) {
    units.push({
      kind: 'level',
      prefix: level.prefix,
      depth: level.depth,
      ...boundAfterPrefix(lastCut),
      ...(level.through !== undefined ? { through: level.through } : {}),
    });
  }
  return units;
}
