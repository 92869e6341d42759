import { resourceArns, resourceNames } from '../../infra/names';
import { kmsKeyPolicyStatements } from '../../infra/policies';
import {
  type Deployment,
  defaultKeyPolicy,
  deployment,
  functionsInvokableBy,
  kmsActionsAllowed,
  listablePrefixes,
  principalsThatMayAssumeTargetRole,
  roleIdByArn,
  rolesThatMayPublish,
  s3ActionsAllowed,
  s3ActionsAllowedForTargetRole,
} from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

/** The example deployment with the source bucket managed, so its bucket policy is in the template too. */
function synthesizeExample(patch: unknown = {}) {
  const built = synthesize(merge({ source: { createBucket: true } }, patch));
  const source = built.sourceTemplate.toJSON() as TemplateJson;
  const target = built.targetTemplate?.toJSON() as TemplateJson;
  return { config: built.config, source, target };
}

function merge(a: Record<string, unknown>, b: unknown): Record<string, unknown> {
  return {
    ...a,
    ...(b as Record<string, unknown>),
    source: { ...(a.source as object), ...((b as { source?: object }).source ?? {}) },
  };
}

/** What the copy needs, exactly (infra/policies.ts SOURCE_OBJECT_ACTIONS / TARGET_OBJECT_ACTIONS). */
const EXPECTED_TARGET_ROLE_S3 = [
  'source bucket: s3:ListBucket',
  'source object: s3:GetObject',
  'source object: s3:GetObjectTagging',
  'target bucket: s3:ListBucket',
  'target bucket: s3:ListBucketMultipartUploads',
  'target object: s3:AbortMultipartUpload',
  'target object: s3:GetObject',
  'target object: s3:GetObjectTagging',
  'target object: s3:PutObject',
  'target object: s3:PutObjectTagging',
].sort();

/** Finds the target role's inline statement that grants writes on the target prefix. */
function widenTargetRole(target: TemplateJson, extraAction: string): TemplateJson {
  const widened = structuredClone(target);
  for (const resource of Object.values(widened.Resources)) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const policies = (resource.Properties?.Policies ?? []) as Array<{
      PolicyDocument: { Statement: Array<{ Sid?: string; Action: string[] }> };
    }>;
    for (const policy of policies) {
      for (const statement of policy.PolicyDocument.Statement) {
        if (statement.Sid === 'WriteTargetPrefix') statement.Action.push(extraAction);
      }
    }
  }
  return widened;
}

