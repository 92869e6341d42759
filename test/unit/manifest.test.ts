import fc from 'fast-check';
import { encodeCopySource } from '../../functions/copy/copy-source';
import {
  InvalidManifestError,
  linesOf,
  type ManifestFile,
  parseInventoryManifest,
  parseManifestLine,
  splitCsvLine,
} from '../../functions/list/manifest';

const CSV = { gzip: false, columns: { bucket: 0, key: 1, versionId: 2 } };
const JOB = { source: { bucket: 'src', prefix: 'data/' } };

describe('splitCsvLine', () => {
  it('splits quoted fields with commas and doubled quotes', () => {
    expect(splitCsvLine('"a,b","say ""hi""",c')).toEqual(['a,b', 'say "hi"', 'c']);
  });

  it('returns undefined for an unterminated quote', () => {
    expect(splitCsvLine('"src,data/a')).toBeUndefined();
  });

  it('round-trips any fields written in quotes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), (fields) => {
        const line = fields.map((field) => `"${field.replace(/"/g, '""')}"`).join(',');
        expect(splitCsvLine(line)).toEqual(fields);
      }),
    );
  });
});

describe('parseManifestLine', () => {
  it('decodes URL-encoded keys: "+" and %20 are spaces, %2B is a plus', () => {
    expect(parseManifestLine('src,data/a+b%20c%2Bd.txt,v1', 4, CSV, JOB)).toEqual({
      line: 4,
      key: 'data/a b c+d.txt',
      versionId: 'v1',
    });
  });

  it('passes over an empty line', () => {
    expect(parseManifestLine('  ', 1, CSV, JOB)).toBeNull();
  });

  it.each([
    ['src', 'expected bucket,key[,versionId]'],
    ['src,data/a,v1,extra', 'a comma in a key is %2C'],
    ['other,data/a', 'names bucket "other", not the job\'s source bucket src'],
    ['src,data/%E0%A4%A', 'not URL-encoded correctly'],
    ['src,logs/a', 'outside the source prefix "data/"'],
  ])('says what is wrong with %s', (line, problem) => {
    expect(parseManifestLine(line, 1, CSV, JOB)).toEqual({ problem: expect.stringContaining(problem) });
  });
});

describe('parseInventoryManifest', () => {
  const manifest = { bucket: 'inv', key: 'src/daily/2026-12-01T01-00Z/manifest.json' };

  it('names the data files in the destination bucket with the columns of fileSchema', () => {
    const files = parseInventoryManifest(
      JSON.stringify({
        sourceBucket: 'src',
        destinationBucket: 'arn:aws:s3:::inv',
        fileFormat: 'CSV',
        fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size',
        files: [{ key: 'src/daily/data/1.csv.gz' }],
      }),
      manifest,
    );
    expect(files).toEqual([
      {
        bucket: 'inv',
        key: 'src/daily/data/1.csv.gz',
        gzip: true,
        columns: { bucket: 0, key: 1, versionId: 2, deleteMarker: 4, isLatest: 3, size: 5 },
        uniformVersions: false,
      },
    ]);
  });

  it("passes over the noncurrent versions of an all-versions inventory, so each key's current version is copied once", () => {
    // Prepare
    const [file] = parseInventoryManifest(
      JSON.stringify({
        sourceBucket: 'src',
        destinationBucket: 'arn:aws:s3:::inv',
        fileFormat: 'CSV',
        fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size',
        files: [{ key: 'src/daily/data/1.csv.gz' }],
      }),
      manifest,
    );
    const job = { source: { bucket: 'src', prefix: '' } };

    // Act
    const current = parseManifestLine('"src","a.txt","v2","true","false","5"', 1, file as ManifestFile, job);
    const noncurrent = parseManifestLine('"src","a.txt","v1","false","false","4"', 2, file as ManifestFile, job);

    // Assert
    expect(current).toEqual({ line: 1, key: 'a.txt', versionId: 'v2' });
    expect(noncurrent).toBeNull();
  });

  it('refuses a Parquet inventory, naming the fix', () => {
    const text = JSON.stringify({
      sourceBucket: 'src',
      destinationBucket: 'arn:aws:s3:::inv',
      fileFormat: 'Parquet',
      fileSchema: 'message s3.inventory {}',
      files: [{ key: 'x.parquet' }],
    });
    expect(() => parseInventoryManifest(text, manifest)).toThrow(InvalidManifestError);
    expect(() => parseInventoryManifest(text, manifest)).toThrow('configure the inventory with the CSV format');
  });
});

describe('linesOf', () => {
  it('gives each line the byte offset after it, across chunk boundaries and multi-byte characters', async () => {
    async function* chunks() {
      yield Buffer.from('ab\r\n€');
      yield Buffer.from('x\nlast');
    }
    const lines = [];
    for await (const line of linesOf(chunks(), 10)) lines.push(line);
    expect(lines).toEqual([
      { text: 'ab', end: 14 },
      { text: '€x', end: 19 },
      { text: 'last', end: 23 },
    ]);
  });
});

describe('encodeCopySource with a version', () => {
  it('appends ?versionId= after the encoded key', () => {
    expect(encodeCopySource('src', 'data/a b', 'v+1')).toBe('src/data/a%20b?versionId=v%2B1');
  });
});
