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
import { type MeasuredRates, MeasuredRatesSchema } from '../shared/copy-rates';
import { type BatchResultRecord, splitBatchResult } from '../shared/errors';
import type { CopyFailure } from '../shared/job';
import { mapLimited } from '../shared/map-limited';
import { isBatchFailuresKey } from '../shared/report-keys';

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

/** One failed object, with the batch it was in (a line of the failures file). */
export interface LedgerFailure extends CopyFailure {
  batchId: string;
}

/** The copy results of every Map Run under one results prefix. */
export interface AggregatedResults {
  mapRuns: number;
  batches: { succeeded: number; failed: number; pending: number };
  /**
   * What the copy workers did with the objects of the manifests: copied (the target holds the bytes),
   * skipped (by reason, in skippedByReason), failed (by code, in failedByCode), and not attempted (a
   * batch left PENDING by a stopped Map Run, or objects a time-budget stop never reached).
   */
  objects: { copied: number; skipped: number; failed: number; notAttempted: number };
  skippedByReason: Record<string, number>;
  failedByCode: Record<string, number>;
  /** Failed objects the results count but do not name (a batch reports at most its first failures). */
  failuresUnnamed: number;
  bytesCopied: number;
  /** The first `maxFailures` failed keys, with their error codes. */
  failures: CopyFailure[];
  /** One line per failed batch (error name and decoded message), the first `maxFailures`. */
  batchErrors: Array<{ batchId: string; error: string; message: string }>;
  /** The first failed batch's Error and Cause exactly as Step Functions recorded them. */
  firstBatchFailure?: { Error: string; Cause: string };
  /** Uploads of a key whose create answer was lost, not provably the job's: left open (CopyResult.strayUploads). */
  strayUploads?: Array<{ key: string; uploadId: string }>;
  /** Set when the counts come from the copy function's batch records, not the ResultWriter files (batch-records.ts). */
  ledgerSource?: LedgerSource;
  /**
   * Identity records the copies left in the state bucket (functions/copy/identity-records.ts): a later
   * sync proves those targets current from them. Absent when no copy needed one.
   */
  identityRecords?: IdentityRecordCounts;
}

/** Copies that needed an identity record: written, or not (no room in the key, or the state bucket's ETags are no MD5s). */
export interface IdentityRecordCounts {
  written: number;
  notWritten: number;
}

function addIdentityRecords(totals: AggregatedResults, counts: IdentityRecordCounts | undefined): void {
  if (!counts) return;
  const sum = totals.identityRecords ?? { written: 0, notWritten: 0 };
  totals.identityRecords = { written: sum.written + counts.written, notWritten: sum.notWritten + counts.notWritten };
}

/** Where a ledger's copy counts came from when the ResultWriter wrote no result files. */
export interface LedgerSource {
  from: 'batch-records';
  /** Why the ResultWriter files could not be used. */
  reason: string;
  /** Batches in the job's manifests. */
  batches: number;
  /** Batches with no record: no attempt of theirs finished, so their objects count as not attempted. */
  batchesWithoutRecord: number;
}

/** An error Cause decoded: Lambda reports `{"errorType","errorMessage","trace"}` as a JSON string. */
export interface DecodedCause {
  errorType?: string;
  /** The human message, without the batch result record a copy error carries. */
  message: string;
  /** A failed copy invocation's partial result (functions/shared/errors.ts, attachBatchResult). */
  batchResult?: BatchResultRecord;
}

