import { z } from 'zod';
import { bucketName, describeIssues, externalId, JobInputSchema } from '../functions/shared/job';
import { resourceNames } from './names';

/** The context key in cdk.json (and `-c s3xcopy.<path>=<value>` overrides) that holds the deployment. */
export const CONTEXT_KEY = 's3xcopy';

const account = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account ID');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like eu-west-1');
/** "" (the whole bucket) or a path ending in "/" (added if missing), as the job schema normalises it. */
const prefix = z
  .string()
  .max(1024)
  .refine((value) => !value.startsWith('/'), 'must not start with "/": S3 keys have no leading slash')
  .default('')
  .transform((value) => (value === '' || value.endsWith('/') ? value : `${value}/`));
const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
    'must be a KMS key ARN like arn:aws:kms:eu-west-1:222222222222:key/<uuid> (IAM cannot scope to an alias)',
  );

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const scheduleExpression = z
  .string()
  .regex(
    /^(cron\([^)]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/,
    'must be an EventBridge Scheduler expression: cron(0 2 * * ? *) or rate(1 day)',
  );

/** A partial job, validated with the same schema the functions use, so a bad schedule fails at synth. */
const jobInput = z.unknown().transform((value, ctx) => {
  const parsed = JobInputSchema.safeParse(value ?? {});
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: `is not a valid job: ${describeIssues(parsed.error)}` });
    return z.NEVER;
  }
  return parsed.data;
});

