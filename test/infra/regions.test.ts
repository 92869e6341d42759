import { resourceArns } from '../../infra/names';
import { kmsKeyPolicyStatements } from '../../infra/policies';
import { defaultKeyPolicy, deployment, kmsActionsAllowed } from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

/**
 * A deployment that spans three regions: the workflow in eu-west-1, the source bucket (and its SSE-KMS
 * key) in us-east-1, the target bucket (and its key) in ap-southeast-2. KMS use through S3 must be allowed
 * in the region where each bucket and key live, and only there.
 */
const SOURCE_KEY = 'arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555';
const TARGET_KEY = 'arn:aws:kms:ap-southeast-2:222222222222:key/66666666-7777-8888-9999-000000000000';

describe('buckets in other regions than the workflow', () => {
  const built = synthesize({
    source: { createBucket: false, bucketRegion: 'us-east-1', kmsKeyArn: SOURCE_KEY },
    target: { region: 'ap-southeast-2', kmsKeyArn: TARGET_KEY },
    // The example turns the S3 event trigger on; a bucket in another region sends its events elsewhere.
    s3Events: { enabled: false },
  });
  const d = deployment(
    built.config,
    built.sourceTemplate.toJSON() as TemplateJson,
    built.targetTemplate?.toJSON() as TemplateJson,
  );
  const arns = resourceArns(built.config);
  const sourceKeyPolicy = defaultKeyPolicy(SOURCE_KEY, kmsKeyPolicyStatements(built.config).source?.statements);

  it('tells every function where the configured buckets are', () => {
    // Act
    const functions = Object.values(built.sourceTemplate.findResources('AWS::Lambda::Function'));
    // Assert
    for (const fn of functions) {
      expect(JSON.parse(fn.Properties.Environment.Variables.S3XCOPY_BUCKET_REGIONS)).toEqual({
        'example-source-bucket': 'us-east-1',
        'example-target-bucket': 'ap-southeast-2',
      });
    }
  });

  it("lets the target role decrypt source objects through S3 in the source bucket's region only", async () => {
    // Act
    const there = await kmsActionsAllowed(d, arns.targetRole, SOURCE_KEY, sourceKeyPolicy, 'us-east-1');
    const workflowRegion = await kmsActionsAllowed(d, arns.targetRole, SOURCE_KEY, sourceKeyPolicy, 'eu-west-1');
    // Assert
    expect({ there, workflowRegion }).toEqual({ there: ['kms:Decrypt'], workflowRegion: [] });
  });

  it("lets the target role encrypt target objects through S3 in the target bucket's region only", async () => {
    // Act
    const there = await kmsActionsAllowed(
      d,
      arns.targetRole,
      TARGET_KEY,
      defaultKeyPolicy(TARGET_KEY),
      'ap-southeast-2',
    );
    const workflowRegion = await kmsActionsAllowed(
      d,
      arns.targetRole,
      TARGET_KEY,
      defaultKeyPolicy(TARGET_KEY),
      'eu-west-1',
    );
    // Assert
    expect({ there, workflowRegion }).toEqual({ there: ['kms:Decrypt', 'kms:GenerateDataKey'], workflowRegion: [] });
  });
});
