/** AWS's naming rules by default; an S3-compatible server's (tenant:bucket, account-less role ARNs) with --endpoint. */
import { isValidBucketName, resolveJob, useNameRules } from '../../functions/shared/job';

const job = (bucket: string, roleArn: string) => ({
  source: { bucket: 'source-bucket' },
  target: { bucket, roleArn },
});

afterEach(() => useNameRules('aws'));

describe('name rules', () => {
  it("keeps AWS's rules by default: no tenant:bucket, role ARNs need a 12-digit account", () => {
    // Assess
    expect(isValidBucketName('tenant2:bucket')).toBe(false);
    expect(() => resolveJob(job('target-bucket', 'arn:aws:iam:::role/s3xcopy-target'))).toThrow(/roleArn/);
    expect(() => resolveJob(job('tenant2:bucket', 'arn:aws:iam::222222222222:role/r'))).toThrow(/target\.bucket/);
  });

  it("accepts RGW's tenant:bucket and arn:aws:iam:::role/NAME under the S3-compatible rules", () => {
    // Arrange
    useNameRules('s3-compatible');

    // Act
    const resolved = resolveJob(job('tenant2:bucket', 'arn:aws:iam:::role/s3xcopy-target'));

    // Assess
    expect(resolved.target).toMatchObject({ bucket: 'tenant2:bucket', roleArn: 'arn:aws:iam:::role/s3xcopy-target' });
  });

  it('still rejects what no server accepts under the S3-compatible rules', () => {
    // Arrange
    useNameRules('s3-compatible');

    // Assess
    expect(isValidBucketName('Bad Bucket')).toBe(false);
    expect(isValidBucketName('a:b:c-bucket')).toBe(false);
    expect(() => resolveJob(job('target-bucket', 'not-an-arn'))).toThrow(/roleArn/);
  });
});
