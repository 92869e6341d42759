import fc from 'fast-check';
import { encodeCopySource } from '../../functions/copy/copy-source';

describe('encodeCopySource', () => {
  it('decodes back to bucket and key when given any key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), (key) => {
        // Act
        const encoded = encodeCopySource('src-bucket', key);
        // Assert
        const slash = encoded.indexOf('/');
        expect(encoded.slice(0, slash)).toBe('src-bucket');
        expect(decodeURIComponent(encoded.slice(slash + 1))).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves only unreserved characters, "/" and percent escapes when given any key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (key) => {
        // Act
        const encoded = encodeCopySource('src-bucket', key);
        // Assert
        expect(encoded).toMatch(/^[A-Za-z0-9\-_.~/%]*$/);
      }),
    );
  });

  it('encodes "+" as %2B, space as %20 and "%" as %25 while keeping "/" when given a deep key', () => {
    // Act
    const encoded = encodeCopySource('src-bucket', "a b/c+d/100%/e=f&g/ü/(x)!*'.txt");
    // Assert
    expect(encoded).toBe('src-bucket/a%20b/c%2Bd/100%25/e%3Df%26g/%C3%BC/%28x%29%21%2A%27.txt');
  });

  it('keeps empty segments when the key has consecutive or leading slashes', () => {
    expect(encodeCopySource('src-bucket', '/a//b/')).toBe('src-bucket//a//b/');
  });
});
