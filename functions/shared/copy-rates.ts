/**
 * The copy-rate model: how long server-side copies take, used to plan batches that fit one copy
 * invocation (functions/list/rate-plan.ts, functions/list/planner.ts) and to decide when a multipart copy
 * stops starting parts before the time budget (functions/copy/part-pace.ts).
 *
 * Server-side copy speed is not something this project can measure against AWS from its test machine, so
 * the model has two layers:
 * - The figures below are the model: conservative per-request figures, used before anything was measured
 *   and as the ceiling of what measurements may plan for.
 * - Every copy invocation measures its own requests (functions/copy/rate-meter.ts) and reports a few
 *   numbers (MeasuredRates) in its batch result; the list step of the next slice reads them back and
 *   plans from them (never faster than the model, never slower than the floor). While copying, the
 *   multipart copy also paces itself on the slowest part it has seen.
 * docs/cost.md ("Rate model") states where each figure comes from.
 */
import { z } from 'zod';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const COPY_RATES = {
  /**
   * Bytes per second one CopyObject or UploadPartCopy request copies, server-side, on AWS: a pessimistic
   * figure (round 1's planning figure, about half of what a single S3 connection moves per the S3
   * performance guidelines' "single request" figures), used before anything was measured. Measured
   * planning never plans faster than this.
   */
  perRequestBytesPerSecond: 50 * MiB,
  /** Round-trip cost of one request besides its bytes, expressed as bytes of copying (planner's balance). */
  perObjectOverheadBytes: 1 * MiB,
  /**
   * The same round trip in milliseconds (1 MiB at 50 MiB/s): the model's time of one small request.
   * Measured planning never plans a request shorter than this.
   */
  perRequestMs: 20,
  /**
   * What one copy invocation (15 minutes, 30 s margin) is planned to copy: an aggregate of 50 MiB/s for
   * about 11 minutes, the rest of the invocation kept as slack. The default options.maxBytesPerBatch.
   * An object larger than this gets a batch of its own and continues across invocations.
   */
  plannedBatchBytes: 32 * GiB,
  /**
   * Measured planning never plans slower than this: one slow invocation (a throttled minute, a cold
   * partition) must not shrink every later batch to a few MiB; a batch slower than planned still
   * finishes, because a time-budget stop records its progress and the retry continues.
   */
  minBytesPerSecond: 1 * MiB,
  /** Measured planning never plans a request longer than this (the same reason, for small objects). */
  maxRequestMs: 10_000,
} as const;

/**
 * Requests copying at least this many bytes (every UploadPartCopy, since parts are 5 MiB or more, and
 * larger CopyObjects) measure the byte rate; smaller ones measure the time of one request, which their
 * bytes barely change.
 */
export const LARGE_REQUEST_BYTES = 5 * MiB;

/**
 * What copies measured, in a few numbers: in a copy invocation's batch result (its own requests), and
 * carried by the list step's continuation for the whole job (the latest slice's copies).
 */
export const MeasuredRatesSchema = z
  .object({
    /** Requests of LARGE_REQUEST_BYTES or more behind `bytesPerSecond`. */
    large: z.number().int().nonnegative(),
    /** A low (10th) percentile of their bytes per second each: what a slow request achieves. */
    bytesPerSecond: z.number().positive().optional(),
    /** Smaller requests behind `requestMs`. */
    small: z.number().int().nonnegative(),
    /** A high (90th) percentile of their milliseconds each: what a slow small copy takes. */
    requestMs: z.number().nonnegative().optional(),
  })
  .strict();
export type MeasuredRates = z.infer<typeof MeasuredRatesSchema>;

/**
 * The value at fraction `p` (0..1) of `values` sorted ascending, nearest rank rounding towards the
 * conservative end the caller asks for (down for low percentiles of rates, up for high ones of times).
 */
export function percentile(values: readonly number[], p: number, round: 'down' | 'up'): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const exact = p * (sorted.length - 1);
  const index = round === 'down' ? Math.floor(exact) : Math.ceil(exact);
  return sorted[Math.min(sorted.length - 1, Math.max(0, index))];
}

/** Expected milliseconds one request takes to copy `bytes`, by the model (before any measurement). */
export function modelledCopyMs(bytes: number): number {
  return (bytes / COPY_RATES.perRequestBytesPerSecond) * 1000;
}