describe('IAM proofs over the synthesized example deployment', () => {
  const example = synthesizeExample();
  const d: Deployment = deployment(example.config, example.source, example.target);
  const arns = resourceArns(example.config);

  describe('who may assume the target role', () => {
    it('allows exactly the copy, list and events roles when sync is allowed and S3 events are copied directly', async () => {
      // Act
      const allowed = await principalsThatMayAssumeTargetRole(d);
      // Assert: no other role of the source stack, and not an administrator of the source account
      expect(allowed.sort()).toEqual([arns.copyRole, arns.listRole, arns.eventsRole].sort());
    });

    it('allows only the copy role when sync is not allowed and events go through the pipe', async () => {
      // Arrange
      const noSync = synthesizeExample({ allowSync: false, s3Events: { delivery: 'pipe' } });
      // Act
      const allowed = await principalsThatMayAssumeTargetRole(deployment(noSync.config, noSync.source, noSync.target));
      // Assert
      expect(allowed).toEqual([arns.copyRole]);
    });

    it('allows nobody without the configured ExternalId', async () => {
      expect(await principalsThatMayAssumeTargetRole(d, 'wrong-external-id')).toEqual([]);
    });

    it('fails the proof when the trust drops its aws:PrincipalArn condition', async () => {
      // Arrange: the widening a careless edit would make
      const widened = structuredClone(example.target);
      for (const resource of Object.values(widened.Resources)) {
        if (resource.Type !== 'AWS::IAM::Role') continue;
        const trust = resource.Properties?.AssumeRolePolicyDocument as {
          Statement: Array<{ Condition: Record<string, unknown> }>;
        };
        for (const statement of trust.Statement) delete statement.Condition.ArnEquals;
      }
      // Act
      const allowed = await principalsThatMayAssumeTargetRole(deployment(example.config, example.source, widened));
      // Assert: any source-account principal with sts:AssumeRole in its own policies now gets in
      expect(allowed.sort()).toEqual(
        [
          arns.copyRole,
          arns.listRole,
          arns.eventsRole,
          `arn:aws:iam::${example.config.source.account}:role/administrator`,
        ].sort(),
      );
    });
  });

  describe('what the target role may do in S3', () => {
    it('allows exactly the reads and writes the copy needs, inside both prefixes, and nothing else', async () => {
      // Act: every S3 action, on each bucket, an object inside and an object outside each prefix
      const allowed = await s3ActionsAllowedForTargetRole(d);
      // Assert
      expect(allowed).toEqual(EXPECTED_TARGET_ROLE_S3);
    });

    it('fails the sweep when a policy is widened by one action', async () => {
      // Arrange
      const widened = deployment(example.config, example.source, widenTargetRole(example.target, 's3:DeleteObject'));
      // Act
      const allowed = await s3ActionsAllowedForTargetRole(widened);
      // Assert
      expect(allowed).not.toEqual(EXPECTED_TARGET_ROLE_S3);
      expect(allowed).toContain('target object: s3:DeleteObject');
    });

    it('cannot read the source without the source bucket policy (cross-account needs both sides)', async () => {
      // Arrange: the source bucket left without our statements
      const withoutPolicy = structuredClone(example.source);
      for (const [id, resource] of Object.entries(withoutPolicy.Resources)) {
        if (resource.Type === 'AWS::S3::BucketPolicy') delete withoutPolicy.Resources[id];
      }
      // Act
      const allowed = await s3ActionsAllowedForTargetRole(deployment(example.config, withoutPolicy, example.target));
      // Assert
      expect(allowed.filter((entry) => entry.startsWith('source'))).toEqual([]);
    });

    describe('listing a full key, as the copy engine does to tell a missing object from a forbidden one', () => {
      /** Full keys and prefixes the engine may list with (MaxKeys 1), inside and outside the configured prefix. */
      const probes = (prefix: string) => [
        `${prefix}a/deep/file.bin`,
        `${prefix}file with spaces+plus.bin`,
        prefix,
        'outside/file.bin',
        prefix.slice(0, -1),
        '',
      ];

      it.each(['source', 'target'] as const)(
        'lets the target role list a full key under the %s prefix, and nothing outside it',
        async (side) => {
          // Arrange
          const prefix = example.config[side].prefix;
          const roleId = d.target?.idsOfType('AWS::IAM::Role')[0] as string;
          // Act
          const allowed = await listablePrefixes(
            d,
            arns.targetRole,
            d.target?.identityPolicies(roleId) ?? [],
            side,
            probes(prefix),
          );
          // Assert: "data/a/deep/file.bin" yes; "outside/...", "data" (no slash) and "" (everything) no
          expect(allowed).toEqual([`${prefix}a/deep/file.bin`, `${prefix}file with spaces+plus.bin`, prefix]);
        },
      );

      it('lets the list role (keys mode HEADs event-named objects) list a full key under the source prefix only', async () => {
        const allowed = await listablePrefixes(
          d,
          arns.listRole,
          d.source.identityPolicies(roleIdByArn(d.source, arns.listRole)),
          'source',
          probes(example.config.source.prefix),
        );
        const prefix = example.config.source.prefix;
        expect(allowed).toEqual([`${prefix}a/deep/file.bin`, `${prefix}file with spaces+plus.bin`, prefix]);
      });

      it('needs the source bucket policy for that listing too', async () => {
        // Arrange
        const withoutPolicy = structuredClone(example.source);
        for (const [id, resource] of Object.entries(withoutPolicy.Resources)) {
          if (resource.Type === 'AWS::S3::BucketPolicy') delete withoutPolicy.Resources[id];
        }
        const bare = deployment(example.config, withoutPolicy, example.target);
        const roleId = d.target?.idsOfType('AWS::IAM::Role')[0] as string;
        // Act
        const allowed = await listablePrefixes(
          bare,
          arns.targetRole,
          d.target?.identityPolicies(roleId) ?? [],
          'source',
          probes(example.config.source.prefix),
        );
        // Assert
        expect(allowed).toEqual([]);
      });
    });

    it('gives the copy role no direct access to either bucket cross-account', async () => {
      const allowed = await s3ActionsAllowed(
        d,
        arns.copyRole,
        d.source.identityPolicies(roleIdByArn(d.source, arns.copyRole)),
      );
      expect(allowed).toEqual([]);
    });

    it('lets the list role list the source prefix and HEAD the objects events name when a pipe delivers them', async () => {
      // With delivery "pipe", keys mode HEADs each object (authorised as s3:GetObject).
      const piped = synthesizeExample({ s3Events: { delivery: 'pipe' } });
      const dp = deployment(piped.config, piped.source, piped.target);
      const allowed = await s3ActionsAllowed(
        dp,
        arns.listRole,
        dp.source.identityPolicies(roleIdByArn(dp.source, arns.listRole)),
      );
      expect(allowed).toEqual(['source bucket: s3:ListBucket', 'source object: s3:GetObject']);
    });

    it('lets the list role only list the source prefix when the events function copies S3 events itself', async () => {
      const allowed = await s3ActionsAllowed(
        d,
        arns.listRole,
        d.source.identityPolicies(roleIdByArn(d.source, arns.listRole)),
      );
      expect(allowed).toEqual(['source bucket: s3:ListBucket']);
    });

    it('lets the list role only list the source prefix when the S3 event trigger is off', async () => {
      const noEvents = synthesizeExample({ s3Events: { enabled: false } });
      const dn = deployment(noEvents.config, noEvents.source, noEvents.target);
      const allowed = await s3ActionsAllowed(
        dn,
        arns.listRole,
        dn.source.identityPolicies(roleIdByArn(dn.source, arns.listRole)),
      );
      expect(allowed).toEqual(['source bucket: s3:ListBucket']);
    });
  });

  describe('the state machine and the notify function', () => {
    const names = resourceNames(example.config);
    const stateMachineRole = () =>
      d.source
        .idsOfType('AWS::IAM::Role')
        .find((id) =>
          JSON.stringify(example.source.Resources[id]?.Properties?.AssumeRolePolicyDocument).includes(
            'states.amazonaws.com',
          ),
        ) as string;

    it('lets the state machine invoke exactly its three functions', async () => {
      const allowed = await functionsInvokableBy(d, d.source.roleArn(stateMachineRole()));
      expect(allowed).toEqual([names.copyFunction, names.listFunction, names.notifyFunction].sort());
    });

    it('lets no function invoke another', async () => {
      for (const roleArn of [arns.listRole, arns.copyRole, arns.notifyRole]) {
        expect(await functionsInvokableBy(d, roleArn)).toEqual([]);
      }
    });

    it('lets only the notify, events and events digest functions publish to the topic', async () => {
      expect(await rolesThatMayPublish(d, arns.topic)).toEqual(
        [arns.digestRole, arns.eventsRole, arns.notifyRole].sort(),
      );
    });

    it('lets the notify function publish to no other topic', async () => {
      const otherTopic = arns.topic.replace(names.topic, 'someone-elses-topic');
      expect(await rolesThatMayPublish(d, otherTopic)).toEqual([]);
    });
  });
});

