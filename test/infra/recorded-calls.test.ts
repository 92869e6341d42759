/**
 * Every AWS call the code makes, held against the synthesized templates. Representative local runs (the
 * real ASL and handlers on the embedded S3 server) record every call with the identity that makes it
 * (functions/shared/call-recorder.ts); each call becomes the IAM actions it needs (test/support/
 * iam-actions.ts) and iam-simulate evaluates them under the deployed policies. A call the code makes that
 * the templates do not allow fails here, as it would fail on AWS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { DeleteObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { runEventsLocal } from '../../cli/runner/events-run';
import type { EventLedger } from '../../functions/events/event-copy';
import { RECORD_CALLS_ENV, type RecordedCall } from '../../functions/shared/call-recorder';
import type { JobDefaults } from '../../functions/shared/job';
import { roleSessionName } from '../../functions/shared/target-role';
import type { InfraConfig } from '../../infra/config';
import { resourceArns, resourceNames } from '../../infra/names';
import { sourceBucketPolicyStatements } from '../../infra/policies';
import { S3Model } from '../../sim/s3-model';
import { mappedCommands } from '../support/iam-actions';
import { modelEndpoint, runOnTestS3 } from '../support/local-run';
import { startTestS3, type TestS3 } from '../support/s3';
import { type Deployment, deployment } from './iam-proofs';
import { checkRecordedCalls, readRecording } from './recorded-calls';
import { synthesize } from './synth';

const ROOT = path.resolve(__dirname, '..', '..');
const MiB = 1024 * 1024;

/** A cross-account deployment whose buckets the local runs use by name, with every feature that adds calls. */
const PATCH = {
  source: { bucket: 'rec-source', prefix: 'data/', createBucket: false },
  target: { bucket: 'rec-target', prefix: 'copy/', createBucket: false, externalId: 'rec-external' },
  s3Events: { enabled: true, prefix: 'data/incoming/' },
  manifests: { bucket: 'rec-manifests', prefix: 'lists/' },
  allowDelete: true,
  allowRestore: true,
  schedule: undefined,
};

/**
 * STS for the target role: the embedded server has none. It answers AssumeRole with the embedded server's
 * own key pair, so the session's S3 requests are accepted; what the session may do is the templates' call.
 */
function standInSts(): STSClient {
  const xml = (expiration: string) =>
    '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>' +
    `<AccessKeyId>S3RVER</AccessKeyId><SecretAccessKey>S3RVER</SecretAccessKey><SessionToken>recorded</SessionToken><Expiration>${expiration}</Expiration>` +
    '</Credentials></AssumeRoleResult></AssumeRoleResponse>';
  return new STSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: 200,
          headers: { 'content-type': 'text/xml' },
          body: Readable.from([Buffer.from(xml(new Date(Date.now() + 3_600_000).toISOString()))]),
        },
      }),
    } as never,
  });
}

/**
 * Lets the first CreateMultipartUpload reach the server and loses its answer, so the copy sweeps the
 * upload it cannot name (functions/copy/stray-uploads.ts): ListMultipartUploads, then an abort. The copy
 * aborts only uploads its own role session initiated; the embedded server names no initiator, so the
 * listing answers with the one AWS would give for the job's session (`jobId`).
 */
function loseFirstCreateAnswer(jobId: string) {
  const initiator = `arn:aws:sts::222222222222:assumed-role/s3xcopy-target/${roleSessionName(jobId)}`;
  let lost = false;
  return (client: S3Client, role: string) => {
    if (role !== 'target') return;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'CreateMultipartUploadCommand' && !lost) {
          lost = true;
          throw Object.assign(new Error('We encountered an internal error (answer lost)'), {
            name: 'InternalError',
            $fault: 'server',
            $metadata: { httpStatusCode: 500 },
          });
        }
        return result;
      },
      // After signing, inside the SDK's retries: the request really reaches the server.
      { step: 'deserialize', name: 'testLostAnswer' },
    );
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'ListMultipartUploadsCommand') {
          const output = result.output as { Uploads?: Array<{ Initiator?: { ID?: string } }> };
          for (const upload of output.Uploads ?? []) upload.Initiator = { ID: initiator };
        }
        return result;
      },
      // Outermost, where the answer is already parsed.
      { step: 'initialize', name: 'testInitiator' },
    );
  };
}

