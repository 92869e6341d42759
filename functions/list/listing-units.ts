/**
 * The units of the partitioned listing (ordered-listing.ts) and their key bounds.
 *
 * Every partition is a key range: the keys under `prefix` after a lower bound (`startAfter`, leaving out
 * the keys under the `skip` prefixes, which an earlier unit lists) up to an upper bound (`through`: every
 * key up to and including those under that common prefix; none: to the end of `prefix`). When a unit is
 * replaced by smaller ones, their ranges tile the rest of its own exactly. The keys a slice takes come
 * only from flat listings (ListObjectsV2 without a delimiter) of these ranges: a delimited listing only
 * proposes where to cut them. So a server whose delimited pages leave out common prefixes, repeat them,
 * or stop early can make the listing slower, never shorter.
 */
import type { ManifestObject } from '../shared/job';
import { compareKeys } from './key-order';
import type { ListedPage } from './s3-listing';

/** Above every character a key can hold (U+10FFFF is the last code point, F4 8F BF BF in UTF-8). */
export const LAST_CHARACTER = '\u{10FFFF}';

export interface PartitionState {
  pages: ListedPage[];
  done: boolean;
  error?: unknown;
}

/** Where a range starts: after `startAfter`, without the keys under any `skip` prefix. */
export interface LowerBound {
  startAfter?: string;
  skip?: string[];
}

interface PartitionBase extends LowerBound {
  prefix: string;
  /** Delimiter levels below the job's prefix. */
  depth: number;
  /** The last keys are those under this common prefix (inclusive); undefined: the end of `prefix`. */
  through?: string;
  state?: PartitionState;
}

/** A key range listed without the delimiter; when its first page is full, it is split (range-splits.ts). */
export interface RangeUnit extends PartitionBase {
  kind: 'range';
  /**
   * The common prefixes one level below `prefix` that a delimited page showed in this range (a run of
   * them): kept to cut the range again when its first page is full. Nothing here depends on them being
   * right: the flat listing of the range is what counts.
   */
  members?: string[];
  /**
   * The rest of a folder after a full first page of direct keys only (range-splits.ts): when its own
   * first page is full too, it is cut by characters rather than listed a page further again.
   */
  secondPage?: boolean;
  /** Cut by character positions (key-ranges.ts): split only that way again, never by the delimiter. */
  byCharacters?: boolean;
  /**
   * What was left after a cut at one character position (key-ranges.ts): keys there, if any, vary at a
   * coarser position than the cut saw, so a full first page of it is cut at two positions.
   */
  rest?: boolean;
}

/** Asks one delimited page of `prefix` after the lower bound, for where to cut the range (level-ranges.ts). */
export interface LevelUnit extends PartitionBase {
  kind: 'level';
}

export type Partition = RangeUnit | LevelUnit;
export type Unit = { kind: 'objects'; objects: ManifestObject[] } | Partition;

/** The lower bound just after an entry: a key, or every key under a common prefix. */
export function boundAfterPrefix(prefix: string): LowerBound {
  // Keys under `prefix` sort before prefix + U+10FFFF or start with it: the latter are left out.
  return { startAfter: prefix + LAST_CHARACTER, skip: [prefix] };
}

/** True when `key` lies at or before the upper bound `through` (every key under it included). */
export function withinThrough(key: string, through: string | undefined): boolean {
  return through === undefined || key.startsWith(through) || compareKeys(key, through) < 0;
}

/** True when `key` lies after the lower bound. */
export function afterLower(key: string, lower: LowerBound): boolean {
  if (lower.skip?.some((prefix) => key.startsWith(prefix))) return false;
  return lower.startAfter === undefined || compareKeys(key, lower.startAfter) > 0;
}

/** The objects of a unit's page inside its range (a flat page may run past `through`, or hold skipped keys). */
export function kept(unit: Partition, objects: ManifestObject[]): ManifestObject[] {
  if (!unit.skip && unit.through === undefined) return objects;
  return objects.filter(
    (object) => !unit.skip?.some((prefix) => object.key.startsWith(prefix)) && withinThrough(object.key, unit.through),
  );
}

/** The common prefix one delimiter level below `prefix` that holds `key`, if the key is that deep. */
export function childPrefix(key: string, prefix: string, delimiter: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const cut = key.indexOf(delimiter, prefix.length);
  return cut < 0 ? undefined : key.slice(0, cut + delimiter.length);
}

/** True when every key under the common prefix `entry` lies after the lower bound (or some do: the one holding startAfter). */
export function prefixAfterLower(entry: string, lower: LowerBound): boolean {
  if (lower.skip?.some((prefix) => entry.startsWith(prefix))) return false;
  const after = lower.startAfter;
  return after === undefined || compareKeys(entry, after) > 0 || after.startsWith(entry);
}

/** True when every key under the common prefix `entry` lies at or before the upper bound. */
export function prefixWithinThrough(entry: string, through: string | undefined): boolean {
  if (through === undefined || entry.startsWith(through)) return true;
  return compareKeys(entry, through) < 0 && !through.startsWith(entry);
}
