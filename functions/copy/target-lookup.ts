/**
 * Looks up objects the way a least-privilege role can: HEAD first, and where S3 answers 403 for what may
 * be a missing key (s3:ListBucket conditioned on s3:prefix), a listing of the key itself.
 */
import { HeadObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { httpStatusOf } from '../shared/errors';
import type { ManifestObject } from '../shared/job';
import { sourcePayer } from '../shared/request-payer';
import type { CopyContext } from './copy-context';
import { isDenied } from './error-kinds';
import { findByListing } from './find-by-listing';
import { OutOfTime } from './time-budget';

/** What the sync rule reads of a target object, from a HeadObject or a listing. */
export type TargetObject = Pick<HeadObjectCommandOutput, 'ContentLength' | 'ETag' | 'LastModified'>;

/**
 * The target object as the sync rule and the Complete check need it; undefined when absent. A 403 on
 * HEAD is settled by listing: the target role's s3:ListBucket is conditioned on s3:prefix, so S3 answers
 * 403 for a missing key, and listing under the key is what that condition allows.
 * @throws AccessDenied (an Error with that name) when both HEAD and listing are denied, naming the fix
 */
export async function findTarget(ctx: CopyContext, targetKey: string): Promise<TargetObject | undefined> {
  const bucket = ctx.job.target.bucket;
  const options = ctx.budget.requestOptions;
  try {
    return await ctx.retry(() => ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: targetKey }), options));
  } catch (error) {
    if (error instanceof OutOfTime) throw error;
    if (httpStatusOf(error) === 404) return undefined;
    if (!isDenied(error)) throw error;
  }
  try {
    const listed = await ctx.retry(() => findByListing(ctx.s3, bucket, targetKey, options));
    if (!listed) return undefined;
    return { ContentLength: listed.size, ETag: listed.etag, LastModified: listed.lastModified };
  } catch (error) {
    if (error instanceof OutOfTime || !isDenied(error)) throw error;
    throw Object.assign(
      new Error(
        `HeadObject and ListObjectsV2 on s3://${bucket}/${targetKey} were both denied (403): checking the ` +
          `target needs s3:ListBucket on ${bucket} for the target prefix (and s3:GetObject on it for HEAD); ` +
          '`s3xcopy policies` prints the statements',
      ),
      { name: 'AccessDenied' },
    );
  }
}

/** Lists the source key: `gone` says whether it is absent; `listError` when the listing itself failed. */
export async function sourceIsGone(
  ctx: CopyContext,
  object: ManifestObject,
): Promise<{ gone: boolean } | { listError: unknown }> {
  try {
    const listed = await ctx.retry(() =>
      findByListing(ctx.sourceS3, ctx.job.source.bucket, object.key, ctx.budget.requestOptions, sourcePayer(ctx.job)),
    );
    return { gone: listed === undefined };
  } catch (listError) {
    return { listError };
  }
}
