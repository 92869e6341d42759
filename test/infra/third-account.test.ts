import { resourceArns } from '../../infra/names';
import { sourceBucketPolicyStatements } from '../../infra/policies';
import { THIRD_ACCOUNT } from '../support/accounts';
import {
  type Deployment,
  deployment,
  roleIdByArn,
  s3ActionsAllowed,
  s3ActionsAllowedForTargetRole,
} from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

/**
 * A source bucket in a third account (THIRD_ACCOUNT, test/support/accounts.ts): neither the workflow's
 * (111111111111) nor the target's (222222222222). Its owner applies the printed statements by hand; the
 * proofs evaluate them as the bucket's policy, cross-account, where AWS needs both the identity policy
 * and the bucket policy.
 */

function thirdAccountDeployment(withBucketPolicy: boolean): Deployment {
  const built = synthesize({
    source: { bucketAccount: THIRD_ACCOUNT, createBucket: false },
    s3Events: { enabled: false },
  });
  const d = deployment(
    built.config,
    built.sourceTemplate.toJSON() as TemplateJson,
    built.targetTemplate?.toJSON() as TemplateJson,
  );
  return withBucketPolicy
    ? { ...d, sourceBucketPolicy: { Version: '2012-10-17', Statement: sourceBucketPolicyStatements(d.config) } }
    : d;
}

describe('a source bucket in a third account', () => {
  const d = thirdAccountDeployment(true);
  const bare = thirdAccountDeployment(false);
  const arns = resourceArns(d.config);

  it('prints bucket policy statements for exactly the list role and the target role', () => {
    // Act
    const principals = sourceBucketPolicyStatements(d.config).map((statement) => ({
      sid: statement.Sid,
      principal: statement.Principal,
      action: statement.Action,
    }));
    // Assert
    expect(principals).toEqual([
      {
        sid: 'S3xcopyTargetRoleReadsSourcePrefix',
        principal: { AWS: arns.targetRole },
        action: ['s3:GetObject', 's3:GetObjectTagging'],
      },
      { sid: 'S3xcopyTargetRoleListsSourcePrefix', principal: { AWS: arns.targetRole }, action: 's3:ListBucket' },
      { sid: 'S3xcopyListRoleListsSourcePrefix', principal: { AWS: arns.listRole }, action: 's3:ListBucket' },
    ]);
  });

  it('lets the target role read and list the source prefix with those statements', async () => {
    // Act
    const allowed = (await s3ActionsAllowedForTargetRole(d)).filter((entry) => entry.startsWith('source'));
    // Assert
    expect(allowed).toEqual([
      'source bucket: s3:ListBucket',
      'source object: s3:GetObject',
      'source object: s3:GetObjectTagging',
    ]);
  });

  it('lets the list role list the source prefix with those statements, and nothing else there', async () => {
    // Act
    const allowed = await s3ActionsAllowed(
      d,
      arns.listRole,
      d.source.identityPolicies(roleIdByArn(d.source, arns.listRole)),
    );
    // Assert
    expect(allowed.filter((entry) => entry.startsWith('source'))).toEqual(['source bucket: s3:ListBucket']);
  });

  it('gives neither role anything on the source bucket without them (cross-account needs both sides)', async () => {
    // Act
    const target = await s3ActionsAllowedForTargetRole(bare);
    const list = await s3ActionsAllowed(
      bare,
      arns.listRole,
      bare.source.identityPolicies(roleIdByArn(bare.source, arns.listRole)),
    );
    // Assert
    expect([...target, ...list].filter((entry) => entry.startsWith('source'))).toEqual([]);
  });

  it('gives the copy and notify roles nothing on the source bucket even with them', async () => {
    // Act
    const copy = await s3ActionsAllowed(
      d,
      arns.copyRole,
      d.source.identityPolicies(roleIdByArn(d.source, arns.copyRole)),
    );
    const notify = await s3ActionsAllowed(
      d,
      arns.notifyRole,
      d.source.identityPolicies(roleIdByArn(d.source, arns.notifyRole)),
    );
    // Assert
    expect([...copy, ...notify].filter((entry) => entry.startsWith('source'))).toEqual([]);
  });
});
