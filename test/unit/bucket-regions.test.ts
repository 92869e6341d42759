import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { BucketRegions, bucketRegionOf, RegionalS3Clients, type S3ClientFactory } from '../../functions/shared/clients';
import { TargetClients } from '../../functions/shared/target-role';

/**
 * Region discovery is the one S3 behaviour mocked (NOTES: a 301 from another region cannot come from a
 * local server); everything that copies runs against real servers elsewhere.
 */
const home = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const s3Mock = mockClient(home);

/** What S3 answers a HeadBucket sent to the wrong region: 301 with the bucket's region in a header. */
function permanentRedirect(region: string) {
  return Object.assign(
    new Error('The bucket you are attempting to access must be addressed using the specified endpoint.'),
    {
      name: 'PermanentRedirect',
      $metadata: { httpStatusCode: 301 },
      $response: { statusCode: 301, headers: { 'x-amz-bucket-region': region } },
    },
  );
}

beforeEach(() => s3Mock.reset());

describe('BucketRegions', () => {
  it('discovers a bucket in another region from the 301 PermanentRedirect header, once per bucket', async () => {
    // Arrange
    s3Mock.on(HeadBucketCommand, { Bucket: 'far-bucket' }).rejects(permanentRedirect('ap-southeast-2'));
    const regions = new BucketRegions({}, 'eu-west-1');
    // Act
    const found = await Promise.all([1, 2, 3].map(() => regions.regionOf('far-bucket', home)));
    // Assert
    expect(found).toEqual(['ap-southeast-2', 'ap-southeast-2', 'ap-southeast-2']);
    expect(s3Mock.commandCalls(HeadBucketCommand)).toHaveLength(1);
  });

  it("reads the region of HeadBucket's answer, and of a 403 (no ListBucket without a prefix)", async () => {
    // Arrange
    s3Mock.on(HeadBucketCommand, { Bucket: 'near' }).resolves({ BucketRegion: 'eu-west-1' });
    s3Mock.on(HeadBucketCommand, { Bucket: 'guarded' }).rejects(
      Object.assign(new Error('Forbidden'), {
        name: '403',
        $metadata: { httpStatusCode: 403 },
        $response: { statusCode: 403, headers: { 'x-amz-bucket-region': 'us-east-2' } },
      }),
    );
    const regions = new BucketRegions({}, 'eu-west-1');
    // Act + Assert
    expect(await regions.regionOf('near', home)).toBe('eu-west-1');
    expect(await regions.regionOf('guarded', home)).toBe('us-east-2');
  });

  it('uses a configured region without asking S3', async () => {
    // Arrange
    const regions = new BucketRegions({ 'known-bucket': 'us-west-2' }, 'eu-west-1');
    // Act
    const region = await regions.regionOf('known-bucket', home);
    // Assert
    expect(region).toBe('us-west-2');
    expect(s3Mock.commandCalls(HeadBucketCommand)).toHaveLength(0);
  });

  it('falls back to the home region when S3 names none (a missing bucket then fails there, clearly)', async () => {
    // Arrange
    s3Mock
      .on(HeadBucketCommand)
      .rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    // Act + Assert
    expect(await new BucketRegions({}, 'eu-west-1').regionOf('gone', home)).toBe('eu-west-1');
  });

  it('reads the region header from responses and errors alike, and nothing from other values', () => {
    expect(bucketRegionOf(permanentRedirect('sa-east-1'))).toBe('sa-east-1');
    expect(bucketRegionOf({ BucketRegion: 'eu-north-1' })).toBe('eu-north-1');
    expect(bucketRegionOf(new Error('x'))).toBeUndefined();
    expect(bucketRegionOf(undefined)).toBeUndefined();
  });
});

describe('RegionalS3Clients', () => {
  it('sends each bucket to a client of its region, one client per region, the home client for its own', async () => {
    // Arrange
    s3Mock.on(HeadBucketCommand, { Bucket: 'far-1' }).rejects(permanentRedirect('ap-southeast-2'));
    s3Mock.on(HeadBucketCommand, { Bucket: 'far-2' }).rejects(permanentRedirect('ap-southeast-2'));
    s3Mock.on(HeadBucketCommand, { Bucket: 'near' }).resolves({ BucketRegion: 'eu-west-1' });
    const made: string[] = [];
    const clients = new RegionalS3Clients(
      (region) => {
        made.push(region);
        return new S3Client({ region });
      },
      new BucketRegions({}, 'eu-west-1'),
      home,
    );
    // Act
    const far1 = await clients.clientFor('far-1');
    const far2 = await clients.clientFor('far-2');
    const near = await clients.clientFor('near');
    // Assert
    expect(await far1.config.region()).toBe('ap-southeast-2');
    expect(far2).toBe(far1);
    expect(near).toBe(home);
    expect(made).toEqual(['ap-southeast-2']);
  });
});

describe('TargetClients.forBucket', () => {
  it("gives the target role's credentials a client in each bucket's region, assuming the role once", async () => {
    // Arrange
    const sts = new STSClient({ region: 'eu-west-1' });
    const stsMock = mockClient(sts);
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'AKIA1',
        SecretAccessKey: 's',
        SessionToken: 't',
        Expiration: new Date(Date.now() + 3_600_000),
      },
    });
    const made: Array<{ region: string | undefined; withCredentials: boolean }> = [];
    const factory: S3ClientFactory = (credentials, region) => {
      made.push({ region, withCredentials: credentials !== undefined });
      return new S3Client({ region: region ?? 'eu-west-1', ...(credentials ? { credentials } : {}) });
    };
    const clients = new TargetClients(
      sts,
      factory,
      Date.now,
      undefined,
      new BucketRegions({ 'dst-bucket': 'us-west-2', 'src-bucket': 'eu-west-1' }, 'eu-west-1'),
    );
    const target = { roleArn: 'arn:aws:iam::222222222222:role/s3xcopy-target' };
    // Act
    const write = await clients.forBucket(target, 'job-1', 'dst-bucket');
    const read = await clients.forBucket(target, 'job-1', 'src-bucket');
    const again = await clients.forBucket(target, 'job-1', 'dst-bucket');
    // Assert
    expect(await write.config.region()).toBe('us-west-2');
    expect(await read.config.region()).toBe('eu-west-1');
    expect(again).toBe(write);
    expect(made).toEqual([
      { region: undefined, withCredentials: true },
      { region: 'us-west-2', withCredentials: true },
    ]);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    const credentials = await (write.config.credentials as () => Promise<{ accessKeyId: string }>)();
    expect(credentials.accessKeyId).toBe('AKIA1');
  });
});
