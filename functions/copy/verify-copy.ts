/**
 * Checks what the target actually holds after a copy, and repairs what a server dropped.
 *
 * Servers that speak S3 do not all keep what S3 keeps: Ceph RGW ignores the tags of
 * CreateMultipartUpload, the embedded server ignores TaggingDirective on CopyObject. A copy that
 * returned 200 is therefore checked (`options.verify`): the target's size, its ETag where it must equal
 * the source's (a single-request copy of an object that was not itself a multipart upload), its content
 * headers, user metadata, checksum algorithm (and full-object checksum value, checksums.ts) and tags. Tags are repaired with PutObjectTagging; anything else that differs
 * fails the object with a code naming what differs (CopyVerificationFailed), so the ledger never counts
 * as copied an object the target does not hold as the source is.
 *
 * Cost: HEAD + GetObjectTagging of the target (GET-class requests), plus, for a single-request copy,
 * HEAD + GetObjectTagging of the source (the multipart path has read both already); a PutObjectTagging
 * when a repair is needed. `s3xcopy estimate` and docs/cost.md count them.
 */
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectTaggingCommand,
  type Tag,
} from '@aws-sdk/client-s3';
import { checksumDifferences, checksumOf } from './checksums';
import type { CopyContext } from './copy-context';
import { sourceObjectParams } from './source-request';
import { isHttpDate } from './target-settings';

/** Which copies are checked: multipart ones only (the default: their settings are re-sent, not copied), all, none. */
export type VerifyScope = 'multipart' | 'all' | 'none';

/** The object failed its check after the copy and could not be repaired; `code` says what differs. */
export class CopyVerificationError extends Error {
  constructor(
    readonly target: string,
    readonly differences: string[],
  ) {
    super(
      `the copy at ${target} does not hold what the source holds (${differences.join('; ')}); ` +
        'the server did not keep it and it cannot be repaired in place: re-run to copy it again, or run with --verify none to accept it',
    );
    this.name = 'CopyVerificationFailed';
  }
}

/** What the source holds, as the check compares it. */
export interface SourceImage {
  head: HeadObjectCommandOutput;
  /** Undefined when tags are not copied (`tags: none`). */
  tags?: Tag[];
}

/** Whether a copy of this kind is checked under `scope`. */
export function shouldVerify(scope: VerifyScope | undefined, multipart: boolean): boolean {
  const effective = scope ?? 'multipart';
  return effective === 'all' || (effective === 'multipart' && multipart);
}

const HEADERS = ['ContentType', 'CacheControl', 'ContentDisposition', 'ContentEncoding', 'ContentLanguage'] as const;

const unquote = (etag: string | undefined) => (etag ?? '').replace(/^"|"$/g, '');

/** Tags as one comparable string (order-free). */
function tagKey(tags: ReadonlyArray<Tag>): string {
  return JSON.stringify(tags.map((tag) => [tag.Key ?? '', tag.Value ?? '']).sort());
}

/** Metadata keys are case-insensitive on the wire: compare them lowercased. */
function metadataKey(metadata: Record<string, string> | undefined): string {
  return JSON.stringify(
    Object.entries(metadata ?? {})
      .map(([key, value]) => [key.toLowerCase(), value])
      .sort(),
  );
}

function expiresOf(head: HeadObjectCommandOutput): string | undefined {
  if (head.ExpiresString) {
    return isHttpDate(head.ExpiresString) ? new Date(Date.parse(head.ExpiresString)).toISOString() : head.ExpiresString;
  }
  return head.Expires && !Number.isNaN(head.Expires.getTime()) ? head.Expires.toISOString() : undefined;
}

/**
 * Lists how the target differs from the source, other than its tags. `sameEtag` says whether the
 * target's ETag must equal the source's.
 */
