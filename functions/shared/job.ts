import { z } from 'zod';
import { CHECKSUM_ALGORITHMS } from './content-identity';
import { COPY_RATES, type MeasuredRates } from './copy-rates';
import { InvalidJobError } from './errors';

/** Sizes in bytes, named once so limits and defaults read the same everywhere. */
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** S3's own limits that the copy engine plans around. */
export const S3_LIMITS = {
  /** CopyObject copies at most 5 GiB; above that only multipart copy works. */
  maxCopyObjectBytes: 5 * GiB,
  minPartBytes: 5 * MiB,
  maxPartBytes: 5 * GiB,
  maxParts: 10_000,
  /** S3's maximum object size (about 48.8 TiB since December 2025). */
  maxObjectBytes: 50_000 * GiB,
} as const;

/** S3's bucket naming rules (general purpose buckets). */
export const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Whose naming rules jobs follow: AWS's (always, in deployed functions), or an S3-compatible server's,
 * which the CLI selects with --endpoint. Such servers name buckets of another tenant `tenant:bucket`
 * (Ceph RGW) and issue role ARNs without an account (`arn:aws:iam:::role/NAME`) or with a tenant in its
 * place. One setting per process, since the CLI runs the handlers in-process with the same job.
 */
export type NameRules = 'aws' | 's3-compatible';
let nameRules: NameRules = 'aws';
export function useNameRules(rules: NameRules): void {
  nameRules = rules;
}
/** The naming rules in force: 's3-compatible' when the CLI talks to a server other than AWS (--endpoint). */
export function nameRulesInForce(): NameRules {
  return nameRules;
}

/** A bucket name with an optional `tenant:` before it (RGW's cross-tenant form). */
const S3_COMPATIBLE_BUCKET_NAME_PATTERN = /^(?:[A-Za-z0-9_-]{1,64}:)?[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const S3_COMPATIBLE_ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::[A-Za-z0-9_-]{0,64}:role\/[\w+=,.@/-]{1,512}$/;

/** Checks a bucket name against the rules in force (see useNameRules). */
export function isValidBucketName(name: string): boolean {
  return (nameRules === 'aws' ? BUCKET_NAME_PATTERN : S3_COMPATIBLE_BUCKET_NAME_PATTERN).test(name);
}

export const bucketName = z
  .string()
  .refine(isValidBucketName, 'must be an S3 bucket name: 3-63 characters, lowercase letters, digits, dots and hyphens');

/** S3's key limit, in bytes of UTF-8 (not characters: "€" is 3 bytes). */
export const MAX_KEY_BYTES = 1024;

/**
 * A key prefix: "" (the whole bucket) or a path that ends in "/" (one is added if missing), at most
 * 1,024 bytes of UTF-8 with that "/". A leading "/" is refused: S3 keys rarely start with one, and
 * `s3://bucket//data/` is nearly always a typo for `s3://bucket/data/` that would select nothing.
 */
const prefix = z
  .string()
  .default('')
  .transform((value) => (value === '' || value.endsWith('/') ? value : `${value}/`))
  .superRefine((value, ctx) => {
    for (const message of prefixProblems(value)) ctx.addIssue({ code: 'custom', message });
  });

/** What is wrong with a prefix (with its trailing "/"), as messages that follow the field name. */
export function prefixProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.startsWith('/')) {
    problems.push(
      `must not start with "/" (it is "${value.slice(0, 40)}"): write s3://BUCKET/data/, not s3://BUCKET//data/`,
    );
  }
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_KEY_BYTES) {
    problems.push(`must be at most ${MAX_KEY_BYTES} bytes of UTF-8 (it is ${bytes}), the S3 key limit`);
  }
  return problems;
}

const roleArn = z
  .string()
  .refine(
    (arn) => (nameRules === 'aws' ? ROLE_ARN_PATTERN : S3_COMPATIBLE_ROLE_ARN_PATTERN).test(arn),
    'must be an IAM role ARN like arn:aws:iam::222222222222:role/s3xcopy-target',
  );

export const externalId = z
  .string()
  .regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2-1224 characters of letters, digits and +=,.@:/-');

const isoDate = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time like 2026-01-01T00:00:00Z' });

const nonNegativeInt = z.number().int().nonnegative();

export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
] as const;