/** Everything a deployment decides; validated once at synth with messages that name each bad field. */
const InfraConfigFields = z
  .object({
    /** Prefix of every fixed resource name (roles, functions, state machine, topic, buckets). */
    namePrefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,30}$/, 'must be 2-31 lowercase letters, digits or hyphens, starting with a letter')
      .default('s3xcopy'),
    partition: z.enum(['aws', 'aws-cn', 'aws-us-gov']).default('aws'),
    source: z
      .object({
        account,
        region,
        bucket: bucketName,
        prefix,
        /** true: SourceStack creates the bucket (and its policy); false: an existing bucket, policies by hand. */
        createBucket: z.boolean().default(false),
        /**
         * The account that owns the source bucket, when it is neither the workflow's nor (necessarily) the
         * target's: its bucket policy must then let the list role and the copying role in
         * (`s3xcopy policies --only source-bucket` prints the statements). Default: `account`.
         */
        bucketAccount: account.optional(),
        /** The source bucket's region, when it is not the workflow's (`region`). */
        bucketRegion: region.optional(),
        /** The key that encrypts existing source objects with SSE-KMS, if any (the target role needs kms:Decrypt). */
        kmsKeyArn: kmsKeyArn.optional(),
      })
      .strict(),
    target: z
      .object({
        account,
        region,
        bucket: bucketName,
        prefix,
        createBucket: z.boolean().default(false),
        kmsKeyArn: kmsKeyArn.optional(),
        externalId: externalId.optional(),
      })
      .strict(),
    /**
     * Jobs may use `mode: sync`: the list function then lists the target through the target role, so the
     * role trusts the list function's role too. false: only the copy role is trusted.
     */
    allowSync: z.boolean().default(true),
    /**
     * Jobs may set `options.acl` (bucket-owner-full-control): the role that copies gets s3:PutObjectAcl on
     * the target prefix. false: it does not, and jobs asking for an ACL are rejected before anything is listed.
     */
    allowAcl: z.boolean().default(false),
    /**
     * Jobs may set `options.restore` (restore archived source objects): the list role
     * gets s3:GetObject (HEAD reads x-amz-restore) and s3:RestoreObject on the source prefix. false: it does
     * not, archived objects are skipped as `archived`, and jobs asking for restores are rejected at synth.
     */
    allowRestore: z.boolean().default(false),
    /**
     * Jobs may set `options.delete` (sync --delete, a mirror): the role the final
     * MirrorDeletes step acts as (the target role; the list role in a same-account deployment) gets
     * s3:DeleteObject on the target prefix, and the list role reads its records from the state bucket.
     * false: no delete permission anywhere, and jobs asking for deletes are rejected at synth.
     */
    allowDelete: z.boolean().default(false),
    /**
     * Where jobs may keep source manifests (`source.manifest`, --manifest): the list
     * role gets s3:GetObject on `bucket/prefix*` (the CSV, or an Inventory report's manifest.json and data
     * files: give the inventory's destination bucket and prefix) and on the source prefix (it HEADs each
     * row). Absent: no manifest can be read, and a scheduled job naming one is rejected at synth.
     */
    manifests: z.object({ bucket: bucketName, prefix }).strict().optional(),
    /**
     * Manifest rows may name versions: the role that copies gets
     * s3:GetObjectVersion and s3:GetObjectVersionTagging on the source prefix (CopyObject, UploadPartCopy,
     * HEAD and GetObjectTagging of a version are authorised as those), the list role s3:GetObjectVersion
     * with `manifests`. false: a versioned row is refused (403) when it is read.
     */
    allowVersions: z.boolean().default(false),
    /** Job options every execution starts from (S3XCOPY_DEFAULT_OPTIONS). */
    defaultOptions: z.record(z.string(), z.unknown()).default({}),
    alarmEmails: z.array(z.email('must be an email address')).default([]),
    notifyOnSuccess: z.boolean().default(true),
    schedule: z.object({ expression: scheduleExpression, timezone: z.string().optional(), job: jobInput }).optional(),
    s3Events: z
      .object({
        enabled: z.boolean().default(false),
        /** Only objects created under this prefix (within the source prefix) start copies. */
        prefix: z.string().optional(),
        /**
         * Events per execution. The Pipe trims each SQS record to the event's type, bucket and object (an
         * input template) and passes the batch as the execution input, which Step Functions limits to
         * 256 KiB: 50 records with 1,024-byte keys sent fully percent-encoded take about 168 KB.
         */
        batchSize: z
          .number()
          .int()
          .min(1)
          .max(
            50,
            'must be at most 50: the pipe passes the batch of (trimmed) records as the execution input, which Step ' +
              'Functions limits to 256 KiB, and a record with a long percent-encoded key takes about 3.2 KB; a ' +
              'larger batch could fail to start and land in the dead-letter queue',
          )
          .default(50),
        batchWindowSeconds: z.number().int().min(0).max(300).default(60),
        /**
         * How a batch of events is copied. "lambda" (default): an SQS event source mapping invokes the
         * events function, which copies the batch itself (functions/events/), about $1-3 per million
         * objects of orchestration (docs/cost.md). "pipe": an EventBridge Pipe starts one Standard
         * execution of the workflow per batch, with its execution history and per-batch reports, at
         * about 100 times the cost when events trickle in one at a time.
         */
        delivery: z.enum(['lambda', 'pipe']).default('lambda'),
        /**
         * Delivery "lambda" only: where the queue's events come from. "notification" (default): the bucket's
         * own event notifications send Object Created events to the queue, which S3 does at no charge.
         * "eventbridge": an EventBridge rule forwards them, billed as opt-in data events ($1.00 per million,
         * docs/cost.md). The pipe always reads EventBridge events.
         */
        source: z.enum(['notification', 'eventbridge']).default('notification'),
        /**
         * Delivery "lambda" only: objects larger than this many bytes are handed to the workflow (one
         * execution each, which resumes across invocations) instead of being copied by the events function.
         * Without it, the copy-rate model decides from the time the invocation has left (about 16 GiB in a
         * fresh 15-minute invocation: functions/events/hand-over.ts).
         */
        handOverSize: z.number().int().min(1).optional(),
        /**
         * Only objects whose key ends with this start copies (".parquet"): the bucket notification's Suffix
         * filter, so S3 sends no event for other keys. Delivery "lambda" with source "notification" only.
         */
        suffix: z.string().min(1).max(1024).optional(),
        /**
         * Delivery "lambda" only: every this many hours a digest function sums the events function's
         * metrics over those hours, writes reports/events/<day>.json and publishes one summary (successful
         * batches send nothing themselves). 0 turns the digest off.
         */
        digestHours: z.number().int().min(0).max(744).default(24),
      })
      .strict()
      .default({
        enabled: false,
        batchSize: 50,
        batchWindowSeconds: 60,
        delivery: 'lambda',
        source: 'notification',
        digestHours: 24,
      }),
    mapMaxConcurrency: z.number().int().min(1).max(10_000).default(40),
    /**
     * Slices one execution lists and copies before the job continues in a new execution: each slice takes
     * about 20 of a Standard execution's 25,000 history events (more with retries), so 500 keeps a wide margin.
     */
    slicesPerExecution: z.number().int().min(1).max(800).default(500),
    logRetentionDays: z
      .number()
      .refine(
        (days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days),
        `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
      )
      .default(30),
    /** Days before manifests and results in the state bucket expire. */
    stateRetentionDays: z.number().int().min(1).max(3650).default(14),
  })
  .strict();

type ConfigFields = z.output<typeof InfraConfigFields>;

/** Options a job may set only when the deployment grants the actions they need. */
function checkOptionGrants(config: ConfigFields, ctx: z.RefinementCtx): void {
  const options = JobInputSchema.safeParse({ options: config.defaultOptions });
  if (!options.success) {
    ctx.addIssue({ code: 'custom', path: ['defaultOptions'], message: describeIssues(options.error) });
  }
  // Each option, where a job may set it (the deployment's defaults, the scheduled job), and the grant it needs.
  const gated = [
    {
      option: 'acl',
      granted: config.allowAcl,
      set: (value: unknown) => value !== undefined,
      message:
        'needs s3:PutObjectAcl on the target, which the copying role has only with allowAcl: true: set ' +
        '"allowAcl": true, or drop the option (buckets with ACLs disabled need none)',
    },
    {
      option: 'restore',
      granted: config.allowRestore,
      set: (value: unknown) => value !== undefined,
      message:
        'needs s3:GetObject and s3:RestoreObject on the source prefix for the list role, which it has only with ' +
        'allowRestore: true: set "allowRestore": true, or drop the option (archived objects are then skipped)',
    },
    {
      option: 'delete',
      granted: config.allowDelete,
      set: (value: unknown) => value === true,
      message:
        'needs s3:DeleteObject on the target prefix, which no role has without allowDelete: true: set ' +
        '"allowDelete": true, or drop the option',
    },
  ] as const;
  const places: Array<{ path: string[]; options: Record<string, unknown> | undefined }> = [
    { path: ['defaultOptions'], options: config.defaultOptions },
    { path: ['schedule', 'job', 'options'], options: config.schedule?.job.options },
  ];
  for (const { option, granted, set, message } of gated) {
    for (const place of places) {
      if (!granted && set(place.options?.[option])) {
        ctx.addIssue({ code: 'custom', path: [...place.path, option], message });
      }
    }
  }
}

/**
 * Inputs that must agree with the grants: a scheduled manifest lies where the list role may read
 * manifests, mirror deletes come with sync, and the S3 events' prefix lies within the source prefix.
 */
function checkJobInputs(config: ConfigFields, ctx: z.RefinementCtx): void {
  const scheduledManifest = config.schedule?.job.source?.manifest;
  if (scheduledManifest) {
    const allowed = config.manifests;
    if (!allowed || allowed.bucket !== scheduledManifest.bucket || !scheduledManifest.key.startsWith(allowed.prefix)) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule', 'job', 'source', 'manifest'],
        message: `s3://${scheduledManifest.bucket}/${scheduledManifest.key} lies outside "manifests"${allowed ? ` (s3://${allowed.bucket}/${allowed.prefix})` : ' (not set)'}: the list role may read manifests only there; set "manifests": { "bucket", "prefix" } to cover it`,
      });
    }
  }
  if (config.allowDelete && !config.allowSync) {
    ctx.addIssue({
      code: 'custom',
      path: ['allowDelete'],
      message:
        'needs allowSync: true: deletes come from the sync merge, which lists the target through the target role',
    });
  }
  const eventPrefix = config.s3Events.prefix;
  if (eventPrefix !== undefined && !eventPrefix.startsWith(config.source.prefix)) {
    ctx.addIssue({
      code: 'custom',
      path: ['s3Events', 'prefix'],
      message: `must lie within source.prefix "${config.source.prefix}": events outside it would start copies the roles cannot read`,
    });
  }
  const events = config.s3Events;
  if (events.suffix !== undefined && (events.delivery !== 'lambda' || events.source !== 'notification')) {
    ctx.addIssue({
      code: 'custom',
      path: ['s3Events', 'suffix'],
      message:
        'is a filter of the bucket notification, so it needs s3Events.delivery "lambda" and source "notification"; ' +
        'for other feeds select the keys with the job filter instead (filter.include, e.g. "**/*.parquet")',
    });
  }
}

