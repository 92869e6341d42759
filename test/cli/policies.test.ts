import * as path from 'node:path';
import { Command } from 'commander';
import { register } from '../../cli/commands/policies';
import { UsageError } from '../../cli/errors';
import { parseInfraConfig } from '../../infra/config';
import { targetRolePermissionsPolicy, targetRoleTrustPolicy } from '../../infra/policies';
import { exampleConfig, synthesize } from '../infra/synth';
import { THIRD_ACCOUNT } from '../support/accounts';

const CDK_JSON = path.resolve(__dirname, '..', '..', 'cdk.json');
const EMPTY_CDK_JSON = path.join(__dirname, '..', 'fixtures', 'infra', 'empty-cdk.json');

async function runPolicies(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('s3xcopy').exitOverride();
  register(program, { stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTTY: false });
  for (const command of program.commands) command.exitOverride();
  await program.parseAsync(['node', 's3xcopy', 'policies', ...args]);
  return { stdout: out.join(''), stderr: err.join('') };
}

describe('s3xcopy policies', () => {
  it('prints the manifest read and version statements with --manifests and --allow-versions', async () => {
    // Act
    const { stdout } = await runPolicies([
      '--config',
      CDK_JSON,
      '--manifests',
      's3://example-manifests/lists/',
      '--allow-versions',
    ]);

    // Assert
    const printed = JSON.parse(stdout);
    expect(printed.functionRoleStatements.list).toContainEqual({
      Sid: 'ReadSourceManifests',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::example-manifests/lists/*',
    });
    const read = printed.targetRole.permissionsPolicy.Statement.find(
      (statement: { Sid?: string }) => statement.Sid === 'ReadSourcePrefix',
    );
    expect(read.Action).toEqual([
      's3:GetObject',
      's3:GetObjectTagging',
      's3:GetObjectVersion',
      's3:GetObjectVersionTagging',
    ]);
  });

  it('prints the policies of the cdk.json deployment, the same JSON the stacks deploy', async () => {
    // Act
    const { stdout } = await runPolicies(['--config', CDK_JSON]);
    // Assert
    const printed = JSON.parse(stdout);
    const config = parseInfraConfig(exampleConfig());
    expect(printed.targetRole.trustPolicy).toEqual(targetRoleTrustPolicy(config));
    expect(printed.targetRole.permissionsPolicy).toEqual(targetRolePermissionsPolicy(config));
    expect(printed.targetRole.arn).toBe('arn:aws:iam::222222222222:role/s3xcopy-target');
    expect(printed.functionRoleStatements.copy).toEqual([
      { Sid: 'AssumeTargetRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: printed.targetRole.arn },
      {
        Sid: 'ReadWriteProgressRecords',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: 'arn:aws:s3:::s3xcopy-state-111111111111-eu-west-1/progress/*',
      },
      {
        Sid: 'ListProgressRecords',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: 'arn:aws:s3:::s3xcopy-state-111111111111-eu-west-1',
        Condition: { StringLike: { 's3:prefix': ['progress/*'] } },
      },
      {
        Sid: 'WriteBatchFailureLists',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::s3xcopy-state-111111111111-eu-west-1/reports/*/batch-failures/*',
      },
      {
        Sid: 'WriteBatchRecords',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::s3xcopy-state-111111111111-eu-west-1/batch-results/*',
      },
    ]);
    // Existing source bucket with the S3 event trigger on (the direct path, fed by the bucket's notifications).
    expect(printed.sourceBucketNotifications.notificationConfiguration.QueueConfigurations).toHaveLength(1);
  });

  it('prints exactly what the synthesized target role holds', async () => {
    // Arrange
    const { targetTemplate } = synthesize();
    const [role] = Object.values(targetTemplate?.findResources('AWS::IAM::Role') ?? {});
    // Act
    const trust = JSON.parse((await runPolicies(['--config', CDK_JSON, '--only', 'target-trust'])).stdout);
    const permissions = JSON.parse((await runPolicies(['--config', CDK_JSON, '--only', 'target-permissions'])).stdout);
    // Assert
    expect(role?.Properties.AssumeRolePolicyDocument).toEqual(trust);
    expect(role?.Properties.Policies[0].PolicyDocument).toEqual(permissions);
  });

  it('applies flags over the config file', async () => {
    // Act
    const { stdout } = await runPolicies([
      '--config',
      CDK_JSON,
      '--source-bucket',
      'other-source',
      '--source-prefix',
      'data/incoming',
      '--no-sync',
      '--only',
      'source-bucket',
    ]);
    // Assert
    const policy = JSON.parse(stdout);
    expect(policy.Statement[0]).toEqual({
      Sid: 'S3xcopyTargetRoleReadsSourcePrefix',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::222222222222:role/s3xcopy-target' },
      Action: ['s3:GetObject', 's3:GetObjectTagging'],
      Resource: 'arn:aws:s3:::other-source/data/incoming/*',
    });
    const trust = JSON.parse((await runPolicies(['--config', CDK_JSON, '--no-sync', '--only', 'target-trust'])).stdout);
    // --no-sync drops the list role; the example's S3 events are copied by the events function, which stays.
    expect(trust.Statement[0].Condition.ArnEquals['aws:PrincipalArn']).toEqual([
      'arn:aws:iam::111111111111:role/s3xcopy-copy',
      'arn:aws:iam::111111111111:role/s3xcopy-events',
    ]);
  });

  describe('KMS key policies', () => {
    const SOURCE_KEY = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555';

    it("prints the statement the source key's policy needs for the target role (cross-account SSE-KMS)", async () => {
      // Act
      const { stdout } = await runPolicies([
        '--config',
        CDK_JSON,
        '--source-kms-key-arn',
        SOURCE_KEY,
        '--only',
        'source-key',
      ]);
      // Assert
      expect(JSON.parse(stdout)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'S3xcopyDecryptSourceObjectsThroughS3',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::222222222222:role/s3xcopy-target' },
            Action: 'kms:Decrypt',
            Resource: '*',
            Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
          },
        ],
      });
    });

    it('names the key in the full output, next to the bucket policy', async () => {
      const { stdout } = await runPolicies(['--config', CDK_JSON, '--source-kms-key-arn', SOURCE_KEY]);
      const printed = JSON.parse(stdout);
      expect(printed.kmsKeyPolicyStatements.source.keyArn).toBe(SOURCE_KEY);
      expect(printed.kmsKeyPolicyStatements.target).toBeUndefined();
    });

    it("prints nothing for a target key in the target role's own account, and says why", async () => {
      // Act
      const { stdout, stderr } = await runPolicies([
        '--config',
        CDK_JSON,
        '--target-kms-key-arn',
        'arn:aws:kms:eu-west-1:222222222222:key/66666666-7777-8888-9999-000000000000',
        '--only',
        'target-key',
      ]);
      // Assert
      expect(JSON.parse(stdout)).toEqual({ Version: '2012-10-17', Statement: [] });
      expect(stderr).toMatch(/same account as arn:aws:iam::222222222222:role\/s3xcopy-target, which copies/);
    });

    it('prints a target key statement when the key lives in another account than the target role', async () => {
      const { stdout } = await runPolicies([
        '--config',
        CDK_JSON,
        '--target-kms-key-arn',
        'arn:aws:kms:eu-west-1:111111111111:key/66666666-7777-8888-9999-000000000000',
        '--only',
        'target-key',
      ]);
      expect(JSON.parse(stdout).Statement).toEqual([
        expect.objectContaining({
          Principal: { AWS: 'arn:aws:iam::222222222222:role/s3xcopy-target' },
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        }),
      ]);
    });

    it('needs no key policy change in a same-account deployment with a key of that account', async () => {
      const { stdout, stderr } = await runPolicies([
        '--config',
        CDK_JSON,
        '--target-account',
        '111111111111',
        '--source-kms-key-arn',
        SOURCE_KEY,
        '--only',
        'source-key',
      ]);
      expect(JSON.parse(stdout).Statement).toEqual([]);
      expect(stderr).toMatch(/same account as arn:aws:iam::111111111111:role\/s3xcopy-copy/);
    });

    it('says when no key is configured', async () => {
      const { stderr } = await runPolicies(['--config', CDK_JSON, '--only', 'source-key']);
      expect(stderr).toMatch(/No source\.kmsKeyArn configured \(--source-kms-key-arn\)/);
    });
  });

  it('works from flags alone', async () => {
    const { stdout } = await runPolicies([
      '--config',
      EMPTY_CDK_JSON,
      '--source-account',
      '111111111111',
      '--source-region',
      'us-east-1',
      '--source-bucket',
      'src-bucket',
      '--target-account',
      '222222222222',
      '--target-bucket',
      'dst-bucket',
      '--only',
      'target-permissions',
    ]);
    expect(JSON.parse(stdout).Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      'ReadSourcePrefix',
      'ListSourcePrefix',
      'WriteTargetPrefix',
      'ListTargetPrefix',
      'ListOpenUploadsOfTarget',
    ]);
  });

  it('prints the statements a source bucket in a third account needs, for the list role and the target role', async () => {
    // Act
    const { stdout } = await runPolicies([
      '--config',
      EMPTY_CDK_JSON,
      '--source-account',
      '111111111111',
      '--source-region',
      'eu-west-1',
      '--source-bucket',
      'src-bucket',
      '--source-prefix',
      'data/',
      '--source-bucket-account',
      THIRD_ACCOUNT,
      '--target-account',
      '222222222222',
      '--target-bucket',
      'dst-bucket',
      '--only',
      'source-bucket',
    ]);
    // Assert
    const policy = JSON.parse(stdout) as { Statement: Array<{ Principal: { AWS: string }; Action: unknown }> };
    expect(policy.Statement.map((statement) => [statement.Principal.AWS, statement.Action])).toEqual([
      ['arn:aws:iam::222222222222:role/s3xcopy-target', ['s3:GetObject', 's3:GetObjectTagging']],
      ['arn:aws:iam::222222222222:role/s3xcopy-target', 's3:ListBucket'],
      ['arn:aws:iam::111111111111:role/s3xcopy-list', 's3:ListBucket'],
    ]);
  });

  it('prints the copy role in the source bucket policy of a same-account copy from a bucket in another account', async () => {
    // Act: workflow and target in 111111111111, the source bucket in 222222222222
    const { stdout } = await runPolicies([
      '--config',
      EMPTY_CDK_JSON,
      '--source-account',
      '111111111111',
      '--source-region',
      'eu-west-1',
      '--source-bucket',
      'src-bucket',
      '--source-bucket-account',
      '222222222222',
      '--target-account',
      '111111111111',
      '--target-bucket',
      'dst-bucket',
      '--only',
      'source-bucket',
    ]);
    // Assert
    const policy = JSON.parse(stdout) as { Statement: Array<{ Sid: string; Principal: { AWS: string } }> };
    expect(policy.Statement.map((statement) => [statement.Sid, statement.Principal.AWS])).toEqual([
      ['S3xcopyCopyRoleReadsSourcePrefix', 'arn:aws:iam::111111111111:role/s3xcopy-copy'],
      ['S3xcopyCopyRoleListsSourcePrefix', 'arn:aws:iam::111111111111:role/s3xcopy-copy'],
      ['S3xcopyListRoleListsSourcePrefix', 'arn:aws:iam::111111111111:role/s3xcopy-list'],
    ]);
  });

  it('names the missing fields as bad usage when the deployment is incomplete', async () => {
    await expect(runPolicies(['--config', EMPTY_CDK_JSON])).rejects.toThrow(
      /source\.account is required.*target\.bucket is required/,
    );
    await expect(runPolicies(['--config', EMPTY_CDK_JSON])).rejects.toBeInstanceOf(UsageError);
  });

  it('rejects an unknown --only part', async () => {
    await expect(runPolicies(['--config', CDK_JSON, '--only', 'everything'])).rejects.toThrow(
      /--only: "everything" is not one of source-bucket/,
    );
  });
});