/** Defaults for every option; the deployment may override them (S3XCOPY_DEFAULT_OPTIONS). */
export const DEFAULT_OPTIONS = {
  mode: 'copy',
  dryRun: false,
  tags: 'copy',
  multipartThreshold: 64 * MiB,
  partSize: 64 * MiB,
  concurrency: 32,
  toleratedFailurePercentage: 0,
  maxObjectsPerBatch: 1250,
  /** From the rate model (copy-rates.ts): one invocation's worth at a pessimistic aggregate 50 MiB/s. */
  maxBytesPerBatch: COPY_RATES.plannedBatchBytes,
  sliceMaxObjects: 100_000,
  notifyOnSuccess: true,
  /** Mirror deletes are off unless asked for (always present, for the ASL's Choice). */
  delete: false,
  /** Check (and repair) what the target holds after multipart copies, whose settings are re-sent, not copied. */
  verify: 'multipart',
} as const;

/** S3's retrieval tiers for archived objects (RestoreObject); Expedited is not offered for DEEP_ARCHIVE. */
export const RESTORE_TIERS = ['Standard', 'Bulk', 'Expedited'] as const;
export type RestoreTier = (typeof RESTORE_TIERS)[number];

/**
 * Restore archived source objects (GLACIER, DEEP_ARCHIVE) instead of only skipping
 * them: functions/list/archived-objects.ts.
 */
const restoreShape = z
  .object({
    tier: z.enum(RESTORE_TIERS),
    days: z.number().int().min(1, 'must be at least 1 day').max(30_000, 'must be at most 30000 days, the S3 limit'),
  })
  .strict();

/**
 * Partitions of the source prefix listed at once when the job does not say (options.listConcurrency):
 * see docs/scale.md "Listing that scales" for why this value.
 */
export const DEFAULT_LIST_CONCURRENCY = 32;

const optionsShape = z.object({
  mode: z.enum(['copy', 'sync']),
  dryRun: z.boolean(),
  storageClass: z.enum(STORAGE_CLASSES).optional(),
  kmsKeyId: z
    .string()
    .regex(
      /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+|alias\/.+|[0-9a-f-]{36})$/,
      'must be a KMS key ARN, key ID or alias',
    )
    .optional(),
  acl: z.literal('bucket-owner-full-control').optional(),
  tags: z.enum(['copy', 'none']),
  multipartThreshold: z
    .number()
    .int()
    .min(S3_LIMITS.minPartBytes, 'must be at least 5 MiB (5242880)')
    .max(S3_LIMITS.maxCopyObjectBytes, 'must be at most 5 GiB: CopyObject cannot copy more'),
  partSize: z
    .number()
    .int()
    .min(S3_LIMITS.minPartBytes, 'must be at least 5 MiB (5242880), the S3 minimum part size')
    .max(S3_LIMITS.maxPartBytes, 'must be at most 5 GiB, the S3 maximum part size'),
  concurrency: z.number().int().min(1).max(1000),
  toleratedFailurePercentage: z.number().min(0).max(100),
  maxObjectsPerBatch: z.number().int().min(1).max(10_000),
  maxBytesPerBatch: z.number().int().min(S3_LIMITS.minPartBytes),
  sliceMaxObjects: z.number().int().min(1).max(1_000_000),
  notifyOnSuccess: z.boolean(),
  restore: restoreShape.optional(),
  /**
   * Sync mode: delete target objects under the target prefix that have no source
   * object (after the filter), once every copy of the run succeeded: functions/list/mirror-deletes.ts.
   */
  delete: z.boolean(),
  /** With delete: stop with an error before deleting more than this many objects. */
  maxDelete: z.number().int().nonnegative().optional(),
  /** With delete: stop with an error before deleting more than this share (0-100) of the target prefix's objects. */
  maxDeletePercent: z.number().min(0).max(100).optional(),
  /**
   * With delete: delete even when the source listed no object, or (without maxDelete/maxDeletePercent)
   * when more than half of the target prefix would go. Without it such a run stops before deleting
   * (functions/list/mirror-deletes.ts): a source that small is usually a wrong source URI.
   */
  allowEmptySource: z.boolean().optional(),
  verify: z.enum(['multipart', 'all', 'none']),
  /**
   * The source bucket is Requester Pays: every request that reads it (list, HEAD,
   * tags, CopyObject, UploadPartCopy, RestoreObject) says `x-amz-request-payer: requester`, so this
   * account pays for them instead of S3 refusing them (403).
   */
  requestPayer: z.boolean().optional(),
  /**
   * Partitions of the source prefix the List step lists at once (functions/list/ordered-listing.ts);
   * 1 = one ListObjectsV2 chain. Absent: DEFAULT_LIST_CONCURRENCY.
   */
  listConcurrency: z.number().int().min(1).max(256).optional(),
});