/**
 * Where the source bucket lives against where the stack deploys: a stack creates buckets, and receives
 * S3 events, only in its own account and region.
 */
function checkSourcePlacement(config: ConfigFields, ctx: z.RefinementCtx): void {
  const bucketAccount = config.source.bucketAccount ?? config.source.account;
  if (bucketAccount !== config.source.account && config.source.createBucket) {
    ctx.addIssue({
      code: 'custom',
      path: ['source', 'createBucket'],
      message: `cannot be true when source.bucketAccount (${bucketAccount}) is not the workflow's account: a stack creates buckets only in its own account`,
    });
  }
  if (bucketAccount !== config.source.account && config.s3Events.enabled) {
    ctx.addIssue({
      code: 'custom',
      path: ['s3Events', 'enabled'],
      message:
        `cannot be true when the source bucket lives in account ${bucketAccount}: its S3 events go to that ` +
        "account's EventBridge bus, not this one; run jobs on a schedule or with s3xcopy start instead",
    });
  }
  const bucketRegion = config.source.bucketRegion ?? config.source.region;
  if (bucketRegion !== config.source.region && config.source.createBucket) {
    // A stack creates its resources in its own region: the bucket would land in source.region while the
    // functions, told it lives in bucketRegion, send every request there and get 301s.
    ctx.addIssue({
      code: 'custom',
      path: ['source', 'createBucket'],
      message:
        `cannot be true when source.bucketRegion (${bucketRegion}) is not the stack's region (${config.source.region}): ` +
        `the stack would create the bucket in ${config.source.region}; create the bucket in ${bucketRegion} yourself ` +
        `and set "createBucket": false, or drop source.bucketRegion to create it in ${config.source.region}`,
    });
  }
  if (bucketRegion !== config.source.region && config.s3Events.enabled) {
    ctx.addIssue({
      code: 'custom',
      path: ['s3Events', 'enabled'],
      message:
        `cannot be true when the source bucket lives in ${bucketRegion} and the workflow in ${config.source.region}: ` +
        "S3 sends its events only within the bucket's own region (to a queue there, or that region's EventBridge), " +
        "so this stack's queue or rule would never see one; " +
        `deploy the workflow in ${bucketRegion} (source.region), or run jobs on a schedule or with s3xcopy start`,
    });
  }
}

