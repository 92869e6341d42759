/**
 * What a local run reports once its executions ended: where the ResultWriter files and Notify's reports
 * are (saved under the run directory when the state store was private), the ledger built from those
 * files exactly as the deployed Notify builds it, and the multipart uploads still open.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { aggregateJobResults } from '../../functions/notify/batch-records';
import { resultsPrefix } from '../../functions/notify/handler';
import { buildLedger, type LedgerBytes, type LedgerObjects } from '../../functions/notify/ledger';
import { reportsPrefix } from '../../functions/notify/report-files';
import { emptyResults, type IdentityRecordCounts, type LedgerSource } from '../../functions/notify/results';
import type { S3Endpoint } from '../../functions/shared/clients';
import type { CopyFailure, Job } from '../../functions/shared/job';
import { roleSessionName, type TargetClients } from '../../functions/shared/target-role';
import type { RunObservations } from './local-functions';
import { jobOpenUploads, openUploadsFile, settleOpenUploads } from './open-uploads';
import type { RunClients } from './run-clients';

export interface RunReport {
  objects: LedgerObjects;
  bytes: LedgerBytes;
  batches: { succeeded: number; failed: number; pending: number };
  failures: CopyFailure[];
  /** Set when the counts come from the copy function's batch records (no ResultWriter result file). */
  ledgerSource?: LedgerSource;
  results?: string;
  failuresFile?: string;
  openUploads?: { open: number; file: string };
  /** Uploads of a key whose create answer was lost, not provably this job's: left open (stray-uploads.ts). */
  strayUploads?: Array<{ key: string; uploadId: string }>;
  /**
   * Copies that needed an identity record (their ETag can never equal the source's), and whether the
   * records outlive the run: a run without a state bucket of the caller's keeps them in its private
   * in-process store, so the next sync cannot find them and copies those objects again.
   */
  identityRecords?: IdentityRecordCounts & { kept: boolean };
}

/** Copies every object under `prefix` of the state store into `directory`; returns how many. */
async function saveResults(s3: S3Client, bucket: string, prefix: string, directory: string): Promise<number> {
  let token: string | undefined;
  let saved = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const item of page.Contents ?? []) {
      if (!item.Key) continue;
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: item.Key }));
      const file = path.join(directory, ...item.Key.slice(prefix.length).split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await (response.Body as { transformToString(): Promise<string> }).transformToString());
      saved++;
    }
    token = page.NextContinuationToken;
  } while (token);
  return saved;
}

/**
 * Builds the run's report.
 * @param mapRuns how many Map Runs ran: without one no copy ran, so there are no ResultWriter files and
 *   no progress records to read (a no-op sync then lists only source and target, as `aws s3 sync` does)
 */
export async function reportRun(params: {
  jobId: string;
  observed: RunObservations;
  clients: RunClients;
  endpoint: S3Endpoint;
  outputDir: string;
  mapRuns: number;
}): Promise<RunReport> {
  const { jobId, observed, clients, outputDir, mapRuns } = params;
  const { stateS3, stateBucket } = clients;
  let results: string | undefined;
  if (mapRuns > 0) {
    if (clients.privateState) {
      results = path.join(outputDir, 'results');
      await saveResults(stateS3, stateBucket, resultsPrefix(jobId), results);
    } else {
      results = `s3://${stateBucket}/${resultsPrefix(jobId)}`;
    }
  }
  // Notify's report files (the ledger and every failed key) outlive the private store too.
  let failuresFile = observed.notification?.failuresFile;
  if (
    clients.privateState &&
    (await saveResults(stateS3, stateBucket, reportsPrefix(jobId), path.join(outputDir, 'reports'))) > 0
  ) {
    failuresFile = failuresFile && path.join(outputDir, 'reports', 'failures.jsonl');
  }
  // The same files and the same arithmetic as the deployed Notify: what a local run reports is what a
  // deployed one would. Every failure is kept (a local run's caller gets the full list).
  const aggregated =
    mapRuns > 0
      ? await aggregateJobResults(stateS3, stateBucket, jobId, { maxFailures: Number.POSITIVE_INFINITY })
      : emptyResults();
  const lastList = observed.lastList;
  const ledger = buildLedger(lastList?.totals ?? {}, aggregated, lastList?.dryRun ?? false);
  const openUploads = lastList
    ? await settleRunUploads(lastList.job, jobId, params.endpoint, clients, mapRuns > 0)
    : undefined;
  const strayUploads = mergeStrays(aggregated.strayUploads ?? [], openUploads?.leftAlone ?? []);
  return {
    objects: ledger.objects,
    bytes: ledger.bytes,
    batches: aggregated.batches,
    failures: aggregated.failures,
    ...(aggregated.ledgerSource ? { ledgerSource: aggregated.ledgerSource } : {}),
    ...(results ? { results } : {}),
    ...(failuresFile ? { failuresFile } : {}),
    ...(openUploads ? { openUploads: { open: openUploads.open, file: openUploads.file } } : {}),
    ...(strayUploads.length > 0 ? { strayUploads } : {}),
    ...(aggregated.identityRecords
      ? { identityRecords: { ...aggregated.identityRecords, kept: !clients.privateState } }
      : {}),
  };
}

/**
 * Ends the run's multipart uploads still open, and those earlier runs to the same target left open
 * (open-uploads.ts). What cannot be aborted (the server is still down) is listed for the next run.
 */
async function settleRunUploads(
  job: Job,
  jobId: string,
  endpoint: S3Endpoint,
  clients: { stateS3: S3Client; stateBucket: string; targetClients: TargetClients },
  copied: boolean,
): Promise<{ open: number; file: string; leftAlone: Array<{ key: string; uploadId: string }> }> {
  const file = openUploadsFile(endpoint.endpoint, job.target.bucket);
  // Only a job that assumes the target role has a session of its own, which proves its uploads its.
  const session = job.target.roleArn ? roleSessionName(jobId) : undefined;
  const fresh = copied ? await jobOpenUploads(clients.stateS3, clients.stateBucket, jobId, session) : [];
  const leftAlone: Array<{ key: string; uploadId: string }> = [];
  const stillOpen = await settleOpenUploads(
    file,
    fresh,
    () => clients.targetClients.forBucket(job.target, jobId, job.target.bucket),
    (upload) => leftAlone.push({ key: upload.key, uploadId: upload.uploadId }),
  );
  return { open: stillOpen.length, file, leftAlone };
}

/** The stray uploads the batches and the end-of-run clean-up left alone, each once. */
function mergeStrays(...lists: Array<Array<{ key: string; uploadId: string }>>) {
  const byId = new Map<string, { key: string; uploadId: string }>();
  for (const upload of lists.flat()) byId.set(upload.uploadId, upload);
  return [...byId.values()];
}
