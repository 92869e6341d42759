import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, type AssumeRoleCommandOutput, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { markAssumedRoleCredentials } from './call-recorder';
import type { BucketRegions, S3ClientFactory } from './clients';
import { AssumeRoleError, awsErrorCode, errorMessage, httpStatusOf } from './errors';

/** A Lambda role assuming another role is role chaining: AWS caps such a session at one hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;
/** Refresh this long before expiry, so a 15-minute invocation never holds credentials that lapse mid-copy. */
export const REFRESH_MARGIN_MS = 16 * 60 * 1000;

/**
 * STS answered "not now" (throttling, a server error, a timeout) even after retries: the role itself is
 * fine. Retried by the state machine, unlike AssumeRoleError, so a burst of batches assuming the role at
 * once is not a batch failure.
 */
export class AssumeRoleTransientError extends Error {
  readonly roleArn: string;
  readonly code: string;
  constructor(roleArn: string, code: string, attempts: number, detail: string) {
    super(
      `STS did not answer AssumeRole for ${roleArn} after ${attempts} attempts: ${code}: ${detail}. This is ` +
        'throttling or a transient STS error, not a trust or permission problem; the state machine retries the batch.',
    );
    this.name = 'AssumeRoleTransientError';
    this.roleArn = roleArn;
    this.code = code;
  }
}

/**
 * STS error codes that mean "try again": throttling and server-side failures (STS and its IdP calls),
 * timeouts and dropped connections. A refused connection is not among them: it means a wrong endpoint or
 * no network, which waiting does not fix, so it fails the batch at once with AssumeRoleError.
 */
const TRANSIENT_STS_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'PriorRequestNotComplete',
  'SlowDown',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'IDPCommunicationError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/** True when an AssumeRole failure is throttling or transient (worth retrying), not a refusal. */
export function isTransientStsError(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  const retryable = (error as { $retryable?: unknown } | undefined)?.$retryable;
  if (retryable && typeof retryable === 'object') return true;
  return TRANSIENT_STS_CODES.has(awsErrorCode(error));
}

/** How AssumeRole is retried in-process before the state machine's own retry takes over. */
export interface AssumeRoleRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
}

/** Five attempts, full-jitter exponential backoff from 200 ms up to 5 s: about 10 s at worst. */
export const DEFAULT_ASSUME_ROLE_RETRY: AssumeRoleRetry = {
  attempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface TargetRole {
  roleArn: string;
  externalId?: string;
}

/**
 * A RoleSessionName traceable to the job: `s3xcopy-<jobId>`, limited to STS's characters
 * ([\w+=,.@-]) and 64 characters. It shows up in the target account's CloudTrail, and it is the proof
 * that a multipart upload is this job's (stray-uploads.ts), so it must be unique per job: a name too long
 * for STS keeps its start and ends with a hash of the whole job id, instead of being cut where two long
 * job ids could still agree.
 */
export function roleSessionName(jobId: string): string {
  const name = `s3xcopy-${jobId.replace(/[^\w+=,.@-]/g, '-')}`;
  if (name.length <= 64) return name;
  const hash = createHash('sha256').update(jobId).digest('hex').slice(0, 12);
  return `${name.slice(0, 64 - hash.length - 1)}-${hash}`;
}

/**
 * Assumes the target role and returns its credentials. Throttling and transient STS errors are retried
 * with backoff; a refusal (AccessDenied, a bad ExternalId) is not.
 * @throws AssumeRoleError naming the role and the AWS error code, when STS refuses.
 * @throws AssumeRoleTransientError when STS stays throttled or unavailable through every attempt.
 */
export async function assumeTargetRole(
  sts: STSClient,
  role: TargetRole,
  sessionName: string,
  retry: AssumeRoleRetry = DEFAULT_ASSUME_ROLE_RETRY,
): Promise<AwsCredentialIdentity & { expiration: Date }> {
  let response: AssumeRoleCommandOutput | undefined;
  for (let attempt = 1; response === undefined; attempt++) {
    try {
      response = await sts.send(
        new AssumeRoleCommand({
          RoleArn: role.roleArn,
          RoleSessionName: sessionName,
          DurationSeconds: ROLE_CHAINING_MAX_SECONDS,
          ...(role.externalId ? { ExternalId: role.externalId } : {}),
        }),
      );
    } catch (error) {
      if (!isTransientStsError(error)) {
        throw new AssumeRoleError(role.roleArn, awsErrorCode(error), errorMessage(error));
      }
      if (attempt >= retry.attempts) {
        throw new AssumeRoleTransientError(role.roleArn, awsErrorCode(error), attempt, errorMessage(error));
      }
      const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      await retry.sleep(Math.random() * ceiling);
    }
  }
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = response.Credentials ?? {};
  if (!AccessKeyId || !SecretAccessKey || !SessionToken || !Expiration) {
    throw new AssumeRoleError(role.roleArn, 'IncompleteCredentials', 'STS returned no complete credentials');
  }
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: SessionToken,
    expiration: Expiration,
  };
}

