/**
 * A sync's second look at a target that holds the source's content but is older than the source: the
 * source was written again since the copy, and a write that keeps the bytes (CopyObject onto itself with
 * new headers or metadata, or a re-upload of the same file with other settings) keeps a single-part
 * ETag. The list step marks such entries (`checkSettings`, functions/list/sync-merge.ts); here their
 * headers, user metadata, checksum algorithm and (with `tags: copy`) tags are compared, and the object is
 * copied only when one differs. An ETag and size never prove settings, and a timestamp never proves
 * content: this costs HEAD + GetObjectTagging on both sides, only for objects written after their copy.
 *
 * Tags changed with PutObjectTagging do not change LastModified, so nothing marks such an object: a sync
 * does not see a tag-only change (neither does `aws s3 sync` or rclone); `--mode copy` copies them.
 */
import { GetObjectTaggingCommand, HeadObjectCommand, type Tag } from '@aws-sdk/client-s3';
import type { ManifestObject } from '../shared/job';
import type { CopyContext } from './copy-context';
import { isPreconditionFailed } from './error-kinds';
import { describeDifferences, readSource } from './verify-copy';

/** Tags as one comparable string (order-free). */
function tagKey(tags: ReadonlyArray<Tag>): string {
  return JSON.stringify(tags.map((tag) => [tag.Key ?? '', tag.Value ?? '']).sort());
}

/**
 * True when the target's headers, metadata and tags equal the source's (the content is already proven
 * the same); false when the object must be copied again.
 * @throws what the HEADs and tag reads throw, but a source changed since listing (412): that is copied
 */
export async function settingsMatch(ctx: CopyContext, object: ManifestObject, targetKey: string): Promise<boolean> {
  ctx.stats.settingsChecked++;
  const bucket = ctx.job.target.bucket;
  const options = ctx.budget.requestOptions;
  const [source, target] = await Promise.all([
    // Pinned to the listed version: one written since is not proven current, and the copy settles it.
    readSource(ctx, object.key, object.etag, object.versionId).catch((error: unknown) => {
      if (isPreconditionFailed(error)) return undefined;
      throw error;
    }),
    ctx.retry(() =>
      ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: targetKey, ChecksumMode: 'ENABLED' }), options),
    ),
  ]);
  if (!source) return false;
  if (describeDifferences(source.head, target, false).length > 0) return false;
  if (source.tags === undefined) return true;
  const targetTags = await ctx.retry(() =>
    ctx.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: targetKey }), options),
  );
  return tagKey(targetTags.TagSet ?? []) === tagKey(source.tags);
}