/** Decodes a Step Functions Cause: Lambda's JSON error envelope, or plain text from any other state. */
export function decodeCause(cause: unknown): DecodedCause {
  if (typeof cause !== 'string') return { message: cause === undefined ? '' : JSON.stringify(cause) };
  const trimmed = cause.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { errorType?: unknown; errorMessage?: unknown };
      if (typeof parsed.errorMessage === 'string') {
        const { text, record } = splitBatchResult(parsed.errorMessage);
        return {
          ...(typeof parsed.errorType === 'string' ? { errorType: parsed.errorType } : {}),
          message: text,
          ...(record ? { batchResult: record } : {}),
        };
      }
    } catch {
      // Not JSON after all: a plain-text cause that happens to start with a brace.
    }
  }
  const { text, record } = splitBatchResult(cause);
  return { message: text, ...(record ? { batchResult: record } : {}) };
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
  notAttempted?: number;
  bytesCopied?: number;
  skippedByReason?: Record<string, number>;
  failures?: CopyFailure[];
  /** The batch's full failure list in the state bucket, when `failures` names only the first ones. */
  failuresFile?: string;
  strayUploads?: Array<{ key: string; uploadId: string }>;
  identityRecords?: IdentityRecordCounts;
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

/** Where aggregateResults sends every failure it reads (the failures file writer). */
export interface FailureSink {
  add(failure: LedgerFailure): void;
  flush(): Promise<void>;
}

/**
 * A batch whose result names only its first failures and points at its full list in the state bucket
 * (functions/copy/copy-engine.ts, writeFullFailureList). Its codes and unnamed count are settled when
 * the list is read (resolveFailures), one batch at a time, so memory holds one list at most.
 */
interface BatchFailuresFile {
  batchId: string;
  file: string;
  /** What the result itself names (used if the list cannot be read). */
  named: LedgerFailure[];
  failed: number;
}

/**
 * One Map Run's figures (or one manifest part's, counted from batch records), with every failure the
 * results name, in order (the failures file lists them all).
 */
export interface MapRunTally {
  totals: AggregatedResults;
  failures: Array<LedgerFailure | BatchFailuresFile>;
}

function addCounts(target: Record<string, number>, source: Record<string, number> | undefined): void {
  for (const [name, value] of Object.entries(source ?? {})) {
    if (typeof value === 'number') target[name] = (target[name] ?? 0) + value;
  }
}

/** Adds the objects of one copy invocation (a succeeded batch's output, or a failed one's record). */
export function addCopyCounts(tally: MapRunTally, output: CopyOutputLike, batchId: string): void {
  const { totals } = tally;
  const failed = output.failed ?? 0;
  const failures = output.failures ?? [];
  // A retried batch's last attempt counts what earlier attempts copied as copied (the copy function's
  // progress record, functions/copy/batch-progress.ts), so the last attempt's result is the whole story.
  totals.objects.copied += output.copied ?? 0;
  totals.objects.skipped += output.skipped ?? 0;
  totals.objects.failed += failed;
  totals.objects.notAttempted += output.notAttempted ?? 0;
  totals.bytesCopied += output.bytesCopied ?? 0;
  addCounts(totals.skippedByReason, output.skippedByReason);
  if (output.strayUploads) totals.strayUploads = [...(totals.strayUploads ?? []), ...output.strayUploads];
  addIdentityRecords(totals, output.identityRecords);
  if (output.failuresFile && isBatchFailuresKey(output.failuresFile) && failed > failures.length) {
    const named = failures.map((failure) => ({ ...failure, batchId }));
    tally.failures.push({ batchId, file: output.failuresFile, named, failed });
    return;
  }
  for (const failure of failures) {
    tally.failures.push({ key: failure.key, code: failure.code, message: failure.message, batchId });
  }
  countFailures(totals, failures, failed);
}

/** Counts a batch's named failures by code, and the rest of its `failed` objects as unnamed. */
function countFailures(totals: AggregatedResults, named: ReadonlyArray<{ code: string }>, failed: number): void {
  for (const failure of named) totals.failedByCode[failure.code] = (totals.failedByCode[failure.code] ?? 0) + 1;
  const unnamed = failed - named.length;
  if (unnamed > 0) {
    totals.failuresUnnamed += unnamed;
    totals.failedByCode[UNNAMED_CODE] = (totals.failedByCode[UNNAMED_CODE] ?? 0) + unnamed;
  }
}

