/**
 * Tells a missing key from a denied one. With s3:ListBucket granted only under an `s3:prefix` condition
 * (what the deployed target role has), S3 answers HeadObject, CopyObject and UploadPartCopy on a MISSING
 * key with 403 AccessDenied instead of 404: the bare-key request is not a listing under the prefix, so S3
 * will not reveal that the key is absent. Listing with the key as the prefix is allowed by that same
 * condition and settles the question.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { HttpHandlerOptions } from '@smithy/types';

/** What a listing says about one object: enough for the sync rule. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified?: Date;
}

/**
 * Finds one object by listing with Prefix = key and MaxKeys = 1: the key itself sorts first among the
 * keys it prefixes (UTF-8 byte order puts a prefix before its extensions), so one entry is enough.
 * @returns the object, or undefined when the key does not exist.
 * @throws the ListObjectsV2 error as the SDK raised it (AccessDenied when even listing is refused).
 */
export async function findByListing(
  s3: S3Client,
  bucket: string,
  key: string,
  options: HttpHandlerOptions = {},
  payer: { RequestPayer?: 'requester' } = {},
): Promise<ListedObject | undefined> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1, ...payer }), options);
  const first = page.Contents?.[0];
  if (first?.Key !== key) return undefined;
  return {
    key,
    size: first.Size ?? 0,
    etag: first.ETag ?? '',
    ...(first.LastModified ? { lastModified: first.LastModified } : {}),
  };
}
