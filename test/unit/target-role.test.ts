import { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import type { Credentials, S3ClientFactory } from '../../functions/shared/clients';
import { AssumeRoleError } from '../../functions/shared/errors';
import {
  type AssumeRoleRetry,
  AssumeRoleTransientError,
  isTransientStsError,
  REFRESH_MARGIN_MS,
  ROLE_CHAINING_MAX_SECONDS,
  roleSessionName,
  TargetClients,
} from '../../functions/shared/target-role';

const ROLE_ARN = 'arn:aws:iam::222222222222:role/s3xcopy-target';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-06-01T12:00:00Z');

function stsCredentials(keyId: string, expiresAt: number) {
  return {
    Credentials: {
      AccessKeyId: keyId,
      SecretAccessKey: `secret-${keyId}`,
      SessionToken: `token-${keyId}`,
      Expiration: new Date(expiresAt),
    },
  };
}

/** An S3 client factory that remembers the credentials each client was given. */
function recordingFactory() {
  const made: Array<Credentials | undefined> = [];
  const factory: S3ClientFactory = (credentials) => {
    made.push(credentials);
    return new S3Client({ region: 'us-east-1', ...(credentials ? { credentials } : {}) });
  };
  return { factory, made };
}

describe('TargetClients', () => {
  const sts = new STSClient({ region: 'us-east-1' });
  const stsMock = mockClient(sts);
  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    stsMock.reset();
    clock = T0;
  });

  it('assumes the role with the ARN, ExternalId, a job session name and the role-chaining duration', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).resolves(stsCredentials('AKIA1', T0 + HOUR));
    const clients = new TargetClients(sts, recordingFactory().factory, now);
    // Act
    await clients.forTarget({ roleArn: ROLE_ARN, externalId: 'ext-secret' }, 'job-2026-06-01');
    // Assert
    expect(stsMock.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input)).toEqual([
      {
        RoleArn: ROLE_ARN,
        ExternalId: 'ext-secret',
        RoleSessionName: 's3xcopy-job-2026-06-01',
        DurationSeconds: ROLE_CHAINING_MAX_SECONDS,
      },
    ]);
    expect(ROLE_CHAINING_MAX_SECONDS).toBeLessThanOrEqual(3600);
  });

  it('sends no ExternalId when the target has none', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).resolves(stsCredentials('AKIA1', T0 + HOUR));
    const clients = new TargetClients(sts, recordingFactory().factory, now);
    // Act
    await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    // Assert
    expect(stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input).not.toHaveProperty('ExternalId');
  });

  it('hands out the function-credential client without calling STS when the target has no role', async () => {
    // Arrange
    const { factory, made } = recordingFactory();
    const clients = new TargetClients(sts, factory, now);
    // Act
    const first = await clients.forTarget({}, 'job-1');
    const second = await clients.forTarget({ roleArn: undefined }, 'job-2');
    // Assert
    expect(second).toBe(first);
    expect(made).toEqual([undefined]);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('reuses the credentials and the client across calls when they are far from expiry', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).resolves(stsCredentials('AKIA1', T0 + HOUR));
    const { factory, made } = recordingFactory();
    const clients = new TargetClients(sts, factory, now);
    // Act
    const first = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    clock = T0 + 30 * 60_000;
    const second = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    // Assert
    expect(second).toBe(first);
    expect(made).toHaveLength(1);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('shares one AssumeRole call when concurrent invocations ask for the same role', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).resolves(stsCredentials('AKIA1', T0 + HOUR));
    const clients = new TargetClients(sts, recordingFactory().factory, now);
    // Act
    const [a, b] = await Promise.all([
      clients.forTarget({ roleArn: ROLE_ARN }, 'job-1'),
      clients.forTarget({ roleArn: ROLE_ARN }, 'job-1'),
    ]);
    // Assert
    expect(a).toBe(b);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('keeps separate sessions when jobs or external IDs differ', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).resolves(stsCredentials('AKIA1', T0 + HOUR));
    const clients = new TargetClients(sts, recordingFactory().factory, now);
    // Act
    const a = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    const b = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-2');
    const c = await clients.forTarget({ roleArn: ROLE_ARN, externalId: 'other-id' }, 'job-1');
    // Assert
    expect(new Set([a, b, c]).size).toBe(3);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(3);
  });

  it('assumes the role again when the cached credentials are within the refresh margin of expiry', async () => {
    // Arrange
    stsMock
      .on(AssumeRoleCommand)
      .resolvesOnce(stsCredentials('AKIA1', T0 + HOUR))
      .resolves(stsCredentials('AKIA2', T0 + 2 * HOUR));
    const { factory, made } = recordingFactory();
    const clients = new TargetClients(sts, factory, now);
    await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    const provider = made[0] as AwsCredentialIdentityProvider;
    // Act: one minute inside the margin, the next invocation must not start with credentials that lapse mid-copy.
    clock = T0 + HOUR - REFRESH_MARGIN_MS + 60_000;
    await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    const refreshed = (await provider()) as AwsCredentialIdentity;
    // Assert
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    expect(refreshed.accessKeyId).toBe('AKIA2');
    expect(REFRESH_MARGIN_MS).toBeGreaterThan(15 * 60_000);
  });

  it('serves the cached credentials through the client provider when they are fresh', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).resolves(stsCredentials('AKIA1', T0 + HOUR));
    const { factory, made } = recordingFactory();
    const clients = new TargetClients(sts, factory, now);
    await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    // Act
    const identity = (await (made[0] as AwsCredentialIdentityProvider)()) as AwsCredentialIdentity;
    // Assert
    expect(identity).toMatchObject({
      accessKeyId: 'AKIA1',
      secretAccessKey: 'secret-AKIA1',
      sessionToken: 'token-AKIA1',
      expiration: new Date(T0 + HOUR),
    });
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('throws AssumeRoleError naming the role and the AWS code when STS refuses', async () => {
    // Arrange
    stsMock
      .on(AssumeRoleCommand)
      .rejects(Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' }));
    const { factory, made } = recordingFactory();
    const clients = new TargetClients(sts, factory, now);
    // Act
    const error = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1').catch((caught: unknown) => caught);
    // Assert
    expect(error).toBeInstanceOf(AssumeRoleError);
    expect(error).toMatchObject({ name: 'AssumeRoleError', roleArn: ROLE_ARN, code: 'AccessDenied' });
    expect((error as Error).message).toContain(ROLE_ARN);
    expect((error as Error).message).toContain('AccessDenied');
    expect(made).toEqual([]);
  });

  it('throws AssumeRoleError with IncompleteCredentials when STS returns no session token', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'AKIA1',
        SecretAccessKey: 's',
        SessionToken: undefined as unknown as string,
        Expiration: new Date(T0 + HOUR),
      },
    });
    const clients = new TargetClients(sts, recordingFactory().factory, now);
    // Act
    const error = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1').catch((caught: unknown) => caught);
    // Assert
    expect(error).toMatchObject({ name: 'AssumeRoleError', code: 'IncompleteCredentials' });
  });

  it('tries STS again on the next call when an earlier attempt failed', async () => {
    // Arrange
    stsMock
      .on(AssumeRoleCommand)
      .rejectsOnce(Object.assign(new Error('not authorized (trust fixed since)'), { name: 'AccessDenied' }))
      .resolves(stsCredentials('AKIA1', T0 + HOUR));
    const clients = new TargetClients(sts, recordingFactory().factory, now);
    await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1').catch(() => undefined);
    // Act
    const client = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    // Assert
    expect(client).toBeInstanceOf(S3Client);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });
});

