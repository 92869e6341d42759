/**
 * IAM proofs for mirror deletes: s3:DeleteObject on the target prefix exists only when the
 * deployment sets allowDelete, for exactly the role the MirrorDeletes step acts as, and nowhere else.
 */
import { resourceArns } from '../../infra/names';
import { deployment, isAllowed, roleIdByArn, s3ActionsAllowed, s3ActionsAllowedForTargetRole } from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

function crossAccount(patch: Record<string, unknown>) {
  const built = synthesize({ source: { createBucket: true }, s3Events: { enabled: false }, ...patch });
  return deployment(
    built.config,
    built.sourceTemplate.toJSON() as TemplateJson,
    built.targetTemplate?.toJSON() as TemplateJson,
  );
}

const deletes = (actions: string[]) => actions.filter((action) => action.endsWith('s3:DeleteObject'));

describe('IAM proofs for mirror deletes', () => {
  it('lets the target role delete objects inside the target prefix only, with allowDelete', async () => {
    // Act
    const allowed = await s3ActionsAllowedForTargetRole(crossAccount({ allowDelete: true }));

    // Assess: the target prefix, not outside it, not the source
    expect(deletes(allowed)).toEqual(['target object: s3:DeleteObject']);
  });

  it('gives the target role no delete at all without allowDelete (the default)', async () => {
    const allowed = await s3ActionsAllowedForTargetRole(crossAccount({}));
    expect(deletes(allowed)).toEqual([]);
  });

  it('gives the list and copy roles no direct delete cross-account, even with allowDelete', async () => {
    const d = crossAccount({ allowDelete: true });
    const arns = resourceArns(d.config);
    for (const role of [arns.listRole, arns.copyRole]) {
      const allowed = await s3ActionsAllowed(d, role, d.source.identityPolicies(roleIdByArn(d.source, role)));
      expect(deletes(allowed)).toEqual([]);
    }
  });

  it('lets the list role delete inside the target prefix in a same-account deployment with allowDelete', async () => {
    // Prepare
    const built = synthesize({
      allowDelete: true,
      s3Events: { enabled: false },
      target: { account: '111111111111', createBucket: false, externalId: undefined },
    });
    const d = deployment(built.config, built.sourceTemplate.toJSON() as TemplateJson);
    const arns = resourceArns(built.config);

    // Act
    const list = await s3ActionsAllowed(
      d,
      arns.listRole,
      d.source.identityPolicies(roleIdByArn(d.source, arns.listRole)),
    );
    const copy = await s3ActionsAllowed(
      d,
      arns.copyRole,
      d.source.identityPolicies(roleIdByArn(d.source, arns.copyRole)),
    );

    // Assess
    expect(deletes(list)).toEqual(['target object: s3:DeleteObject']);
    expect(deletes(copy)).toEqual([]);
  });

  it('lets the list role prove a source key absent (HEAD answering 404) only with allowDelete', async () => {
    // Prepare: S3 answers a HEAD of a missing key with 404 only to a caller allowed s3:ListBucket on the
    // bucket as the HEAD asks it, with no s3:prefix in the request context
    const proofs = async (allowDelete: boolean) => {
      const d = crossAccount({ allowDelete });
      const arns = resourceArns(d.config);
      const policies = d.source.identityPolicies(roleIdByArn(d.source, arns.listRole));
      const account = d.config.source.account;
      const ask = (action: string, resource: string) =>
        isAllowed({ principal: arns.listRole, action, resource, resourceAccount: account }, policies);
      return {
        head: await ask('s3:GetObject', `${arns.sourceBucket}/${d.config.source.prefix}a/file.bin`),
        headOutside: await ask('s3:GetObject', `${arns.sourceBucket}/outside/file.bin`),
        listForHead: await ask('s3:ListBucket', arns.sourceBucket),
      };
    };

    // Act
    const withDelete = await proofs(true);
    const without = await proofs(false);

    // Assess
    expect(withDelete).toEqual({ head: true, headOutside: false, listForHead: true });
    expect(without).toEqual({ head: false, headOutside: false, listForHead: false });
  });

  it('rejects a scheduled mirror when the deployment does not allow deletes', () => {
    expect(() =>
      synthesize({ schedule: { expression: 'rate(1 day)', job: { options: { mode: 'sync', delete: true } } } }),
    ).toThrow(/schedule\.job\.options\.delete needs s3:DeleteObject .*"allowDelete": true/);
  });
});
