import type { Job } from './job';

/**
 * The `RequestPayer` parameter of every request that reads the source bucket. A
 * Requester Pays bucket refuses (403) any request without `x-amz-request-payer: requester`, including a
 * CopyObject or UploadPartCopy whose copy source it is; with the parameter this account pays for the
 * requests and the transfer. Spread it into the command input: `{ Bucket, Key, ...sourcePayer(job) }`.
 */
export function sourcePayer(job: Pick<Job, 'options'>): { RequestPayer?: 'requester' } {
  return job.options.requestPayer ? { RequestPayer: 'requester' } : {};
}
