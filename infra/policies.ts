import { type InfraConfig, isSameAccount, sourceBucketAccount, sourceBucketRegion } from './config';
import { type ResourceArns, resourceArns } from './names';

/**
 * The one source of truth for every IAM policy s3xcopy needs. The stacks turn these into CloudFormation
 * and `s3xcopy policies` prints them for buckets and roles managed by hand, so both always agree.
 * Everything here is plain JSON built from the configuration; nothing depends on CDK.
 */

/** One IAM policy statement as JSON. */
export interface PolicyStatementJson {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: { AWS: string | string[] } | { Service: string | string[] };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

/** An IAM policy document as JSON. */
export interface PolicyDocumentJson {
  Version: '2012-10-17';
  Statement: PolicyStatementJson[];
}

/**
 * What the copy reads on the source: the object (HeadObject, CopyObject and UploadPartCopy all need
 * s3:GetObject) and its tags (carried over with `tags: copy`).
 */
export const SOURCE_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectTagging'] as const;

/**
 * With allowVersions: reads of a named version (CopySource `?versionId=`, HEAD and
 * GetObjectTagging with VersionId) are authorised as these instead.
 */
export const SOURCE_VERSION_ACTIONS = ['s3:GetObjectVersion', 's3:GetObjectVersionTagging'] as const;

/** What the role that copies reads on the source, by the deployment's settings. */
function sourceReadActions(config: InfraConfig): string[] {
  return [...SOURCE_OBJECT_ACTIONS, ...(config.allowVersions ? SOURCE_VERSION_ACTIONS : [])];
}

/** What the list role HEADs source objects with: HEAD is s3:GetObject, of a version s3:GetObjectVersion. */
function sourceHeadActions(config: InfraConfig): string | string[] {
  return config.manifests && config.allowVersions ? ['s3:GetObject', 's3:GetObjectVersion'] : 's3:GetObject';
}

/**
 * The list role HEADs source objects: for S3 event batches the pipe starts executions with, and for every
 * manifest row. On the direct event path the events function reads them, as the role that copies.
 */
function listRoleHeadsSource(config: InfraConfig): boolean {
  return (config.s3Events.enabled && !directEventPath(config)) || config.manifests !== undefined;
}

/**
 * What the copy does on the target: write objects (CopyObject, CreateMultipartUpload, UploadPartCopy and
 * CompleteMultipartUpload are all s3:PutObject), their tags, and abort a failed multipart upload; and
 * read back what it wrote: HeadObject (the sync check before a copy, and the verification after it) is
 * s3:GetObject, and the verification reads the copy's tags (GetObjectTagging) to repair tags a server
 * dropped. Reads stay within the target prefix too. test/infra/recorded-calls.test.ts holds every call
 * the code makes against this list.
 */
export const TARGET_OBJECT_ACTIONS = [
  's3:PutObject',
  's3:PutObjectTagging',
  's3:AbortMultipartUpload',
  's3:GetObject',
  's3:GetObjectTagging',
] as const;

/** `arn:...:bucket/prefix*`: the objects under a prefix ("" = the whole bucket). */
function objectsUnder(bucketArn: string, prefix: string): string {
  return `${bucketArn}/${prefix}*`;
}

/** ListBucket on a bucket, limited to listings under the prefix when there is one. */
function listUnder(sid: string, bucketArn: string, prefix: string, principal?: string): PolicyStatementJson {
  return {
    Sid: sid,
    Effect: 'Allow',
    ...(principal ? { Principal: { AWS: principal } } : {}),
    Action: 's3:ListBucket',
    Resource: bucketArn,
    ...(prefix === '' ? {} : { Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } } }),
  };
}

