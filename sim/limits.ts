/**
 * S3's request-rate limits and latency, as the model applies them.
 *
 * Rates (AWS, "Best practices design patterns: optimizing Amazon S3 performance"): at least 3,500
 * PUT/COPY/POST/DELETE and 5,500 GET/HEAD requests per second per partitioned prefix; above that S3
 * answers 503 SlowDown. The model gives each (bucket, partition, class) a token bucket.
 */

export type RequestClass = 'write' | 'read';

export interface RateLimitOptions {
  /** PUT/COPY/POST/DELETE per second per partition. AWS: 3,500. */
  writePerSecond: number;
  /** GET/HEAD/LIST per second per partition. AWS: 5,500. */
  readPerSecond: number;
  /** Requests a partition absorbs at once above its rate, in seconds of its rate. */
  burstSeconds: number;
  /**
   * The partition of a key (or of a listing's prefix). S3 splits a busy bucket by key prefix; the default
   * treats each first path segment ("logs/", "img/") as one partition and a key without "/" as the
   * bucket's root partition.
   */
  partitionOf: (key: string) => string;
}

export const firstSegmentPartition = (key: string): string => {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash + 1);
};

export const AWS_RATE_LIMITS: RateLimitOptions = {
  writePerSecond: 3_500,
  readPerSecond: 5_500,
  burstSeconds: 0.1,
  partitionOf: firstSegmentPartition,
};

interface Bucket {
  tokens: number;
  updated: number;
}

/** Token buckets, one per (bucket, partition, class). */
export class PartitionRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly options: RateLimitOptions) {}

  /** Takes one token; false when the partition is over its rate (the request gets 503 SlowDown). */
  tryTake(bucketName: string, key: string, kind: RequestClass, nowMs: number): boolean {
    const rate = kind === 'write' ? this.options.writePerSecond : this.options.readPerSecond;
    const capacity = Math.max(1, rate * this.options.burstSeconds);
    const id = `${bucketName}\u0000${kind}\u0000${this.options.partitionOf(key)}`;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = { tokens: capacity, updated: nowMs };
      this.buckets.set(id, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((nowMs - bucket.updated) / 1000) * rate);
    bucket.updated = nowMs;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** What a request's time depends on. */
export interface LatencyInput {
  operation: string;
  /** Bytes the request moves server-side (a copy's or part copy's size); 0 otherwise. */
  bytes: number;
  /** True when the answer is an error (SlowDown and other rejections are quick). */
  error: boolean;
}

export type LatencyModel = (input: LatencyInput) => number;

export interface AwsLatencyOptions {
  /** 0 <= x < 1; seeded in simulations so runs repeat. */
  random: () => number;
  /** Median milliseconds of a small request, per operation kind. */
  medianMs?: Partial<Record<'read' | 'write' | 'copy' | 'list', number>>;
  /** Server-side copy speed of one request, bytes per second (large CopyObject / UploadPartCopy). */
  copyBytesPerSecond?: number;
}

/**
 * A latency distribution in the shape S3's is usually described: log-normal around a median of tens of
 * ms (HEAD ~ 10 ms, PUT ~ 20 ms, small COPY ~ 30 ms, LIST ~ 40 ms by default) with a long tail, plus
 * size / copy speed for copies (default 100 MB/s per request), and a few ms for rejected requests.
 */
export function awsLatency(options: AwsLatencyOptions): LatencyModel {
  const median = { read: 10, write: 20, copy: 30, list: 40, ...options.medianMs };
  const perByte = 1000 / (options.copyBytesPerSecond ?? 100_000_000);
  const sigma = 0.5;
  const gaussian = () => {
    // Box-Muller; 1 - random() is in (0, 1], so the log is finite.
    const u = 1 - options.random();
    const v = options.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return ({ operation, bytes, error }) => {
    if (error) return 2 + 3 * options.random();
    const kind =
      operation === 'CopyObject' || operation === 'UploadPartCopy'
        ? 'copy'
        : operation.startsWith('List')
          ? 'list'
          : operation.startsWith('Get') || operation.startsWith('Head')
            ? 'read'
            : 'write';
    return median[kind] * Math.exp(sigma * gaussian()) + bytes * perByte;
  };
}

/** A seeded 0..1 generator (mulberry32), so simulated runs repeat. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
