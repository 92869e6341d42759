/**
 * Which version of a source object a copy writes. CopyObject and UploadPartCopy copy whatever the key
 * holds when S3 runs them, so every copy is pinned to one ETag (x-amz-copy-source-if-match): S3 answers
 * 412 when the key holds something else. The engine then copies the version the key holds now, pinned to
 * ITS ETag, and reports ITS size: the bytes actually written, not the listed size.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { ChecksumAlgorithm } from '../shared/content-identity';
import type { ManifestObject } from '../shared/job';
import { checksumOf } from './checksums';
import type { CopyContext } from './copy-context';
import { sourceObjectParams } from './source-request';

/** One version of the source: its entity tag (quoted, as If-Match compares it) and size. */
export interface SourceVersion {
  /** Undefined only when the server gives no ETag at all; the copy is then not pinned. */
  etag: string | undefined;
  size: number;
  /** The version a manifest row named; every read of the source names it. */
  versionId?: string;
  /** Its checksum algorithm, when the listing or HEAD reported one (the copy asks for the same). */
  checksumAlgorithm?: ChecksumAlgorithm;
}

/** What a copy wrote: the bytes (the version's size) and the ETag S3 gave the target, when it said. */
export interface CopiedObject {
  size: number;
  targetEtag?: string;
}

/**
 * How many versions of one object a copy tries before it gives up: a source overwritten again and again
 * while it is copied fails with PreconditionFailed and is copied by the next run.
 */
export const MAX_SOURCE_VERSIONS = 3;

/** Thrown when a pinned copy finds the source overwritten (412); `error` is S3's answer. */
export class SourceChanged extends Error {
  constructor(
    readonly version: SourceVersion,
    readonly error: unknown,
  ) {
    super(`the source changed since version ${version.etag ?? '(no ETag)'} of ${version.size} bytes`);
    this.name = 'SourceChanged';
  }
}

/** The ETag as a quoted entity tag, as the If-Match headers compare it. */
export const quoted = (etag: string) => (etag.startsWith('"') ? etag : `"${etag}"`);

/** The version the listing saw; undefined when the listing gave no ETag (read the current one instead). */
export function listedVersion(object: ManifestObject): SourceVersion | undefined {
  if (object.etag === '') return undefined;
  return {
    etag: quoted(object.etag),
    size: object.size,
    ...(object.versionId ? { versionId: object.versionId } : {}),
    ...(object.checksumAlgorithm ? { checksumAlgorithm: object.checksumAlgorithm } : {}),
  };
}

/** The version the key holds now (an unconditional HEAD of the source, its checksum included). */
export async function currentVersion(ctx: CopyContext, key: string, versionId?: string): Promise<SourceVersion> {
  const head = await ctx.sourceReads.track(() =>
    ctx.retry(() =>
      ctx.sourceS3.send(
        new HeadObjectCommand({ ...sourceObjectParams(ctx, key, versionId), ChecksumMode: 'ENABLED' }),
        ctx.budget.requestOptions,
      ),
    ),
  );
  const algorithm = checksumOf(head)?.algorithm;
  return {
    etag: head.ETag ? quoted(head.ETag) : undefined,
    size: head.ContentLength ?? 0,
    ...(versionId ? { versionId } : {}),
    ...(algorithm ? { checksumAlgorithm: algorithm } : {}),
  };
}
