/**
 * What every step of one batch's copy shares: the job, the clients, the time budget, the retry policy
 * and the part limiter. copy-engine.ts builds one per batch; the single, multipart and lookup modules
 * take it as their first argument, so each can be read (and tested) on its own.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Job } from '../shared/job';
import { type AdaptiveLimitOptions, applyAdaptiveLimit, DEFAULT_ADAPTIVE_LIMIT } from './adaptive-limit';
import { type IdentityRecordStore, IdentityRecords } from './identity-records';
import type { ProgressStore } from './progress-record';
import { RateMeter } from './rate-meter';
import { DEFAULT_RETRY, type Retrying, type RetryPolicy, retrying } from './retry';
import { DEFAULT_SAFETY_MARGIN_MS, realSleep, type Sleep, TimeBudget } from './time-budget';

/** What one invocation did, beyond the batch's counts: how the runner reports invocations and parts. */
export interface CopyStats {
  partsCopied: number;
  /** Bytes this invocation's own CopyObject and UploadPartCopy requests copied (what it measured). */
  copiedBytes: number;
  uploadsResumed: number;
  /** Objects an earlier invocation of this job had copied (found through the progress record). */
  alreadyCopied: number;
  recordWrites: number;
  /** Uploads a lost CreateMultipartUpload answer had left open, proven ours and aborted (stray-uploads.ts). */
  strayUploadsAborted: number;
  /** Other uploads of a key whose create answer was lost: not provably ours, left open and reported. */
  strayUploadsLeftOpen: Array<{ key: string; uploadId: string }>;
  /** Source HEADs that read a multipart source's part sizes, so its copy keeps its layout (source-layout.ts). */
  layoutHeads: number;
  /** Multipart sources whose layout could not be replayed: their copies' ETags differ from theirs. */
  layoutFallbacks: number;
  /** Objects whose content was proven current but whose headers, metadata or tags were compared (settings-check.ts). */
  settingsChecked: number;
}

export interface CopyContext {
  job: Job;
  /** The execution's name: progress records are kept per job and only ever read back by it. */
  jobId: string;
  /** The state bucket's progress records; without it nothing resumes across invocations. */
  progress: ProgressStore | undefined;
  /** Finished parts are recorded at most this often (and always when the copy stops). */
  recordIntervalMs: number;
  now: () => number;
  stats: CopyStats;
  /** Times each CopyObject and UploadPartCopy: the batch result's measured rates (rate-meter.ts). */
  rates: RateMeter;
  /**
   * Sends every request addressed to the target bucket: CopyObject, UploadPartCopy and the multipart
   * calls (S3 authorises them on the target and checks read access to the source itself), and HEADs of
   * target objects.
   */
  s3: S3Client;
  /** Reads of the source bucket itself (HEAD, tags, listing): its region's client when it differs. */
  sourceS3: S3Client;
  logger: Logger;
  budget: TimeBudget;
  retry: Retrying;
  sleep: Sleep;
  /** 0 <= x < 1; the jitter's source. */
  random: () => number;
  /**
   * UploadPartCopy's own limiter: a multipart object holds an object slot while its parts run, and sharing
   * one limiter would let as many large objects as the concurrency starve their own parts.
   */
  partLimit: LimitFunction;
  /** Wrap requests that read the source in `sourceReads.track`: a 403/404 they raise is settled by listing. */
  sourceReads: SourceReadErrors;
  /** Identity records of copies whose target ETag differs (identity-records.ts); none without a state bucket. */
  identity: IdentityRecords | undefined;
  /**
   * Whether the sync check HEADs a key's identity record when the ETags differ: the event path, which has
   * no listing of records. The bulk path's list step has read them already (the manifest says what they proved).
   */
  identityLookUp: boolean;
}

/** What a batch's context is built from: copy-engine.ts's deps, minus what only the batch loop uses. */
export interface CopyContextOptions {
  jobId: string;
  progress?: ProgressStore;
  recordIntervalMs?: number;
  now?: () => number;
  s3: S3Client;
  sourceS3?: S3Client;
  logger: Logger;
  remainingTimeMs: () => number;
  safetyMarginMs?: number;
  retry?: Partial<RetryPolicy>;
  sleep?: Sleep;
  random?: () => number;
  /**
   * AIMD on the clients' requests in flight (adaptive-limit.ts), so a worker backs off when S3 answers
   * SlowDown instead of failing objects; `false` leaves the clients as they are.
   */
  adaptiveLimit?: AdaptiveLimitOptions | false;
  /** The state bucket, where identity records are written; without it none are. */
  identity?: IdentityRecordStore & { lookUp?: boolean };
}

/** Parts finished since the last record write are written at most this often while a copy runs. */
export const DEFAULT_RECORD_INTERVAL_MS = 30_000;

/**
 * The default safety margin: DEFAULT_SAFETY_MARGIN_MS (30 s of a 15-minute Lambda), but never more than a
 * fifth of the invocation, so a short local deadline (`s3xcopy run --invocation-timeout 20s`) still copies.
 */
export function safetyMarginFor(remainingAtStartMs: number): number {
  return Math.min(DEFAULT_SAFETY_MARGIN_MS, Math.max(0, Math.floor(remainingAtStartMs / 5)));
}

/** Builds one batch's context: a fresh time budget, the retry policy bound to it, a part limiter. */
export function createCopyContext(job: Job, options: CopyContextOptions): CopyContext {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  if (options.adaptiveLimit !== false) {
    for (const client of [options.s3, options.sourceS3 ?? options.s3]) {
      applyAdaptiveLimit(client, options.adaptiveLimit ?? DEFAULT_ADAPTIVE_LIMIT);
    }
  }
  const budget = new TimeBudget(
    options.remainingTimeMs,
    options.safetyMarginMs ?? safetyMarginFor(options.remainingTimeMs()),
    sleep,
  );
  return {
    job,
    jobId: options.jobId,
    progress: options.progress,
    recordIntervalMs: options.recordIntervalMs ?? DEFAULT_RECORD_INTERVAL_MS,
    now,
    stats: {
      partsCopied: 0,
      copiedBytes: 0,
      uploadsResumed: 0,
      alreadyCopied: 0,
      recordWrites: 0,
      strayUploadsAborted: 0,
      strayUploadsLeftOpen: [],
      layoutHeads: 0,
      layoutFallbacks: 0,
      settingsChecked: 0,
    },
    rates: new RateMeter(),
    s3: options.s3,
    sourceS3: options.sourceS3 ?? options.s3,
    logger: options.logger,
    budget,
    retry: retrying({ ...DEFAULT_RETRY, ...options.retry }, budget, random),
    sleep,
    random,
    partLimit: pLimit(job.options.concurrency),
    sourceReads: new SourceReadErrors(),
    identity: options.identity ? new IdentityRecords(options.identity, job, options.logger) : undefined,
    identityLookUp: options.identity?.lookUp === true,
  };
}

/**
 * Remembers which errors came from requests that read the source: a 403 or bare 404 among them may mean
 * the key was deleted since it was listed (copy-engine.ts settles it by listing the key).
 */
export class SourceReadErrors {
  private readonly errors = new WeakSet<object>();

  /** Runs `operation`, marking any error it throws as a source-read error. */
  async track<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error !== null && typeof error === 'object') this.errors.add(error);
      throw error;
    }
  }

  has(error: unknown): boolean {
    return error !== null && typeof error === 'object' && this.errors.has(error);
  }
}
