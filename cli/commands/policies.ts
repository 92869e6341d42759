/**
 * `s3xcopy policies`: prints, as JSON, the policies to apply by hand when the deployment does not own a
 * resource: the source bucket policy statements, the KMS key policy statements (keys in another account
 * than the role that copies), the target role's trust and permissions, and the function roles'
 * statements, and, for an existing source bucket with the S3 event trigger, its notification
 * configuration and the events queue's policy. The JSON comes from infra/policies.ts, the same code the
 * stacks deploy.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { CONTEXT_KEY, type InfraConfig, InfraConfigError, parseInfraConfig } from '../../infra/config';
import { copyingRoleArn, handAppliedPolicies, type KeyPolicyStatements } from '../../infra/policies';
import { UsageError } from '../errors';
import type { CliIo } from '../io';
import { parseS3Uri } from '../job-flags';
import { COMMAND_DESCRIPTIONS } from './descriptions';

interface PolicyFlags {
  config?: string;
  sourceAccount?: string;
  sourceRegion?: string;
  sourceBucket?: string;
  sourceBucketAccount?: string;
  sourceBucketRegion?: string;
  sourcePrefix?: string;
  sourceKmsKeyArn?: string;
  targetAccount?: string;
  targetRegion?: string;
  targetBucket?: string;
  targetPrefix?: string;
  targetKmsKeyArn?: string;
  externalId?: string;
  namePrefix?: string;
  partition?: string;
  sync: boolean;
  manifests?: string;
  allowVersions?: boolean;
  only?: string;
}

/** The pieces `--only` can select, each ready for the AWS CLI or the console. */
export const POLICY_PARTS = [
  'source-bucket',
  'source-key',
  'target-key',
  'target-trust',
  'target-permissions',
  'function-roles',
  'source-notifications',
  'events-queue',
] as const;
type PolicyPart = (typeof POLICY_PARTS)[number];

/** Said on stderr with the notification configuration: putting it replaces the bucket's whole configuration. */
const NOTIFICATIONS_NOTE =
  "put-bucket-notification-configuration replaces the bucket's whole notification configuration: fetch the " +
  'current one (aws s3api get-bucket-notification-configuration --bucket BUCKET), add this entry to it, then ' +
  'put it back (--notification-configuration file://notif.json). Deploy first: S3 checks that the queue exists ' +
  'and admits the bucket.\n';

/**
 * The parts `--only` prints, each ready for the AWS CLI or the console.
 * @throws UsageError when the part asked for does not exist in this deployment
 */
function policyParts(config: InfraConfig, policies: ReturnType<typeof handAppliedPolicies>, only?: string) {
  const keys = policies.kmsKeyPolicyStatements;
  const keyPolicy = (side: 'source' | 'target') => ({ Version: '2012-10-17', Statement: keys[side]?.statements ?? [] });
  const notifications = policies.sourceBucketNotifications;
  const missing =
    (only === 'source-notifications' && !notifications) || (only === 'events-queue' && !notifications?.queuePolicy);
  if (missing) {
    const why = !config.s3Events.enabled
      ? 's3Events.enabled is false'
      : config.source.createBucket
        ? 'the stack manages the source bucket (source.createBucket) and sets its notifications itself'
        : `no queue is fed by the bucket's notifications with s3Events.delivery "${config.s3Events.delivery}" and source "${config.s3Events.source}" (EventBridge notifications: --only source-notifications)`;
    throw new UsageError(`--only ${only}: nothing to apply by hand: ${why}.`);
  }
  const parts: Record<PolicyPart, unknown> = {
    'source-bucket': { Version: '2012-10-17', Statement: policies.sourceBucketPolicyStatements },
    'source-key': keyPolicy('source'),
    'target-key': keyPolicy('target'),
    'target-trust': policies.targetRole.trustPolicy,
    'target-permissions': policies.targetRole.permissionsPolicy,
    'function-roles': policies.functionRoleStatements,
    'source-notifications': notifications?.notificationConfiguration,
    'events-queue': notifications?.queuePolicy,
  };
  return parts;
}

/**
 * Why a key needs no key-policy statement, or undefined when it does. Said on stderr, so `--only` output
 * stays pure JSON.
 */
function keyNote(config: InfraConfig, side: 'source' | 'target', needed: KeyPolicyStatements | undefined) {
  if (needed) return undefined;
  const keyArn = config[side].kmsKeyArn;
  if (!keyArn) return `No ${side}.kmsKeyArn configured (--${side}-kms-key-arn): no key policy to change.`;
  return (
    `The ${side} key ${keyArn} is in the same account as ${copyingRoleArn(config)}, which copies: its identity ` +
    "policy is enough while the key policy keeps KMS's default statement that lets IAM policies grant access."
  );
}

/**
 * The deployment configuration: the `s3xcopy` context of a cdk.json (given, or ./cdk.json when present),
 * with the flags on top.
 * @throws UsageError for an unreadable file or an invalid configuration, naming the field or flag
 */