/**
 * Hands out S3 clients that act as the target role, one per role and session, kept across warm
 * invocations. Credentials are refreshed well before they expire; without a role, the function's own
 * credentials are used (same-account copies).
 */
export class TargetClients {
  private readonly clients = new Map<string, S3Client>();
  private readonly sessions = new Map<string, Promise<AwsCredentialIdentity & { expiration: Date }>>();
  private ownClient: S3Client | undefined;
  private readonly regional = new Map<string, S3Client>();

  constructor(
    private readonly sts: STSClient,
    private readonly makeS3: S3ClientFactory,
    private readonly now: () => number = Date.now,
    private readonly retry: AssumeRoleRetry = DEFAULT_ASSUME_ROLE_RETRY,
    /** Where buckets live; without it every client is in the factory's default region (one S3 server). */
    private readonly regions?: BucketRegions,
  ) {}

  /**
   * The client for one bucket of the job, acting as the target role (or the function itself), in that
   * bucket's region: the target bucket for writes, the source bucket for reads.
   * @throws AssumeRoleError, or AssumeRoleTransientError when STS stays throttled
   */
  async forBucket(target: Partial<TargetRole>, jobId: string, bucket: string): Promise<S3Client> {
    const home = await this.forTarget(target, jobId);
    if (!this.regions) return home;
    const region = await this.regions.regionOf(bucket, home);
    if (region === (await home.config.region())) return home;
    const cacheKey = `${target.roleArn ?? ''}\u0000${target.externalId ?? ''}\u0000${roleSessionName(jobId)}\u0000${region}`;
    let client = this.regional.get(cacheKey);
    if (!client) {
      if (target.roleArn) {
        const role: TargetRole = {
          roleArn: target.roleArn,
          ...(target.externalId ? { externalId: target.externalId } : {}),
        };
        const sessionName = roleSessionName(jobId);
        const sessionKey = `${role.roleArn}\u0000${role.externalId ?? ''}\u0000${sessionName}`;
        client = this.makeS3(
          markAssumedRoleCredentials(() => this.credentials(sessionKey, role, sessionName)),
          region,
        );
      } else {
        client = this.makeS3(undefined, region);
      }
      this.regional.set(cacheKey, client);
    }
    return client;
  }

  /**
   * The S3 client for a job's target. With a role, it assumes it first (so a bad role fails
   * before any object is touched).
   * @throws AssumeRoleError, or AssumeRoleTransientError when STS stays throttled
   */
  async forTarget(target: Partial<TargetRole>, jobId: string): Promise<S3Client> {
    if (!target.roleArn) {
      this.ownClient ??= this.makeS3();
      return this.ownClient;
    }
    const role: TargetRole = {
      roleArn: target.roleArn,
      ...(target.externalId ? { externalId: target.externalId } : {}),
    };
    const sessionName = roleSessionName(jobId);
    const cacheKey = `${role.roleArn}\u0000${role.externalId ?? ''}\u0000${sessionName}`;
    await this.credentials(cacheKey, role, sessionName);
    let client = this.clients.get(cacheKey);
    if (!client) {
      client = this.makeS3(markAssumedRoleCredentials(() => this.credentials(cacheKey, role, sessionName)));
      this.clients.set(cacheKey, client);
    }
    return client;
  }

  private async credentials(cacheKey: string, role: TargetRole, sessionName: string) {
    const cached = this.sessions.get(cacheKey);
    if (cached) {
      const value = await cached.catch(() => undefined);
      if (value && value.expiration.getTime() - this.now() > REFRESH_MARGIN_MS) return value;
    }
    const fresh = assumeTargetRole(this.sts, role, sessionName, this.retry);
    this.sessions.set(cacheKey, fresh);
    fresh.catch(() => this.sessions.delete(cacheKey));
    return fresh;
  }
}
