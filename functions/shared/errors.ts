/**
 * Error classes shared by the functions. Each sets `name` explicitly: Step Functions Retry/Catch match on
 * it (Lambda reports it as errorType), and so does the local runner.
 */
import type { MeasuredRates } from './copy-rates';

/** The job (or an option) is invalid; nothing was listed or written. Never retried. */
export class InvalidJobError extends Error {
  constructor(detail: string) {
    super(`Invalid job: ${detail}`);
    this.name = 'InvalidJobError';
  }
}

/** The target-account role could not be assumed. Never retried: trust or permissions must change first. */
export class AssumeRoleError extends Error {
  readonly roleArn: string;
  readonly code: string;
  constructor(roleArn: string, code: string, detail: string) {
    super(
      `Cannot assume target role ${roleArn}: ${code}: ${detail}. Check the role's trust policy names this ` +
        'function role (aws:PrincipalArn), the ExternalId matches, and this role may call sts:AssumeRole on it ' +
        '(`s3xcopy policies` prints the statements).',
    );
    this.name = 'AssumeRoleError';
    this.roleArn = roleArn;
    this.code = code;
  }
}

/** Some objects of a batch failed after retries; the rest of the batch was copied. Retried by the state machine. */
export class CopyBatchError extends Error {
  readonly failures: ReadonlyArray<{ key: string; code: string; message: string }>;
  constructor(batchId: string, total: number, failures: ReadonlyArray<{ key: string; code: string; message: string }>) {
    const first = failures
      .slice(0, 5)
      .map((f) => `${f.key} (${f.code})`)
      .join(', ');
    const more = failures.length > 5 ? ` and ${failures.length - 5} more` : '';
    super(`${failures.length} of ${total} objects in batch ${batchId} failed: ${first}${more}`);
    this.name = 'CopyBatchError';
    this.failures = failures;
  }
}

/**
 * The invocation ran short of time after making progress; no new copies were started, and large objects'
 * uploads were recorded to resume. Retried (as often as it makes progress).
 */
export class CopyTimeBudgetError extends Error {
  constructor(batchId: string, done: number, total: number) {
    super(
      `Batch ${batchId} stopped after ${done} of ${total} objects: the Lambda's remaining time fell under the ` +
        'safety margin. The retry skips what this execution copied and resumes large objects where they stopped.',
    );
    this.name = 'CopyTimeBudgetError';
  }
}

/**
 * What a failed copy invocation did before it threw, carried in the error's message so that it survives
 * the trip through Lambda (errorMessage) and Step Functions (the Cause of a FAILED_n.json ResultWriter
 * entry): the ledger counts a failed batch's copied and skipped objects from it. Shape of CopyResult.
 */
export interface BatchResultRecord {
  batchId: string;
  copied: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  failed: number;
  notAttempted: number;
  bytesCopied: number;
  /** The first failures, as many as fit in MAX_BATCH_RESULT_CHARS; `failed` is always the exact count. */
  failures: Array<{ key: string; code: string; message: string }>;
  /** What the invocation measured (CopyResult.rates): a stopped batch's rates plan the next slice too. */
  rates?: MeasuredRates;
  /** The batch's full failure list in the state bucket, when `failures` cannot name them all (CopyResult). */
  failuresFile?: string;
}

/**
 * What the copy function writes to the state bucket after every attempt of a batch
 * (shared/report-keys.ts, batchResultKey): the same record, so the ledger can be built without the
 * Distributed Map's ResultWriter files. The last attempt overwrites the earlier ones.
 */
export interface BatchResultFile {
  format: 1;
  jobId: string;
  batchId: string;
  /** The error the attempt threw (CopyBatchError, CopyTimeBudgetError), absent when the batch succeeded. */
  error?: { name: string; message: string };
  result: BatchResultRecord;
}

/** Separates the human message from the JSON record (a line of its own, at the end). */
export const BATCH_RESULT_MARKER = '\ns3xcopy-batch-result: ';
/**
 * The record's budget. Step Functions keeps at most 32,768 characters of a Cause, which also holds
 * Lambda's errorType, the message and the stack trace; 16,000 leaves room for those.
 */
