/**
 * Where the reports of a job live in the state bucket (docs/state-bucket.md). The copy function writes a
 * batch's full failure list under `batch-failures/` (its result names only the first failures) and
 * Notify merges those into `failures.jsonl`; the IAM policies (infra/policies.ts) grant exactly these
 * prefixes, so the key layout lives in one place.
 */

/** Where the Distributed Map's ResultWriter writes a job's Map Runs (the ASL's PrepareCopy state builds the same). */
export function resultsPrefix(jobId: string): string {
  return `results/${jobId}/`;
}

/** The report prefix of a job. */
export function reportsPrefix(jobId: string): string {
  return `reports/${jobId}/`;
}

/** Every failed key of the job with its code, one JSON line each (written by Notify). */
export function failuresKey(jobId: string): string {
  return `${reportsPrefix(jobId)}failures.jsonl`;
}

/** The job's ledger (written by Notify). */
export function ledgerKey(jobId: string): string {
  return `${reportsPrefix(jobId)}ledger.json`;
}

/** The folder, inside a job's reports, of the copy function's per-batch failure lists. */
export const BATCH_FAILURES_FOLDER = 'batch-failures';

/**
 * One batch's full failure list, written by the copy function when the batch failed more objects than
 * its result may name. A retried batch rewrites the same key, so the last attempt's list wins, as its
 * counts do. Batch ids are URL-encoded: any character may come from a manifest.
 */
export function batchFailuresKey(jobId: string, batchId: string): string {
  return `${reportsPrefix(jobId)}${BATCH_FAILURES_FOLDER}/${encodeURIComponent(batchId)}.jsonl`;
}

/** Whether a key is a per-batch failure list (Notify reads no other key a copy result names). */
export function isBatchFailuresKey(key: string): boolean {
  const parts = key.split('/');
  return parts.length === 4 && parts[0] === 'reports' && parts[2] === BATCH_FAILURES_FOLDER && key.endsWith('.jsonl');
}

/**
 * The copy function's batch records: every attempt of a batch writes its result here (the last attempt's
 * overwrites the earlier ones), so Notify can build the ledger when the Distributed Map's ResultWriter
 * wrote no result file (functions/notify/batch-records.ts). A prefix of its own, outside `results/`
 * (the state machine's) and `reports/` (Notify's), so each role is granted exactly its part.
 */
export function batchRecordsPrefix(jobId: string): string {
  return `batch-results/${jobId}/`;
}

/** One batch's record. Batch ids are URL-encoded: any character may come from a manifest. */
export function batchResultKey(jobId: string, batchId: string): string {
  return `${batchRecordsPrefix(jobId)}${encodeURIComponent(batchId)}.json`;
}