export type JobOptions = z.infer<typeof optionsShape>;

/** How a source manifest is written: functions/list/manifest.ts reads both. */
export const MANIFEST_FORMATS = ['csv', 'inventory'] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];

/**
 * The objects to copy come from a manifest instead of a listing of the source
 * prefix: an S3 Batch Operations CSV (`bucket,key[,versionId]`) or an S3 Inventory report's manifest.json.
 * Without `format`, a key ending in `manifest.json` is an Inventory report and anything else a CSV.
 */
const manifestShape = z
  .object({
    bucket: bucketName,
    key: z.string().min(1, 'must name the manifest object'),
    format: z.enum(MANIFEST_FORMATS).optional(),
  })
  .strict();
export type ManifestRef = z.infer<typeof manifestShape>;

/** The manifest's format, as given or by its key (see manifestShape). */
export function manifestFormatOf(manifest: ManifestRef): ManifestFormat {
  return manifest.format ?? (manifest.key.endsWith('manifest.json') ? 'inventory' : 'csv');
}

const filterShape = z.object({
  include: z.array(z.string().min(1)).default([]),
  exclude: z.array(z.string().min(1)).default([]),
  minSize: nonNegativeInt.optional(),
  maxSize: nonNegativeInt.optional(),
  modifiedAfter: isoDate.optional(),
  modifiedBefore: isoDate.optional(),
});

/** A job as people and triggers write it: every field optional where the deployment has a default. */
export const JobInputSchema = z
  .object({
    source: z
      .object({ bucket: bucketName.optional(), prefix: z.string().optional(), manifest: manifestShape.optional() })
      .strict()
      .optional(),
    target: z
      .object({
        bucket: bucketName.optional(),
        prefix: z.string().optional(),
        roleArn: roleArn.optional(),
        externalId: externalId.optional(),
      })
      .strict()
      .optional(),
    filter: filterShape.partial().strict().optional(),
    options: optionsShape.partial().strict().optional(),
  })
  .strict();

export type JobInput = z.input<typeof JobInputSchema>;

/** A complete job, after deployment defaults are merged in: what every handler works with. */
export const JobSchema = z
  .object({
    source: z.object({ bucket: bucketName, prefix, manifest: manifestShape.optional() }).strict(),
    target: z
      .object({ bucket: bucketName, prefix, roleArn: roleArn.optional(), externalId: externalId.optional() })
      .strict(),
    filter: filterShape.strict().default({ include: [], exclude: [] }),
    options: optionsShape.strict(),
  })
  .strict()
  .superRefine((job, ctx) => {
    const { filter, source, target } = job;
    if (filter.minSize !== undefined && filter.maxSize !== undefined && filter.minSize > filter.maxSize) {
      ctx.addIssue({ code: 'custom', path: ['filter', 'minSize'], message: 'must not exceed filter.maxSize' });
    }
    // As instants: "10:00+02:00" is before "09:00Z" although its text sorts after.
    if (
      filter.modifiedAfter &&
      filter.modifiedBefore &&
      Date.parse(filter.modifiedAfter) >= Date.parse(filter.modifiedBefore)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['filter', 'modifiedAfter'],
        message: 'must be earlier than filter.modifiedBefore',
      });
    }
    const { options } = job;
    if (options.delete && options.mode !== 'sync') {
      ctx.addIssue({
        code: 'custom',
        path: ['options', 'delete'],
        message: 'needs options.mode "sync" (--mode sync): deletes come from the sync merge of both listings',
      });
    }
    if (options.delete && options.toleratedFailurePercentage > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['options', 'delete'],
        message:
          'cannot go with options.toleratedFailurePercentage above 0: nothing is deleted unless every copy succeeded; set it to 0',
      });
    }
    if (!options.delete && (options.maxDelete !== undefined || options.maxDeletePercent !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['options', options.maxDelete !== undefined ? 'maxDelete' : 'maxDeletePercent'],
        message: 'limits deletes, which only options.delete (--delete) makes: add it or drop the limit',
      });
    }
    if (!options.delete && options.allowEmptySource) {
      ctx.addIssue({
        code: 'custom',
        path: ['options', 'allowEmptySource'],
        message: 'relaxes a guard of options.delete (--delete), which this job does not set: add it or drop the option',
      });
    }
    if (options.delete && source.manifest) {
      ctx.addIssue({
        code: 'custom',
        path: ['options', 'delete'],
        message:
          'cannot go with source.manifest (--manifest): mirror deletes need a listing of the whole source prefix; drop one of them',
      });
    }
    if (job.target.externalId && !job.target.roleArn) {
      ctx.addIssue({ code: 'custom', path: ['target', 'externalId'], message: 'needs target.roleArn to go with it' });
    }
    const overlaps =
      source.bucket === target.bucket &&
      (target.prefix.startsWith(source.prefix) || source.prefix.startsWith(target.prefix));
    if (overlaps) {
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'prefix'],
        message: `must not overlap the source (s3://${source.bucket}/${source.prefix}): a copy into its own source would list its own output; pick a disjoint prefix or another bucket`,
      });
    }
  });

