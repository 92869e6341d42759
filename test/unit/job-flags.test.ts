import fc from 'fast-check';
import picomatch from 'picomatch';
import { escapeGlob } from '../../cli/job-flags';

const segment = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((s) => !s.includes('/'));

describe('escapeGlob', () => {
  it('matches exactly the one name it escapes, whatever characters it holds', () => {
    fc.assert(
      fc.property(segment, segment, (name, other) => {
        // Act
        const matches = picomatch(escapeGlob(name), { dot: true, windows: false });

        // Assess
        expect(matches(name)).toBe(true);
        expect(matches(other)).toBe(name === other);
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes glob syntax in real-looking names', () => {
    const names = ['report (final).csv', 'a*b?.txt', '[draft]{1}.md', '!important.txt', 'x+y@z.log'];
    for (const name of names) {
      expect(picomatch(escapeGlob(name), { dot: true, windows: false })(name)).toBe(true);
      expect(picomatch(escapeGlob(name), { dot: true, windows: false })(`${name}x`)).toBe(false);
    }
  });
});
