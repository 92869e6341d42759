/**
 * S3 lists keys in UTF-8 byte order. JavaScript compares strings by UTF-16 code units, which differs
 * for characters above U+FFFF (surrogate pairs, 0xD800-0xDFFF) against U+E000-U+FFFF: "\u{1F600}" sorts
 * before "\uFFFD" in JavaScript but after it in S3. Every comparison of keys in the list step goes
 * through here.
 */

/**
 * Maps a UTF-16 code unit so that comparing mapped units gives code point order, which is UTF-8 byte
 * order: surrogates move above U+E000-U+FFFF. Only the first differing unit matters, and a surrogate
 * there always starts (or continues) a pair, so the pair's order equals its lead unit's order.
 */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * Compares two keys in S3's order (UTF-8 bytes), like `Buffer.compare` of their UTF-8 encodings but
 * without allocating. Returns a negative number, 0, or a positive number.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}
