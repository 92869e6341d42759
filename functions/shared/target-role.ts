import type { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, type AssumeRoleCommandOutput, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { S3ClientFactory } from './clients';
import { AssumeRoleError, awsErrorCode, errorMessage } from './errors';

/** A Lambda role assuming another role is role chaining: AWS caps such a session at one hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;
/** Refresh this long before expiry, so a 15-minute invocation never holds credentials that lapse mid-copy. */
export const REFRESH_MARGIN_MS = 16 * 60 * 1000;

export interface TargetRole {
  roleArn: string;
  externalId?: string;
}

/**
 * A RoleSessionName traceable to the job: `s3xcopy-<jobId>`, limited to STS's characters
 * ([\w+=,.@-]) and 64 characters. It shows up in the target account's CloudTrail.
 */
export function roleSessionName(jobId: string): string {
  const cleaned = jobId.replace(/[^\w+=,.@-]/g, '-');
  return `s3xcopy-${cleaned}`.slice(0, 64);
}

/**
 * Assumes the target role and returns its credentials.
 * @throws AssumeRoleError naming the role and the AWS error code.
 */
export async function assumeTargetRole(
  sts: STSClient,
  role: TargetRole,
  sessionName: string,
): Promise<AwsCredentialIdentity & { expiration: Date }> {
  let response: AssumeRoleCommandOutput;
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
    throw new AssumeRoleError(role.roleArn, awsErrorCode(error), errorMessage(error));
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

  constructor(
    private readonly sts: STSClient,
    private readonly makeS3: S3ClientFactory,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The S3 client for a job's target. With a role, it assumes it first (so a bad role fails
   * before any object is touched).
   * @throws AssumeRoleError
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
      client = this.makeS3(() => this.credentials(cacheKey, role, sessionName));
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
    const fresh = assumeTargetRole(this.sts, role, sessionName);
    this.sessions.set(cacheKey, fresh);
    fresh.catch(() => this.sessions.delete(cacheKey));
    return fresh;
  }
}
