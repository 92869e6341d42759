/** Copies one object of up to 5 GiB with a single CopyObject request, pinned to one source version. */
import { CopyObjectCommand, type CopyObjectCommandInput } from '@aws-sdk/client-s3';
import type { CopyContext } from './copy-context';
import { isPreconditionFailed } from './error-kinds';
import { copySourceParams } from './source-request';
import { type CopiedObject, SourceChanged, type SourceVersion } from './source-version';
import { targetOptions } from './target-settings';
import { readSource, shouldVerify, verifyCopy } from './verify-copy';

/**
 * Copies version `version` of `sourceKey` to `targetKey` with CopyObject, carrying metadata and, with
 * `tags: copy`, the tags (with `tags: none`, TaggingDirective REPLACE with no tags gives the copy none),
 * and the source's checksum algorithm (checksums.ts). CopySourceIfMatch makes S3 refuse (412) rather
 * than copy another version.
 * @returns the bytes copied (the version's size) and the ETag S3 gave the target
 * @throws SourceChanged when the key no longer holds that version
 */
export async function copySingle(
  ctx: CopyContext,
  sourceKey: string,
  targetKey: string,
  version: SourceVersion,
): Promise<CopiedObject> {
  const { job } = ctx;
  const request: CopyObjectCommandInput = {
    Bucket: job.target.bucket,
    Key: targetKey,
    ...copySourceParams(ctx, sourceKey, version.versionId),
    ...(version.etag ? { CopySourceIfMatch: version.etag } : {}),
    // COPY is S3's default for both directives (and moto's, and the S3 model's): sending it would only
    // restate it, in two more headers to serialise, sign and parse for every object. Only `tags: none`
    // needs a directive. The verify step (`options.verify: all`) still checks metadata and tags.
    ...(job.options.tags === 'copy' ? {} : { TaggingDirective: 'REPLACE' as const }),
    // S3 would copy the source's algorithm by default; asking for it makes the request say what it wants.
    ...(version.checksumAlgorithm ? { ChecksumAlgorithm: version.checksumAlgorithm } : {}),
    ...targetOptions(job),
  };
  const started = ctx.now();
  let targetEtag: string | undefined;
  try {
    const answer = await ctx.sourceReads.track(() =>
      ctx.retry(() => ctx.s3.send(new CopyObjectCommand(request), ctx.budget.requestOptions)),
    );
    targetEtag = answer.CopyObjectResult?.ETag;
  } catch (error) {
    if (version.etag && isPreconditionFailed(error)) throw new SourceChanged(version, error);
    throw error;
  }
  ctx.rates.observe(version.size, ctx.now() - started);
  ctx.stats.copiedBytes += version.size;
  if (shouldVerify(job.options.verify, false)) {
    await verifyCopy(ctx, targetKey, await readSource(ctx, sourceKey, version.etag, version.versionId), {
      multipart: false,
    });
  }
  return { size: version.size, ...(targetEtag ? { targetEtag } : {}) };
}
