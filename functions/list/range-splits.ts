/**
 * What follows a range's full first page (ending with key `last`): units that tile the rest of the range
 * exactly, in S3's order, or nothing (the caller then lists the rest as one chain).
 */
import type { ManifestObject } from '../shared/job';
import { compareKeys } from './key-order';
import { characterRanges } from './key-ranges';
import { rangesOver } from './level-ranges';
import { boundAfterPrefix, childPrefix, type LevelUnit, type RangeUnit, type Unit } from './listing-units';

export interface SplitOptions {
  maxDepth: number;
  delimiter: string;
}

/** Units for the rest of `unit` after its first page `raw` (full), or undefined: list it as one chain. */
export function splitRange(
  unit: RangeUnit,
  raw: ManifestObject[],
  options: SplitOptions,
): { units: Unit[]; large?: boolean } | undefined {
  const last = (raw[raw.length - 1] as ManifestObject).key;
  // A full page of keys the range leaves out (under the prefix before it, sorting after its start): the
  // same range again, from there.
  if (unit.skip?.some((prefix) => last.startsWith(prefix))) {
    const { state: _listed, ...rest } = unit;
    return { units: [{ ...rest, startAfter: last }] };
  }
  if (unit.members && unit.members.length > 0) return splitRun(unit, raw, options);
  if (unit.byCharacters || unit.depth >= options.maxDepth) return byCharacters(unit, raw);
  const holder = childPrefix(last, unit.prefix, options.delimiter);
  if (holder !== undefined) {
    // The rest of the prefix holding `last` one level down, then the rest of this level after it.
    const rest: LevelUnit = {
      kind: 'level',
      prefix: unit.prefix,
      depth: unit.depth,
      ...boundAfterPrefix(holder),
      ...(unit.through !== undefined ? { through: unit.through } : {}),
    };
    return { units: [descend(unit, holder, raw, options), ...(holder === unit.through ? [] : [rest])] };
  }
  // `last` lies directly in the prefix: ask the delimiter where to cut only when the page showed deeper
  // keys; a folder of direct keys only is cut by characters (no request spent on a delimited page).
  if (!raw.some((object) => childPrefix(object.key, unit.prefix, options.delimiter) !== undefined)) {
    return unit.secondPage ? byCharacters(unit, raw) : { units: [secondPage(unit, last)] };
  }
  const level: LevelUnit = {
    kind: 'level',
    prefix: unit.prefix,
    depth: unit.depth,
    startAfter: last,
    ...(unit.skip ? { skip: unit.skip } : {}),
    ...(unit.through !== undefined ? { through: unit.through } : {}),
  };
  return { units: [level] };
}

/**
 * The rest of a folder whose full first page held direct keys only, as one range after `last`, cut only
 * once its own first page is full. A page of keys cannot tell a folder of 2,000 keys from one of a
 * million, and a cut by characters guesses ranges that mostly hold nothing in a small folder (a folder of
 * 2,000 numbered keys took 12 requests instead of 2); the second page is what a single chain would ask
 * next anyway, and only when it is full too is the folder cut, one round trip later.
 */
function secondPage(unit: RangeUnit, last: string): RangeUnit {
  const { state: _listed, ...rest } = unit;
  return { ...rest, startAfter: last, secondPage: true };
}

/** The rest of `unit` after `last`, cut by character positions, or undefined (one chain). */
function byCharacters(unit: RangeUnit, raw: ManifestObject[]): { units: Unit[] } | undefined {
  const units = characterRanges(unit, raw);
  return units ? { units } : undefined;
}

/**
 * The keys under `holder` (a common prefix one level below the unit's) after the page's last key. When
 * the page holds keys of it and none lies deeper, one range of them (Prefix = holder): a delimited page
 * there would show no folder to cut at, and would cost a request and a round trip before the range's
 * own (for a prefix of exactly one page, two requests to learn that nothing follows instead of one); a
 * full first page of that range is split again by what it shows. Otherwise a level one down while depth
 * allows, else that prefix's rest cut by characters or listed as one range.
 */
function descend(unit: RangeUnit, holder: string, raw: ManifestObject[], options: SplitOptions): Unit {
  const last = (raw[raw.length - 1] as ManifestObject).key;
  const base = { prefix: holder, depth: unit.depth + 1, startAfter: last, ...(unit.skip ? { skip: unit.skip } : {}) };
  const inHolder = raw.filter((object) => object.key.startsWith(holder));
  const direct =
    inHolder.length >= 2 && inHolder.every((object) => !object.key.includes(options.delimiter, holder.length));
  // A range of direct keys after a page that held some already: it is cut as soon as its own page is full.
  if (base.depth < options.maxDepth) {
    return direct ? { kind: 'range', ...base, secondPage: true } : { kind: 'level', ...base };
  }
  return { kind: 'range', ...base, byCharacters: true };
}

/**
 * A run's full first page shows how many of its prefixes a page holds. When it passed two or more, the
 * prefixes still to come are cut into runs of that many (the first from `last`), listed side by side and
 * split again the same way. When it passed at most one, the prefixes are large (`large`): the one holding
 * `last` goes one level down from there, and each other becomes a range of its own. Either way the units
 * hold exactly the run's keys after `last`, up to its upper bound.
 */
function splitRun(unit: RangeUnit, raw: ManifestObject[], options: SplitOptions): { units: Unit[]; large: boolean } {
  const last = (raw[raw.length - 1] as ManifestObject).key;
  const members = unit.members ?? [];
  let passed = 0;
  while (
    passed < members.length &&
    compareKeys(members[passed] as string, last) < 0 &&
    !last.startsWith(members[passed] as string)
  ) {
    passed++;
  }
  const rest = members.slice(passed);
  // `last` may be one of the keys the run leaves out (under the prefix before it): they stay left out.
  const fromLast = {
    prefix: unit.prefix,
    depth: unit.depth,
    startAfter: last,
    ...(unit.skip ? { skip: unit.skip } : {}),
    ...(unit.through !== undefined ? { through: unit.through } : {}),
  };
  if (passed >= 2 || rest.length === 0) return { units: rangesOver(fromLast, rest, Math.max(1, passed)), large: false };
  const holder = rest[0] as string;
  if (!last.startsWith(holder)) return { units: rangesOver(fromLast, rest, 1), large: true };
  const after = { ...fromLast, ...boundAfterPrefix(holder) };
  const others = rest.slice(1);
  const tail = others.length > 0 || unit.through !== holder ? rangesOver(after, others, 1) : [];
  return { units: [descend(unit, holder, raw, options), ...tail], large: true };
}
