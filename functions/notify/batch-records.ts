/**
 * The ledger's second source: the copy function's batch records (`batch-results/<jobId>/<batchId>.json`,
 * one per batch, overwritten by each attempt). The ResultWriter files stay authoritative; the records
 * count only when those cannot: a Map Run manifest that names no result file (moto's and LocalStack's
 * engines write nothing else) or an execution that failed with States.ResultWriterFailed.
 *
 * The job's manifests (`manifests/<jobId>/part-<n>.json`) list every batch it planned. A batch with a
 * record is counted from it exactly as from its ResultWriter entry; a batch without one never finished an
 * attempt, so its objects count as not attempted, and the report says how many batches had none.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { BatchResultFile } from '../shared/errors';
import { mapLimited } from '../shared/map-limited';
import { batchRecordsPrefix, batchResultKey, resultsPrefix } from '../shared/report-keys';
import {
  type AggregatedResults,
  addCopyCounts,
  aggregateResults,
  emptyResults,
  type FailureSink,
  type MapRunTally,
  mergeTally,
  RESULT_READERS,
  ResultsNotWrittenError,
} from './results';

/** One batch as a manifest part lists it (functions/list/contract.ts). */
interface ManifestBatch {
  id?: unknown;
  objects?: unknown[];
}

const MANIFEST_PART = /\/part-(\d+)\.json$/;

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function readJsonFile<T>(s3: S3Client, bucket: string, key: string, what: string): Promise<T> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await (response.Body as { transformToString(): Promise<string> }).transformToString();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`s3://${bucket}/${key} is not JSON; it should be ${what}`);
  }
}

/** Counts one batch from its record, as its ResultWriter entry would have been counted. */
function addRecord(tally: MapRunTally, file: BatchResultFile): void {
  const { totals } = tally;
  addCopyCounts(tally, file.result, file.batchId);
  if (!file.error) {
    totals.batches.succeeded++;
    return;
  }
  totals.batches.failed++;
  totals.batchErrors.push({ batchId: file.batchId, error: file.error.name, message: file.error.message });
  totals.firstBatchFailure ??= { Error: file.error.name, Cause: file.error.message };
}

/**
 * Adds up the job's batch records over the batches its manifests list, one manifest part at a time.
 * @param reason why the ResultWriter files could not be used (the report states it)
 */
export async function aggregateBatchRecords(
  s3: S3Client,
  bucket: string,
  jobId: string,
  reason: string,
  maxFailures = 20,
  readers = RESULT_READERS,
  sink?: FailureSink,
): Promise<AggregatedResults> {
  const totals = emptyResults();
  const parts = (await listKeys(s3, bucket, `manifests/${jobId}/`))
    .map((key) => ({ key, slice: Number(MANIFEST_PART.exec(key)?.[1] ?? Number.NaN) }))
    .filter((part) => Number.isInteger(part.slice))
    .sort((a, b) => a.slice - b.slice);
  // A Map Run ran, so its slice wrote a part: none means the manifests are gone (expired, deleted), and
  // counting every batch as not attempted would be a guess, not a ledger.
  if (parts.length === 0) {
    throw new Error(
      `${reason}; and s3://${bucket}/manifests/${jobId}/ holds no manifest part to count the batch records over`,
    );
  }
  const recorded = new Set(await listKeys(s3, bucket, batchRecordsPrefix(jobId)));
  let batches = 0;
  let batchesWithoutRecord = 0;
  for (const part of parts) {
    const planned = await readJsonFile<ManifestBatch[]>(s3, bucket, part.key, 'a manifest part the list step wrote');
    const tally: MapRunTally = { totals: emptyResults(), failures: [] };
    const records = await mapLimited(planned, readers, async (batch) => {
      const key = batchResultKey(jobId, String(batch.id));
      return recorded.has(key)
        ? readJsonFile<BatchResultFile>(s3, bucket, key, "the copy function's batch record")
        : undefined;
    });
    for (const [index, batch] of planned.entries()) {
      const record = records[index];
      batches++;
      if (record?.result) {
        addRecord(tally, record);
        continue;
      }
      batchesWithoutRecord++;
      tally.totals.batches.pending++;
      tally.totals.objects.notAttempted += batch.objects?.length ?? 0;
    }
    await mergeTally(s3, bucket, totals, tally, maxFailures, sink);
    await sink?.flush();
  }
  totals.ledgerSource = { from: 'batch-records', reason, batches, batchesWithoutRecord };
  return totals;
}

/**
 * The copy results of a job: its ResultWriter files, or its batch records when those files were not
 * written (a manifest naming no result file, or `resultWriterFailed`: the execution's
 * States.ResultWriterFailed cause). The local runner and Notify both read them here.
 */
export async function aggregateJobResults(
  s3: S3Client,
  bucket: string,
  jobId: string,
  options: { resultWriterFailed?: string; maxFailures?: number; readers?: number; sink?: FailureSink } = {},
): Promise<AggregatedResults> {
  const { maxFailures = 20, readers = RESULT_READERS, sink } = options;
  let reason = options.resultWriterFailed;
  if (reason === undefined) {
    try {
      return await aggregateResults(s3, bucket, resultsPrefix(jobId), maxFailures, readers, sink);
    } catch (error) {
      if (!(error instanceof ResultsNotWrittenError)) throw error;
      reason = error.message;
    }
  }
  return aggregateBatchRecords(s3, bucket, jobId, reason, maxFailures, readers, sink);
}
