/**
 * IAM proofs for manifest jobs: the list role reads manifests only where the deployment's
 * `manifests` says, and HEADs source objects only then (or with the S3 event trigger); versioned rows get
 * s3:GetObjectVersion(Tagging) only with allowVersions. Each proof both ways.
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

const MANIFESTS = { bucket: 'example-manifests', prefix: 'lists/' };

async function listRoleMayRead(patch: Record<string, unknown>, key: string) {
  const d = crossAccount(patch);
  const listRole = resourceArns(d.config).listRole;
  return isAllowed(
    { principal: listRole, action: 's3:GetObject', resource: `arn:aws:s3:::${key}`, resourceAccount: '111111111111' },
    d.source.identityPolicies(roleIdByArn(d.source, listRole)),
  );
}

describe('IAM proofs for manifest jobs', () => {
  it('lets the list role read manifests under the configured prefix, and nowhere else', async () => {
    expect(await listRoleMayRead({ manifests: MANIFESTS }, 'example-manifests/lists/run-1.csv')).toBe(true);
    expect(await listRoleMayRead({ manifests: MANIFESTS }, 'example-manifests/other/run-1.csv')).toBe(false);
    expect(await listRoleMayRead({ manifests: MANIFESTS }, 'some-other-bucket/lists/run-1.csv')).toBe(false);
  });

  it('gives the list role no manifest read without "manifests" (the default)', async () => {
    expect(await listRoleMayRead({}, 'example-manifests/lists/run-1.csv')).toBe(false);
  });

  it('lets the list role HEAD source objects (and versions with allowVersions) with manifests', async () => {
    // Act
    const d = crossAccount({ manifests: MANIFESTS, allowVersions: true });
    const listRole = resourceArns(d.config).listRole;
    const allowed = await s3ActionsAllowed(d, listRole, d.source.identityPolicies(roleIdByArn(d.source, listRole)));

    // Assess: inside the source prefix only
    expect(allowed).toEqual([
      'source bucket: s3:ListBucket',
      'source object: s3:GetObject',
      'source object: s3:GetObjectVersion',
    ]);
  });

  it('lets the target role read source versions (and their tags) only with allowVersions', async () => {
    const versions = (actions: string[]) => actions.filter((action) => action.includes('Version'));
    expect(versions(await s3ActionsAllowedForTargetRole(crossAccount({ allowVersions: true })))).toEqual([
      'source object: s3:GetObjectVersion',
      'source object: s3:GetObjectVersionTagging',
    ]);
    expect(versions(await s3ActionsAllowedForTargetRole(crossAccount({})))).toEqual([]);
  });

  it('rejects a scheduled job whose manifest lies outside "manifests"', () => {
    expect(() =>
      synthesize({
        manifests: MANIFESTS,
        schedule: {
          expression: 'rate(1 day)',
          job: { source: { manifest: { bucket: 'example-manifests', key: 'elsewhere/run.csv' } } },
        },
      }),
    ).toThrow(/schedule\.job\.source\.manifest s3:\/\/example-manifests\/elsewhere\/run\.csv lies outside "manifests"/);
  });
});
