/**
 * What an S3 error means for one copy: worth retrying, a deleted source, a denial, a changed source.
 * S3 answers HEAD (and some other errors) without a body, so the SDK knows only the status; these
 * functions read both the code and the status.
 */
import { awsErrorCode, httpStatusOf } from '../shared/errors';

/** Error codes that mean "slow down" (the SDK's throttling codes that S3 and STS answer). */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
]);

const TRANSIENT_CODES = new Set([
  ...THROTTLING_CODES,
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'KMS.ThrottlingException',
  'TimeoutError',
  'NetworkingError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** True for errors worth retrying: throttling, server errors, timeouts and dropped connections. */
export function isTransientError(error: unknown): boolean {
  const code = awsErrorCode(error);
  const status = httpStatusOf(error);
  // 501 NotImplemented (an unsupported header or feature) answers the same way every time.
  if (code === 'NotImplemented' || status === 501) return false;
  if (TRANSIENT_CODES.has(code)) return true;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  const retryable = (error as { $retryable?: unknown } | undefined)?.$retryable;
  return Boolean(retryable);
}

/** Codes the SDK gives an error response without a body (HEAD never has one): it knows only the status. */
const BODILESS_CODES = new Set(['NotFound', 'Forbidden', 'Unknown', 'UnknownError']);

/** True when the source object is gone (deleted since it was listed): NoSuchKey, or a bare 404 on HEAD. */
export function isVanished(error: unknown): boolean {
  const code = awsErrorCode(error);
  return code === 'NoSuchKey' || (httpStatusOf(error) === 404 && BODILESS_CODES.has(code));
}

/**
 * True for a plain access denial, which S3 also answers for a MISSING key when s3:ListBucket does not
 * cover the bare key (find-by-listing.ts). Not InvalidObjectState or other 403s that mean something else.
 */
export function isDenied(error: unknown): boolean {
  const code = awsErrorCode(error);
  return code === 'AccessDenied' || (httpStatusOf(error) === 403 && BODILESS_CODES.has(code));
}

/** True for 412: an If-Match that no longer holds. A HEAD's 412 has no body, so only the status tells. */
export function isPreconditionFailed(error: unknown): boolean {
  return awsErrorCode(error) === 'PreconditionFailed' || httpStatusOf(error) === 412;
}

/** The AWS error code to report: a bodiless answer's status named as S3 names it in a body. */
export function reportedCode(error: unknown): string {
  const code = awsErrorCode(error);
  if (!BODILESS_CODES.has(code)) return code;
  const status = httpStatusOf(error);
  if (status === 403) return 'AccessDenied';
  if (status === 404) return 'NotFound';
  if (status === 412) return 'PreconditionFailed';
  return code;
}
