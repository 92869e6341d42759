/**
 * What IAM authorises for each SDK command the product sends, per AWS's "Actions, resources and condition
 * keys" pages (Service Authorization Reference) and the S3 API reference's "Permissions" sections.
 * iam-simulate knows single actions only; a command can need several (CopyObject reads the source and
 * writes the target), and which ones depends on its parameters (a version, tags, an ACL).
 *
 * A command missing here is a command nobody has checked: the recorded-calls test fails on it, and so
 * does the scan of the product source for `new XxxCommand(` (test/infra/recorded-calls.test.ts).
 */
import type { RecordedCall } from '../../functions/shared/call-recorder';

/** One IAM authorisation a call needs: an action on a resource, with the condition keys the request sets. */
export interface NeededAction {
  action: string;
  resource:
    | { kind: 's3-bucket'; bucket: string; prefix?: string }
    | { kind: 's3-object'; bucket: string; key: string }
    | { kind: 'role'; arn: string }
    | { kind: 'topic' }
    | { kind: 'topic-key' }
    | { kind: 'function'; name: string }
    | { kind: 'state-machine' }
    /** An action with no resource-level permissions (IAM evaluates it on "*"). */
    | { kind: 'any' };
  context?: Record<string, string>;
}

type Input = RecordedCall['input'];

const str = (input: Input, name: string): string => {
  const value = input[name];
  if (typeof value !== 'string') throw new Error(`the recorded call has no ${name}: ${JSON.stringify(input)}`);
  return value;
};

const object = (input: Input) => ({ kind: 's3-object' as const, bucket: str(input, 'Bucket'), key: str(input, 'Key') });

/** `bucket/key?versionId=V` (each key segment percent-encoded), as encodeCopySource builds it. */
export function parseCopySource(copySource: string): { bucket: string; key: string; versionId?: string } {
  const [path = '', query = ''] = copySource.split('?');
  const slash = path.indexOf('/');
  const bucket = path.slice(0, slash);
  const key = path
    .slice(slash + 1)
    .split('/')
    .map((segment) => decodeURIComponent(segment))
    .join('/');
  const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
  return { bucket, key, ...(versionId ? { versionId } : {}) };
}

/** Reading an object (GetObject, HeadObject, a copy source): s3:GetObject, or s3:GetObjectVersion for a version. */
function readObject(bucket: string, key: string, versionId: unknown): NeededAction {
  return {
    action: versionId ? 's3:GetObjectVersion' : 's3:GetObject',
    resource: { kind: 's3-object', bucket, key },
  };
}

/** What writing an object needs besides s3:PutObject: tags and ACLs are authorised separately. */
function writeExtras(input: Input, tagsCopied: boolean): NeededAction[] {
  const extras: NeededAction[] = [];
  if (tagsCopied || typeof input.Tagging === 'string') {
    extras.push({ action: 's3:PutObjectTagging', resource: object(input) });
  }
  if (typeof input.ACL === 'string') extras.push({ action: 's3:PutObjectAcl', resource: object(input) });
  return extras;
}

/** The copy source's reads: the object (or its version), and its tags when the copy carries them. */
function copySourceReads(input: Input, tagsCopied: boolean): NeededAction[] {
  const source = parseCopySource(str(input, 'CopySource'));
  const reads = [readObject(source.bucket, source.key, source.versionId)];
  if (tagsCopied) {
    reads.push({
      action: source.versionId ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging',
      resource: { kind: 's3-object', bucket: source.bucket, key: source.key },
    });
  }
  return reads;
}

type Mapper = (input: Input) => NeededAction[];