export const MAX_BATCH_RESULT_CHARS = 16_000;
/** Failure messages in the record are cut to this many characters (key and code are kept whole). */
const RECORD_MESSAGE_CHARS = 300;

/** Serialises a record within MAX_BATCH_RESULT_CHARS, dropping failures from the end when needed. */
export function encodeBatchResult(record: BatchResultRecord): string {
  return fitBatchResult(record).text;
}

/**
 * A batch's result (CopyResult) as the record its error carries: what was neither copied, skipped nor
 * failed was not attempted.
 */
export function toBatchResultRecord(
  result: Omit<BatchResultRecord, 'notAttempted'> & { notAttempted?: number },
  total: number,
): BatchResultRecord {
  return {
    ...result,
    notAttempted: total - result.copied - result.skipped - result.failed,
    skippedByReason: { ...result.skippedByReason },
  };
}

/** How many of the record's failures its encoding (encodeBatchResult) still names. */
export function failuresKeptInBatchResult(record: BatchResultRecord): number {
  return fitBatchResult(record).kept;
}

function fitBatchResult(record: BatchResultRecord): { text: string; kept: number } {
  const failures = record.failures.map((f) => ({ ...f, message: f.message.slice(0, RECORD_MESSAGE_CHARS) }));
  let text = JSON.stringify({ ...record, failures });
  while (text.length > MAX_BATCH_RESULT_CHARS && failures.length > 0) {
    failures.splice(Math.max(0, Math.floor(failures.length * 0.8)));
    text = JSON.stringify({ ...record, failures });
  }
  return { text, kept: failures.length };
}

/**
 * Appends the invocation's partial result to a thrown CopyBatchError or CopyTimeBudgetError (once).
 * @returns the same error, its message extended by the marker line
 */
export function attachBatchResult<E extends Error>(error: E, record: BatchResultRecord): E {
  if (!error.message.includes(BATCH_RESULT_MARKER)) {
    error.message = `${error.message}${BATCH_RESULT_MARKER}${encodeBatchResult(record)}`;
  }
  return error;
}

/** Splits an error message into its human part and the batch result record, when it carries one. */
export function splitBatchResult(message: string): { text: string; record?: BatchResultRecord } {
  const at = message.lastIndexOf(BATCH_RESULT_MARKER);
  if (at < 0) return { text: message };
  const text = message.slice(0, at);
  try {
    const record = JSON.parse(message.slice(at + BATCH_RESULT_MARKER.length)) as BatchResultRecord;
    if (typeof record?.copied === 'number' && typeof record.failed === 'number') return { text, record };
  } catch {
    // A record cut short (it should never be: see MAX_BATCH_RESULT_CHARS) counts as no record.
  }
  return { text };
}

/** A bucket named in the job does not exist or is not reachable with these credentials. Never retried. */
export class BucketAccessError extends Error {
  constructor(bucket: string, role: 'source' | 'target' | 'state', code: string, detail: string) {
    super(
      `Cannot use ${role} bucket ${bucket}: ${code}: ${detail}. Check the bucket name and that its policy ` +
        'grants this role access.',
    );
    this.name = 'BucketAccessError';
  }
}

/** Reads the AWS error code from an SDK v3 error (`name`, or `Code` for some XML errors). */
export function awsErrorCode(error: unknown): string {
  if (error && typeof error === 'object') {
    const candidate = error as { name?: unknown; Code?: unknown; code?: unknown };
    for (const value of [candidate.Code, candidate.name, candidate.code]) {
      if (typeof value === 'string' && value !== '' && value !== 'Error') return value;
    }
  }
  return 'UnknownError';
}

/** The HTTP status of an SDK v3 error, when the service answered at all. */
export function httpStatusOf(error: unknown): number | undefined {
  const meta = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return meta?.httpStatusCode;
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