/** The failedByCode entry for failed objects a batch counted but did not name. */
export const UNNAMED_CODE = 'unnamed';

/** Adds one child execution record to the totals. */
function addEntry(tally: MapRunTally, entry: ResultWriterEntry): void {
  const { totals } = tally;
  if (entry.Status === 'SUCCEEDED') {
    const output = parseJson<CopyOutputLike>(entry.Output) ?? {};
    totals.batches.succeeded++;
    addCopyCounts(tally, output, output.batchId ?? entry.Name ?? entry.ExecutionArn);
    return;
  }
  const input = parseJson<BatchInputLike>(entry.Input) ?? {};
  const batchObjects = input.batch?.objects ?? [];
  const batchId = input.batch?.id ?? entry.Name ?? entry.ExecutionArn;
  if (entry.Status === 'PENDING') {
    // Never started: the Map Run stopped (tolerated failures exceeded, or aborted) before this item.
    totals.batches.pending++;
    totals.objects.notAttempted += batchObjects.length;
    return;
  }
  totals.batches.failed++;
  const decoded = decodeCause(entry.Cause);
  const error = entry.Error ?? decoded.errorType ?? entry.Status;
  totals.batchErrors.push({ batchId, error, message: decoded.message });
  totals.firstBatchFailure ??= { Error: error, Cause: decoded.message };
  if (decoded.batchResult) {
    // The last attempt's own account of every object (functions/copy/handler.ts attaches it).
    addCopyCounts(tally, decoded.batchResult, batchId);
    return;
  }
  // No record (a role that cannot be assumed, a Lambda timeout, an aborted child): no object of the
  // batch is known to be in the target, so every one counts as failed with the batch's error.
  totals.objects.failed += batchObjects.length;
  totals.failedByCode[error] = (totals.failedByCode[error] ?? 0) + batchObjects.length;
  for (const object of batchObjects) {
    tally.failures.push({ key: object.key ?? '', code: error, message: decoded.message, batchId });
  }
}

/** Empty totals (also what a run without any Map Run adds up to). */
export function emptyResults(): AggregatedResults {
  return {
    mapRuns: 0,
    batches: { succeeded: 0, failed: 0, pending: 0 },
    objects: { copied: 0, skipped: 0, failed: 0, notAttempted: 0 },
    skippedByReason: {},
    failedByCode: {},
    failuresUnnamed: 0,
    bytesCopied: 0,
    failures: [],
    batchErrors: [],
    strayUploads: [],
  };
}

/** Adds one Map Run's figures to the totals, keeping the first `maxFailures` failures and batch errors in order. */
function merge(totals: AggregatedResults, tally: MapRunTally, maxFailures: number): void {
  const part = tally.totals;
  totals.mapRuns += part.mapRuns;
  totals.batches.succeeded += part.batches.succeeded;
  totals.batches.failed += part.batches.failed;
  totals.batches.pending += part.batches.pending;
  totals.objects.copied += part.objects.copied;
  totals.objects.skipped += part.objects.skipped;
  totals.objects.failed += part.objects.failed;
  totals.objects.notAttempted += part.objects.notAttempted;
  addCounts(totals.skippedByReason, part.skippedByReason);
  addCounts(totals.failedByCode, part.failedByCode);
  totals.failuresUnnamed += part.failuresUnnamed;
  totals.bytesCopied += part.bytesCopied;
  totals.batchErrors.push(...part.batchErrors.slice(0, Math.max(0, maxFailures - totals.batchErrors.length)));
  if (part.firstBatchFailure) totals.firstBatchFailure ??= part.firstBatchFailure;
  const strays = totals.strayUploads ?? [];
  totals.strayUploads = [...strays, ...(part.strayUploads ?? []).slice(0, Math.max(0, maxFailures - strays.length))];
  addIdentityRecords(totals, part.identityRecords);
}

