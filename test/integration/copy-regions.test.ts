import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createCopyHandler } from '../../functions/copy/handler';
import { BucketRegions, type S3ClientFactory } from '../../functions/shared/clients';
import { DEFAULT_OPTIONS } from '../../functions/shared/job';
import { TargetClients } from '../../functions/shared/target-role';
import { startTestS3, type TestS3 } from '../support/s3';

/**
 * Buckets in other regions than the function's: the copy handler sends source reads to the source
 * bucket's region and writes to the target bucket's, on a real S3 server (the embedded one; it holds every
 * bucket, so each client's region is recorded rather than routed).
 */
const ROLE_ARN = 'arn:aws:iam::222222222222:role/s3xcopy-target';

const context = { functionName: 's3xcopy-copy', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;

function silentObservability() {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const logger = new Logger({ serviceName: 'regions-test', logLevel: 'SILENT' });
  return { logger, metrics: new Metrics({ namespace: 'regions-test', serviceName: 'regions-test', logger }) };
}

describe('copy handler with buckets in other regions', () => {
  let s3: TestS3;
  const sts = new STSClient({ region: 'eu-west-1' });
  const stsMock = mockClient(sts);

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket('far-src');
    await s3.createBucket('far-dst');
    await s3.put('far-src', 'in/a.txt', 'alpha');
    await s3.put('far-src', 'in/b.txt', 'bravo!');
  });
  afterAll(() => s3.stop());

  it('reads the source through a us-west-2 client and writes through an ap-southeast-2 one, as the target role', async () => {
    // Arrange
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'S3RVER',
        SecretAccessKey: 'S3RVER',
        SessionToken: 'session-token',
        Expiration: new Date(Date.now() + 3_600_000),
      },
    });
    const sent: string[] = [];
    const recording: S3ClientFactory = (credentials, region) => {
      const client = s3.makeS3(credentials, region);
      client.middlewareStack.add(
        (next, ctx) => async (args) => {
          sent.push(`${await client.config.region()} ${ctx.commandName}`);
          return next(args);
        },
        { step: 'initialize', name: 'recordRegion' },
      );
      return client;
    };
    const regions = new BucketRegions({ 'far-src': 'us-west-2', 'far-dst': 'ap-southeast-2' }, 'us-east-1');
    const handler = createCopyHandler({
      targetClients: new TargetClients(sts, recording, Date.now, undefined, regions),
      observability: silentObservability(),
    });
    const event = {
      job: {
        source: { bucket: 'far-src', prefix: 'in/' },
        target: { bucket: 'far-dst', prefix: 'out/', roleArn: ROLE_ARN },
        filter: { include: [], exclude: [] },
        options: { ...DEFAULT_OPTIONS },
      },
      jobId: 'exec-regions',
      batch: {
        id: 'b-1',
        bytes: 11,
        objects: [
          { key: 'in/a.txt', size: 5, etag: '"x"', lastModified: '2026-01-01T00:00:00Z' },
          { key: 'in/b.txt', size: 6, etag: '"y"', lastModified: '2026-01-01T00:00:00Z' },
        ],
      },
    };
    // Act
    const result = await handler(event, context);
    // Assert: copied, byte for byte
    expect(result).toMatchObject({ copied: 2, failed: 0, bytesCopied: 11 });
    expect((await s3.getBody('far-dst', 'out/b.txt')).toString()).toBe('bravo!');
    // every write went to the target's region, and nothing was sent from the function's own region
    const writes = sent.filter((line) => /CopyObject|PutObject|MultipartUpload|UploadPart/.test(line));
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.every((line) => line.startsWith('ap-southeast-2 '))).toBe(true);
    expect(sent.filter((line) => line.startsWith('us-east-1 '))).toEqual([]);
    // source reads went to the source's region
    const sourceReads = sent.filter((line) => line.startsWith('us-west-2 '));
    expect(sourceReads.length).toBeGreaterThan(0);
    expect(sourceReads.every((line) => /HeadObject|GetObject/.test(line))).toBe(true);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });
});
