import { type _Object, ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { isChecksumAlgorithm } from '../shared/content-identity';
import { awsErrorCode, BucketAccessError, errorMessage } from '../shared/errors';
import type { ManifestObject } from '../shared/job';
import { ARCHIVED_STORAGE_CLASSES } from './archived-objects';
import { decodeFormUrl } from './s3-url-encoding';

/**
 * Every listing asks for url-encoded keys: S3 returns keys in XML, which cannot carry some characters
 * a key may hold (most control characters), and an encoded key survives any XML parser. The keys are
 * decoded only when the response says `EncodingType: url`: a server that ignores the parameter (the
 * embedded test server does) returns raw keys, and decoding those would corrupt keys holding "%" or "+".
 * S3 echoes Prefix, StartAfter and Delimiter encoded as well; this module never reads the echoes.
 */

/** S3 answers these when the bucket is wrong or the role may not list it: retrying cannot help. */
export const NOT_RETRYABLE_LIST_ERRORS: ReadonlySet<string> = new Set([
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
  /** Which bucket of the job this is, for the error message (the state bucket's identity records too). */
  role: 'source' | 'target' | 'state';
  /** Keys per request (S3 returns at most 1,000). */
  pageSize?: number;
  /** The bucket is Requester Pays and this account pays (x-amz-request-payer). */
  requestPayer?: boolean;
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
    // Only archived classes are kept, so ordinary manifests stay as small as before.
    ...(item.StorageClass && ARCHIVED_STORAGE_CLASSES.has(item.StorageClass)
      ? { storageClass: item.StorageClass }
      : {}),
    // S3 stores one algorithm per object; the listing reports it as a one-element list.
    ...(isChecksumAlgorithm(item.ChecksumAlgorithm?.[0]) ? { checksumAlgorithm: item.ChecksumAlgorithm[0] } : {}),
  };
}

/**
 * The objects of one ListObjectsV2 page in the manifest's shape, keys decoded if the page says they are
 * url-encoded (see above).
 * @throws Error naming the bucket and key when an encoded key does not decode (S3 never sends one)
 */
export function listedObjects(
  page: Pick<ListObjectsV2CommandOutput, 'Contents' | 'EncodingType'>,
  bucket: string,
): ManifestObject[] {
  const contents = page.Contents ?? [];
  if (page.EncodingType !== 'url') return contents.map(toManifestObject);
  return contents.map((item) => {
    const encoded = item.Key ?? '';
    let key: string;
    try {
      key = decodeFormUrl(encoded);
    } catch (error) {
      throw new Error(
        `ListObjectsV2 on bucket ${bucket} returned the url-encoded key "${encoded}", which does not decode (${errorMessage(error)}): is the endpoint S3-compatible?`,
      );
    }
    return toManifestObject({ ...item, Key: key });
  });
}

/**
 * One ListObjectsV2 request of a listing (url-encoded keys, the range's page size and Requester Pays), from
 * a continuation token or after a key, with a delimiter when given.
 * @throws BucketAccessError when the bucket does not exist or may not be listed (not retryable)
 */
export async function listRequest(
  s3: S3Client,
  range: ListRange,
  page: { prefix: string; delimiter?: string; startAfter?: string; token?: string },
): Promise<ListObjectsV2CommandOutput> {
  try {
    return await s3.send(
      new ListObjectsV2Command({
        Bucket: range.bucket,
        Prefix: page.prefix === '' ? undefined : page.prefix,
        ...(page.delimiter !== undefined ? { Delimiter: page.delimiter } : {}),
        MaxKeys: range.pageSize ?? 1000,
        EncodingType: 'url',
        ...(range.requestPayer ? { RequestPayer: 'requester' } : {}),
        ...(page.token ? { ContinuationToken: page.token } : page.startAfter ? { StartAfter: page.startAfter } : {}),
      }),
    );
  } catch (error) {
    const code = awsErrorCode(error);
    if (NOT_RETRYABLE_LIST_ERRORS.has(code)) {
      const delimiter = page.delimiter !== undefined ? ` with delimiter "${page.delimiter}"` : '';
      throw new BucketAccessError(
        range.bucket,
        range.role,
        code,
        `ListObjectsV2 on prefix "${page.prefix}"${delimiter} failed: ${errorMessage(error)}`,
      );
    }
    throw error;
  }
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
    const page = await listRequest(s3, range, {
      prefix: range.prefix,
      ...(token ? { token } : range.startAfter ? { startAfter: range.startAfter } : {}),
    });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    yield { objects: listedObjects(page, range.bucket), more: token !== undefined };
  } while (token);
}

/**
 * Finds one object with ListObjectsV2 (Prefix = the key, MaxKeys = 1: the key itself sorts first among
 * the keys it prefixes), so checking for an object needs only s3:ListBucket.
 * @throws BucketAccessError when the bucket does not exist or may not be listed
 */
export async function findByListing(
  s3: S3Client,
  bucket: string,
  key: string,
  role: 'source' | 'target' | 'state',
  requestPayer = false,
): Promise<ManifestObject | undefined> {
  let page: ListObjectsV2CommandOutput;
  try {
    page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: key,
        MaxKeys: 1,
        EncodingType: 'url',
        ...(requestPayer ? { RequestPayer: 'requester' } : {}),
      }),
    );
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === 'NoSuchBucket' || code === 'AccessDenied') {
      throw new BucketAccessError(bucket, role, code, `ListObjectsV2 on ${key} failed: ${errorMessage(error)}`);
    }
    throw error;
  }
  const [first] = listedObjects(page, bucket);
  return first?.key === key ? first : undefined;
}
