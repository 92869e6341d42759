import { type _Object, ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { awsErrorCode, BucketAccessError, errorMessage } from '../shared/errors';
import type { ManifestObject } from '../shared/job';

/** S3 answers these when the bucket is wrong or the role may not list it: retrying cannot help. */
const NOT_RETRYABLE = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'AllBucketsDenied',
  'PermanentRedirect',
  'InvalidBucketName',
]);

export interface ListRange {
  bucket: string;
  prefix: string;
  /** List keys strictly after this one (S3's StartAfter); undefined = from the start of the prefix. */
  startAfter?: string;
  /** Which bucket of the job this is, for the error message. */
  role: 'source' | 'target';
  /** Keys per request (S3 returns at most 1,000). */
  pageSize?: number;
}

/** One page of a listing. */
export interface ListedPage {
  objects: ManifestObject[];
  /** More keys follow this page (S3's IsTruncated). */
  more: boolean;
}

/** One listed object in the shape the manifest keeps. */
export function toManifestObject(item: _Object): ManifestObject {
  return {
    key: item.Key ?? '',
    size: item.Size ?? 0,
    etag: item.ETag ?? '',
    lastModified: (item.LastModified ?? new Date(0)).toISOString(),
  };
}

/**
 * Lists a prefix page by page, in S3's key order (UTF-8 bytes), starting after `startAfter`. The
 * pages are fetched lazily: the caller stops pulling when its slice is full, and the next slice resumes
 * with StartAfter = the last key it took (a continuation token would tie the resume to a page boundary).
 * @throws BucketAccessError when the bucket does not exist or may not be listed (not retryable)
 */
export async function* listPages(s3: S3Client, range: ListRange): AsyncGenerator<ListedPage> {
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await s3.send(
        new ListObjectsV2Command({
          Bucket: range.bucket,
          Prefix: range.prefix === '' ? undefined : range.prefix,
          MaxKeys: range.pageSize ?? 1000,
          ...(token ? { ContinuationToken: token } : range.startAfter ? { StartAfter: range.startAfter } : {}),
        }),
      );
    } catch (error) {
      const code = awsErrorCode(error);
      if (NOT_RETRYABLE.has(code)) {
        throw new BucketAccessError(
          range.bucket,
          range.role,
          code,
          `ListObjectsV2 on prefix "${range.prefix}" failed: ${errorMessage(error)}`,
        );
      }
      throw error;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    yield { objects: (page.Contents ?? []).map(toManifestObject), more: token !== undefined };
  } while (token);
}
