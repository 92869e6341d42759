import { resourceArns } from '../../infra/names';
import { deployment, isAllowed, roleIdByArn } from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

/**
 * Identity records (functions/shared/identity-record.ts) under the deployed policies: the copy and events
 * functions write them, the list function only lists them (and, for mirror deletes, deletes them), and
 * nobody but the events function reads one.
 */
const synthesized = new Map<string, ReturnType<typeof synthesize>>();

/** What a role of the deployment `patch` may do to one identity record (each deployment synthesized once). */
function rolesOf(patch: unknown) {
  const id = JSON.stringify(patch);
  const built = synthesized.get(id) ?? synthesize(patch);
  synthesized.set(id, built);
  const d = deployment(built.config, built.sourceTemplate.toJSON() as TemplateJson);
  const arns = resourceArns(built.config);
  const record = `${arns.stateBucket}/identity/0123456789abcdef/data/a.bin`;
  const rightsOf = (role: string) => {
    const policies = d.source.identityPolicies(roleIdByArn(d.source, role));
    const can = (action: string, resource: string, context?: Record<string, string>) =>
      isAllowed(
        {
          principal: role,
          action,
          resource,
          resourceAccount: built.config.source.account,
          ...(context ? { context } : {}),
        },
        policies,
      );
    return async () => ({
      put: await can('s3:PutObject', record),
      get: await can('s3:GetObject', record),
      delete: await can('s3:DeleteObject', record),
      list: await can('s3:ListBucket', arns.stateBucket, { 's3:prefix': 'identity/0123456789abcdef/' }),
      writeOutside: await can('s3:PutObject', `${arns.stateBucket}/identity-x/a.bin`),
    });
  };
  return { arns, rightsOf };
}

describe('identity records in the state bucket', () => {
  it('lets the copy role only write them', async () => {
    // Arrange
    const { arns, rightsOf } = rolesOf({});
    const rights = rightsOf(arns.copyRole);

    // Act / Assert
    expect(await rights()).toEqual({ put: true, get: false, delete: false, list: false, writeOutside: false });
  });

  it('lets the list role only list them, and delete them only when the deployment allows deletes', async () => {
    // Arrange
    const [plain, deleting] = [rolesOf({}), rolesOf({ allowDelete: true })];

    // Act
    const without = await plain.rightsOf(plain.arns.listRole)();
    const withDeletes = await deleting.rightsOf(deleting.arns.listRole)();

    // Assert
    expect(without).toEqual({ put: false, get: false, delete: false, list: true, writeOutside: false });
    expect(withDeletes).toEqual({ put: false, get: false, delete: true, list: true, writeOutside: false });
  });

  it('lets the events role head (get), write and list them, never delete them', async () => {
    // Arrange: the example deployment with S3 events delivered to the events function.
    const { arns, rightsOf } = rolesOf({ source: { createBucket: true } });
    const rights = rightsOf(arns.eventsRole);

    // Act / Assert
    expect(await rights()).toEqual({ put: true, get: true, delete: false, list: true, writeOutside: false });
  });
});