export type Job = z.output<typeof JobSchema>;

/** Defaults the deployment supplies (from the Lambda environment or CLI flags). */
export interface JobDefaults {
  source?: { bucket?: string; prefix?: string };
  target?: { bucket?: string; prefix?: string; roleArn?: string; externalId?: string };
  options?: Partial<JobOptions>;
}

/** Turns zod issues into one message naming every bad field and what it expects. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(job)';
      if (issue.code === 'unrecognized_keys') {
        return `${path === '(job)' ? '' : `${path}: `}unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      if (issue.code === 'invalid_type' && issue.input === undefined) {
        return `${path} is required (set it in the job or in the deployment defaults)`;
      }
      return `${path} ${issue.message}`;
    })
    .join('; ');
}

/**
 * Merges a job over the deployment defaults and validates the result.
 * @throws InvalidJobError naming every bad field, before anything is listed or written.
 */
export function resolveJob(input: unknown, defaults: JobDefaults = {}): Job {
  const parsedInput = JobInputSchema.safeParse(input ?? {});
  if (!parsedInput.success) {
    throw new InvalidJobError(describeIssues(parsedInput.error));
  }
  const job = parsedInput.data;
  const merged = {
    source: { ...defaults.source, ...job.source },
    target: { ...defaults.target, ...job.target },
    filter: { include: [], exclude: [], ...job.filter },
    options: { ...DEFAULT_OPTIONS, ...defaults.options, ...job.options },
  };
  const resolved = parseJob(merged);
  assertJobFits(resolved);
  return resolved;
}

/**
 * A resolved job may be at most this much JSON: every copy invocation gets the job beside its batch
 * (up to 200 KiB), and Step Functions passes at most 256 KiB.
 */
export const MAX_JOB_JSON_BYTES = 32 * 1024;

/**
 * @throws InvalidJobError when the job is too large to travel with a batch (the CLI checks this before
 *   anything is written, the list function before anything is listed)
 */
export function assertJobFits(job: Job): void {
  const jobBytes = Buffer.byteLength(JSON.stringify(job));
  if (jobBytes > MAX_JOB_JSON_BYTES) {
    throw new InvalidJobError(
      `the job is ${jobBytes} bytes of JSON; at most ${MAX_JOB_JSON_BYTES} fit beside a batch (200 KiB) in a copy ` +
        "invocation's 256 KiB payload: shorten the filter's include/exclude lists",
    );
  }
}

/**
 * Validates an already-resolved job (as handlers receive it from the state machine).
 * @throws InvalidJobError naming every bad field.
 */
export function parseJob(value: unknown): Job {
  const parsed = JobSchema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidJobError(describeIssues(parsed.error));
  }
  return parsed.data;
}

/** Maps a source key onto the target, as `aws s3 cp --recursive` does. */
export function targetKeyFor(job: Job, sourceKey: string): string {
  return job.target.prefix + sourceKey.slice(job.source.prefix.length);
}

