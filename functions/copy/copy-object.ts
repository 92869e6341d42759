/**
 * One object's fate in a batch: copied (with the bytes), skipped (with the reason), failed (with the
 * error code and a message naming both ends), or stopped by the time budget. Chooses CopyObject or a
 * multipart copy by size, applies the sync rule, and settles a source 403/404 by listing the key.
 */
import { normalizeEtag } from '../shared/content-identity';
import { awsErrorCode, errorMessage } from '../shared/errors';
import {
  type CopyFailure,
  type ManifestObject,
  nameRulesInForce,
  S3_LIMITS,
  type SkipReason,
  targetKeyFor,
} from '../shared/job';
import type { BatchProgress } from './batch-progress';
import type { CopyContext } from './copy-context';
import { isDenied, isVanished, reportedCode } from './error-kinds';
import { copyMultipart, failedOnPartCopy } from './multipart-copy';
import { settingsMatch } from './settings-check';
import { copySingle } from './single-copy';
import { type CopyRoute, chooseRoute, partsCountOf } from './source-layout';
import {
  type CopiedObject,
  currentVersion,
  listedVersion,
  MAX_SOURCE_VERSIONS,
  SourceChanged,
  type SourceVersion,
} from './source-version';
import { findTarget, sourceIsGone, type TargetObject } from './target-lookup';
import { OutOfTime } from './time-budget';
import { readSource, shouldVerify, verifyCopy } from './verify-copy';

export type Outcome =
  | { kind: 'copied'; bytes: number; etag?: string }
  | { kind: 'skipped'; reason: SkipReason }
  | { kind: 'failed'; failure: CopyFailure }
  | { kind: 'stopped' };

/** Decides whether the target already holds the object (sync mode); copy-engine.ts's `targetMatches`. */
export type TargetMatcher = (object: ManifestObject, target: TargetObject) => boolean;

/**
 * The sync rule on the target as it is now: same content (size and ETag, or an identity record that
 * proves the copy), and for an object written again since its copy (the list step saw it), the same
 * settings too (settings-check.ts).
 */
export async function targetIsCurrent(
  ctx: CopyContext,
  matches: TargetMatcher,
  object: ManifestObject,
  target: TargetObject | undefined,
  targetKey: string,
): Promise<boolean> {
  if (!target) return false;
  if (!matches(object, target) && !(await provenByRecord(ctx, object, target, targetKey))) return false;
  return !object.checkSettings || (await settingsMatch(ctx, object, targetKey));
}

/**
 * Copies one object and says what became of it. Never throws for the object's own errors: they become
 * a `failed` outcome (or `skipped: vanished` when the source was deleted since listing).
 */
