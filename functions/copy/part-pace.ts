/**
 * When a multipart copy stops starting parts. A part cut by the time budget is lost work (S3 may even have
 * copied it, unanswered), so a resumable copy stops starting parts while the slowest part seen so far would
 * still finish before the safety margin, lets the parts in flight finish, and records them.
 */
import { modelledCopyMs } from '../shared/copy-rates';

/** A part is started only when this many times the slowest part seen fits before the margin. */
export const PART_TIME_FACTOR = 1.5;

export class PartPace {
  private slowestMs: number;
  private measured = false;

  /** @param partSize the upload's part size: before any part is measured, the rate model's time for it */
  constructor(partSize: number) {
    this.slowestMs = modelledCopyMs(partSize);
  }

  /** Records how long one part took (wall clock, while running alongside the other parts). */
  observe(durationMs: number): void {
    if (!(durationMs >= 0 && Number.isFinite(durationMs))) return;
    // The first measurement replaces the model's guess; later ones can only make the pace more careful.
    this.slowestMs = this.measured ? Math.max(this.slowestMs, durationMs) : durationMs;
    this.measured = true;
  }

  /** The time a new part needs before the margin: PART_TIME_FACTOR x the slowest part measured (or modelled). */
  neededMs(): number {
    return this.slowestMs * PART_TIME_FACTOR;
  }
}
