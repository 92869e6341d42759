/**
 * Cuts what follows a range's full first page into key ranges listed side by side, by character
 * positions of its keys (one prefix of 100,000 keys was one chain of 100 requests in series).
 */
import type { ManifestObject } from '../shared/job';
import { LAST_CHARACTER, type RangeUnit } from './listing-units';

/** Key ranges a split makes at one character position, at most. */
const RANGES_PER_LEVEL = 10;

/**
 * The page's first and last keys F and L share their first c characters; the keys still to come mostly
 * differ from L at character d = c - 1, so ranges are made at that position. At a position p with
 * A = L[0..p) and x = L[p] (both ASCII, where UTF-8 byte order is character order):
 * - the keys with prefix A + x after L (the head; at the finer position only),
 * - for each character ch after x up to the highest seen at position c (at most 10): the keys with
 *   prefix A + ch (a Prefix listing: exact, with no request past its end),
 * and then the rest of the range, as one range marked `rest`. A guess at a coarser position costs a
 * request for each character there with no key, and most prefixes have none: keys numbered 0 to 9,999
 * in steps of 100 (a prefix of 10,000 keys) left 9 of 13 ranges of each such prefix empty. Only when the
 * rest's own first page is full, which shows that the keys vary at a coarser position, is the rest cut
 * at two positions, d and d - 1, each followed by the keys with prefix A after every key with prefix
 * A + top (StartAfter A + top + U+10FFFF, keys starting with A + top left out, since they belong to the
 * range before), and last the keys of the range after every key with prefix A of the coarser position
 * (again a rest). Each piece's keys sort after the previous piece's and together they are exactly the
 * range's keys after L (each piece keeps the range's upper bound and skipped prefixes), so S3's order
 * and exact-once hold whatever the keys are; the split only guesses where the keys are (a range with no
 * key costs one request).
 * @returns the units in S3's order, or undefined when the keys do not allow a split (non-ASCII there)
 */
export function characterRanges(
  parent: Pick<RangeUnit, 'prefix' | 'depth' | 'skip' | 'through' | 'rest'>,
  raw: ManifestObject[],
): RangeUnit[] | undefined {
  const first = (raw[0] as ManifestObject).key;
  const last = (raw[raw.length - 1] as ManifestObject).key;
  let common = 0;
  while (common < first.length && common < last.length && first[common] === last[common]) common++;
  const splittable = (code: number) => code < 0x7e;
  const finest = common - 1;
  if (finest < parent.prefix.length || !splittable(last.charCodeAt(finest))) return undefined;
  let highest = 0;
  for (const object of raw) {
    const code = object.key.charCodeAt(common);
    if (code < 0x7f && code > highest) highest = code;
  }
  const inherited = parent.skip ?? [];
  const range = (prefix: string, extra: { startAfter?: string; skip?: string[] } = {}): RangeUnit => {
    const skip = [...inherited, ...(extra.skip ?? [])];
    return {
      kind: 'range',
      prefix,
      depth: parent.depth,
      byCharacters: true,
      ...(extra.startAfter !== undefined ? { startAfter: extra.startAfter } : {}),
      ...(skip.length > 0 ? { skip } : {}),
      ...(parent.through !== undefined ? { through: parent.through } : {}),
    };
  };
  const units: RangeUnit[] = [range(last.slice(0, finest + 1), { startAfter: last })];
  if (!parent.rest) {
    const base = last.slice(0, finest);
    const top = topCharacter(last.charCodeAt(finest), highest);
    for (let ch = last.charCodeAt(finest) + 1; ch <= top; ch++) units.push(range(base + String.fromCharCode(ch)));
    const lastRange = base + String.fromCharCode(top);
    units.push({ ...range(parent.prefix, { startAfter: lastRange + LAST_CHARACTER, skip: [lastRange] }), rest: true });
    return units;
  }
  let covered = last.slice(0, finest + 1);
  for (let at = finest; at >= Math.max(parent.prefix.length, finest - 1); at--) {
    const x = last.charCodeAt(at);
    if (!splittable(x)) break;
    const base = last.slice(0, at);
    const top = topCharacter(x, highest);
    for (let ch = x + 1; ch <= top; ch++) units.push(range(base + String.fromCharCode(ch)));
    const lastRange = base + String.fromCharCode(top);
    units.push(range(base, { startAfter: lastRange + LAST_CHARACTER, skip: [lastRange] }));
    covered = base;
  }
  if (covered !== parent.prefix) {
    units.push({ ...range(parent.prefix, { startAfter: covered + LAST_CHARACTER, skip: [covered] }), rest: true });
  }
  return units;
}

/** The last character ranges are made for after `x`: up to the highest seen one position further, at most 10. */
function topCharacter(x: number, highest: number): number {
  return Math.min(Math.max(highest, x), x + RANGES_PER_LEVEL, 0x7e);
}