/** A KMS key's region (the fourth field of its ARN). */
function regionOf(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/**
 * The condition that limits a KMS permission to use by S3 (never the key directly), in the regions
 * involved: the bucket's and the key's (a key serves buckets of its own region; naming both keeps a
 * misconfigured pair failing on S3's side, with S3's error, rather than on an IAM condition).
 */
function viaS3(...regions: string[]) {
  const services = [...new Set(regions.filter((region) => region !== ''))].map(
    (region) => `s3.${region}.amazonaws.com`,
  );
  return { StringEquals: { 'kms:ViaService': services.length === 1 ? (services[0] as string) : services } };
}

/** KMS use through S3 only: the keys cannot be used directly with these permissions. */
function kmsStatements(config: InfraConfig): PolicyStatementJson[] {
  const statements: PolicyStatementJson[] = [];
  if (config.source.kmsKeyArn) {
    statements.push({
      Sid: 'DecryptSourceObjects',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: config.source.kmsKeyArn,
      Condition: viaS3(sourceBucketRegion(config), regionOf(config.source.kmsKeyArn)),
    });
  }
  if (config.target.kmsKeyArn) {
    statements.push({
      Sid: 'EncryptTargetObjects',
      Effect: 'Allow',
      // Multipart uploads with SSE-KMS need Decrypt as well as GenerateDataKey.
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: config.target.kmsKeyArn,
      Condition: viaS3(config.target.region, regionOf(config.target.kmsKeyArn)),
    });
  }
  return statements;
}

/**
 * The S3 (and KMS) access one copy needs: read the source prefix, write the target prefix, list both.
 * Cross-account it belongs to the target role; same-account to the copy function's role.
 */
export function copyAccessStatements(
  config: InfraConfig,
  arns: ResourceArns = resourceArns(config),
): PolicyStatementJson[] {
  return [
    {
      Sid: 'ReadSourcePrefix',
      Effect: 'Allow',
      Action: sourceReadActions(config),
      Resource: objectsUnder(arns.sourceBucket, config.source.prefix),
    },
    listUnder('ListSourcePrefix', arns.sourceBucket, config.source.prefix),
    {
      Sid: 'WriteTargetPrefix',
      Effect: 'Allow',
      // options.acl sends x-amz-acl with the copy, which S3 authorises as s3:PutObjectAcl too.
      Action: [...TARGET_OBJECT_ACTIONS, ...(config.allowAcl ? ['s3:PutObjectAcl'] : [])],
      Resource: objectsUnder(arns.targetBucket, config.target.prefix),
    },
    listUnder('ListTargetPrefix', arns.targetBucket, config.target.prefix),
    {
      // A CreateMultipartUpload whose answer was lost may leave an upload whose id never reached the copy:
      // it lists the uploads of that one key to abort them (functions/copy/stray-uploads.ts). The action
      // takes no s3:prefix condition; it shows only keys and ids of uploads in progress, never objects.
      Sid: 'ListOpenUploadsOfTarget',
      Effect: 'Allow',
      Action: 's3:ListBucketMultipartUploads',
      Resource: arns.targetBucket,
    },
    ...kmsStatements(config),
  ];
}

/** True when S3 events are copied by the events function itself (s3Events.delivery "lambda"). */
export function directEventPath(config: InfraConfig): boolean {
  return config.s3Events.enabled && config.s3Events.delivery === 'lambda';
}

/** True when the source bucket's own event notifications feed the direct path's queue (no EventBridge). */
export function bucketNotifiesQueue(config: InfraConfig): boolean {
  return directEventPath(config) && config.s3Events.source === 'notification';
}

/** The prefix whose Object Created events start copies: s3Events.prefix, else the source prefix. */
export function eventKeyPrefix(config: InfraConfig): string {
  return config.s3Events.prefix ?? config.source.prefix;
}

/**
 * The source bucket's notification configuration for the direct path (a managed bucket gets it from the
 * stack; `s3xcopy policies` and docs/deploy.md show it for a bucket managed by hand): Object Created events
 * under the prefix go to the events queue.
 */
export function bucketNotificationQueueConfiguration(config: InfraConfig) {
  const prefix = eventKeyPrefix(config);
  const { suffix } = config.s3Events;
  const rules = [
    ...(prefix === '' ? [] : [{ Name: 'Prefix', Value: prefix }]),
    ...(suffix === undefined ? [] : [{ Name: 'Suffix', Value: suffix }]),
  ];
  return {
    Id: 's3xcopy-object-created',
    QueueArn: resourceArns(config).eventsQueue,
    Events: ['s3:ObjectCreated:*'],
    ...(rules.length === 0 ? {} : { Filter: { Key: { FilterRules: rules } } }),
  };
}

/**
 * What a source bucket the stack does not manage needs for the S3 event trigger, as `s3xcopy policies`
 * prints it: the notification configuration (the direct path's queue, with the prefix and suffix
 * filters; or EventBridge notifications for the pipe or an EventBridge-fed queue) and, for the queue,
 * the policy that lets the bucket send to it (the stack applies it to the queue it creates).
 */
export function sourceBucketNotifications(config: InfraConfig): SourceBucketNotifications | undefined {
  if (!config.s3Events.enabled || config.source.createBucket) return undefined;
  if (!bucketNotifiesQueue(config)) {
    return { notificationConfiguration: { EventBridgeConfiguration: {} } };
  }
  return {
    notificationConfiguration: { QueueConfigurations: [bucketNotificationQueueConfiguration(config)] },
    queuePolicy: { Version: '2012-10-17', Statement: eventsQueueStatements(config) },
  };
}

/** See sourceBucketNotifications. */
export interface SourceBucketNotifications {
  notificationConfiguration:
    | { QueueConfigurations: Array<ReturnType<typeof bucketNotificationQueueConfiguration>> }
    | { EventBridgeConfiguration: Record<string, never> };
  /** The events queue's policy (already on the queue the stack creates). */
  queuePolicy?: PolicyDocumentJson;
}

/**
 * The events queue's policy statement that lets the source bucket send its notifications, and nothing
 * else: S3 on behalf of that one bucket in its owner's account (the confused-deputy keys).
 */
export function eventsQueueStatements(config: InfraConfig): PolicyStatementJson[] {
  if (!bucketNotifiesQueue(config)) return [];
  const arns = resourceArns(config);
  return [
    {
      Sid: 'SourceBucketSendsObjectCreated',
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: arns.eventsQueue,
      Condition: {
        ArnEquals: { 'aws:SourceArn': arns.sourceBucket },
        StringEquals: { 'aws:SourceAccount': sourceBucketAccount(config) },
      },
    },
  ];
}

/**
 * The target role's trust: the source account, limited to the copy role (with sync, the list role; with
 * the direct event path, the events role).
 */
export function targetRoleTrustPolicy(config: InfraConfig): PolicyDocumentJson {
  const arns = resourceArns(config);
  const trusted = [
    arns.copyRole,
    ...(config.allowSync ? [arns.listRole] : []),
    // The direct event path copies as the target role too (functions/events/).
    ...(directEventPath(config) ? [arns.eventsRole] : []),
  ];
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TrustS3xcopyFunctionRoles',
        Effect: 'Allow',
        // The account principal plus aws:PrincipalArn, not the role ARNs as principals: IAM rejects a
        // principal that does not exist yet, and the target stack deploys before the source stack.
        Principal: { AWS: arns.sourceAccountRoot },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': trusted },
          ...(config.target.externalId ? { StringEquals: { 'sts:ExternalId': config.target.externalId } } : {}),
        },
      },
    ],
  };
}

