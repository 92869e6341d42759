import { z } from 'zod';
import { MeasuredRatesSchema } from '../shared/copy-rates';
import type { Job } from '../shared/job';
import { ManifestPositionSchema } from './manifest';
import type { SlicePlan } from './rate-plan';

/** Cumulative counts across the slices of one execution. */
export const ListTotalsSchema = z
  .object({
    /** Source objects examined (listed, or HEADed in keys mode). */
    listed: z.number().int().nonnegative(),
    /** Objects that passed the job's filter (include/exclude, size, dates): copied or skipped. */
    selected: z.number().int().nonnegative(),
    /** Selected objects left out of the manifest: the target already has them (sync), or they vanished. */
    skipped: z.number().int().nonnegative(),
    /** Rows of the source manifest, counted by its validation pass. */
    manifestRows: z.number().int().nonnegative().optional(),
    /** Bytes of the objects in the manifests (to copy). */
    bytes: z.number().int().nonnegative(),
    /** Bytes of the selected objects (the same set as `selected`: to copy and skipped). */
    selectedBytes: z.number().int().nonnegative().default(0),
    /** `skipped` by reason: unchanged (sync), vanished (keys mode), prefixMarker. */
    skippedByReason: z.record(z.string(), z.number().int().nonnegative()).default({}),
    /**
     * Sync: targets skipped as unchanged (counted in skippedByReason.unchanged too) whose ETag differs from
     * the source's, proven copies of it by an identity record (functions/list/identity-lookup.ts).
     */
    provenByRecord: z.number().int().nonnegative().optional(),
    /** With options.delete: target-only objects found (mirror-deletes.ts). */
    toDelete: z.number().int().nonnegative().optional(),
    /** With options.delete: target objects the merge walked (the percentage guard's base). */
    targetListed: z.number().int().nonnegative().optional(),
  })
  .strict();
export type ListTotals = z.infer<typeof ListTotalsSchema>;

export const ZERO_TOTALS: ListTotals = {
  listed: 0,
  selected: 0,
  skipped: 0,
  bytes: 0,
  selectedBytes: 0,
  skippedByReason: {},
};

/**
 * Where the next slice resumes. Opaque to the state machine: it passes the previous output's
 * `continuation` back unchanged.
 */
export const ContinuationSchema = z
  .object({
    /**
     * The last source key taken so far; the next slice lists strictly after it (S3's StartAfter).
     * Absent when no slice has taken a key yet (a sync slice can stop among target-only keys first).
     */
    startAfter: z.string().min(1).optional(),
    /**
     * Sync mode, when the slice stopped in the middle of the merge: the last target key passed over. The
     * next slice lists the target strictly after it instead of after startAfter's target key, so a run of
     * target-only keys longer than one slice's time is still crossed.
     */
    targetStartAfter: z.string().min(1).optional(),
    /** The next slice's number (the first slice is 0); also its manifest part number. */
    slice: z.number().int().positive(),
    totals: ListTotalsSchema,
    /**
     * What the job's copies measured so far (functions/list/rate-plan.ts, combineRates): the next slice is
     * planned from it. Absent until a copy reported rates. It travels as the totals do, across slices and
     * into a continued execution.
     */
    rates: MeasuredRatesSchema.optional(),
    /** Where a manifest job resumes (functions/list/manifest.ts); absent otherwise. */
    manifest: ManifestPositionSchema.optional(),
  })
  .strict();
export type Continuation = z.infer<typeof ContinuationSchema>;

/**
 * An execution name ($$.Execution.Name, which Step Functions already keeps free of whitespace and
 * special characters) or a local run's id. It becomes a path segment of S3 keys, so no "/", no control
 * characters, and not "." or "..".
 */
export const JobIdSchema = z.string().regex(
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects.
  /^(?!\.{1,2}$)[^/\u0000-\u001f\u007f]{1,128}$/,
  'must be 1-128 characters without "/" or control characters (the execution name)',
);

/** The part of a Distributed Map's output (with a ResultWriter) the list step reads. */
export const PreviousMapRunSchema = z
  .object({
    ResultWriterDetails: z.object({ Bucket: z.string().min(1), Key: z.string().min(1) }),
  })
  .passthrough();
export type PreviousMapRun = z.infer<typeof PreviousMapRunSchema>;

/** The list function's event, as the state machine builds it. */
export const ListEventSchema = z.object({
  /** The execution's original input ($$.Execution.Input): a (partial) job, or a batch of S3 events. */
  request: z.unknown(),
  jobId: JobIdSchema,
  /** Absent or null on the first slice; the previous output's continuation afterwards. */
  continuation: ContinuationSchema.nullish(),
  /**
   * The previous slice's Map Run output ($.list.mapRun: where its ResultWriter wrote the copy results),
   * null when that slice copied nothing. The list step reads the rates the copies measured from it.
   */
  previousMapRun: PreviousMapRunSchema.nullish(),
});
export type ListEvent = z.input<typeof ListEventSchema>;

/** Where a slice's manifest lives in the state bucket. */
export interface ManifestLocation {
  bucket: string;
  key: string;
}

/** The list function's output (DESIGN.md), always well under 200 KiB. */
export interface ListOutput {
  job: Job;
  jobId: string;
  /** The slice's manifest (JSON array of batches); null when the slice has nothing to copy. */
  manifest: ManifestLocation | null;
  slice: { number: number; objects: number; bytes: number; batches: number };
  totals: ListTotals;
  /** Null when the listing is complete; else pass it to the next List call. */
  continuation: Continuation | null;
  /** The job is a dry run: the manifest reports what would be copied and nothing is copied. */
  dryRun: boolean;
  /** The rates and batch limits this slice was planned with (functions/list/rate-plan.ts). */
  plan: SlicePlan;
  /**
   * Always null here: the state machine's Map writes its output over it ($.list.mapRun), and the next
   * List call passes it on as previousMapRun. Being present even for a slice with nothing to copy keeps
   * that JSONPath valid.
   */
  mapRun: null;
}

/** The manifest of slice n: `manifests/<jobId>/part-<n>.json`, n counting from 0. */
export function manifestKey(jobId: string, slice: number): string {
  return `manifests/${jobId}/part-${slice}.json`;
}