/** Source, target and the deployment's state bucket are different buckets. */
function checkBucketsApart(config: ConfigFields, ctx: z.RefinementCtx): void {
  const bucketAccount = config.source.bucketAccount ?? config.source.account;
  if (config.source.bucket === config.target.bucket && bucketAccount !== config.target.account) {
    ctx.addIssue({ code: 'custom', path: ['target', 'bucket'], message: 'a bucket lives in one account only' });
  }
  // The state bucket holds the job's manifests, progress records and results: as the target, a mirror
  // run would delete them as target-only objects; as the source, it would copy them.
  const stateBucket = resourceNames(config as InfraConfig).stateBucket;
  for (const side of ['source', 'target'] as const) {
    if (config[side].bucket === stateBucket) {
      ctx.addIssue({
        code: 'custom',
        path: [side, 'bucket'],
        message: `is the deployment's state bucket ${stateBucket} (manifests, progress, results): use another bucket, or another namePrefix`,
      });
    }
  }
}

/** The deployment's configuration (the `s3xcopy` context of cdk.json), every cross-field rule checked. */
export const InfraConfigSchema = InfraConfigFields.superRefine((config, ctx) => {
  checkOptionGrants(config, ctx);
  checkJobInputs(config, ctx);
  checkSourcePlacement(config, ctx);
  checkBucketsApart(config, ctx);
});

