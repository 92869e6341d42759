/**
 * Measures this invocation's copy requests (each CopyObject and UploadPartCopy that succeeded, retries
 * included, as the invocation waited for it) and sums them up in the few numbers a batch result carries
 * (MeasuredRates, functions/shared/copy-rates.ts), so the next slice is planned from what S3 did.
 */
import { LARGE_REQUEST_BYTES, type MeasuredRates, percentile } from '../shared/copy-rates';

export class RateMeter {
  private readonly largeBytesPerSecond: number[] = [];
  private readonly smallMs: number[] = [];

  /** One request that copied `bytes` in `durationMs` (wall clock, beside the other requests in flight). */
  observe(bytes: number, durationMs: number): void {
    if (!(Number.isFinite(durationMs) && durationMs >= 0 && Number.isFinite(bytes) && bytes >= 0)) return;
    if (bytes >= LARGE_REQUEST_BYTES) {
      // A request answered within the clock's resolution is as fast as the model allows anyway.
      if (durationMs > 0) this.largeBytesPerSecond.push((bytes / durationMs) * 1000);
    } else {
      this.smallMs.push(durationMs);
    }
  }

  /** The invocation's figures; undefined when it copied nothing itself (all skipped, or all resumed). */
  summary(): MeasuredRates | undefined {
    const large = this.largeBytesPerSecond.length;
    const small = this.smallMs.length;
    if (large === 0 && small === 0) return undefined;
    const bytesPerSecond = percentile(this.largeBytesPerSecond, 0.1, 'down');
    const requestMs = percentile(this.smallMs, 0.9, 'up');
    return {
      large,
      ...(bytesPerSecond === undefined ? {} : { bytesPerSecond: Math.round(bytesPerSecond) }),
      small,
      ...(requestMs === undefined ? {} : { requestMs: Math.round(requestMs) }),
    };
  }
}
