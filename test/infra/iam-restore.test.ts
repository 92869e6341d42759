/**
 * IAM proofs for restoring archived source objects: the list role may HEAD and restore
 * objects under the source prefix only when the deployment sets allowRestore, and nothing else.
 */
import { resourceArns } from '../../infra/names';
import { deployment, roleIdByArn, s3ActionsAllowed } from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

async function listRoleS3Actions(patch: Record<string, unknown>, thirdAccountBucket = false) {
  const built = synthesize({
    s3Events: { enabled: false },
    ...(thirdAccountBucket ? {} : { source: { createBucket: true } }),
    ...patch,
  });
  const d = deployment(
    built.config,
    built.sourceTemplate.toJSON() as TemplateJson,
    built.targetTemplate?.toJSON() as TemplateJson,
  );
  const listRole = resourceArns(built.config).listRole;
  return s3ActionsAllowed(d, listRole, d.source.identityPolicies(roleIdByArn(d.source, listRole)));
}

describe('IAM proofs for restoring archived objects', () => {
  it('lets the list role HEAD and restore source objects inside the prefix, nothing more, with allowRestore', async () => {
    // Act
    const allowed = await listRoleS3Actions({ allowRestore: true });

    // Assess
    expect(allowed).toEqual([
      'source bucket: s3:ListBucket',
      'source object: s3:GetObject',
      'source object: s3:RestoreObject',
    ]);
  });

  it('gives the list role no object access at all without allowRestore (the default)', async () => {
    const allowed = await listRoleS3Actions({});
    expect(allowed).toEqual(['source bucket: s3:ListBucket']);
  });

  it('rejects a scheduled job that asks for restores when the deployment does not allow them', () => {
    expect(() =>
      synthesize({
        schedule: {
          expression: 'rate(1 day)',
          job: { options: { mode: 'sync', restore: { tier: 'Bulk', days: 7 } } },
        },
      }),
    ).toThrow(/schedule\.job\.options\.restore needs s3:GetObject and s3:RestoreObject .*allowRestore": true/);
  });
});