export function configFromFlags(flags: PolicyFlags, cwd = process.cwd()): InfraConfig {
  const file = flags.config ?? (existsSync(path.join(cwd, 'cdk.json')) ? path.join(cwd, 'cdk.json') : undefined);
  let base: Record<string, unknown> = {};
  if (file) {
    try {
      const cdkJson = JSON.parse(readFileSync(path.resolve(cwd, file), 'utf8')) as {
        context?: Record<string, unknown>;
      };
      base = structuredClone((cdkJson.context?.[CONTEXT_KEY] as Record<string, unknown> | undefined) ?? {});
    } catch (error) {
      throw new UsageError(`--config: cannot read ${file} as a cdk.json: ${(error as Error).message}`);
    }
  }
  const section = (name: 'source' | 'target') => (base[name] ?? {}) as Record<string, unknown>;
  const set = (target: Record<string, unknown>, key: string, value: unknown) => {
    if (value !== undefined) target[key] = value;
  };
  const source = { ...section('source') };
  const target = { ...section('target') };
  set(source, 'account', flags.sourceAccount);
  set(source, 'region', flags.sourceRegion);
  set(source, 'bucket', flags.sourceBucket);
  set(source, 'bucketAccount', flags.sourceBucketAccount);
  set(source, 'bucketRegion', flags.sourceBucketRegion);
  set(source, 'prefix', flags.sourcePrefix);
  set(source, 'kmsKeyArn', flags.sourceKmsKeyArn);
  set(target, 'account', flags.targetAccount);
  set(target, 'region', flags.targetRegion ?? (target.region === undefined ? source.region : undefined));
  set(target, 'bucket', flags.targetBucket);
  set(target, 'prefix', flags.targetPrefix);
  set(target, 'kmsKeyArn', flags.targetKmsKeyArn);
  set(target, 'externalId', flags.externalId);
  const config: Record<string, unknown> = { ...base, source, target };
  set(config, 'namePrefix', flags.namePrefix);
  set(config, 'partition', flags.partition);
  if (!flags.sync) config.allowSync = false;
  // Where manifests live, and versioned rows.
  if (flags.manifests !== undefined) config.manifests = parseS3Uri(flags.manifests, '--manifests');
  if (flags.allowVersions) config.allowVersions = true;
  try {
    return parseInfraConfig(config);
  } catch (error) {
    if (error instanceof InfraConfigError) {
      throw new UsageError(
        `${error.message}. Pass the deployment with --config cdk.json or flags (--source-account, --source-bucket, ...).`,
      );
    }
    throw error;
  }
}

/** Registers `s3xcopy policies`. */
export function register(program: Command, io: CliIo): void {
  program
    .command('policies')
    .description(COMMAND_DESCRIPTIONS.policies)
    .option('--config <file>', 'a cdk.json with an s3xcopy context (default: ./cdk.json if present)')
    .option('--source-account <id>', 'account that runs the workflow')
    .option('--source-region <region>', 'region of the workflow and the source bucket')
    .option('--source-bucket <bucket>', 'source bucket')
    .option(
      '--source-bucket-account <id>',
      'account that owns the source bucket, when it is not the workflow account (a third account)',
    )
    .option('--source-bucket-region <region>', "region of the source bucket, when it is not the workflow's")
    .option('--source-prefix <prefix>', 'source prefix ("" for the whole bucket)')
    .option(
      '--source-kms-key-arn <arn>',
      'KMS key of SSE-KMS source objects (its key policy must allow the target role)',
    )
    .option('--target-account <id>', 'account that owns the target bucket')
    .option('--target-region <region>', 'region of the target bucket (default: the source region)')
    .option('--target-bucket <bucket>', 'target bucket')
    .option('--target-prefix <prefix>', 'target prefix')
    .option('--target-kms-key-arn <arn>', 'KMS key for SSE-KMS target objects')
    .option('--external-id <id>', 'ExternalId the target role requires')
    .option('--name-prefix <prefix>', 'prefix of the fixed role names (default s3xcopy)')
    .option('--partition <partition>', 'aws, aws-cn or aws-us-gov')
    .option('--no-sync', 'jobs never use sync mode: the target role trusts the copy role only')
    .option(
      '--manifests <uri>',
      's3://BUCKET/PREFIX where jobs keep manifests (--manifest): the list role may read them and HEAD source objects',
    )
    .option(
      '--allow-versions',
      'manifest rows may name versions: s3:GetObjectVersion and s3:GetObjectVersionTagging on the source prefix',
    )
    .option('--only <part>', `print one part: ${POLICY_PARTS.join(', ')}`)
    .action((flags: PolicyFlags) => {
      if (flags.only !== undefined && !(POLICY_PARTS as readonly string[]).includes(flags.only)) {
        throw new UsageError(`--only: "${flags.only}" is not one of ${POLICY_PARTS.join(', ')}.`);
      }
      const config = configFromFlags(flags);
      const policies = handAppliedPolicies(config);
      const parts = policyParts(config, policies, flags.only);
      for (const side of ['source', 'target'] as const) {
        if (flags.only !== undefined && flags.only !== `${side}-key`) continue;
        const note = keyNote(config, side, policies.kmsKeyPolicyStatements[side]);
        // Without --only, a note only where a key is configured: most deployments have no key at all.
        if (note && (flags.only !== undefined || config[side].kmsKeyArn)) io.stderr(`${note}\n`);
      }
      if (policies.sourceBucketNotifications && (flags.only === undefined || flags.only === 'source-notifications')) {
        io.stderr(NOTIFICATIONS_NOTE);
      }
      const output = flags.only ? parts[flags.only as PolicyPart] : policies;
      io.stdout(`${JSON.stringify(output, null, 2)}\n`);
    });
}