/** The target role's permissions (cross-account deployments). */
export function targetRolePermissionsPolicy(config: InfraConfig): PolicyDocumentJson {
  return {
    Version: '2012-10-17',
    Statement: [...copyAccessStatements(config), ...(config.allowDelete ? [deleteTargetStatement(config)] : [])],
  };
}

/**
 * Mirror deletes: s3:DeleteObject on the target prefix only, for the role the
 * MirrorDeletes step acts as (the target role; the list function's role in a same-account deployment).
 */
function deleteTargetStatement(config: InfraConfig): PolicyStatementJson {
  return {
    Sid: 'DeleteTargetOnlyObjects',
    Effect: 'Allow',
    Action: 's3:DeleteObject',
    Resource: objectsUnder(resourceArns(config).targetBucket, config.target.prefix),
  };
}

/**
 * Mirror deletes act only on proof: a HEAD of the mapped source key answering 404, asked by the list role
 * (functions/list/delete-proof.ts). HEAD is s3:GetObject on the key. S3 answers a missing key with 404
 * only to a caller that may list the bucket; a ListBucket limited by an `s3:prefix` condition does not
 * count (the HEAD carries no prefix), and the answer is a 403, which proves nothing and deletes nothing.
 * So with allowDelete the list role may list the source bucket without the condition: key names only,
 * read-only, on the one bucket it already lists.
 */