export function describeDifferences(
  source: HeadObjectCommandOutput,
  target: HeadObjectCommandOutput,
  sameEtag: boolean,
) {
  const differences: string[] = [];
  if (source.ContentLength !== target.ContentLength) {
    differences.push(`size ${target.ContentLength} instead of ${source.ContentLength}`);
  }
  if (sameEtag && unquote(source.ETag) !== '' && unquote(source.ETag) !== unquote(target.ETag)) {
    differences.push(`ETag ${target.ETag} instead of ${source.ETag}`);
  }
  for (const header of HEADERS) {
    // A server may give an object without a content type its default: compare only what the source set.
    if (source[header] !== undefined && source[header] !== target[header]) {
      differences.push(`${header} ${JSON.stringify(target[header])} instead of ${JSON.stringify(source[header])}`);
    }
  }
  const [sourceExpires, targetExpires] = [expiresOf(source), expiresOf(target)];
  if (sourceExpires !== targetExpires) {
    differences.push(`Expires ${JSON.stringify(targetExpires)} instead of ${JSON.stringify(sourceExpires)}`);
  }
  if (metadataKey(source.Metadata) !== metadataKey(target.Metadata)) differences.push('user metadata differs');
  // Both HEADs ask for checksums (ChecksumMode ENABLED): the algorithm kept, and a full-object value equal.
  differences.push(...checksumDifferences(checksumOf(source), checksumOf(target)));
  return differences;
}

/** The source's tags beside a HEAD the caller already has (the multipart path HEADs the source itself). */
export async function withSourceTags(
  ctx: CopyContext,
  sourceKey: string,
  head: HeadObjectCommandOutput,
  versionId?: string,
) {
  if (ctx.job.options.tags !== 'copy') return { head };
  const tagging = await ctx.sourceReads.track(() =>
    ctx.retry(() =>
      ctx.sourceS3.send(
        new GetObjectTaggingCommand(sourceObjectParams(ctx, sourceKey, versionId)),
        ctx.budget.requestOptions,
      ),
    ),
  );
  return { head, tags: tagging.TagSet ?? [] };
}

/** The source's HEAD and tags, for a single-request copy. */
export async function readSource(
  ctx: CopyContext,
  sourceKey: string,
  etag: string | undefined,
  versionId?: string,
): Promise<SourceImage> {
  const options = ctx.budget.requestOptions;
  const head = await ctx.sourceReads.track(() =>
    ctx.retry(() =>
      ctx.sourceS3.send(
        new HeadObjectCommand({
          ...sourceObjectParams(ctx, sourceKey, versionId),
          ...(etag ? { IfMatch: etag } : {}),
          ChecksumMode: 'ENABLED',
        }),
        options,
      ),
    ),
  );
  if (ctx.job.options.tags !== 'copy') return { head };
  const tagging = await ctx.sourceReads.track(() =>
    ctx.retry(() =>
      ctx.sourceS3.send(new GetObjectTaggingCommand(sourceObjectParams(ctx, sourceKey, versionId)), options),
    ),
  );
  return { head, tags: tagging.TagSet ?? [] };
}

/**
 * Checks the target object against the source image; puts the source's tags back when the server
 * dropped them (PutObjectTagging, then reads them again).
 * @returns how many repairs it made (0 or 1)
 * @throws CopyVerificationError when the target differs in anything else, or the tags did not stick
 */
export async function verifyCopy(
  ctx: CopyContext,
  targetKey: string,
  source: SourceImage,
  kind: { multipart: boolean },
): Promise<number> {
  const bucket = ctx.job.target.bucket;
  const options = ctx.budget.requestOptions;
  const where = `s3://${bucket}/${targetKey}`;
  const target = await ctx.retry(() =>
    ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: targetKey, ChecksumMode: 'ENABLED' }), options),
  );
  // A single-request copy of a single-part source keeps its MD5 ETag, unless either side is SSE-KMS (the
  // job's key or a bucket's default): such an ETag is no digest of the bytes.
  const kms = [source.head.ServerSideEncryption, target.ServerSideEncryption].includes('aws:kms');
  const sameEtag =
    !kind.multipart && !unquote(source.head.ETag).includes('-') && ctx.job.options.kmsKeyId === undefined && !kms;
  const differences = describeDifferences(source.head, target, sameEtag);
  if (differences.length > 0) throw new CopyVerificationError(where, differences);
  if (source.tags === undefined) return 0;
  const readTags = async () =>
    (await ctx.retry(() => ctx.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: targetKey }), options)))
      .TagSet ?? [];
  if (tagKey(await readTags()) === tagKey(source.tags)) return 0;
  await ctx.retry(() =>
    ctx.s3.send(
      new PutObjectTaggingCommand({ Bucket: bucket, Key: targetKey, Tagging: { TagSet: source.tags ?? [] } }),
      options,
    ),
  );
  if (tagKey(await readTags()) !== tagKey(source.tags)) {
    throw new CopyVerificationError(where, ['tags differ, and putting them again did not keep them']);
  }
  ctx.logger.warn('Repaired the tags of a copy: the server dropped them', { target: where });
  return 1;
}
