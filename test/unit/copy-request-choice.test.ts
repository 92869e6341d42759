import { copiesInOneRequest } from '../../functions/copy/copy-object';
import { GiB, MiB, useNameRules } from '../../functions/shared/job';

afterEach(() => useNameRules('aws'));

describe('copiesInOneRequest', () => {
  it('uses CopyObject up to the multipart threshold and a multipart copy above it, on AWS', () => {
    // Arrange
    useNameRules('aws');
    // Act / Assert
    expect(copiesInOneRequest('a%41.bin', 5 * MiB, 5 * MiB)).toBe(true);
    expect(copiesInOneRequest('a%41.bin', 5 * MiB + 1, 5 * MiB)).toBe(false);
  });

  it('copies a key holding % in one request up to 5 GiB on S3-compatible servers (RGW decodes UploadPartCopy sources twice)', () => {
    // Arrange
    useNameRules('s3-compatible');
    // Act / Assert
    expect(copiesInOneRequest('a%41.bin', 5 * GiB, 5 * MiB)).toBe(true);
    expect(copiesInOneRequest('100% done.bin', 12 * MiB, 5 * MiB)).toBe(true);
    expect(copiesInOneRequest('a%41.bin', 5 * GiB + 1, 5 * MiB)).toBe(false);
    expect(copiesInOneRequest('plain.bin', 12 * MiB, 5 * MiB)).toBe(false);
  });
});
