/**
 * Reads what a Distributed Map's ResultWriter wrote (AWS's layout: `<prefix>/<mapRunId>/manifest.json`
 * naming SUCCEEDED_n / FAILED_n / PENDING_n files) and adds up the copy results across every slice of
 * one execution. The local runner writes the same layout, so this code serves both.
 *
 * Both shapes of a SUCCEEDED file are read: Transformation COMPACT (what the ASL asks for) holds each
 * child's output as it is; NONE (ResultWriter's default) holds execution records whose Output is a JSON
 * string. FAILED files always hold execution records. OutputType JSON (one array) and JSONL both parse.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { CopyFailure } from '../shared/job';

/** The manifest.json a ResultWriter writes once per Map Run. */
export interface ResultWriterManifest {
  DestinationBucket: string;
  MapRunArn: string;
  ResultFiles: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string; Size: number }>>>;
}

/**
 * One child execution record, as a FAILED_n file holds it (and a SUCCEEDED_n file with Transformation
 * NONE). Input and Output are JSON strings, as AWS writes them.
 */
export interface ResultWriterEntry {
  ExecutionArn: string;
  Name?: string;
  Status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING' | 'RUNNING';
  Input: string;
  InputDetails?: { Included: boolean };
  Output?: string;
  OutputDetails?: { Included: boolean };
  Error?: string;
  Cause?: string;
  StartDate?: string;
  StopDate?: string;
  StateMachineArn?: string;
}

/** The copy results of every Map Run under one results prefix. */
export interface AggregatedResults {
  mapRuns: number;
  batches: { succeeded: number; failed: number };
  objects: { copied: number; skipped: number; failed: number };
  bytesCopied: number;
  /** The first `maxFailures` failed keys, with their error codes. */
  failures: CopyFailure[];
  /** One line per failed batch (error name and decoded message), the first `maxFailures`. */
  batchErrors: Array<{ batchId: string; error: string; message: string }>;
  /** The first failed batch's Error and Cause exactly as Step Functions recorded them. */
  firstBatchFailure?: { Error: string; Cause: string };
}

/** An error Cause decoded: Lambda reports `{"errorType","errorMessage","trace"}` as a JSON string. */
export interface DecodedCause {
  errorType?: string;
  message: string;
}

/** Decodes a Step Functions Cause: Lambda's JSON error envelope, or plain text from any other state. */
export function decodeCause(cause: unknown): DecodedCause {
  if (typeof cause !== 'string') return { message: cause === undefined ? '' : JSON.stringify(cause) };
  const trimmed = cause.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { errorType?: unknown; errorMessage?: unknown };
      if (typeof parsed.errorMessage === 'string') {
        return {
          ...(typeof parsed.errorType === 'string' ? { errorType: parsed.errorType } : {}),
          message: parsed.errorMessage,
        };
      }
    } catch {
      // Not JSON after all: a plain-text cause that happens to start with a brace.
    }
  }
  return { message: cause };
}

const COPY_BATCH_MESSAGE = /^(\d+) of (\d+) objects in batch (.+?) failed: (.*?)(?: and (\d+) more)?$/s;
const FAILURE_ENTRY = /(.+?) \(([\w.-]+)\)(?:, |$)/gs;

/**
 * Reads the failed keys out of a CopyBatchError message ("3 of 1000 objects in batch b-1 failed: a (AccessDenied),
 * b (NoSuchKey) and 1 more"). Lambda passes only the message of an error on, so this is all the state
 * machine keeps of the failures; keys that themselves contain " (Code)" may split wrongly.
 */
export function parseCopyBatchMessage(
  message: string,
): { failed: number; total: number; batchId: string; failures: Array<{ key: string; code: string }> } | undefined {
  const match = COPY_BATCH_MESSAGE.exec(message);
  if (!match) return undefined;
  const failures: Array<{ key: string; code: string }> = [];
  for (const entry of (match[4] ?? '').matchAll(FAILURE_ENTRY)) {
    if (entry[1] && entry[2]) failures.push({ key: entry[1], code: entry[2] });
  }
  return { failed: Number(match[1]), total: Number(match[2]), batchId: match[3] ?? '', failures };
}

