/**
 * Reads what a Distributed Map's ResultWriter wrote (AWS's layout: `<prefix>/<mapRunId>/manifest.json`
 * naming SUCCEEDED_n / FAILED_n / PENDING_n JSON files) and adds up the copy results across every
 * slice of one execution. The local runner writes the same layout, so this code serves both.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { CopyFailure } from '../shared/job';

/** The manifest.json a ResultWriter writes once per Map Run. */
export interface ResultWriterManifest {
  DestinationBucket: string;
  MapRunArn: string;
  ResultFiles: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string; Size: number }>>>;
}

/** One child execution in a SUCCEEDED_n / FAILED_n file. Input and Output are JSON strings, as AWS writes them. */
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

async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await (response.Body as { transformToString(): Promise<string> }).transformToString();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`s3://${bucket}/${key} is not JSON; it should be a Step Functions ResultWriter file`);
  }
}

/** Adds one child execution's entry to the totals. */
function addEntry(totals: AggregatedResults, entry: ResultWriterEntry, maxFailures: number): void {
  if (entry.Status === 'SUCCEEDED') {
    const output = parseJson<CopyOutputLike>(entry.Output) ?? {};
    totals.batches.succeeded++;
    totals.objects.copied += output.copied ?? 0;
    totals.objects.skipped += output.skipped ?? 0;
    totals.objects.failed += output.failed ?? 0;
    totals.bytesCopied += output.bytesCopied ?? 0;
    for (const failure of output.failures ?? []) {
      if (totals.failures.length < maxFailures) totals.failures.push(failure);
    }
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

/**
 * Aggregates every ResultWriter manifest under `prefix` (one per Map Run, so one per slice).
 * @param maxFailures how many failed keys and batch errors to keep (the notification shows 20)
 */
export async function aggregateResults(
  s3: S3Client,
  bucket: string,
  prefix: string,
  maxFailures = 20,
): Promise<AggregatedResults> {
  const totals: AggregatedResults = {
    mapRuns: 0,
    batches: { succeeded: 0, failed: 0 },
    objects: { copied: 0, skipped: 0, failed: 0 },
    bytesCopied: 0,
    failures: [],
    batchErrors: [],
  };
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
  for (const manifestKey of manifestKeys.sort()) {
    const manifest = await readJson<ResultWriterManifest>(s3, bucket, manifestKey);
    totals.mapRuns++;
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      for (const file of manifest.ResultFiles[status] ?? []) {
        const entries = await readJson<ResultWriterEntry[]>(s3, manifest.DestinationBucket ?? bucket, file.Key);
        for (const entry of entries) addEntry(totals, entry, maxFailures);
      }
    }
  }
  return totals;
}
