import { parseInfraConfig } from '../../infra/config';
import { deployment, s3ActionsAllowedForTargetRole } from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { exampleConfig, merge, synthesize } from './synth';

function targetRoleS3(patch: unknown) {
  const built = synthesize(merge({ source: { createBucket: true } }, patch));
  const d = deployment(
    built.config,
    built.sourceTemplate.toJSON() as TemplateJson,
    built.targetTemplate?.toJSON() as TemplateJson,
  );
  return s3ActionsAllowedForTargetRole(d);
}

describe('options.acl and s3:PutObjectAcl', () => {
  it('grants the target role s3:PutObjectAcl on the target prefix only, when allowAcl is on', async () => {
    // Act
    const allowed = await targetRoleS3({ allowAcl: true, defaultOptions: { acl: 'bucket-owner-full-control' } });
    // Assert
    expect(allowed.filter((entry) => entry.endsWith('s3:PutObjectAcl'))).toEqual(['target object: s3:PutObjectAcl']);
  });

  it('grants no ACL permission anywhere by default', async () => {
    // Act
    const allowed = await targetRoleS3({});
    // Assert
    expect(allowed.filter((entry) => /Acl$/.test(entry))).toEqual([]);
  });

  it('tells every function whether ACLs are allowed', () => {
    // Act
    const { sourceTemplate } = synthesize({ allowAcl: true }, { nag: false });
    // Assert
    const functions = Object.values(sourceTemplate.findResources('AWS::Lambda::Function'));
    // list, copy, notify, the events function (which copies S3 events itself, with the job's options) and
    // the events digest (the same deployment environment)
    expect(functions.map((fn) => fn.Properties.Environment.Variables.S3XCOPY_ALLOW_ACL)).toEqual([
      'true',
      'true',
      'true',
      'true',
      'true',
    ]);
  });

  it('rejects an ACL in the default options or the scheduled job without allowAcl, naming the fix', () => {
    // Arrange
    const withAcl = merge(exampleConfig(), {
      defaultOptions: { acl: 'bucket-owner-full-control' },
      schedule: { job: { options: { acl: 'bucket-owner-full-control' } } },
    });
    // Act + Assert
    expect(() => parseInfraConfig(withAcl)).toThrow(
      /defaultOptions\.acl needs s3:PutObjectAcl.*allowAcl: true.*schedule\.job\.options\.acl needs s3:PutObjectAcl/,
    );
  });
});
