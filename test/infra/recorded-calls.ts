/**
 * Holds recorded AWS calls (functions/shared/call-recorder.ts) against a synthesized deployment: each call
 * becomes the IAM actions it needs (test/support/iam-actions.ts), each action is evaluated by iam-simulate
 * for the identity that made the call, with its identity policies and the resource's policy (bucket
 * policy, the target role's trust, topic policy, key policy), exactly as the templates hold them.
 *
 * The recorded bucket names must be the deployment's (source, target, state, manifests): a call on a bucket
 * the deployment does not know throws, rather than passing unchecked.
 */
import { readFileSync } from 'node:fs';
import type { RecordedCall } from '../../functions/shared/call-recorder';
import { sourceBucketAccount } from '../../infra/config';
import { resourceArns, resourceNames } from '../../infra/names';
import { actionsFor, type NeededAction } from '../support/iam-actions';
import { type Deployment, isAllowed, roleIdByArn } from './iam-proofs';
import type { TemplateResolver } from './resolve-template';

/** Reads a recording (JSON lines). */
export function readRecording(file: string): RecordedCall[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedCall);
}

/** One action a call needed that the deployment does not allow. */
export interface Denial {
  identity: RecordedCall['identity'];
  command: string;
  action: string;
  resource: string;
}

export interface CallCheck {
  /** Calls held against the templates (the CLI user's own calls are not: no template governs them). */
  checked: number;
  /** Distinct `identity action` pairs evaluated. */
  distinctActions: string[];
  denials: Denial[];
}

interface Evaluation {
  principal: string;
  policies: Array<{ name: string; policy: unknown }>;
  resource: string;
  account: string;
  resourcePolicy?: unknown;
}

function principalOf(d: Deployment, identity: RecordedCall['identity']) {
  const arns = resourceArns(d.config);
  if (identity === 'target') {
    if (!d.target) throw new Error('a call was made as the target role, but the deployment has no target stack');
    return { arn: arns.targetRole, policies: d.target.identityPolicies(roleIdByArn(d.target, arns.targetRole)) };
  }
  if (identity === 'stateMachine') {
    const id = d.source
      .idsOfType('AWS::IAM::Role')
      .find((roleId) => JSON.stringify(d.source.trustPolicy(roleId)).includes('states.amazonaws.com'));
    if (!id) throw new Error('the source template has no state machine role');
    return { arn: d.source.roleArn(id), policies: d.source.identityPolicies(id) };
  }
  if (identity === 'cli') throw new Error('the CLI user has no deployed policy');
  const arn = { list: arns.listRole, copy: arns.copyRole, notify: arns.notifyRole, events: arns.eventsRole }[identity];
  return { arn, policies: d.source.identityPolicies(roleIdByArn(d.source, arn)) };
}

function topicKey(d: Deployment): { arn: string; policy: unknown } {
  const topicId = d.source.idsOfType('AWS::SNS::Topic')[0] as string;
  const keyRef = d.source.template.Resources[topicId]?.Properties?.KmsMasterKeyId as { 'Fn::GetAtt'?: [string] };
  const keyId = keyRef?.['Fn::GetAtt']?.[0];
  if (!keyId) throw new Error('the topic has no customer-managed key');
  return { arn: d.source.keyArn(keyId), policy: d.source.keyPolicy(keyId) };
}

/** The bucket's ARN, account and policy, for a bucket of the deployment. */
function bucketOf(d: Deployment, bucket: string) {
  const { config } = d;
  const names = resourceNames(config);
  const targetSide: TemplateResolver = d.target ?? d.source;
  if (bucket === config.source.bucket) {
    return {
      account: sourceBucketAccount(config),
      policy: d.source.bucketPolicy(bucket) ?? d.sourceBucketPolicy,
    };
  }
  if (bucket === config.target.bucket)
    return { account: config.target.account, policy: targetSide.bucketPolicy(bucket) };
  if (bucket === names.stateBucket) return { account: config.source.account, policy: d.source.bucketPolicy(bucket) };
  if (config.manifests && bucket === config.manifests.bucket) return { account: config.source.account };
  throw new Error(
    `a recorded call names bucket ${bucket}, which is not one of the deployment's (source ${config.source.bucket}, ` +
      `target ${config.target.bucket}, state ${names.stateBucket}): run the recording with the deployment's names`,
  );
}

