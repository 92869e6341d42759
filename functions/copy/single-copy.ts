/** Copies one object of up to 5 GiB with a single CopyObject request. */
import { CopyObjectCommand, type CopyObjectCommandInput } from '@aws-sdk/client-s3';
import type { ManifestObject } from '../shared/job';
import type { CopyContext } from './copy-context';
import { encodeCopySource } from './copy-source';
import { targetOptions } from './target-settings';

/**
 * Copies `object` to `targetKey` with CopyObject, carrying metadata (MetadataDirective COPY) and, with
 * `tags: copy`, the tags (TaggingDirective COPY; REPLACE with no tags gives the copy none).
 * @returns the bytes copied: `size`, the listed size unless the caller knows the current one
 */
export async function copySingle(
  ctx: CopyContext,
  object: ManifestObject,
  targetKey: string,
  size = object.size,
): Promise<number> {
  const { job } = ctx;
  const request: CopyObjectCommandInput = {
    Bucket: job.target.bucket,
    Key: targetKey,
    CopySource: encodeCopySource(job.source.bucket, object.key),
    MetadataDirective: 'COPY',
    TaggingDirective: job.options.tags === 'copy' ? 'COPY' : 'REPLACE',
    ...targetOptions(job),
  };
  await ctx.sourceReads.track(() =>
    ctx.retry(() => ctx.s3.send(new CopyObjectCommand(request), ctx.budget.requestOptions)),
  );
  return size;
}