function proveSourceAbsentStatements(config: InfraConfig, principal?: string): PolicyStatementJson[] {
  const arns = resourceArns(config);
  const who = principal ? { Principal: { AWS: principal } } : {};
  return [
    {
      Sid: principal ? 'S3xcopyListRoleHeadsSourceForDeletes' : 'HeadSourceForDeletes',
      Effect: 'Allow',
      ...who,
      Action: 's3:GetObject',
      Resource: objectsUnder(arns.sourceBucket, config.source.prefix),
    },
    {
      Sid: principal ? 'S3xcopyListRoleListsSourceForDeletes' : 'ListSourceForDeletes',
      Effect: 'Allow',
      ...who,
      Action: 's3:ListBucket',
      Resource: arns.sourceBucket,
    },
  ];
}

/**
 * Statements for the source bucket's policy: every role of the deployment that reaches the bucket from
 * another account. The role that copies (the target role, or the copy role in a same-account deployment)
 * reads and lists the source prefix; the list role lists it (and HEADs event-named objects) when the
 * bucket lives outside the workflow's account (`source.bucketAccount`, a third account). Empty when every
 * role lives in the bucket's account (identity policies suffice there).
 */
export function sourceBucketPolicyStatements(config: InfraConfig): PolicyStatementJson[] {
  const arns = resourceArns(config);
  const bucketAccount = sourceBucketAccount(config);
  const statements: PolicyStatementJson[] = [];
  const copier = copyingRoleArn(config);
  if (accountOf(copier) !== bucketAccount) {
    const who = isSameAccount(config) ? 'CopyRole' : 'TargetRole';
    statements.push(
      {
        Sid: `S3xcopy${who}ReadsSourcePrefix`,
        Effect: 'Allow',
        Principal: { AWS: copier },
        Action: sourceReadActions(config),
        Resource: objectsUnder(arns.sourceBucket, config.source.prefix),
      },
      listUnder(`S3xcopy${who}ListsSourcePrefix`, arns.sourceBucket, config.source.prefix, copier),
    );
  }
  if (config.source.account !== bucketAccount) {
    statements.push(
      listUnder('S3xcopyListRoleListsSourcePrefix', arns.sourceBucket, config.source.prefix, arns.listRole),
    );
    if (config.allowRestore) {
      statements.push({
        Sid: 'S3xcopyListRoleRestoresArchivedObjects',
        Effect: 'Allow',
        Principal: { AWS: arns.listRole },
        Action: ['s3:GetObject', 's3:RestoreObject'],
        Resource: objectsUnder(arns.sourceBucket, config.source.prefix),
      });
    }
    if (config.allowDelete) statements.push(...proveSourceAbsentStatements(config, arns.listRole));
    if (listRoleHeadsSource(config)) {
      statements.push({
        Sid: 'S3xcopyListRoleHeadsSourceObjects',
        Effect: 'Allow',
        Principal: { AWS: arns.listRole },
        Action: sourceHeadActions(config),
        Resource: objectsUnder(arns.sourceBucket, config.source.prefix),
      });
    }
  }
  return statements;
}

