/**
 * Plans a slice's batches from measured copy rates (the rate model: functions/shared/copy-rates.ts and
 * docs/cost.md, "Rate model").
 *
 * A batch is planned to take at most the job's window W: the time the job's own limits take at the
 * model's rates (maxBytesPerBatch at 50 MiB/s plus maxObjectsPerBatch requests of 20 ms: 680 s by
 * default, 78% of the 870 s a 15-minute invocation copies before its 30 s safety margin; the rest is the
 * planning margin). A batch's
 * planned time is bytes / R + objects x L, as if its requests ran one after another: a copy invocation
 * always has at least one request in flight, so its real time is no longer than that at the rates
 * measured under its own concurrency.
 */
import { COPY_RATES, type MeasuredRates, percentile } from '../shared/copy-rates';

/** The job's own batch limits (options.maxBytesPerBatch and maxObjectsPerBatch). */
export interface BatchLimits {
  maxBytesPerBatch: number;
  maxObjectsPerBatch: number;
}

/** How one slice was planned: reported in the list step's output and its log line. */
export interface SlicePlan {
  /** 'model' before any copy was measured; 'measured' once the job's copies reported rates. */
  source: 'model' | 'measured';
  /** R: the byte rate planned with, per request. */
  bytesPerSecond: number;
  /** L: the time of one small request planned with. */
  requestMs: number;
  /** W: the seconds a batch is planned to take at most. */
  windowSeconds: number;
  maxBytesPerBatch: number;
  maxObjectsPerBatch: number;
}

/** W for the job's limits: what they take at the model's rates. */
export function planningWindowSeconds(limits: BatchLimits): number {
  return (
    limits.maxBytesPerBatch / COPY_RATES.perRequestBytesPerSecond +
    (limits.maxObjectsPerBatch * COPY_RATES.perRequestMs) / 1000
  );
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/**
 * The batch limits for the next slice. Without measurements: the job's limits as they are (the model).
 * With them: R = the measured byte rate and L = the measured request time, each held between the model
 * (never planning faster than it) and a floor (COPY_RATES.minBytesPerSecond, maxRequestMs); then at most
 * half the window goes to requests (objects <= W / 2 / L) and the rest to bytes
 * (bytes <= R x (W - objects x L)), never above the job's own limits. So bytes / R + objects x L <= W.
 */
export function planForRates(limits: BatchLimits, rates?: MeasuredRates): SlicePlan {
  const windowSeconds = planningWindowSeconds(limits);
  if (!rates || (rates.bytesPerSecond === undefined && rates.requestMs === undefined)) {
    return {
      source: 'model',
      bytesPerSecond: COPY_RATES.perRequestBytesPerSecond,
      requestMs: COPY_RATES.perRequestMs,
      windowSeconds,
      ...limits,
    };
  }
  const bytesPerSecond = clamp(
    rates.bytesPerSecond ?? COPY_RATES.perRequestBytesPerSecond,
    COPY_RATES.minBytesPerSecond,
    COPY_RATES.perRequestBytesPerSecond,
  );
  const requestMs = clamp(rates.requestMs ?? COPY_RATES.perRequestMs, COPY_RATES.perRequestMs, COPY_RATES.maxRequestMs);
  const maxObjectsPerBatch = clamp(Math.floor((windowSeconds * 1000) / 2 / requestMs), 1, limits.maxObjectsPerBatch);
  const bytesSeconds = windowSeconds - (maxObjectsPerBatch * requestMs) / 1000;
  const maxBytesPerBatch = clamp(Math.floor(bytesPerSecond * bytesSeconds), 1, limits.maxBytesPerBatch);
  return { source: 'measured', bytesPerSecond, requestMs, windowSeconds, maxBytesPerBatch, maxObjectsPerBatch };
}

/**
 * The job's rates after a slice's copies: each batch's figures combined conservatively (the 10th
 * percentile of the batches' byte rates, the 90th of their request times). The latest slice replaces the
 * job's earlier figures, kind by kind, so planning follows a server that got slower or faster; a kind the
 * slice did not measure (no large request, say) keeps the earlier figure.
 */
export function combineRates(
  previous: MeasuredRates | undefined,
  batches: readonly MeasuredRates[],
): MeasuredRates | undefined {
  const rated = batches.filter((b) => b.bytesPerSecond !== undefined && b.large > 0);
  const timed = batches.filter((b) => b.requestMs !== undefined && b.small > 0);
  const bytesPerSecond = percentile(
    rated.map((b) => b.bytesPerSecond as number),
    0.1,
    'down',
  );
  const requestMs = percentile(
    timed.map((b) => b.requestMs as number),
    0.9,
    'up',
  );
  const large = rated.length > 0 ? rated.reduce((sum, b) => sum + b.large, 0) : (previous?.large ?? 0);
  const small = timed.length > 0 ? timed.reduce((sum, b) => sum + b.small, 0) : (previous?.small ?? 0);
  const combined: MeasuredRates = {
    large,
    ...(bytesPerSecond !== undefined
      ? { bytesPerSecond }
      : previous?.bytesPerSecond !== undefined
        ? { bytesPerSecond: previous.bytesPerSecond }
        : {}),
    small,
    ...(requestMs !== undefined
      ? { requestMs }
      : previous?.requestMs !== undefined
        ? { requestMs: previous.requestMs }
        : {}),
  };
  return combined.large === 0 && combined.small === 0 ? undefined : combined;
}
