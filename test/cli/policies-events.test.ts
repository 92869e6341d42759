/**
 * `s3xcopy policies` for an existing source bucket with the S3 event trigger: the notification
 * configuration to put on the bucket and the events queue's policy, the same JSON the stack gives a
 * bucket and queue it manages (test/infra/synth.ts synthesizes that deployment).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { register } from '../../cli/commands/policies';
import { UsageError } from '../../cli/errors';
import { exampleConfig, merge, synthesize } from '../infra/synth';

/** A cdk.json holding the example deployment with `patch` merged into its s3xcopy context. */
function cdkJson(patch: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 's3xcopy-policies-')), 'cdk.json');
  writeFileSync(file, JSON.stringify({ context: { s3xcopy: merge(exampleConfig(), patch) } }));
  return file;
}

async function runPolicies(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('s3xcopy').exitOverride();
  register(program, { stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTTY: false });
  for (const command of program.commands) command.exitOverride();
  await program.parseAsync(['node', 's3xcopy', 'policies', ...args]);
  return { stdout: out.join(''), stderr: err.join('') };
}

const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:111111111111:s3xcopy-events';

describe('s3xcopy policies: the S3 event trigger on an existing source bucket', () => {
  it('prints the notification configuration that sends Object Created under the prefix and suffix to the events queue', async () => {
    // Arrange
    const config = cdkJson({ s3Events: { suffix: '.parquet' } });

    // Act
    const { stdout, stderr } = await runPolicies(['--config', config, '--only', 'source-notifications']);

    // Assert: ready for put-bucket-notification-configuration, with the warning that it replaces the rest
    expect(JSON.parse(stdout)).toEqual({
      QueueConfigurations: [
        {
          Id: 's3xcopy-object-created',
          QueueArn: QUEUE_ARN,
          Events: ['s3:ObjectCreated:*'],
          Filter: {
            Key: {
              FilterRules: [
                { Name: 'Prefix', Value: 'data/incoming/' },
                { Name: 'Suffix', Value: '.parquet' },
              ],
            },
          },
        },
      ],
    });
    expect(stderr).toContain("replaces the bucket's whole notification configuration");
  });

  it('prints the same queue and filters the stack sets on a bucket it manages', async () => {
    // Arrange
    const managed = synthesize({ source: { createBucket: true }, s3Events: { suffix: '.parquet' } }, { nag: false });
    const [bucket] = Object.values(
      managed.sourceTemplate.findResources('AWS::S3::Bucket', { Properties: { BucketName: 'example-source-bucket' } }),
    );

    // Act
    const { stdout } = await runPolicies([
      '--config',
      cdkJson({ s3Events: { suffix: '.parquet' } }),
      '--only',
      'source-notifications',
    ]);

    // Assert
    const [printed] = JSON.parse(stdout).QueueConfigurations;
    const [deployed] = bucket?.Properties.NotificationConfiguration.QueueConfigurations ?? [];
    expect(deployed).toEqual({
      Event: printed.Events[0],
      Queue: printed.QueueArn,
      Filter: { S3Key: { Rules: printed.Filter.Key.FilterRules } },
    });
  });

  it('prints the queue policy that lets the bucket, and only it, send to the queue: the one the stack puts on it', async () => {
    // Arrange
    const { sourceTemplate } = synthesize({}, { nag: false });
    const queuePolicy = Object.entries(sourceTemplate.findResources('AWS::SQS::QueuePolicy')).find(([id]) =>
      id.startsWith('DirectEventsQueuePolicy'),
    )?.[1];
    const deployed = queuePolicy?.Properties.PolicyDocument.Statement.find(
      (statement: { Sid?: string }) => statement.Sid === 'SourceBucketSendsObjectCreated',
    );

    // Act
    const { stdout } = await runPolicies(['--config', cdkJson({}), '--only', 'events-queue']);

    // Assert
    const printed = JSON.parse(stdout);
    expect(printed.Statement).toEqual([
      {
        Sid: 'SourceBucketSendsObjectCreated',
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: QUEUE_ARN,
        Condition: {
          ArnEquals: { 'aws:SourceArn': 'arn:aws:s3:::example-source-bucket' },
          StringEquals: { 'aws:SourceAccount': '111111111111' },
        },
      },
    ]);
    expect(deployed).toEqual(printed.Statement[0]);
  });

  it('prints EventBridge notifications, and no queue policy, when an EventBridge rule feeds the queue', async () => {
    // Arrange
    const config = cdkJson({ s3Events: { source: 'eventbridge' } });

    // Act
    const { stdout } = await runPolicies(['--config', config, '--only', 'source-notifications']);
    const queue = runPolicies(['--config', config, '--only', 'events-queue']);

    // Assert
    expect(JSON.parse(stdout)).toEqual({ EventBridgeConfiguration: {} });
    await expect(queue).rejects.toBeInstanceOf(UsageError);
    await expect(queue).rejects.toThrow(/--only events-queue: nothing to apply by hand: .*source "eventbridge"/);
  });

  it('says there is nothing to apply when the stack manages the bucket', async () => {
    const run = runPolicies([
      '--config',
      cdkJson({ source: { createBucket: true } }),
      '--only',
      'source-notifications',
    ]);
    await expect(run).rejects.toThrow(/the stack manages the source bucket/);
  });

  it('refuses a suffix the feed cannot apply, as bad usage naming the field', async () => {
    const run = runPolicies(['--config', cdkJson({ s3Events: { suffix: '.csv', delivery: 'pipe' } })]);
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toThrow(/s3Events\.suffix.*needs s3Events\.delivery "lambda" and source "notification"/);
  });
});