function evaluationOf(d: Deployment, needed: NeededAction): Omit<Evaluation, 'principal' | 'policies'> {
  const arns = resourceArns(d.config);
  const r = needed.resource;
  switch (r.kind) {
    case 's3-object':
    case 's3-bucket': {
      const bucket = bucketOf(d, r.bucket);
      const arn = `arn:${d.config.partition}:s3:::${r.bucket}${r.kind === 's3-object' ? `/${r.key}` : ''}`;
      return { resource: arn, account: bucket.account, ...(bucket.policy ? { resourcePolicy: bucket.policy } : {}) };
    }
    case 'role': {
      // The only role s3xcopy assumes is the deployment's target role (on Ceph its ARN has no account).
      if (!d.target) throw new Error(`AssumeRole of ${r.arn} in a deployment without a target stack`);
      const id = roleIdByArn(d.target, arns.targetRole);
      return { resource: arns.targetRole, account: d.config.target.account, resourcePolicy: d.target.trustPolicy(id) };
    }
    case 'topic':
      return {
        resource: arns.topic,
        account: d.config.source.account,
        resourcePolicy: d.source.topicPolicy(arns.topic),
      };
    case 'topic-key': {
      const key = topicKey(d);
      return { resource: key.arn, account: d.config.source.account, resourcePolicy: key.policy };
    }
    case 'function': {
      const suffix = r.name.slice(r.name.lastIndexOf('-') + 1) as 'list' | 'copy' | 'notify';
      const arn = { list: arns.listFunction, copy: arns.copyFunction, notify: arns.notifyFunction }[suffix];
      if (!arn) throw new Error(`the state machine invoked ${r.name}, which is not a function of the deployment`);
      return { resource: arn, account: d.config.source.account };
    }
    case 'state-machine':
      return { resource: arns.stateMachine, account: d.config.source.account };
    case 'any':
      return { resource: '*', account: d.config.source.account };
  }
}

/**
 * Evaluates every recorded call (but the CLI user's) against the deployment.
 * @throws when a call's command is not mapped to IAM actions, or names a resource the deployment lacks
 */
export async function checkRecordedCalls(
  d: Deployment,
  calls: RecordedCall[],
  /** Recorded bucket name -> the deployment's (a local run's in-process state store stands for the state bucket). */
  aliases: Record<string, string> = {},
): Promise<CallCheck> {
  const denials: Denial[] = [];
  const distinct = new Set<string>();
  const verdicts = new Map<string, boolean | undefined>();
  let checked = 0;
  for (const call of calls) {
    const needed = actionsFor(call).map((action) =>
      'bucket' in action.resource && aliases[action.resource.bucket]
        ? { ...action, resource: { ...action.resource, bucket: aliases[action.resource.bucket] as string } }
        : action,
    );
    if (call.identity === 'cli') continue;
    checked++;
    const principal = principalOf(d, call.identity);
    for (const action of needed) {
      const where = evaluationOf(d, action);
      distinct.add(`${call.identity} ${action.action}`);
      const cacheKey = JSON.stringify([call.identity, action.action, where.resource, action.context]);
      let allowed = verdicts.get(cacheKey);
      if (!verdicts.has(cacheKey)) {
        allowed = await isAllowed(
          {
            principal: principal.arn,
            action: action.action,
            resource: where.resource,
            resourceAccount: where.account,
            ...(action.context ? { context: action.context } : {}),
          },
          principal.policies,
          where.resourcePolicy,
        );
        verdicts.set(cacheKey, allowed);
      }
      if (allowed !== true) {
        denials.push({
          identity: call.identity,
          command: call.command,
          action: action.action,
          resource: where.resource,
        });
      }
    }
  }
  return { checked, distinctActions: [...distinct].sort(), denials };
}
