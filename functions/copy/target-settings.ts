/**
 * What the copy writes beside the bytes: the job's storage class, SSE-KMS key and ACL, and (for a
 * multipart copy, where S3 copies nothing but the parts) the source's headers, metadata and tags.
 * CopyObject and the multipart path must produce the same object; both take their settings from here.
 */
import type {
  CreateMultipartUploadCommand,
  CreateMultipartUploadCommandInput,
  HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import type { Job } from '../shared/job';

/** Storage class, SSE-KMS key and ACL: applied to every copy, single-request or multipart. */
export function targetOptions(job: Job) {
  const { storageClass, kmsKeyId, acl } = job.options;
  return {
    ...(storageClass ? { StorageClass: storageClass } : {}),
    ...(kmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyId } : {}),
    ...(acl ? { ACL: acl } : {}),
  };
}

/** Tags as the x-amz-tagging header wants them: URL query encoding; undefined when there are none. */
export function encodeTagging(tags: ReadonlyArray<{ Key?: string; Value?: string }>): string | undefined {
  if (tags.length === 0) return undefined;
  return tags.map((tag) => `${encodeURIComponent(tag.Key ?? '')}=${encodeURIComponent(tag.Value ?? '')}`).join('&');
}

/**
 * The CreateMultipartUpload fields that give the target what CopyObject with MetadataDirective COPY
 * would: the source's content headers and user metadata, the tags (already encoded), and the job's
 * target options.
 */
export function multipartUploadSettings(
  job: Job,
  head: HeadObjectCommandOutput,
  tagging: string | undefined,
): Omit<CreateMultipartUploadCommandInput, 'Bucket' | 'Key'> {
  return {
    ...(head.ContentType ? { ContentType: head.ContentType } : {}),
    ...(head.CacheControl ? { CacheControl: head.CacheControl } : {}),
    ...(head.ContentDisposition ? { ContentDisposition: head.ContentDisposition } : {}),
    ...(head.ContentEncoding ? { ContentEncoding: head.ContentEncoding } : {}),
    ...(head.ContentLanguage ? { ContentLanguage: head.ContentLanguage } : {}),
    ...(head.Expires && !Number.isNaN(head.Expires.getTime()) ? { Expires: head.Expires } : {}),
    ...(head.Metadata && Object.keys(head.Metadata).length > 0 ? { Metadata: head.Metadata } : {}),
    ...(tagging ? { Tagging: tagging } : {}),
    ...targetOptions(job),
  };
}

/**
 * The source's Expires header when it is not a date. S3 stores Expires as given, and CopyObject keeps it;
 * the SDK types it as a Date, so a value like "0" or "never" would be lost on the multipart path.
 */
export function rawExpires(head: HeadObjectCommandOutput): string | undefined {
  const text = head.ExpiresString;
  if (!text) return undefined;
  return isHttpDate(text) ? undefined : text;
}

/**
 * An HTTP date as S3 returns it (IMF-fixdate, `Tue, 01 Jan 2030 00:00:00 GMT`). Date.parse is too
 * lenient to decide: it reads the classic "0" (already expired) as the year 2000.
 */
export function isHttpDate(text: string): boolean {
  return (
    /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text) && !Number.isNaN(Date.parse(text))
  );
}

/** Sends the source's non-date Expires header verbatim with CreateMultipartUpload (see rawExpires). */
export function withRawExpires(command: CreateMultipartUploadCommand, head: HeadObjectCommandOutput) {
  const expires = rawExpires(head);
  if (expires === undefined) return command;
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers.expires = expires;
      return next(args);
    },
    { step: 'build', name: 's3xcopyRawExpires' },
  );
  return command;
}
