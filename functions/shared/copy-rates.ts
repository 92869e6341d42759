/**
 * The copy-rate model: how long server-side copies take, used to plan batches that fit one copy
 * invocation (functions/list/planner.ts) and to decide when a multipart copy stops starting parts before
 * the time budget (functions/copy/part-pace.ts).
 *
 * Server-side copy speed is not something this project can measure against AWS from its test machine, so
 * the model has two layers:
 * - Planning uses conservative per-request figures (below). A batch that turns out slower than planned is
 *   no longer lost: the copy records its progress and the retry continues where it stopped.
 * - While copying, the engine measures every UploadPartCopy of the invocation and paces itself on the
 *   slowest part it has seen, so the figures below are only its first guess.
 * docs/cost.md ("Rate model") states where each figure comes from.
 */
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const COPY_RATES = {
  /**
   * Bytes per second one CopyObject or UploadPartCopy request copies, server-side, on AWS: a pessimistic
   * figure (round 1's planning figure, about half of what a single S3 connection moves per the S3
   * performance guidelines' "single request" figures), used before anything was measured.
   */
  perRequestBytesPerSecond: 50 * MiB,
  /** Round-trip cost of one request besides its bytes, expressed as bytes of copying (planner's balance). */
  perObjectOverheadBytes: 1 * MiB,
  /**
   * What one copy invocation (15 minutes, 30 s margin) is planned to copy: an aggregate of 50 MiB/s for
   * about 11 minutes, the rest of the invocation kept as slack. The default options.maxBytesPerBatch.
   * An object larger than this gets a batch of its own and continues across invocations.
   */
  plannedBatchBytes: 32 * GiB,
} as const;

/** Expected milliseconds one request takes to copy `bytes`, by the model (before any measurement). */
export function modelledCopyMs(bytes: number): number {
  return (bytes / COPY_RATES.perRequestBytesPerSecond) * 1000;
}