/** The lines of a batch's full failure list; undefined when it cannot be read or parsed. */
async function readBatchFailures(
  s3: S3Client,
  bucket: string,
  file: BatchFailuresFile,
): Promise<LedgerFailure[] | undefined> {
  let text: string;
  try {
    text = await readText(s3, bucket, file.file);
  } catch {
    return undefined;
  }
  const failures: LedgerFailure[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const parsed = parseJson<Partial<CopyFailure>>(line);
    if (typeof parsed?.key !== 'string' || typeof parsed.code !== 'string') return undefined;
    failures.push({ key: parsed.key, code: parsed.code, message: parsed.message ?? '', batchId: file.batchId });
  }
  return failures;
}

/**
 * Hands one Map Run's failures, in order, to the sink and to the first `maxFailures` kept in the totals,
 * reading each batch's full failure list where its result points at one. A list that cannot be read
 * (deleted, denied) falls back to what the result names, and the rest count as unnamed.
 */
async function resolveFailures(
  s3: S3Client,
  bucket: string,
  totals: AggregatedResults,
  entries: ReadonlyArray<LedgerFailure | BatchFailuresFile>,
  maxFailures: number,
  sink: FailureSink | undefined,
): Promise<void> {
  const keep = (failure: LedgerFailure) => {
    if (totals.failures.length < maxFailures) {
      const { batchId: _batchId, ...named } = failure;
      totals.failures.push(named);
    }
    sink?.add(failure);
  };
  for (const entry of entries) {
    if (!('file' in entry)) {
      keep(entry);
      continue;
    }
    const listed = (await readBatchFailures(s3, bucket, entry)) ?? entry.named;
    const named = listed.slice(0, entry.failed);
    for (const failure of named) keep(failure);
    countFailures(totals, named, entry.failed);
    // One batch's list at a time: the failures file's buffer uploads its parts as it fills.
    await sink?.flush();
  }
}

/** Adds one tally (a Map Run's, or a manifest part's) to the totals and hands its failures on in order. */
export async function mergeTally(
  s3: S3Client,
  bucket: string,
  totals: AggregatedResults,
  tally: MapRunTally,
  maxFailures: number,
  sink: FailureSink | undefined,
): Promise<void> {
  merge(totals, tally, maxFailures);
  await resolveFailures(s3, bucket, totals, tally.failures, maxFailures, sink);
}

/**
 * A ResultWriter manifest that names no result file at all. Our Map Runs always have items (a slice with
 * nothing to copy runs none), so on AWS every Map Run's children land in SUCCEEDED, FAILED or PENDING
 * files; an empty list means the engine did not write them. moto's and LocalStack's ResultWriter does
 * exactly that: it writes the manifest and drops the children's results. Counting such a Map Run as
 * nothing copied would claim every object was not attempted while the target holds them, so the counts
 * come from the copy function's batch records instead (batch-records.ts).
 */
export class ResultsNotWrittenError extends Error {
  constructor(bucket: string, manifestKey: string) {
    super(
      `s3://${bucket}/${manifestKey} names no result file: the Step Functions engine wrote only the Map Run's ` +
        "manifest (moto's and LocalStack's ResultWriter do)",
    );
    this.name = 'ResultsNotWritten';
  }
}

/** Reads a Map Run's manifest, refusing one that names no result file (ResultsNotWrittenError). */
async function readMapRunManifest(s3: S3Client, bucket: string, manifestKey: string): Promise<ResultWriterManifest> {
  const manifest = await readJson<ResultWriterManifest>(s3, bucket, manifestKey);
  const files = (['SUCCEEDED', 'FAILED', 'PENDING'] as const).flatMap((status) => manifest.ResultFiles?.[status] ?? []);
  if (files.length === 0) throw new ResultsNotWrittenError(bucket, manifestKey);
  return manifest;
}

