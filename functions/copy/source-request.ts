/**
 * What every request that reads the source object carries besides its bucket and key:
 * the version a manifest row named (VersionId; `?versionId=` in a copy source) and, for a Requester Pays
 * source bucket, RequestPayer. One place, so no read of the source can forget either.
 */
import { sourcePayer } from '../shared/request-payer';
import type { CopyContext } from './copy-context';
import { encodeCopySource } from './copy-source';

/** Bucket, Key and, when set, VersionId and RequestPayer of a HEAD or GetObjectTagging of the source. */
export function sourceObjectParams(ctx: Pick<CopyContext, 'job'>, key: string, versionId?: string) {
  return {
    Bucket: ctx.job.source.bucket,
    Key: key,
    ...(versionId ? { VersionId: versionId } : {}),
    ...sourcePayer(ctx.job),
  };
}

/** CopySource (with the version) and RequestPayer of a CopyObject or UploadPartCopy. */
export function copySourceParams(ctx: Pick<CopyContext, 'job'>, key: string, versionId?: string) {
  return { CopySource: encodeCopySource(ctx.job.source.bucket, key, versionId), ...sourcePayer(ctx.job) };
}
