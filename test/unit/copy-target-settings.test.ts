import { encodeTagging, multipartUploadSettings, targetOptions } from '../../functions/copy/target-settings';
import { DEFAULT_OPTIONS, parseJob } from '../../functions/shared/job';

const job = (options: Record<string, unknown> = {}) =>
  parseJob({
    source: { bucket: 'src-bucket', prefix: '' },
    target: { bucket: 'dst-bucket', prefix: '' },
    filter: { include: [], exclude: [] },
    options: { ...DEFAULT_OPTIONS, ...options },
  });

describe('target settings', () => {
  it('encodes tags as a URL query, each key and value percent-encoded', () => {
    expect(
      encodeTagging([
        { Key: 'a b', Value: 'x&y' },
        { Key: 'k', Value: '' },
      ]),
    ).toBe('a%20b=x%26y&k=');
    expect(encodeTagging([])).toBeUndefined();
  });

  it('applies storage class, SSE-KMS and ACL only when the job sets them', () => {
    expect(targetOptions(job())).toEqual({});
    expect(
      targetOptions(job({ storageClass: 'STANDARD_IA', kmsKeyId: 'alias/copy', acl: 'bucket-owner-full-control' })),
    ).toEqual({
      StorageClass: 'STANDARD_IA',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'alias/copy',
      ACL: 'bucket-owner-full-control',
    });
  });

  it('carries the source headers, metadata and tags into CreateMultipartUpload, dropping an unreadable Expires', () => {
    // Act
    const settings = multipartUploadSettings(
      job({ storageClass: 'GLACIER_IR' }),
      {
        $metadata: {},
        ContentType: 'text/csv',
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment',
        ContentEncoding: 'gzip',
        ContentLanguage: 'fr',
        Expires: new Date('not a date'),
        Metadata: { owner: 'team-a' },
      },
      'k=v',
    );
    // Assert
    expect(settings).toEqual({
      ContentType: 'text/csv',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment',
      ContentEncoding: 'gzip',
      ContentLanguage: 'fr',
      Metadata: { owner: 'team-a' },
      Tagging: 'k=v',
      StorageClass: 'GLACIER_IR',
    });
  });
});