/** One Map Run: each result file its manifest names in turn, each dropped once counted. */
async function aggregateMapRun(s3: S3Client, bucket: string, manifest: ResultWriterManifest): Promise<MapRunTally> {
  const tally: MapRunTally = { totals: emptyResults(), failures: [] };
  tally.totals.mapRuns = 1;
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
    for (const file of manifest.ResultFiles?.[status] ?? []) {
      const entries = await readEntries(s3, manifest.DestinationBucket ?? bucket, file.Key);
      for (const entry of entries) {
        if (isExecutionRecord(entry)) addEntry(tally, entry);
        else if (status === 'SUCCEEDED') {
          const output = (entry ?? {}) as CopyOutputLike;
          tally.totals.batches.succeeded++;
          addCopyCounts(tally, output, output.batchId ?? '');
        } else {
          // FAILED and PENDING files hold only execution records (those children are never compacted).
          throw new Error(
            `s3://${manifest.DestinationBucket ?? bucket}/${file.Key} holds an entry that is no execution record; a ${status} file should hold only those`,
          );
        }
      }
    }
  }
  return tally;
}

function ratesOf(value: unknown): MeasuredRates | undefined {
  const parsed = MeasuredRatesSchema.safeParse((value as { rates?: unknown } | null | undefined)?.rates);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The rates each copy invocation of one Map Run measured (CopyResult.rates): from succeeded batches'
 * outputs and from the result record a failed or stopped batch's Cause carries. The list step plans the
 * next slice from them (functions/list/rate-plan.ts). Batches that reported none (nothing copied) are
 * left out.
 * @param manifestKey the Map Run's manifest.json (its output's ResultWriterDetails.Key)
 */
export async function readMapRunRates(s3: S3Client, bucket: string, manifestKey: string): Promise<MeasuredRates[]> {
  const manifest = await readJson<ResultWriterManifest>(s3, bucket, manifestKey);
  const rates: MeasuredRates[] = [];
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    for (const file of manifest.ResultFiles?.[status] ?? []) {
      for (const entry of await readEntries(s3, manifest.DestinationBucket ?? bucket, file.Key)) {
        const measured = isExecutionRecord(entry)
          ? entry.Status === 'SUCCEEDED'
            ? ratesOf(parseJson<unknown>(entry.Output))
            : ratesOf(decodeCause(entry.Cause).batchResult)
          : ratesOf(entry);
        if (measured) rates.push(measured);
      }
    }
  }
  return rates;
}

/**
 * How many Map Runs are read at once. One execution can hold ~1,500 Map Runs (slices); read one after
 * another at ~20-30 ms per S3 GET, that alone would outlast the notify function's 30 s timeout. Each
 * reader holds one Map Run's failures at a time, so memory stays bounded whatever the job's size.
 */
export const RESULT_READERS = 8;

/**
 * Aggregates every ResultWriter manifest under `prefix` (one per Map Run, so one per slice). Only the
 * counts and the first `maxFailures` failures stay in memory; Map Runs are read in groups of `readers`
 * and merged in key order, so the failures listed are the same on every read.
 * @param maxFailures how many failed keys and batch errors to keep (the notification shows 20)
 * @param sink receives every failure the results name, in order, and is flushed after each group of
 *   Map Runs (the failures file)
 */
export async function aggregateResults(
  s3: S3Client,
  bucket: string,
  prefix: string,
  maxFailures = 20,
  readers = RESULT_READERS,
  sink?: FailureSink,
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
  // Every Map Run's manifest first (each a few hundred bytes): one that names no result file sends the
  // whole ledger to the batch records before any failure has reached the sink.
  const manifests = await mapLimited(manifestKeys, groupSize, (key) => readMapRunManifest(s3, bucket, key));
  for (let start = 0; start < manifests.length; start += groupSize) {
    const group = manifests.slice(start, start + groupSize);
    const parts = await Promise.all(group.map((manifest) => aggregateMapRun(s3, bucket, manifest)));
    for (const part of parts) await mergeTally(s3, bucket, totals, part, maxFailures, sink);
    await sink?.flush();
  }
  return totals;
}
