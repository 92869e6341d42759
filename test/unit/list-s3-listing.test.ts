import fc from 'fast-check';
import { listedObjects } from '../../functions/list/s3-listing';
import { decodeFormUrl } from '../../functions/list/s3-url-encoding';

/** S3's encoding-type=url as measured on real S3: form encoding, a space as "+", "/" kept. */
const encodeAsS3 = (key: string) => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
/** The variant some S3-compatible servers (and the s3-tests suite) expect: a space as "%20". */
const encodeWithPercent20 = (key: string) => encodeURIComponent(key);

/** Any key S3 can hold: 1+ characters of valid Unicode (no lone surrogates), control characters included. */
const anyKey = fc.string({ unit: 'binary', minLength: 1, maxLength: 60 });
/** Keys dense in the characters that matter here. */
const trickyKey = fc
  .array(
    fc.constantFrom('a', '/', ' ', '+', '%', '%2B', '%41', '&', '<', '\u0001', '\u000b', 'ü', '\u{1F600}', '\uFFFD'),
    {
      minLength: 1,
      maxLength: 12,
    },
  )
  .map((parts) => parts.join(''));

describe('decodeFormUrl', () => {
  it('returns every key S3 encodes with "+" for a space', () => {
    fc.assert(
      fc.property(fc.oneof(anyKey, trickyKey), (key) => {
        expect(decodeFormUrl(encodeAsS3(key))).toBe(key);
      }),
      { numRuns: 2000 },
    );
  });

  it('returns every key encoded with "%20" for a space', () => {
    fc.assert(
      fc.property(fc.oneof(anyKey, trickyKey), (key) => {
        expect(decodeFormUrl(encodeWithPercent20(key))).toBe(key);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes what S3 was measured to send', () => {
    // Act / Assert
    expect(['a+b.txt', 'a%2Bb.txt', '100%25.csv', '%ED%95%9C%EA%B8%80/x.txt'].map(decodeFormUrl)).toEqual([
      'a b.txt',
      'a+b.txt',
      '100%.csv',
      '한글/x.txt',
    ]);
  });
});

describe('listedObjects', () => {
  const item = (Key: string) => ({ Key, Size: 1, ETag: '"e"', LastModified: new Date('2026-11-28T00:00:00Z') });

  it('decodes the keys of a page that says EncodingType url', () => {
    // Act
    const objects = listedObjects({ EncodingType: 'url', Contents: [item('p/a+b%2Bc%25%01.txt')] }, 'src');
    // Assert
    expect(objects.map((o) => o.key)).toEqual(['p/a b+c%\u0001.txt']);
  });

  it('keeps the keys of a page without EncodingType as they are, "%" and "+" included', () => {
    // Act
    const objects = listedObjects({ Contents: [item('p/100%.csv'), item('p/a+b%41.txt')] }, 'src');
    // Assert
    expect(objects.map((o) => o.key)).toEqual(['p/100%.csv', 'p/a+b%41.txt']);
  });

  it('fails naming the bucket and the key when an encoded key does not decode', () => {
    // Act
    const attempt = () => listedObjects({ EncodingType: 'url', Contents: [item('p/100%.csv')] }, 'src');
    // Assert
    expect(attempt).toThrow(/bucket src .*"p\/100%\.csv"/);
  });
});
