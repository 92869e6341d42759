import { Match } from 'aws-cdk-lib/assertions';
import { synthesize } from './synth';

describe('TargetStack', () => {
  const { targetTemplate, target } = synthesize();
  const template = targetTemplate as NonNullable<typeof targetTemplate>;

  it('deploys into the target account and region', () => {
    expect(target?.account).toBe('222222222222');
    expect(target?.region).toBe('eu-west-1');
  });

  it('trusts the source account only for the copy, list and events roles, with the ExternalId', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 's3xcopy-target',
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::111111111111:root' },
            Action: 'sts:AssumeRole',
            Condition: {
              ArnEquals: {
                'aws:PrincipalArn': [
                  'arn:aws:iam::111111111111:role/s3xcopy-copy',
                  'arn:aws:iam::111111111111:role/s3xcopy-list',
                  'arn:aws:iam::111111111111:role/s3xcopy-events',
                ],
              },
              StringEquals: { 'sts:ExternalId': 's3xcopy-example' },
            },
          },
        ],
      },
    });
  });

  it('leaves the ExternalId condition out when none is configured', () => {
    const { targetTemplate: plain } = synthesize({ target: { externalId: undefined } });
    const [role] = Object.values(plain?.findResources('AWS::IAM::Role') ?? {});
    expect(role?.Properties.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': expect.any(Array) },
    });
  });

  it('grants KMS use through S3 only when keys are configured', () => {
    // Arrange
    const targetKey = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555';
    // Act
    const { targetTemplate: withKey } = synthesize({ target: { kmsKeyArn: targetKey } });
    // Assert
    withKey?.hasResourceProperties('AWS::IAM::Role', {
      Policies: [
        {
          PolicyName: 'copy-access',
          PolicyDocument: {
            Statement: Match.arrayWith([
              {
                Sid: 'EncryptTargetObjects',
                Effect: 'Allow',
                Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
                Resource: targetKey,
                Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
              },
            ]),
          },
        },
      ],
    });
    const [role] = Object.values(template.findResources('AWS::IAM::Role'));
    expect(JSON.stringify(role?.Properties.Policies)).not.toContain('kms:');
  });

  it('creates the target bucket with ACLs disabled when asked to', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'example-target-bucket',
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicPolicy: true, RestrictPublicBuckets: true }),
    });
  });

  it('ends multipart uploads nobody completed or aborted, so a killed copy stops billing its parts', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'example-target-bucket',
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' }),
        ]),
      },
    });
  });

  it('creates no bucket when the target bucket exists already', () => {
    const { targetTemplate: existing } = synthesize({ target: { createBucket: false } });
    existing?.resourceCountIs('AWS::S3::Bucket', 0);
  });

  it('is not synthesized for a same-account deployment', () => {
    const { target: none } = synthesize({ target: { account: '111111111111', externalId: undefined } });
    expect(none).toBeUndefined();
  });
});
