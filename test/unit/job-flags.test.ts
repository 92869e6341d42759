import fc from 'fast-check';
import picomatch from 'picomatch';
import { escapeGlob, jobOptionsFromFlags } from '../../cli/job-flags';

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

describe('jobOptionsFromFlags --list-concurrency', () => {
  it('sets the listing concurrency when the flag is a whole number in range', () => {
    expect(jobOptionsFromFlags({ listConcurrency: '8' }).listConcurrency).toBe(8);
  });

  it('leaves the listing concurrency to the default when the flag is absent', () => {
    expect(jobOptionsFromFlags({}).listConcurrency).toBeUndefined();
  });

  it.each(['0', '257', '2.5', 'all'])('rejects %s naming the flag', (value) => {
    expect(() => jobOptionsFromFlags({ listConcurrency: value })).toThrow(/--list-concurrency: .* 1 to 256/);
  });
});

describe('jobOptionsFromFlags --slice-max-objects', () => {
  it('sets the slice size when the flag is a whole number in range', () => {
    // Act
    const options = jobOptionsFromFlags({ sliceMaxObjects: '10000' });

    // Assess
    expect(options.sliceMaxObjects).toBe(10_000);
  });

  it('leaves the slice size to the default when the flag is absent', () => {
    expect(jobOptionsFromFlags({}).sliceMaxObjects).toBeUndefined();
  });

  it.each(['0', '1000001', '1e4', '-5', 'many'])('rejects %s naming the flag', (value) => {
    expect(() => jobOptionsFromFlags({ sliceMaxObjects: value })).toThrow(/--slice-max-objects: .* 1 to 1000000/);
  });
});

describe('jobOptionsFromFlags --concurrency', () => {
  it('sets the concurrency when the flag is a whole number in range', () => {
    expect(jobOptionsFromFlags({ concurrency: '64' }).concurrency).toBe(64);
  });

  it.each(['0', '1001', '3.5', 'lots'])('rejects %s naming the flag and its range', (value) => {
    expect(() => jobOptionsFromFlags({ concurrency: value })).toThrow(
      `--concurrency: "${value}" is not a whole number from 1 to 1000.`,
    );
  });
});