let s3: TestS3;
let d: Deployment;
let config: InfraConfig;
let calls: RecordedCall[] = [];
let workDir: string;
const statuses: string[] = [];
const eventLedgers: EventLedger[] = [];

/** Runs one job under recording; returns the run's status. */
async function recordedRun(input: unknown, extra: Record<string, unknown> = {}): Promise<string> {
  const file = path.join(workDir, `calls-${calls.length}-${Date.now()}.jsonl`);
  const previous = process.env[RECORD_CALLS_ENV];
  process.env[RECORD_CALLS_ENV] = file;
  try {
    const result = await runOnTestS3(s3, resourceNames(config).stateBucket, input, {
      sts: standInSts(),
      outputDir: path.join(workDir, 'out'),
      ...extra,
    });
    calls = [...calls, ...readRecording(file)];
    statuses.push(result.status);
    return result.status;
  } finally {
    if (previous === undefined) delete process.env[RECORD_CALLS_ENV];
    else process.env[RECORD_CALLS_ENV] = previous;
  }
}

/** Records a run of the events function (cli/runner/events-run.ts), the objects it hands over included. */
async function recordedEventsRun(options: { defaults: JobDefaults; keys: string[]; thresholdBytes: number }) {
  const file = path.join(workDir, `calls-events-${Date.now()}.jsonl`);
  const previous = process.env[RECORD_CALLS_ENV];
  process.env[RECORD_CALLS_ENV] = file;
  try {
    const result = await runEventsLocal({
      endpoint: s3.server.endpoint,
      defaults: options.defaults,
      keys: options.keys,
      eventsPerInvocation: options.keys.length,
      sts: standInSts(),
      handOver: {
        thresholdBytes: options.thresholdBytes,
        stateBucket: resourceNames(config).stateBucket,
        outputDir: path.join(workDir, 'out-events'),
        retryIntervalMs: 0,
        logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
      },
    });
    calls = [...calls, ...readRecording(file)];
    eventLedgers.push(...result.reports.map((report) => report.ledger));
    statuses.push(...[...result.workflows.values()].map((workflow) => workflow.status));
  } finally {
    if (previous === undefined) delete process.env[RECORD_CALLS_ENV];
    else process.env[RECORD_CALLS_ENV] = previous;
  }
}