/** The statement a function role needs to assume the target role. */
export function assumeTargetRoleStatement(config: InfraConfig): PolicyStatementJson {
  return {
    Sid: 'AssumeTargetRole',
    Effect: 'Allow',
    Action: 'sts:AssumeRole',
    Resource: resourceArns(config).targetRole,
  };
}

/**
 * The list function: list the source prefix, write manifests, HEAD event-named objects (S3 event
 * trigger), and (for sync) see the target.
 */
export function listRoleStatements(config: InfraConfig): PolicyStatementJson[] {
  const arns = resourceArns(config);
  const statements: PolicyStatementJson[] = [
    listUnder('ListSourcePrefix', arns.sourceBucket, config.source.prefix),
    {
      Sid: 'WriteManifests',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: `${arns.stateBucket}/manifests/*`,
    },
    // The previous slice's Map Run results: the copy rates it measured plan the next slice
    // (functions/list/rate-plan.ts). Read by the keys the Map Run's output names, never listed.
    {
      Sid: 'ReadCopyResults',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `${arns.stateBucket}/results/*`,
    },
  ];
  if (listRoleHeadsSource(config)) {
    // Keys mode and manifest jobs: list HEADs each object named by an event or a manifest row (size, ETag,
    // date) before planning it, and HeadObject is authorised as s3:GetObject (s3:GetObjectVersion for a
    // version). Without either, listing needs no object access.
    statements.push({
      Sid: 'HeadSourceObjects',
      Effect: 'Allow',
      Action: sourceHeadActions(config),
      Resource: objectsUnder(arns.sourceBucket, config.source.prefix),
    });
  }
  if (config.manifests) {
    // The manifest objects themselves (functions/list/manifest.ts), where configured only.
    statements.push({
      Sid: 'ReadSourceManifests',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: objectsUnder(`arn:${config.partition}:s3:::${config.manifests.bucket}`, config.manifests.prefix),
    });
  }
  if (config.allowDelete) {
    // The MirrorDeletes step reads the target-only keys each slice recorded.
    statements.push({
      Sid: 'ReadDeleteRecords',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `${arns.stateBucket}/manifests/*`,
    });
    if (isSameAccount(config)) statements.push(deleteTargetStatement(config));
    statements.push(...proveSourceAbsentStatements(config));
  }
  if (config.allowRestore) {
    // Archived objects (functions/list/archived-objects.ts): HEAD reads x-amz-restore
    // (authorised as s3:GetObject) and RestoreObject starts a restore, on the source prefix only.
    statements.push({
      Sid: 'RestoreArchivedSourceObjects',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:RestoreObject'],
      Resource: objectsUnder(arns.sourceBucket, config.source.prefix),
    });
  }
  if (config.allowSync) {
    statements.push(
      isSameAccount(config)
        ? listUnder('ListTargetPrefix', arns.targetBucket, config.target.prefix)
        : assumeTargetRoleStatement(config),
    );
  }
  return statements;
}

/**
 * The copy function: assume the target role (cross-account), or copy directly (same account); and read and
 * write its progress records in the state bucket.
 */
export function copyRoleStatements(config: InfraConfig): PolicyStatementJson[] {
  const arns = resourceArns(config);
  return [
    ...(isSameAccount(config) ? copyAccessStatements(config) : [assumeTargetRoleStatement(config)]),
    // Progress records (functions/copy/progress-record.ts): where a stopped batch or multipart copy resumes.
    // ListBucket on the prefix makes a missing record a 404, not a 403.
    {
      Sid: 'ReadWriteProgressRecords',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: `${arns.stateBucket}/progress/*`,
    },
    listUnder('ListProgressRecords', arns.stateBucket, 'progress/'),
    // A batch's full failure list when its result can name only the first ones (shared/report-keys.ts);
    // write only: the copy function never reads reports, and cannot touch the ledger or failures.jsonl.
    {
      Sid: 'WriteBatchFailureLists',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: `${arns.stateBucket}/reports/*/batch-failures/*`,
    },
    // Each batch attempt's result (shared/report-keys.ts, batchResultKey): the ledger's source when the
    // ResultWriter wrote no result file. Write only: the copy function never reads them back.
    {
      Sid: 'WriteBatchRecords',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: `${arns.stateBucket}/batch-results/*`,
    },
  ];
}

