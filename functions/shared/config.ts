import { z } from 'zod';
import { InvalidJobError } from './errors';
import { describeIssues, type JobDefaults, JobInputSchema } from './job';

/**
 * The deployment's settings, read from the Lambda environment once per cold start. A bad value fails
 * the cold start with a message naming the variable, rather than every job later.
 */
export interface DeploymentConfig {
  defaults: JobDefaults;
  /** Bucket for manifests and results (list writes, the Distributed Map reads and writes). */
  stateBucket?: string;
  topicArn?: string;
  notifyOnSuccess: boolean;
  /**
   * Whether the role that copies may set object ACLs (s3:PutObjectAcl). false: jobs with options.acl are
   * rejected. undefined (no S3XCOPY_ALLOW_ACL, as in local runs): not checked, the caller's credentials decide.
   */
  allowAcl?: boolean;
  /** Regions of buckets the deployment knows (S3XCOPY_BUCKET_REGIONS); others are discovered once per bucket. */
  bucketRegions?: Record<string, string>;
  /** The Distributed Map's MaxConcurrency (S3XCOPY_MAP_MAX_CONCURRENCY): the List step plans whole rounds of it. */
  mapMaxConcurrency?: number;
}

export const ENV = {
  sourceBucket: 'S3XCOPY_SOURCE_BUCKET',
  sourcePrefix: 'S3XCOPY_SOURCE_PREFIX',
  targetBucket: 'S3XCOPY_TARGET_BUCKET',
  targetPrefix: 'S3XCOPY_TARGET_PREFIX',
  targetRoleArn: 'S3XCOPY_TARGET_ROLE_ARN',
  externalId: 'S3XCOPY_EXTERNAL_ID',
  defaultOptions: 'S3XCOPY_DEFAULT_OPTIONS',
  stateBucket: 'S3XCOPY_STATE_BUCKET',
  topicArn: 'S3XCOPY_TOPIC_ARN',
  notifyOnSuccess: 'S3XCOPY_NOTIFY_ON_SUCCESS',
  allowAcl: 'S3XCOPY_ALLOW_ACL',
  bucketRegions: 'S3XCOPY_BUCKET_REGIONS',
  mapMaxConcurrency: 'S3XCOPY_MAP_MAX_CONCURRENCY',
} as const;

/** Reads the deployment configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): DeploymentConfig {
  const get = (name: string) => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  let options: unknown = {};
  const rawOptions = get(ENV.defaultOptions);
  if (rawOptions) {
    try {
      options = JSON.parse(rawOptions);
    } catch {
      throw new Error(`${ENV.defaultOptions} is not valid JSON: set it to a JSON object of job options, or unset it`);
    }
  }
  const defaults = {
    source: omitUndefined({ bucket: get(ENV.sourceBucket), prefix: get(ENV.sourcePrefix) }),
    target: omitUndefined({
      bucket: get(ENV.targetBucket),
      prefix: get(ENV.targetPrefix),
      roleArn: get(ENV.targetRoleArn),
      externalId: get(ENV.externalId),
    }),
    options,
  };
  const parsed = JobInputSchema.safeParse(defaults);
  if (!parsed.success) {
    throw new Error(`Invalid deployment defaults in the S3XCOPY_* environment: ${describeIssues(parsed.error)}`);
  }
  const notify = z.enum(['true', 'false']).optional().safeParse(get(ENV.notifyOnSuccess));
  if (!notify.success) {
    throw new Error(`${ENV.notifyOnSuccess} must be "true" or "false"`);
  }
  const allowAcl = z.enum(['true', 'false']).optional().safeParse(get(ENV.allowAcl));
  if (!allowAcl.success) {
    throw new Error(`${ENV.allowAcl} must be "true" or "false"`);
  }
  let bucketRegions: Record<string, string> | undefined;
  const rawRegions = get(ENV.bucketRegions);
  if (rawRegions) {
    const regions = z.record(z.string(), z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/)).safeParse(safeJson(rawRegions));
    if (!regions.success) {
      throw new Error(
        `${ENV.bucketRegions} must be a JSON object of bucket names to regions, like {"my-bucket":"eu-west-1"}`,
      );
    }
    bucketRegions = regions.data;
  }
  const rawMapConcurrency = get(ENV.mapMaxConcurrency);
  const mapConcurrency = z.coerce.number().int().min(1).max(10_000).optional().safeParse(rawMapConcurrency);
  if (!mapConcurrency.success) {
    throw new Error(
      `${ENV.mapMaxConcurrency} must be a whole number from 1 to 10,000 (the Distributed Map's MaxConcurrency), not "${rawMapConcurrency}"`,
    );
  }
  return {
    ...(bucketRegions ? { bucketRegions } : {}),
    ...(mapConcurrency.data !== undefined ? { mapMaxConcurrency: mapConcurrency.data } : {}),
    defaults: parsed.data as JobDefaults,
    ...omitUndefined({ stateBucket: get(ENV.stateBucket), topicArn: get(ENV.topicArn) }),
    notifyOnSuccess: notify.data !== 'false',
    ...(allowAcl.data ? { allowAcl: allowAcl.data === 'true' } : {}),
  };
}

/**
 * Rejects a job the deployment cannot honour: options.acl without s3:PutObjectAcl (allowAcl false)
 * would fail every object with AccessDenied after listing; this fails before anything is listed.
 * @throws InvalidJobError naming the option and the fix
 */
export function assertDeploymentAllows(job: { options: { acl?: string | undefined } }, config: DeploymentConfig): void {
  if (job.options.acl !== undefined && config.allowAcl === false) {
    throw new InvalidJobError(
      `options.acl "${job.options.acl}" needs s3:PutObjectAcl on the target, which this deployment does not grant: ` +
        'deploy with "allowAcl": true in the s3xcopy context of cdk.json, or drop options.acl',
    );
  }
}

/**
 * Rejects a job whose source or target bucket is the state bucket: the job's manifests, progress records
 * and results would be copied as source objects, or overwritten and (with delete) deleted as target-only.
 * @throws InvalidJobError naming the bucket
 */
export function assertStateBucketApart(
  job: { source: { bucket: string }; target: { bucket: string } },
  stateBucket: string,
  option = 'the state bucket',
): void {
  for (const side of ['source', 'target'] as const) {
    if (job[side].bucket === stateBucket) {
      throw new InvalidJobError(
        `${side}.bucket ${stateBucket} is also ${option}, which holds the job's manifests, progress records and results: ` +
          `a run would ${side === 'source' ? 'copy them' : 'overwrite them, and with --delete delete them as target-only objects'}. Use a state bucket of its own`,
      );
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function omitUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