/** service -> command -> the IAM actions it needs. */
export const COMMAND_ACTIONS: Record<string, Record<string, Mapper>> = {
  s3: {
    GetObjectCommand: (input) => [readObject(str(input, 'Bucket'), str(input, 'Key'), input.VersionId)],
    HeadObjectCommand: (input) => [readObject(str(input, 'Bucket'), str(input, 'Key'), input.VersionId)],
    PutObjectCommand: (input) => [{ action: 's3:PutObject', resource: object(input) }, ...writeExtras(input, false)],
    // TaggingDirective COPY (the default) carries the source's tags: GetObjectTagging on the source,
    // PutObjectTagging on the target. REPLACE writes the Tagging given, if any.
    CopyObjectCommand: (input) => {
      const tagsCopied = input.TaggingDirective !== 'REPLACE';
      return [
        ...copySourceReads(input, tagsCopied),
        { action: 's3:PutObject', resource: object(input) },
        ...writeExtras(input, tagsCopied),
      ];
    },
    UploadPartCopyCommand: (input) => [
      ...copySourceReads(input, false),
      { action: 's3:PutObject', resource: object(input) },
    ],
    CreateMultipartUploadCommand: (input) => [
      { action: 's3:PutObject', resource: object(input) },
      ...writeExtras(input, false),
    ],
    UploadPartCommand: (input) => [{ action: 's3:PutObject', resource: object(input) }],
    CompleteMultipartUploadCommand: (input) => [{ action: 's3:PutObject', resource: object(input) }],
    AbortMultipartUploadCommand: (input) => [{ action: 's3:AbortMultipartUpload', resource: object(input) }],
    GetObjectTaggingCommand: (input) => [
      {
        action: input.VersionId ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging',
        resource: object(input),
      },
    ],
    PutObjectTaggingCommand: (input) => [{ action: 's3:PutObjectTagging', resource: object(input) }],
    DeleteObjectCommand: (input) => [
      { action: input.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: object(input) },
    ],
    RestoreObjectCommand: (input) => [{ action: 's3:RestoreObject', resource: object(input) }],
    ListObjectsV2Command: (input) => [
      {
        action: 's3:ListBucket',
        resource: { kind: 's3-bucket', bucket: str(input, 'Bucket') },
        context: { 's3:prefix': typeof input.Prefix === 'string' ? input.Prefix : '' },
      },
    ],
    ListMultipartUploadsCommand: (input) => [
      { action: 's3:ListBucketMultipartUploads', resource: { kind: 's3-bucket', bucket: str(input, 'Bucket') } },
    ],
    HeadBucketCommand: (input) => [
      { action: 's3:ListBucket', resource: { kind: 's3-bucket', bucket: str(input, 'Bucket') } },
    ],
    CreateBucketCommand: (input) => [
      { action: 's3:CreateBucket', resource: { kind: 's3-bucket', bucket: str(input, 'Bucket') } },
    ],
  },
  sts: {
    AssumeRoleCommand: (input) => [
      {
        action: 'sts:AssumeRole',
        resource: { kind: 'role', arn: str(input, 'RoleArn') },
        ...(typeof input.ExternalId === 'string' ? { context: { 'sts:ExternalId': input.ExternalId } } : {}),
      },
    ],
  },
  // SNS encrypts a message with the topic's KMS key on the publisher's behalf: the publisher needs
  // kms:GenerateDataKey and kms:Decrypt on that key as well as sns:Publish.
  sns: {
    PublishCommand: () => [
      { action: 'sns:Publish', resource: { kind: 'topic' } },
      { action: 'kms:GenerateDataKey', resource: { kind: 'topic-key' } },
      { action: 'kms:Decrypt', resource: { kind: 'topic-key' } },
    ],
  },
  // The events digest reads its period's metrics; GetMetricData has no resource-level permissions.
  cloudwatch: {
    GetMetricDataCommand: () => [{ action: 'cloudwatch:GetMetricData', resource: { kind: 'any' } }],
  },
  lambda: {
    InvokeCommand: (input) => [
      { action: 'lambda:InvokeFunction', resource: { kind: 'function', name: str(input, 'FunctionName') } },
    ],
  },
  // The CLI's `start` command (the user's own credentials) and the state machine's own Step Functions calls.
  states: {
    StartExecutionCommand: () => [{ action: 'states:StartExecution', resource: { kind: 'state-machine' } }],
    DescribeExecutionCommand: () => [{ action: 'states:DescribeExecution', resource: { kind: 'state-machine' } }],
    GetExecutionHistoryCommand: () => [{ action: 'states:GetExecutionHistory', resource: { kind: 'state-machine' } }],
    DescribeMapRunCommand: () => [{ action: 'states:DescribeMapRun', resource: { kind: 'state-machine' } }],
    ListMapRunsCommand: () => [{ action: 'states:ListMapRuns', resource: { kind: 'state-machine' } }],
  },
};

/** Every command the table maps, by name (for the source scan). */
export function mappedCommands(): Set<string> {
  return new Set(Object.values(COMMAND_ACTIONS).flatMap((commands) => Object.keys(commands)));
}

/**
 * The IAM actions a recorded call needs.
 * @throws naming the command when the table does not map it: an unchecked call must fail loudly
 */
export function actionsFor(call: Pick<RecordedCall, 'service' | 'command' | 'input'>): NeededAction[] {
  const mapper = COMMAND_ACTIONS[call.service]?.[call.command];
  if (!mapper) {
    throw new Error(
      `${call.service} ${call.command} is not in test/support/iam-actions.ts: add what IAM authorises for it ` +
        "(AWS's Service Authorization Reference) before the product sends it",
    );
  }
  return mapper(call.input);
}
