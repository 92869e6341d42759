import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { InfraConfig } from './config';
import { acknowledge, acknowledgePrefixWildcards } from './nag';
import { resourceNames } from './names';
import { targetRolePermissionsPolicy, targetRoleTrustPolicy } from './policies';

/**
 * The account that owns the target bucket: the role the copy assumes (fixed name, trusting only the
 * source account's copy and list roles) and, optionally, the target bucket itself.
 */
export class TargetStack extends Stack {
  readonly role: iam.Role;
  readonly bucket?: s3.Bucket;

  constructor(scope: Construct, id: string, props: StackProps & { config: InfraConfig }) {
    super(scope, id, {
      ...props,
      env: { account: props.config.target.account, region: props.config.target.region },
      description: 's3xcopy: the role that copies into the target bucket (target account)',
    });
    const { config } = props;
    this.role = new iam.Role(this, 'TargetRole', {
      roleName: resourceNames(config).targetRole,
      description: 's3xcopy: assumed by the source account copy (and list) functions',
      assumedBy: new iam.AccountPrincipal(config.source.account),
      inlinePolicies: { 'copy-access': iam.PolicyDocument.fromJson(targetRolePermissionsPolicy(config)) },
    });
    // The trust comes verbatim from infra/policies.ts, the same JSON `s3xcopy policies` prints.
    (this.role.node.defaultChild as iam.CfnRole).assumeRolePolicyDocument = targetRoleTrustPolicy(config);
    acknowledgePrefixWildcards(
      this.role,
      targetRolePermissionsPolicy(config).Statement,
      'Object ARNs under the configured source and target prefixes: the keys to copy are only known at run time, ' +
        'and the prefix is the narrowest scope S3 offers.',
    );

    if (config.target.createBucket) {
      this.bucket = new s3.Bucket(this, 'TargetBucket', {
        bucketName: config.target.bucket,
        ...(config.target.kmsKeyArn
          ? {
              encryption: s3.BucketEncryption.KMS,
              encryptionKey: kms.Key.fromKeyArn(this, 'TargetKey', config.target.kmsKeyArn),
              bucketKeyEnabled: true,
            }
          : { encryption: s3.BucketEncryption.S3_MANAGED }),
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned: true,
        // The copy aborts every multipart upload it gives up on; one whose Lambda was killed before it could
        // (a crash, a timeout past the safety margin) is ended by S3 instead of billing its parts.
        lifecycleRules: [{ id: 'abort-abandoned-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) }],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      acknowledge(
        this.bucket,
        'AwsSolutions-S1',
        "Server access logs for the target bucket go to the target account's existing log bucket; this stack " +
          'creates the bucket only for trying s3xcopy out and does not invent a second log bucket.',
      );
    }
  }
}
