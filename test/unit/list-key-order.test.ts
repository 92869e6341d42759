import fc from 'fast-check';
import { compareKeys } from '../../functions/list/key-order';

const utf8Order = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

describe('compareKeys', () => {
  it('orders a character above U+FFFF after U+FFFD, as S3 does and JavaScript does not', () => {
    // Arrange
    const emoji = 'data/\u{1F600}.txt';
    const replacement = 'data/\uFFFD.txt';
    // Act
    const order = compareKeys(emoji, replacement);
    // Assert
    expect(order).toBeGreaterThan(0);
    expect(emoji < replacement).toBe(true);
  });

  it('orders a key after the keys it extends', () => {
    // Arrange / Act
    const order = compareKeys('a/b', 'a/b/c');
    // Assert
    expect(order).toBeLessThan(0);
  });

  it('agrees with Buffer.compare of the UTF-8 bytes for any Unicode keys', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.string({ unit: 'binary', maxLength: 12 }),
        (a, b) => {
          expect(Math.sign(compareKeys(a, b))).toBe(utf8Order(a, b));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with Buffer.compare when keys share a prefix and differ in the astral or private-use ranges', () => {
    const unit = fc.constantFrom(
      'a',
      '\uE000',
      '\uFFFD',
      '\uFFFF',
      '\u{10000}',
      '\u{1F600}',
      '\u{10FFFF}',
      '\u00FC',
      '/',
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 6 }), fc.array(unit, { maxLength: 6 }), (left, right) => {
        const a = `p/${left.join('')}`;
        const b = `p/${right.join('')}`;
        expect(Math.sign(compareKeys(a, b))).toBe(utf8Order(a, b));
      }),
      { numRuns: 2000 },
    );
  });
});