export async function copyObject(
  ctx: CopyContext,
  matches: TargetMatcher,
  object: ManifestObject,
  progress?: BatchProgress,
): Promise<Outcome> {
  const { job, budget } = ctx;
  if (budget.exhausted()) return { kind: 'stopped' };
  const targetKey = targetKeyFor(job, object.key);
  try {
    // A retried batch: what an earlier invocation of this execution copied counts as copied, not again.
    const recorded = progress?.isRetry ? progress.recordedCopy(object) : undefined;
    if (recorded !== undefined) {
      ctx.stats.alreadyCopied++;
      return { kind: 'copied', bytes: recorded };
    }
    if (job.options.mode === 'sync' || progress?.isRetry) {
      const target = await findTarget(ctx, targetKey);
      if (target && progress?.isRetry && progress.writtenByThisBatch(object, target)) {
        // The earlier invocation may have been stopped, or failed the object, before its check: check it
        // now, so a copy that failed verification is not counted as copied by the retry.
        await verifyWritten(ctx, object, targetKey);
        ctx.stats.alreadyCopied++;
        // It may also have stopped before writing the copy's identity record.
        await ctx.identity?.record(targetKey, {
          size: object.size,
          sourceEtag: object.etag,
          targetEtag: target.ETag ?? '',
        });
        progress.copied(object.key, object.etag, object.size);
        return { kind: 'copied', bytes: object.size };
      }
      if (job.options.mode === 'sync' && (await targetIsCurrent(ctx, matches, object, target, targetKey))) {
        return { kind: 'skipped', reason: 'unchanged' };
      }
    }
    const copied = await copyPinned(ctx, object, targetKey);
    progress?.copied(object.key, copied.etag, copied.size);
    await ctx.identity?.record(targetKey, {
      size: copied.size,
      sourceEtag: copied.etag ?? '',
      targetEtag: copied.targetEtag ?? '',
    });
    return { kind: 'copied', bytes: copied.size, ...(copied.etag ? { etag: copied.etag } : {}) };
  } catch (caught) {
    if (caught instanceof OutOfTime || budget.isOut) return { kind: 'stopped' };
    // Overwritten under every version tried: report S3's own 412.
    const error = caught instanceof SourceChanged ? caught.error : caught;
    if (awsErrorCode(error) === 'NoSuchKey') return { kind: 'skipped', reason: 'vanished' };
    // An archived source the listing could not tell (an Intelligent-Tiering archive
    // tier, or archived since listing) is skipped as archived, not a failure: see functions/list/archived-objects.ts.
    if (awsErrorCode(error) === 'InvalidObjectState') return { kind: 'skipped', reason: 'archived' };
    // A bare 404 (HEAD has no body) cannot tell a deleted key from a missing bucket, and least privilege
    // answers 403 for a key deleted since it was listed: list the key to tell.
    if (ctx.sourceReads.has(error) && (isVanished(error) || isDenied(error))) {
      const settled = await sourceIsGone(ctx, object);
      if (budget.isOut) return { kind: 'stopped' };
      if ('gone' in settled && settled.gone) return { kind: 'skipped', reason: 'vanished' };
      if ('listError' in settled && awsErrorCode(settled.listError) === 'NoSuchBucket') {
        return { kind: 'failed', failure: describeFailure(ctx, object, targetKey, settled.listError) };
      }
      if ('listError' in settled) {
        const note = ` (listing the key to tell a deleted source from a denied one failed too: ${reportedCode(settled.listError)}: ${errorMessage(settled.listError)})`;
        return { kind: 'failed', failure: describeFailure(ctx, object, targetKey, error, note) };
      }
    }
    return { kind: 'failed', failure: describeFailure(ctx, object, targetKey, error) };
  }
}

/**
 * A target whose ETag differs from the source's, proven a copy of this source version by an identity
 * record (shared/identity-record.ts): the ETag the list step's record proved (the manifest carries it for
 * objects it sends only for a settings check), or, on the event path, the key's record HEADed now.
 */
async function provenByRecord(
  ctx: CopyContext,
  object: ManifestObject,
  target: TargetObject,
  targetKey: string,
): Promise<boolean> {
  if (target.ContentLength !== object.size || !target.ETag) return false;
  if (object.recordedTargetEtag !== undefined) {
    return normalizeEtag(object.recordedTargetEtag) === normalizeEtag(target.ETag);
  }
  if (!ctx.identityLookUp || !ctx.identity) return false;
  return ctx.identity.proves(targetKey, { size: object.size, sourceEtag: object.etag, targetEtag: target.ETag });
}

/**
 * CopyObject up to the multipart threshold. Also, on S3-compatible servers (the CLI's --endpoint), up to
 * CopyObject's 5 GiB for a key holding `%`: Ceph RGW URL-decodes UploadPartCopy's copy source twice, so
 * `a%41` would copy the key `a` + `A`, and a `%` not followed by two hex digits aborts radosgw
 * (docs/compatibility.md); its CopyObject decodes once, as AWS does. The copy itself follows the source's
 * layout (source-layout.ts); this is the job's plan for a source whose layout is unknown.
 */
export function copiesInOneRequest(key: string, size: number, multipartThreshold: number): boolean {
  if (size <= multipartThreshold) return true;
  return mustCopyInOneRequest(key, size);
}

/** A key UploadPartCopy cannot name on this server (see copiesInOneRequest), within CopyObject's 5 GiB. */
function mustCopyInOneRequest(key: string, size: number): boolean {
  return nameRulesInForce() === 's3-compatible' && key.includes('%') && size <= S3_LIMITS.maxCopyObjectBytes;
}

/**
 * Copies the version the listing saw, or, when the key was overwritten since (or during the copy), the
 * version it holds now, in the source's own layout (source-layout.ts): one CopyObject for a single-part
 * source, UploadPartCopy in the source's parts for a multipart one.
 * @returns the version copied: its ETag and size (the bytes written)
 * @throws SourceChanged when the key changed under each of MAX_SOURCE_VERSIONS versions
 */