/**
 * The events function (the direct event path): copy as the target role (cross-account) or itself (same
 * account), write reports of final failures, publish them to the topic through the topic's key, and start
 * executions of the deployment's state machine only (objects too large for one invocation). Reading its queue is granted by the event source mapping, on that one queue.
 */
export function eventsRoleStatements(config: InfraConfig, topicKeyArn: string): PolicyStatementJson[] {
  const arns = resourceArns(config);
  return [
    ...(isSameAccount(config) ? copyAccessStatements(config) : [assumeTargetRoleStatement(config)]),
    {
      Sid: 'WriteEventFailureReports',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: `${arns.stateBucket}/reports/events/*`,
    },
    { Sid: 'PublishNotifications', Effect: 'Allow', Action: 'sns:Publish', Resource: arns.topic },
    {
      Sid: 'EncryptNotifications',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: topicKeyArn,
    },
    // Objects too large for one invocation go to the workflow, one execution each (functions/events/hand-over.ts).
    { Sid: 'HandOverLargeObjects', Effect: 'Allow', Action: 'states:StartExecution', Resource: arns.stateMachine },
  ];
}

/**
 * The events digest function: read the metrics (GetMetricData has no resource-level permissions, so its
 * resource is "*"), write the digest under reports/events/ of the state bucket, publish one summary.
 */