/** One object as listed: what the copy worker needs to copy it and to check it afterwards. */
export const ManifestObjectSchema = z
  .object({
    key: z.string().min(1),
    size: nonNegativeInt,
    etag: z.string(),
    lastModified: isoDate,
    /** Set only for archived storage classes (GLACIER, DEEP_ARCHIVE): functions/list/archived-objects.ts. */
    storageClass: z.string().optional(),
    /** The version a manifest row names; the copy reads exactly that version. */
    versionId: z.string().min(1).optional(),
    /**
     * The source's checksum algorithm as the listing reports it (ListObjectsV2 ChecksumAlgorithm), so
     * CopyObject can ask for it explicitly (functions/copy/checksums.ts). Absent when it has none.
     */
    checksumAlgorithm: z.enum(CHECKSUM_ALGORITHMS).optional(),
    /**
     * Sync only: the target holds the same content but is older than the source, so headers, metadata or
     * tags may have changed in place; the copy worker compares them and copies only when they differ.
     */
    checkSettings: z.literal(true).optional(),
    /**
     * Sync only, with checkSettings: the target's ETag that an identity record (shared/identity-record.ts)
     * proves a copy of this source version, so the copy worker's own check accepts that target too.
     */
    recordedTargetEtag: z.string().min(1).optional(),
  })
  .strict();
export type ManifestObject = z.infer<typeof ManifestObjectSchema>;

/** One batch of the manifest: one Distributed Map item, copied by one copy invocation. */
export const BatchSchema = z
  .object({
    id: z.string().min(1),
    objects: z.array(ManifestObjectSchema),
    bytes: nonNegativeInt,
  })
  .strict();
export type Batch = z.infer<typeof BatchSchema>;

/** The copy worker's input: one manifest item plus the job (DESIGN.md). */
export const CopyInputSchema = z.object({
  job: JobSchema,
  jobId: z.string().min(1),
  batch: BatchSchema,
});
export type CopyInput = z.infer<typeof CopyInputSchema>;

/**
 * Why an object was not copied although it was selected: the target holds the same content
 * ('unchanged', sync), it was deleted since it was listed ('vanished'), or it is the folder marker of the
 * source prefix itself, which maps onto no target key ('prefixMarker'); or it is archived (GLACIER,
 * DEEP_ARCHIVE, an Intelligent-Tiering archive tier) and not restored ('archived'), or its restore is
 * still running ('restoring'): functions/list/archived-objects.ts.
 */
export type SkipReason = 'unchanged' | 'vanished' | 'prefixMarker' | 'archived' | 'restoring';

export interface CopyFailure {
  key: string;
  code: string;
  message: string;
}

/** The copy worker's output (DESIGN.md); kept small for a 1,000-object batch. */
export interface CopyResult {
  batchId: string;
  copied: number;
  skipped: number;
  failed: number;
  bytesCopied: number;
  /** Skips by reason, so reports can tell "already there" from "deleted since listing". */
  skippedByReason: Partial<Record<SkipReason, number>>;
  /**
   * Objects of the batch this invocation never reached (it stopped on its time budget). Absent means 0:
   * a batch that returns normally settled every object.
   */
  notAttempted?: number;
  failures: CopyFailure[];
  /**
   * What this invocation's own copy requests measured (functions/copy/rate-meter.ts); absent when it
   * copied nothing itself. The list step plans the next slice from it (functions/list/rate-plan.ts).
   */
  rates?: MeasuredRates;
  /**
   * When the batch failed more objects than `failures` names (MAX_REPORTED_FAILURES): the state bucket
   * key of its full failure list (shared/report-keys.ts, batchFailuresKey), which Notify merges into
   * failures.jsonl. Absent when `failures` names them all, or the list could not be written.
   */
  failuresFile?: string;
  /**
   * Multipart uploads of a key whose CreateMultipartUpload answer was lost that could not be proven this
   * job's (functions/copy/stray-uploads.ts): left open, named here for the report. Absent when none.
   */
  strayUploads?: Array<{ key: string; uploadId: string }>;
  /**
   * Identity records (shared/identity-record.ts) for copies whose target ETag differs from the source's:
   * written, and not written (a key too long for a record, a state bucket whose ETags are not MD5s, a
   * failed write): those objects are copied again by the next sync. Absent when the batch had none.
   */
  identityRecords?: { written: number; notWritten: number };
}
