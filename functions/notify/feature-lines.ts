/**
 * Lines of the notification body for the optional features (archived objects), kept apart from
 * message.ts so each feature adds its lines here.
 */
import { formatCount } from '../shared/format';

/**
 * The archived-objects line: how many were skipped as archived and how many are still restoring, what
 * to do about each, and where their keys are listed.
 */
export function archivedLines(skippedByReason: Record<string, number>, jobId: string): string[] {
  const archived = skippedByReason.archived ?? 0;
  const restoring = skippedByReason.restoring ?? 0;
  if (archived === 0 && restoring === 0) return [];
  const parts: string[] = [];
  if (archived > 0) {
    parts.push(
      `${formatCount(archived)} archived, not copied (restore them with --restore TIER --restore-days N, or options.restore)`,
    );
  }
  if (restoring > 0) {
    parts.push(`${formatCount(restoring)} still restoring (a later sync run with the same restore option copies them)`);
  }
  return [
    `Archived:  ${parts.join('; ')}`,
    `           keys: manifests/${jobId}/archived-<slice>.jsonl in the state bucket`,
  ];
}

/** The MirrorDeletes step's ledger as Notify reads it (functions/list/mirror-deletes.ts, DeletesOutput). */
export interface DeletesSummaryInput {
  toDelete?: number;
  proven?: number;
  refused?: number;
  deleted?: number;
  failed?: number;
  notAttempted?: number;
  dryRun?: boolean;
  wouldDelete?: string[];
  failures?: Array<{ action: string; key: string; code: string }>;
  refusedKeys?: string[];
}

/**
 * The mirror-deletes lines (options.delete): the delete ledger (to delete, proven, refused, deleted, failed
 * with action, key and code, not attempted), or in a dry run what would be deleted (with the first keys);
 * or, when the run stopped before the deletes, how many were found.
 */
export function deletesLines(
  deletes: DeletesSummaryInput | undefined,
  totals: { toDelete?: number } | undefined,
): string[] {
  if (!deletes) {
    const found = totals?.toDelete;
    return found === undefined
      ? []
      : [
          `Deleted:   0 (${formatCount(found)} target objects with no source found; the delete step did not run: it runs only after every copy succeeded, and stops before any delete when a guard trips)`,
        ];
  }
  const n = (value: number | undefined) => formatCount(value ?? 0);
  const ledger = `${n(deletes.toDelete)} to delete, ${n(deletes.proven)} proven absent at the source, ${n(deletes.refused)} refused (source exists), ${n(deletes.failed)} failed, ${n(deletes.notAttempted)} not attempted`;
  const named = [
    ...(deletes.failures ?? []).map((f) => `  failed: ${f.action} ${f.key} (${f.code})`),
    ...(deletes.refusedKeys ?? []).map((key) => `  refused: ${key} (its source object exists; the listing missed it)`),
  ];
  if (deletes.dryRun) {
    const sample = deletes.wouldDelete ?? [];
    return [
      `Deletes:   ${n(deletes.proven)} target objects with no source would be deleted; nothing was deleted (${ledger})`,
      ...sample.slice(0, 20).map((key) => `  would delete ${key}`),
      ...named,
    ];
  }
  return [`Deleted:   ${n(deletes.deleted)} target objects with no source object (mirror): ${ledger}`, ...named];
}

/**
 * Multipart uploads left open because they could not be proven the job's (a CreateMultipartUpload answer
 * was lost, and another upload of the key exists: functions/copy/stray-uploads.ts), named by id.
 */
export function strayUploadLines(uploads: Array<{ key: string; uploadId: string }> | undefined): string[] {
  if (!uploads || uploads.length === 0) return [];
  return [
    `Left open: ${formatCount(uploads.length)} multipart uploads of keys whose CreateMultipartUpload answer was lost, not provably this job's (not aborted; abort them by id once you know they are not in use, or let an AbortIncompleteMultipartUpload lifecycle rule end them):`,
    ...uploads.map((upload) => `  ${upload.key}  upload ${upload.uploadId}`),
  ];
}