export function digestRoleStatements(config: InfraConfig, topicKeyArn: string): PolicyStatementJson[] {
  const arns = resourceArns(config);
  return [
    { Sid: 'ReadEventsMetrics', Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*' },
    {
      Sid: 'WriteEventsDigest',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: `${arns.stateBucket}/reports/events/*`,
    },
    { Sid: 'PublishNotifications', Effect: 'Allow', Action: 'sns:Publish', Resource: arns.topic },
    {
      Sid: 'EncryptNotifications',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: topicKeyArn,
    },
  ];
}

/**
 * The notify function: read the Map results it summarises (or the batch records and manifests when the
 * Map wrote no results), and publish to its topic through the
 * topic's KMS key.
 */
export function notifyRoleStatements(config: InfraConfig, topicKeyArn: string): PolicyStatementJson[] {
  const arns = resourceArns(config);
  return [
    listUnder('ListResults', arns.stateBucket, 'results/'),
    { Sid: 'ReadResults', Effect: 'Allow', Action: 's3:GetObject', Resource: `${arns.stateBucket}/results/*` },
    // When the ResultWriter wrote no result file, the ledger is counted from the copy function's batch
    // records over the batches the job's manifests list (functions/notify/batch-records.ts).
    listUnder('ListBatchRecords', arns.stateBucket, 'batch-results/'),
    listUnder('ListManifests', arns.stateBucket, 'manifests/'),
    {
      Sid: 'ReadBatchRecordsAndManifests',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: [`${arns.stateBucket}/batch-results/*`, `${arns.stateBucket}/manifests/*`],
    },
    // The copy function's per-batch failure lists, merged into failures.jsonl.
    {
      Sid: 'ReadBatchFailureLists',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `${arns.stateBucket}/reports/*/batch-failures/*`,
    },
    // The ledger and every failed key (docs/state-bucket.md); a failures file over 8 MiB is a multipart upload.
    {
      Sid: 'WriteReports',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
      Resource: `${arns.stateBucket}/reports/*`,
    },
    { Sid: 'PublishNotifications', Effect: 'Allow', Action: 'sns:Publish', Resource: arns.topic },
    {
      Sid: 'EncryptNotifications',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: topicKeyArn,
    },
  ];
}

/**
 * The state machine: invoke its three functions, read manifests and write results (the Distributed
 * Map's ItemReader and ResultWriter), and run (and redrive) its own Map child executions.
 */
export function stateMachineStatements(config: InfraConfig): PolicyStatementJson[] {
  const arns = resourceArns(config);
  return [
    {
      Sid: 'InvokeFunctions',
      Effect: 'Allow',
      Action: 'lambda:InvokeFunction',
      Resource: [arns.listFunction, arns.copyFunction, arns.notifyFunction],
    },
    { Sid: 'ReadManifests', Effect: 'Allow', Action: 's3:GetObject', Resource: `${arns.stateBucket}/manifests/*` },
    {
      Sid: 'WriteResults',
      Effect: 'Allow',
      // ResultWriter uploads results with multipart uploads.
      Action: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      Resource: `${arns.stateBucket}/results/*`,
    },
    // Map Run children, and ContinueAsNew: a job continues in a new execution of this same state machine.
    { Sid: 'StartExecutions', Effect: 'Allow', Action: 'states:StartExecution', Resource: arns.stateMachine },
    {
      Sid: 'ManageMapChildren',
      Effect: 'Allow',
      Action: ['states:DescribeExecution', 'states:StopExecution'],
      Resource: arns.stateMachineExecutions,
    },
    // A redrive of a failed execution restarts its Map Run's unsuccessful children as this role
    // (docs/deploy.md, "Redrive"): only the copy Map's children, never a parent execution.
    { Sid: 'RedriveMapChildren', Effect: 'Allow', Action: 'states:RedriveExecution', Resource: arns.copyMapChildren },
  ];
}

/** The role that performs the copies, and so uses the KMS keys: the target role, or (same account) the copy role. */
export function copyingRoleArn(config: InfraConfig): string {
  const arns = resourceArns(config);
  return isSameAccount(config) ? arns.copyRole : arns.targetRole;
}

/** The account of an ARN (its fifth field). */
function accountOf(arn: string): string {
  return arn.split(':')[4] ?? '';
}

/** Statements one KMS key's policy needs, with the key they belong to. */
export interface KeyPolicyStatements {
  keyArn: string;
  statements: PolicyStatementJson[];
}

/**
 * Statements to add to the configured KMS keys' own key policies. KMS, unlike S3, ignores identity
 * policies from another account unless the key policy names the principal, so a key in a different
 * account from the role that copies needs a key-policy statement on top of that role's identity policy
 * (the usual case: an SSE-KMS source key in the source account, used by the target role). A key in the
 * copying role's own account needs nothing extra, as long as its key policy keeps the default statement
 * that lets IAM policies grant access. Returns only the keys that need statements.
 */
export function kmsKeyPolicyStatements(config: InfraConfig): {
  source?: KeyPolicyStatements;
  target?: KeyPolicyStatements;
} {
  const role = copyingRoleArn(config);
  const needs = (keyArn: string | undefined): keyArn is string =>
    keyArn !== undefined && accountOf(keyArn) !== accountOf(role);
  const result: { source?: KeyPolicyStatements; target?: KeyPolicyStatements } = {};
  if (needs(config.source.kmsKeyArn)) {
    result.source = {
      keyArn: config.source.kmsKeyArn,
      statements: [
        {
          Sid: 'S3xcopyDecryptSourceObjectsThroughS3',
          Effect: 'Allow',
          Principal: { AWS: role },
          Action: 'kms:Decrypt',
          // In a key policy "*" means this key.
          Resource: '*',
          Condition: viaS3(sourceBucketRegion(config), regionOf(config.source.kmsKeyArn)),
        },
      ],
    };
  }
  if (needs(config.target.kmsKeyArn)) {
    result.target = {
      keyArn: config.target.kmsKeyArn,
      statements: [
        {
          Sid: 'S3xcopyEncryptTargetObjectsThroughS3',
          Effect: 'Allow',
          Principal: { AWS: role },
          // Multipart uploads with SSE-KMS need Decrypt as well as GenerateDataKey.
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: '*',
          Condition: viaS3(config.target.region, regionOf(config.target.kmsKeyArn)),
        },
      ],
    };
  }
  return result;
}

/** What to apply by hand for existing resources, as `s3xcopy policies` prints it. */
export interface HandAppliedPolicies {
  sourceBucketPolicyStatements: PolicyStatementJson[];
  /** Statements for the KMS keys' key policies; only keys in another account than the copying role. */
  kmsKeyPolicyStatements: { source?: KeyPolicyStatements; target?: KeyPolicyStatements };
  targetRole: { name: string; arn: string; trustPolicy: PolicyDocumentJson; permissionsPolicy: PolicyDocumentJson };
  functionRoleStatements: { copy: PolicyStatementJson[]; list: PolicyStatementJson[] };
  /** With the S3 event trigger on a bucket the stack does not manage: what to set on it. */
  sourceBucketNotifications?: SourceBucketNotifications;
}

/** Every statement a person applies by hand for an existing source bucket and a hand-made target role. */
export function handAppliedPolicies(config: InfraConfig): HandAppliedPolicies {
  const arns = resourceArns(config);
  const notifications = sourceBucketNotifications(config);
  return {
    sourceBucketPolicyStatements: sourceBucketPolicyStatements(config),
    kmsKeyPolicyStatements: kmsKeyPolicyStatements(config),
    targetRole: {
      name: arns.targetRole.slice(arns.targetRole.lastIndexOf('/') + 1),
      arn: arns.targetRole,
      trustPolicy: targetRoleTrustPolicy(config),
      permissionsPolicy: targetRolePermissionsPolicy(config),
    },
    functionRoleStatements: { copy: copyRoleStatements(config), list: listRoleStatements(config) },
    ...(notifications ? { sourceBucketNotifications: notifications } : {}),
  };
}

/** The service that publishes alarm notifications to the topic. */
export const CLOUDWATCH_SERVICE = 'cloudwatch.amazonaws.com';

/**
 * Confused-deputy scoping for a service acting for this deployment: only on behalf of the deployment's
 * own account and, where the service passes it, the deployment's own resources.
 */
function onBehalfOf(account: string, sourceArn: string): PolicyStatementJson['Condition'] {
  return { StringEquals: { 'aws:SourceAccount': account }, ArnLike: { 'aws:SourceArn': sourceArn } };
}

/**
 * The topic policy statement that lets the deployment's CloudWatch alarms publish. It is needed because
 * a topic policy replaces SNS's default one: with only the SSL-only Deny (what `enforceSSL` writes), no
 * alarm could publish ("not authorized to perform SNS:Publish" in the alarm history).
 */
export function topicPublishStatements(config: InfraConfig): PolicyStatementJson[] {
  const arns = resourceArns(config);
  return [
    {
      Sid: 'CloudWatchAlarmsPublish',
      Effect: 'Allow',
      Principal: { Service: CLOUDWATCH_SERVICE },
      Action: 'sns:Publish',
      Resource: arns.topic,
      Condition: onBehalfOf(config.source.account, arns.alarms),
    },
  ];
}

/**
 * The topic key's policy statement for the same alarms: SNS encrypts what CloudWatch publishes with the
 * publisher's permission on the key (kms:GenerateDataKey*, kms:Decrypt). CloudWatch passes
 * aws:SourceAccount and aws:SourceArn to KMS too (unlike EventBridge, which must not be conditioned so).
 */
export function topicKeyStatements(config: InfraConfig): PolicyStatementJson[] {
  return [
    {
      Sid: 'CloudWatchAlarmsUseTopicKey',
      Effect: 'Allow',
      Principal: { Service: CLOUDWATCH_SERVICE },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      // In a key policy "*" means this key.
      Resource: '*',
      Condition: onBehalfOf(config.source.account, resourceArns(config).alarms),
    },
  ];
}