beforeAll(async () => {
  const synthesized = synthesize(PATCH, { nag: false });
  config = synthesized.config;
  d = deployment(config, synthesized.sourceTemplate.toJSON() as never, synthesized.targetTemplate?.toJSON() as never);
  d.sourceBucketPolicy = { Version: '2012-10-17', Statement: sourceBucketPolicyStatements(config) };
  workDir = await mkdtemp(path.join(tmpdir(), 's3xcopy-recorded-'));
  s3 = await startTestS3();
  for (const bucket of ['rec-source', 'rec-target', 'rec-manifests', resourceNames(config).stateBucket]) {
    await s3.createBucket(bucket);
  }
  for (const key of ['a.txt', 'sub/b.txt', 'incoming/e.txt']) {
    await s3.put('rec-source', `data/${key}`, `body of ${key}`);
    await s3.s3.send(
      new PutObjectTaggingCommand({
        Bucket: 'rec-source',
        Key: `data/${key}`,
        Tagging: { TagSet: [{ Key: 'team', Value: 'data' }] },
      }),
    );
  }
  await s3.put('rec-source', 'data/big.bin', Buffer.alloc(11 * MiB, 7));
  await s3.put('rec-target', 'copy/gone.txt', 'no source any more');
  await s3.put('rec-manifests', 'lists/rows.csv', 'rec-source,data/a.txt\nrec-source,data/sub/b.txt\n');

  const target = {
    bucket: 'rec-target',
    prefix: 'copy/',
    roleArn: resourceArns(config).targetRole,
    externalId: 'rec-external',
  };
  const source = { bucket: 'rec-source', prefix: 'data/' };
  const multipart = { multipartThreshold: 5 * MiB, partSize: 5 * MiB };
  // A copy with multipart, verification of every object and tag repair (the embedded server drops tags
  // on CopyObject), and Requester Pays on the source.
  await recordedRun({ source, target, options: { ...multipart, verify: 'all', requestPayer: true } });
  // A sync that mirrors deletes.
  await recordedRun({ source, target, options: { ...multipart, mode: 'sync', delete: true } });
  // A manifest job: the list role reads the manifest and HEADs every row.
  await recordedRun({
    source: { ...source, manifest: { bucket: 'rec-manifests', key: 'lists/rows.csv' } },
    target: { ...target, prefix: 'copy/from-manifest/' },
  });
  // S3 events (keys mode), with the job from the deployment defaults.
  const event = JSON.parse(
    readFileSync(path.join(ROOT, 'test', 'fixtures', 'events', 'eventbridge-object-created.json'), 'utf8'),
  );
  event.detail.bucket.name = 'rec-source';
  event.detail.object.key = 'data/incoming/e.txt';
  await recordedRun([event], { defaults: { source, target: { ...target, prefix: 'copy/events/' } } });
  // The direct event path: the events function copies one key as the target role (Requester Pays on its
  // HEADs) and hands the other, over s3Events.handOverSize, to the workflow (StartExecution).
  await recordedEventsRun({
    defaults: { source, target: { ...target, prefix: 'copy/direct/' }, options: { requestPayer: true } },
    keys: ['data/incoming/e.txt', 'data/big.bin'],
    thresholdBytes: 1 * MiB,
  });
  // A multipart copy whose CreateMultipartUpload answer is lost: the stray-upload sweep.
  await recordedRun(
    { source, target: { ...target, prefix: 'copy/stray/' }, filter: { include: ['big.bin'] }, options: multipart },
    { configureS3: loseFirstCreateAnswer('s3xcopy-recorded-stray'), executionName: 's3xcopy-recorded-stray' },
  );
  // Archived objects with restore (allowRestore): on the S3 model, as the embedded server has no storage
  // classes or RestoreObject (test/statemachine/archived-objects.sim.test.ts).
  // The target bucket encrypts with SSE-KMS by default, so every copy's ETag differs from its source's and
  // the copy writes an identity record.
  const model = new S3Model();
  for (const bucket of ['rec-source', 'rec-target', resourceNames(config).stateBucket]) model.createBucket(bucket);
  model.setDefaultEncryption('rec-target', { kmsKeyId: 'arn:aws:kms:us-east-1:222222222222:key/rec' });
  model.seed('rec-source', [
    { key: 'data/hot', size: 100 },
    { key: 'data/warm', size: 200 },
    { key: 'data/cold', size: 300, storageClass: 'GLACIER' },
  ]);
  const onModel = {
    endpoint: modelEndpoint(model),
  };
  const restored = { ...target, prefix: 'copy/restored/' };
  await recordedRun(
    { source, target: restored, options: { mode: 'sync', restore: { tier: 'Bulk', days: 3 } } },
    onModel,
  );
  // A sync that proves data/warm's copy by its identity record (the list role lists identity/) and mirrors
  // the delete of data/hot, deleting its record too.
  await model.client().send(new DeleteObjectCommand({ Bucket: 'rec-source', Key: 'data/hot' }));
  await recordedRun(
    { source, target: restored, filter: { exclude: ['cold'] }, options: { mode: 'sync', delete: true } },
    onModel,
  );
}, 120_000);