export type InfraConfig = z.output<typeof InfraConfigSchema>;
export type InfraConfigInput = z.input<typeof InfraConfigSchema>;

/** Raised when the deployment configuration is invalid; the message names every bad field. */
export class InfraConfigError extends Error {
  constructor(detail: string) {
    super(`Invalid s3xcopy deployment configuration (cdk.json context "${CONTEXT_KEY}"): ${detail}`);
    this.name = 'InfraConfigError';
  }
}

/** Validates a configuration object. @throws InfraConfigError naming every bad field. */
export function parseInfraConfig(value: unknown): InfraConfig {
  const parsed = InfraConfigSchema.safeParse(value);
  if (!parsed.success) {
    throw new InfraConfigError(
      parsed.error.issues
        .map((issue) => {
          const path = issue.path.length > 0 ? issue.path.join('.') : '(config)';
          if (issue.code === 'unrecognized_keys') return `${path}: unknown field(s) ${issue.keys.join(', ')}`;
          if (issue.code === 'invalid_type' && issue.input === undefined) return `${path} is required`;
          return `${path} ${issue.message}`;
        })
        .join('; '),
    );
  }
  return parsed.data;
}

/**
 * Builds the configuration from CDK context: the `s3xcopy` object (from cdk.json, or a JSON string from
 * `-c s3xcopy='{...}'`), then every `s3xcopy.<dotted.path>` key as an override of one field
 * (`-c s3xcopy.source.bucket=my-bucket`, `-c s3xcopy.alarmEmails='["ops@example.com"]'`).
 * Values that parse as JSON are used as JSON, anything else as a string.
 * @throws InfraConfigError
 */
export function configFromContext(context: Record<string, unknown>): InfraConfig {
  const base = parseMaybeJson(context[CONTEXT_KEY]);
  if (base !== undefined && (typeof base !== 'object' || base === null || Array.isArray(base))) {
    throw new InfraConfigError(`context "${CONTEXT_KEY}" must be an object`);
  }
  const config: Record<string, unknown> = structuredClone((base as Record<string, unknown> | undefined) ?? {});
  const overrides = Object.keys(context)
    .filter((key) => key.startsWith(`${CONTEXT_KEY}.`))
    .sort();
  for (const key of overrides) {
    setPath(config, key.slice(CONTEXT_KEY.length + 1).split('.'), parseMaybeJson(context[key]));
  }
  return parseInfraConfig(config);
}

function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined || head === '' || ['__proto__', 'constructor', 'prototype'].includes(head)) {
    throw new InfraConfigError(`override "${CONTEXT_KEY}.${path.join('.')}" is not a field path`);
  }
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const next = target[head];
  const child =
    typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
  target[head] = child;
  setPath(child, rest, value);
}

/** The source bucket's region (the workflow's unless `source.bucketRegion` says otherwise). */
export function sourceBucketRegion(config: InfraConfig): string {
  return config.source.bucketRegion ?? config.source.region;
}

/** The region of each configured bucket, for the functions' S3 clients (S3XCOPY_BUCKET_REGIONS). */
export function bucketRegions(config: InfraConfig): Record<string, string> {
  return { [config.source.bucket]: sourceBucketRegion(config), [config.target.bucket]: config.target.region };
}

/** The account that owns the source bucket (the workflow's unless `source.bucketAccount` says otherwise). */
export function sourceBucketAccount(config: InfraConfig): string {
  return config.source.bucketAccount ?? config.source.account;
}

/** True when the target bucket lives in the account that runs the workflow: no target role is needed. */
export function isSameAccount(config: InfraConfig): boolean {
  return config.source.account === config.target.account;
}
