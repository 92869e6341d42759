import fc from 'fast-check';
import { formatBytes, parseSize } from '../../cli/size';

describe('parseSize', () => {
  it.each([
    ['5242880', 5_242_880],
    ['8MiB', 8 * 2 ** 20],
    ['5GiB', 5 * 2 ** 30],
    ['1.5GB', 1_500_000_000],
    ['64 KiB', 65_536],
    ['10b', 10],
  ])('reads %s as %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['8XB', '', 'MiB', '-5MiB', '5 M i B', '1e6'])(
    'rejects %j naming the option and the accepted units',
    (text) => {
      expect(() => parseSize(text, '--part-size')).toThrow(
        expect.objectContaining({
          name: 'UsageError',
          message: expect.stringMatching(/^--part-size: .* is not a size/),
        }),
      );
    },
  );

  it('reads back any whole number of MiB it is given', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 }), (mebibytes) => {
        expect(parseSize(`${mebibytes}MiB`)).toBe(mebibytes * 2 ** 20);
      }),
    );
  });
});

describe('formatBytes', () => {
  it('formats with binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 2 ** 30)).toBe('5.0 GiB');
  });
});