describe('roleSessionName', () => {
  it('stays within STS rules (2-64 characters of [\\w+=,.@-]) when given any job id', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (jobId) => {
        // Act
        const name = roleSessionName(jobId);
        // Assert
        return /^[\w+=,.@-]{2,64}$/.test(name) && name.startsWith('s3xcopy-');
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the job id readable when it is already valid', () => {
    expect(roleSessionName('2026-06-01_nightly@prod')).toBe('s3xcopy-2026-06-01_nightly@prod');
  });

  it('replaces characters STS refuses when the job id has them', () => {
    expect(roleSessionName('job 1/ü:x')).toBe('s3xcopy-job-1---x');
  });

  it('gives two long job ids that share their first 56 characters different names', () => {
    // The session name proves an upload is this job's (stray-uploads.ts): cutting both at 64 made them equal.
    const common = `nightly-${'x'.repeat(60)}`;
    const first = roleSessionName(`${common}-a`);
    const second = roleSessionName(`${common}-b`);
    expect(first).toHaveLength(64);
    expect(second).toHaveLength(64);
    expect(first).not.toBe(second);
    expect(first.startsWith('s3xcopy-nightly-xxx')).toBe(true);
  });
});

describe('AssumeRole throttling and transient STS errors', () => {
  const sts = new STSClient({ region: 'us-east-1' });
  const stsMock = mockClient(sts);
  const sleeps: number[] = [];
  const retry: AssumeRoleRetry = {
    attempts: 5,
    baseDelayMs: 200,
    maxDelayMs: 5_000,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  const throttled = () =>
    Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });

  beforeEach(() => {
    stsMock.reset();
    sleeps.length = 0;
  });

  it('retries throttling with backoff and returns the credentials when STS answers in time', async () => {
    // Arrange
    stsMock
      .on(AssumeRoleCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(Object.assign(new Error('Service unavailable'), { $metadata: { httpStatusCode: 503 } }))
      .resolves(stsCredentials('AKIA1', T0 + HOUR));
    const clients = new TargetClients(sts, recordingFactory().factory, () => T0, retry);
    // Act
    const client = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1');
    // Assert
    expect(client).toBeInstanceOf(S3Client);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThanOrEqual(200);
    expect(sleeps[1]).toBeLessThanOrEqual(400);
  });

  it('throws AssumeRoleTransientError, which the state machine retries, when STS stays throttled', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).rejects(throttled());
    const clients = new TargetClients(sts, recordingFactory().factory, () => T0, retry);
    // Act
    const error = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1').catch((caught: unknown) => caught);
    // Assert
    expect(error).toBeInstanceOf(AssumeRoleTransientError);
    expect(error).toMatchObject({ name: 'AssumeRoleTransientError', roleArn: ROLE_ARN, code: 'Throttling' });
    expect((error as Error).message).toMatch(/after 5 attempts/);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(5);
  });

  it('does not retry a refusal: AccessDenied is an AssumeRoleError after one call', async () => {
    // Arrange
    stsMock
      .on(AssumeRoleCommand)
      .rejects(
        Object.assign(new Error('not authorized'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
      );
    const clients = new TargetClients(sts, recordingFactory().factory, () => T0, retry);
    // Act
    const error = await clients.forTarget({ roleArn: ROLE_ARN }, 'job-1').catch((caught: unknown) => caught);
    // Assert
    expect(error).toMatchObject({ name: 'AssumeRoleError', code: 'AccessDenied' });
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it.each([
    ['Throttling', 400, true],
    ['RequestLimitExceeded', 400, true],
    ['IDPCommunicationError', 400, true],
    ['InternalFailure', 500, true],
    ['TimeoutError', undefined, true],
    ['ECONNREFUSED', undefined, false],
    ['AccessDenied', 403, false],
    ['ExpiredTokenException', 400, false],
    ['MalformedPolicyDocument', 400, false],
  ])('classifies %s (HTTP %s) as transient: %s', (name, status, transient) => {
    const error = Object.assign(new Error(name), {
      name,
      ...(status ? { $metadata: { httpStatusCode: status } } : {}),
    });
    expect(isTransientStsError(error)).toBe(transient);
  });
});