describe('IAM proofs for SSE-KMS keys', () => {
  const SOURCE_KEY = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555';
  const TARGET_KEY = 'arn:aws:kms:eu-west-1:222222222222:key/66666666-7777-8888-9999-000000000000';
  const withKeys = synthesizeExample({ source: { kmsKeyArn: SOURCE_KEY }, target: { kmsKeyArn: TARGET_KEY } });
  const d = deployment(withKeys.config, withKeys.source, withKeys.target);
  const arns = resourceArns(withKeys.config);
  const keyStatements = kmsKeyPolicyStatements(withKeys.config);

  it('lets the target role decrypt source objects through S3 once the source key policy has the printed statement', async () => {
    // Arrange: the source key's policy as a new key has it, plus what `s3xcopy policies --only source-key` prints
    const keyPolicy = defaultKeyPolicy(SOURCE_KEY, keyStatements.source?.statements);
    // Act
    const allowed = await kmsActionsAllowed(d, arns.targetRole, SOURCE_KEY, keyPolicy, 'eu-west-1');
    // Assert
    expect(keyStatements.source?.keyArn).toBe(SOURCE_KEY);
    expect(allowed).toEqual(['kms:Decrypt']);
  });

  it('denies the target role the source key without that statement: cross-account, the key policy must name it', async () => {
    const allowed = await kmsActionsAllowed(d, arns.targetRole, SOURCE_KEY, defaultKeyPolicy(SOURCE_KEY), 'eu-west-1');
    expect(allowed).toEqual([]);
  });

  it('denies the target role the source key outside S3 (kms:ViaService), even with the statement', async () => {
    const keyPolicy = defaultKeyPolicy(SOURCE_KEY, keyStatements.source?.statements);
    expect(await kmsActionsAllowed(d, arns.targetRole, SOURCE_KEY, keyPolicy, null)).toEqual([]);
    expect(await kmsActionsAllowed(d, arns.targetRole, SOURCE_KEY, keyPolicy, 'us-east-1')).toEqual([]);
  });

  it('needs no target key policy change for a key in the target account: the target role encrypts through S3', async () => {
    // Act
    const allowed = await kmsActionsAllowed(d, arns.targetRole, TARGET_KEY, defaultKeyPolicy(TARGET_KEY), 'eu-west-1');
    // Assert
    expect(keyStatements.target).toBeUndefined();
    expect(allowed).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });

  it('prints a target key statement, and it works, when the target key lives in another account', async () => {
    // Arrange: a target key kept in the source account
    const foreignKey = 'arn:aws:kms:eu-west-1:111111111111:key/66666666-7777-8888-9999-000000000000';
    const built = synthesizeExample({ target: { kmsKeyArn: foreignKey } });
    const statements = kmsKeyPolicyStatements(built.config).target?.statements;
    const df = deployment(built.config, built.source, built.target);
    // Act
    const without = await kmsActionsAllowed(df, arns.targetRole, foreignKey, defaultKeyPolicy(foreignKey), 'eu-west-1');
    const withStatement = await kmsActionsAllowed(
      df,
      arns.targetRole,
      foreignKey,
      defaultKeyPolicy(foreignKey, statements),
      'eu-west-1',
    );
    // Assert
    expect(without).toEqual([]);
    expect(withStatement).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });

  it('gives the source account roles no use of either key', async () => {
    const keyPolicy = defaultKeyPolicy(SOURCE_KEY, keyStatements.source?.statements);
    for (const role of [arns.copyRole, arns.listRole, arns.notifyRole]) {
      expect(await kmsActionsAllowed(d, role, SOURCE_KEY, keyPolicy, 'eu-west-1')).toEqual([]);
      expect(await kmsActionsAllowed(d, role, TARGET_KEY, defaultKeyPolicy(TARGET_KEY), 'eu-west-1')).toEqual([]);
    }
  });
});