async function copyPinned(
  ctx: CopyContext,
  object: ManifestObject,
  targetKey: string,
): Promise<SourceVersion & { targetEtag?: string }> {
  let version = listedVersion(object) ?? (await currentVersion(ctx, object.key, object.versionId));
  for (let tries = 1; ; tries++) {
    try {
      const route = await chooseRoute(ctx, object.key, version, mustCopyInOneRequest(object.key, version.size));
      const copied =
        route.kind === 'single'
          ? await copySingle(ctx, object.key, targetKey, version)
          : await copyInParts(ctx, object.key, targetKey, version, route);
      return { etag: version.etag, ...copied };
    } catch (error) {
      if (!(error instanceof SourceChanged) || tries >= MAX_SOURCE_VERSIONS) throw error;
      version = await currentVersion(ctx, object.key, object.versionId);
    }
  }
}

/**
 * A multipart copy; on S3-compatible servers (the CLI's --endpoint), when UploadPartCopy is denied and the
 * object fits CopyObject's 5 GiB, one CopyObject after the upload was aborted. Ceph RGW 16.2 checks
 * UploadPartCopy's read access against the user's own grants only, ignoring a bucket or role policy that
 * CopyObject honours (docs/compatibility.md), so an assumed role's large objects would otherwise all fail.
 * Never on AWS: both requests need the same permissions there, so the retry would only double the denials.
 * @returns the bytes copied (the version's size) and the target's ETag
 */
async function copyInParts(
  ctx: CopyContext,
  sourceKey: string,
  targetKey: string,
  version: SourceVersion,
  route: CopyRoute & { kind: 'parts' },
): Promise<CopiedObject> {
  try {
    return await copyMultipart(ctx, sourceKey, targetKey, version, route);
  } catch (error) {
    if (!copiesAfterDeniedParts(error, version.size)) throw error;
    // One line per object: the operator sees which objects took the other path, and why.
    ctx.logger.warn('UploadPartCopy was denied; copying the object with one CopyObject (S3-compatible server)', {
      source: `s3://${ctx.job.source.bucket}/${sourceKey}`,
      target: `s3://${ctx.job.target.bucket}/${targetKey}`,
      size: version.size,
      error: errorMessage(error),
    });
    // A denial of this one too propagates as the object's AccessDenied, as without the fallback.
    return await copySingle(ctx, sourceKey, targetKey, version);
  }
}

/**
 * Whether a multipart copy that failed with `error` is tried once more with CopyObject: only on
 * S3-compatible servers, only for an UploadPartCopy's access denial, only up to CopyObject's 5 GiB.
 */
export function copiesAfterDeniedParts(error: unknown, size: number): boolean {
  return (
    nameRulesInForce() === 's3-compatible' &&
    failedOnPartCopy(error) &&
    isDenied(error) &&
    size <= S3_LIMITS.maxCopyObjectBytes
  );
}

/** Verifies a target an earlier invocation of the batch wrote, as the copy that wrote it would have. */
async function verifyWritten(ctx: CopyContext, object: ManifestObject, targetKey: string): Promise<void> {
  // The route without its HEADs: a multipart source (an ETag with `-N`) was copied in parts.
  const multipart =
    partsCountOf(object.etag) !== undefined ||
    !copiesInOneRequest(object.key, object.size, ctx.job.options.multipartThreshold);
  if (!shouldVerify(ctx.job.options.verify, multipart)) return;
  const version = listedVersion(object);
  // A manifest row's version, not the key's current one: If-Match with the row's ETag would fail on the latter.
  const source = await readSource(ctx, object.key, version?.etag, object.versionId);
  await verifyCopy(ctx, targetKey, source, { multipart });
}

/** The failure as reported: the AWS code, and a message naming source, target and (for 412) what to do. */
export function describeFailure(
  ctx: Pick<CopyContext, 'job'>,
  object: ManifestObject,
  targetKey: string,
  error: unknown,
  note = '',
): CopyFailure {
  const code = reportedCode(error);
  const hint =
    code === 'PreconditionFailed'
      ? ' (the source changed since it was listed; the next run copies the new version)'
      : '';
  const message =
    `copy s3://${ctx.job.source.bucket}/${object.key} -> s3://${ctx.job.target.bucket}/${targetKey}: ${errorMessage(error)}${hint}${note}`.slice(
      0,
      1000,
    );
  return { key: object.key, code, message };
}