interface CopyOutputLike {
  batchId?: string;
  copied?: number;
  skipped?: number;
  failed?: number;
  bytesCopied?: number;
  failures?: CopyFailure[];
}

interface BatchInputLike {
  batch?: { id?: string; objects?: Array<{ key?: string }> };
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (response.Body as { transformToString(): Promise<string> }).transformToString();
}

function notResultWriterFile(bucket: string, key: string): Error {
  return new Error(`s3://${bucket}/${key} is not JSON; it should be a Step Functions ResultWriter file`);
}

async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const parsed = parseJson<T>(await readText(s3, bucket, key));
  if (parsed === undefined) throw notResultWriterFile(bucket, key);
  return parsed;
}

/** The entries of one result file: a JSON array (OutputType JSON) or one JSON value per line (JSONL). */
async function readEntries(s3: S3Client, bucket: string, key: string): Promise<unknown[]> {
  const text = await readText(s3, bucket, key);
  const whole = parseJson<unknown>(text);
  if (Array.isArray(whole)) return whole;
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const entries = lines.map((line) => parseJson<unknown>(line));
  if (lines.length === 0 || entries.some((entry) => entry === undefined)) throw notResultWriterFile(bucket, key);
  return entries;
}

/** An execution record (NONE shape) rather than a bare child output (COMPACT shape). */
function isExecutionRecord(entry: unknown): entry is ResultWriterEntry {
  if (typeof entry !== 'object' || entry === null) return false;
  const record = entry as { ExecutionArn?: unknown; Status?: unknown };
  return typeof record.ExecutionArn === 'string' && typeof record.Status === 'string';
}

/** Adds one succeeded batch (the copy function's output) to the totals. */
function addCopyOutput(totals: AggregatedResults, output: CopyOutputLike, maxFailures: number): void {
  totals.batches.succeeded++;
  totals.objects.copied += output.copied ?? 0;
  totals.objects.skipped += output.skipped ?? 0;
  totals.objects.failed += output.failed ?? 0;
  totals.bytesCopied += output.bytesCopied ?? 0;
  for (const failure of output.failures ?? []) {
    if (totals.failures.length < maxFailures) totals.failures.push(failure);
  }
}

/** Adds one child execution record to the totals. */
function addEntry(totals: AggregatedResults, entry: ResultWriterEntry, maxFailures: number): void {
  if (entry.Status === 'SUCCEEDED') {
    addCopyOutput(totals, parseJson<CopyOutputLike>(entry.Output) ?? {}, maxFailures);
    return;
  }
  totals.batches.failed++;
  const input = parseJson<BatchInputLike>(entry.Input) ?? {};
  const batchObjects = input.batch?.objects ?? [];
  const decoded = decodeCause(entry.Cause);
  const error = entry.Error ?? decoded.errorType ?? entry.Status;
  const batchId = input.batch?.id ?? entry.Name ?? entry.ExecutionArn;
  if (totals.batchErrors.length < maxFailures) totals.batchErrors.push({ batchId, error, message: decoded.message });
  totals.firstBatchFailure ??= { Error: error, Cause: entry.Cause ?? decoded.message };
  const parsed = error === 'CopyBatchError' ? parseCopyBatchMessage(decoded.message) : undefined;
  if (parsed) {
    totals.objects.failed += parsed.failed;
    for (const failure of parsed.failures) {
      if (totals.failures.length < maxFailures) totals.failures.push({ ...failure, message: decoded.message });
    }
    return;
  }
  // Any other error (a role that cannot be assumed, a timeout) leaves the whole batch uncopied.
  totals.objects.failed += batchObjects.length;
  for (const object of batchObjects) {
    if (totals.failures.length >= maxFailures) break;
    if (object.key) totals.failures.push({ key: object.key, code: error, message: decoded.message });
  }
}