afterAll(async () => {
  await s3?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('every recorded call against the synthesized templates', () => {
  it('records the calls of every function, the target role and the state machine', () => {
    // Assess: a recording that misses an identity would prove nothing about it.
    expect(statuses).toEqual(Array(8).fill('SUCCEEDED'));
    expect(eventLedgers).toEqual([expect.objectContaining({ selected: 2, copied: 1, handedOver: 1, failed: 0 })]);
    const identities = new Set(calls.map((call) => call.identity));
    expect([...identities].filter((identity) => identity !== 'cli').sort()).toEqual(
      ['copy', 'events', 'list', 'notify', 'stateMachine', 'target'].sort(),
    );
    expect(calls).toContainEqual(expect.objectContaining({ identity: 'events', command: 'StartExecutionCommand' }));
    const commands = new Set(calls.map((call) => call.command));
    for (const command of [
      'AssumeRoleCommand',
      'CopyObjectCommand',
      'UploadPartCopyCommand',
      'GetObjectTaggingCommand',
      'PutObjectTaggingCommand',
      'DeleteObjectCommand',
      'ListMultipartUploadsCommand',
      'AbortMultipartUploadCommand',
      'RestoreObjectCommand',
      'ListObjectsV2Command',
      'HeadObjectCommand',
      'PublishCommand',
      'InvokeCommand',
    ]) {
      expect(commands).toContain(command);
    }
  });

  it('records the identity records written, listed and deleted in the state bucket', () => {
    // Assess: the copy writes them, the list step lists and deletes them; nobody reads one by GET.
    const onRecords = calls
      .filter((call) => {
        const { Key, Prefix } = call.input as { Key?: unknown; Prefix?: unknown };
        return [Key, Prefix].some((name) => typeof name === 'string' && name.startsWith('identity/'));
      })
      .map((call) => `${call.identity} ${call.command}`);
    expect([...new Set(onRecords)].sort()).toEqual([
      'copy PutObjectCommand',
      'list DeleteObjectCommand',
      'list ListObjectsV2Command',
    ]);
  });

  it('allows every action every recorded call needs, for the identity that made it', async () => {
    // Act
    const check = await checkRecordedCalls(d, calls);

    // Assess
    console.info(
      `[recorded-calls] ${calls.length} calls recorded, ${check.checked} checked, ` +
        `${check.distinctActions.length} distinct identity/action pairs, ${check.denials.length} denied`,
    );
    expect(check.denials).toEqual([]);
  });

  it('finds the denial when the target role lacks one action the code needs', async () => {
    // Prepare: the deployed target role without s3:GetObjectTagging on the target (what it lacked before).
    const narrowed = structuredClone(d.target?.template) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    for (const resource of Object.values(narrowed.Resources)) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      for (const policy of (resource.Properties?.Policies ?? []) as Array<{
        PolicyDocument: { Statement: Array<{ Sid?: string; Action: string[] }> };
      }>) {
        for (const statement of policy.PolicyDocument.Statement) {
          if (statement.Sid === 'WriteTargetPrefix') {
            statement.Action = statement.Action.filter((action) => action !== 's3:GetObjectTagging');
          }
        }
      }
    }
    const weakened = deployment(config, d.source.template, narrowed);
    weakened.sourceBucketPolicy = d.sourceBucketPolicy;

    // Act
    const check = await checkRecordedCalls(weakened, calls);

    // Assess
    expect(new Set(check.denials.map((denial) => `${denial.identity} ${denial.command} ${denial.action}`))).toEqual(
      new Set(['target GetObjectTaggingCommand s3:GetObjectTagging']),
    );
  });
});

describe('the command table', () => {
  /**
   * Every `new XxxCommand(` in the product source (functions/, cli/, infra/), and every SDK paginator
   * `paginateXxx(`, which sends XxxCommand without naming it.
   */
  function productCommands(): Map<string, string[]> {
    const found = new Map<string, string[]>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(file, 'utf8');
          for (const match of text.matchAll(/new ([A-Z][A-Za-z0-9]*Command)\(|\bpaginate([A-Z][A-Za-z0-9]*)\(/g)) {
            const name = match[1] ?? `${match[2]}Command`;
            found.set(name, [...(found.get(name) ?? []), path.relative(ROOT, file)]);
          }
        }
      }
    };
    for (const dir of ['functions', 'cli', 'infra']) walk(path.join(ROOT, dir));
    return found;
  }

  it('maps every SDK command the product source sends to its IAM actions', () => {
    // Act
    const commands = productCommands();
    const unmapped = [...commands].filter(([name]) => !mappedCommands().has(name));

    // Assess: the scan must find the commands (a broken regex would pass vacuously).
    expect(commands.size).toBeGreaterThan(20);
    expect(unmapped).toEqual([]);
  });

  it('maps every command the runs recorded', () => {
    // Assess
    const unmapped = [...new Set(calls.map((call) => call.command))].filter((name) => !mappedCommands().has(name));
    expect(unmapped).toEqual([]);
  });
});
