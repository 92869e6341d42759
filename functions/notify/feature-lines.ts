/**
 * Lines of the notification body for the features of issue 13 (archived objects), kept apart from
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

/**
 * The mirror-deletes line (options.delete): how many target objects with no source were deleted, or in a
 * dry run would be (with the first keys); or, when the run stopped before the deletes, how many were found.
 */
export function deletesLines(
  deletes: { toDelete?: number; deleted?: number; dryRun?: boolean; wouldDelete?: string[] } | undefined,
  totals: { toDelete?: number } | undefined,
): string[] {
  if (!deletes) {
    const found = totals?.toDelete;
    return found === undefined
      ? []
      : [
          `Deleted:   0 (${formatCount(found)} target objects with no source found; deletes run only after every copy succeeded)`,
        ];
  }
  if (deletes.dryRun) {
    const sample = deletes.wouldDelete ?? [];
    return [
      `Deletes:   ${formatCount(deletes.toDelete ?? 0)} target objects with no source would be deleted; nothing was deleted`,
      ...sample.slice(0, 20).map((key) => `  would delete ${key}`),
    ];
  }
  return [`Deleted:   ${formatCount(deletes.deleted ?? 0)} target objects with no source object (mirror)`];
}