function emptyResults(): AggregatedResults {
  return {
    mapRuns: 0,
    batches: { succeeded: 0, failed: 0 },
    objects: { copied: 0, skipped: 0, failed: 0 },
    bytesCopied: 0,
    failures: [],
    batchErrors: [],
  };
}

/** Adds one Map Run's figures to the totals, keeping the first `maxFailures` failures in order. */
function merge(totals: AggregatedResults, part: AggregatedResults, maxFailures: number): void {
  totals.mapRuns += part.mapRuns;
  totals.batches.succeeded += part.batches.succeeded;
  totals.batches.failed += part.batches.failed;
  totals.objects.copied += part.objects.copied;
  totals.objects.skipped += part.objects.skipped;
  totals.objects.failed += part.objects.failed;
  totals.bytesCopied += part.bytesCopied;
  totals.failures.push(...part.failures.slice(0, maxFailures - totals.failures.length));
  totals.batchErrors.push(...part.batchErrors.slice(0, maxFailures - totals.batchErrors.length));
  if (part.firstBatchFailure) totals.firstBatchFailure ??= part.firstBatchFailure;
}

/** One Map Run: its manifest, then each result file in turn, each dropped once counted. */
async function aggregateMapRun(
  s3: S3Client,
  bucket: string,
  manifestKey: string,
  maxFailures: number,
): Promise<AggregatedResults> {
  const totals = emptyResults();
  const manifest = await readJson<ResultWriterManifest>(s3, bucket, manifestKey);
  totals.mapRuns = 1;
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    for (const file of manifest.ResultFiles?.[status] ?? []) {
      const entries = await readEntries(s3, manifest.DestinationBucket ?? bucket, file.Key);
      for (const entry of entries) {
        if (isExecutionRecord(entry)) addEntry(totals, entry, maxFailures);
        else if (status === 'SUCCEEDED') addCopyOutput(totals, (entry ?? {}) as CopyOutputLike, maxFailures);
        // A FAILED file holds only execution records (failed children are never compacted).
        else totals.batches.failed++;
      }
    }
  }
  return totals;
}

/**
 * How many Map Runs are read at once. One execution can hold ~1,500 Map Runs (slices); read one after
 * another at ~20-30 ms per S3 GET, that alone would outlast the notify function's 30 s timeout. Each
 * reader holds one file at a time, so memory stays at a few files whatever the job's size.
 */
export const RESULT_READERS = 8;

/**
 * Aggregates every ResultWriter manifest under `prefix` (one per Map Run, so one per slice). Only the
 * counts and the first `maxFailures` failures stay in memory; Map Runs are read in groups of `readers`
 * and merged in key order, so the failures listed are the same on every read.
 * @param maxFailures how many failed keys and batch errors to keep (the notification shows 20)
 */
export async function aggregateResults(
  s3: S3Client,
  bucket: string,
  prefix: string,
  maxFailures = 20,
  readers = RESULT_READERS,
): Promise<AggregatedResults> {
  const totals = emptyResults();
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const manifestKeys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base, ContinuationToken: token }));
    for (const item of page.Contents ?? []) {
      if (item.Key?.endsWith('/manifest.json')) manifestKeys.push(item.Key);
    }
    token = page.NextContinuationToken;
  } while (token);
  manifestKeys.sort();
  const groupSize = Math.max(1, Math.floor(readers));
  for (let start = 0; start < manifestKeys.length; start += groupSize) {
    const group = manifestKeys.slice(start, start + groupSize);
    const parts = await Promise.all(group.map((key) => aggregateMapRun(s3, bucket, key, maxFailures)));
    for (const part of parts) merge(totals, part, maxFailures);
  }
  return totals;
}