describe('IAM proofs for a same-account deployment', () => {
  it('gives the copy role exactly the copy access itself, since there is no target role', async () => {
    // Arrange
    const built = synthesize({ target: { account: '111111111111', createBucket: false, externalId: undefined } });
    const d = deployment(built.config, built.sourceTemplate.toJSON() as TemplateJson);
    const arns = resourceArns(built.config);
    const roleId = d.source.idsOfType('AWS::IAM::Role').find((id) => d.source.roleArn(id) === arns.copyRole) as string;
    // Act
    const allowed = await s3ActionsAllowed(d, arns.copyRole, d.source.identityPolicies(roleId));
    // Assert
    expect(built.target).toBeUndefined();
    expect(allowed).toEqual(EXPECTED_TARGET_ROLE_S3);
  });

  it.each(['source', 'target'] as const)(
    'lets the copy role list a full key under the %s prefix, and nothing outside it',
    async (side) => {
      // Arrange
      const built = synthesize({ target: { account: '111111111111', createBucket: false, externalId: undefined } });
      const d = deployment(built.config, built.sourceTemplate.toJSON() as TemplateJson);
      const arns = resourceArns(built.config);
      const prefix = built.config[side].prefix;
      // Act
      const allowed = await listablePrefixes(
        d,
        arns.copyRole,
        d.source.identityPolicies(roleIdByArn(d.source, arns.copyRole)),
        side,
        [`${prefix}a/deep/file.bin`, 'outside/file.bin', ''],
      );
      // Assert
      expect(allowed).toEqual([`${prefix}a/deep/file.bin`]);
    },
  );
});
