import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { InfraConfig } from '../config';
import { acknowledge } from '../nag';
import { resourceNames } from '../names';
import { bucketNotificationQueueConfiguration, bucketNotifiesQueue, sourceBucketPolicyStatements } from '../policies';

/** Settings every s3xcopy bucket shares: encrypted, SSL-only, private, ACLs off. */
const PRIVATE_BUCKET: s3.BucketProps = {
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
};

/**
 * The state bucket's working files, one prefix each (docs/state-bucket.md): they expire after
 * `stateRetentionDays`. The identity records (`identity/`, functions/shared/identity-record.ts) are not
 * among them: they are what lets every later sync recognise a copy, so they live as long as the copies.
 */
export const WORKING_FILE_PREFIXES = ['manifests/', 'results/', 'reports/', 'progress/', 'batch-results/'] as const;

/**
 * Manifests (written by list, read by the Distributed Map), Map results and the other working files:
 * they expire, and so do multipart uploads a failed ResultWriter left behind. Identity records do not.
 */
export class StateBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: { config: InfraConfig }) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      bucketName: resourceNames(props.config).stateBucket,
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ...WORKING_FILE_PREFIXES.map((prefix) => ({
          id: `expire-${prefix.replace(/\/$/, '')}`,
          prefix,
          expiration: Duration.days(props.config.stateRetentionDays),
        })),
      ],
      // Kept on stack deletion so a report still being read is not lost; docs/deploy.md says how to empty it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      'The state bucket holds only working files (manifests, Map results) that expire; every write comes from ' +
        "this stack's own roles, and Step Functions execution history plus CloudTrail already record who ran what.",
    );
  }
}

/**
 * A source bucket the stack owns: the same private settings, EventBridge notifications when the S3
 * event trigger is on, and the policy statements that let the target role read the source prefix.
 */
export class ManagedSourceBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: { config: InfraConfig }) {
    super(scope, id);
    const { config } = props;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      bucketName: config.source.bucket,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      'Server access logs for the data bucket go to a log bucket the account already runs; name it with ' +
        '`serverAccessLogsBucket` if this stack should set it. Not created here to keep one log bucket per account.',
    );
    if (config.s3Events.enabled) {
      // Set on the bucket resource itself: the L2 `eventBridgeEnabled` and `addEventNotification` add a
      // custom-resource Lambda with s3:PutBucketNotification on every bucket for the same result.
      const cfn = this.bucket.node.defaultChild as s3.CfnBucket;
      if (bucketNotifiesQueue(config)) {
        // The direct event path: the bucket notifies the events queue itself (free, unlike EventBridge).
        cfn.addPropertyOverride('NotificationConfiguration.QueueConfigurations', [
          queueConfigurationForCloudFormation(config),
        ]);
      } else {
        cfn.addPropertyOverride('NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled', true);
      }
    }
    for (const statement of sourceBucketPolicyStatements(config)) {
      this.bucket.addToResourcePolicy(iam.PolicyStatement.fromJson(statement));
    }
  }
}

/** The notification's queue configuration in CloudFormation's spelling (Event, Queue, S3Key rules). */
function queueConfigurationForCloudFormation(config: InfraConfig) {
  const notification = bucketNotificationQueueConfiguration(config);
  const rules = notification.Filter?.Key.FilterRules;
  return {
    Event: 's3:ObjectCreated:*',
    Queue: notification.QueueArn,
    ...(rules ? { Filter: { S3Key: { Rules: rules } } } : {}),
  };
}
