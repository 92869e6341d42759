import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { parseInfraConfig } from '../../infra/config';
import { FUNCTION_SIZING } from '../../infra/constructs/copy-functions';
import {
  DEFAULT_DEFINITION_PATH,
  definitionSubstitutions,
  placeholdersIn,
  taskTimeoutProblems,
} from '../../infra/constructs/copy-state-machine';
import { resourceArns, resourceNames } from '../../infra/names';
import { exampleConfig, synthesize } from './synth';

describe('SourceStack', () => {
  const { sourceTemplate: template, config } = synthesize();
  const names = resourceNames(config);
  const arns = resourceArns(config);

  describe('functions', () => {
    it.each(['list', 'copy', 'notify'])('runs %s on Node.js 24, arm64, traced, with a fixed name', (kind) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `s3xcopy-${kind}`,
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        LoggingConfig: {
          LogGroup: { Ref: Match.stringLikeRegexp(`^Functions${kind[0]?.toUpperCase()}${kind.slice(1)}Logs`) },
        },
      });
    });

    it('gives every function the deployment defaults and Powertools settings in its environment', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 's3xcopy-copy',
        Environment: {
          Variables: {
            S3XCOPY_SOURCE_BUCKET: 'example-source-bucket',
            S3XCOPY_SOURCE_PREFIX: 'data/',
            S3XCOPY_TARGET_BUCKET: 'example-target-bucket',
            S3XCOPY_TARGET_PREFIX: 'mirror/',
            S3XCOPY_TARGET_ROLE_ARN: 'arn:aws:iam::222222222222:role/s3xcopy-target',
            S3XCOPY_EXTERNAL_ID: 's3xcopy-example',
            S3XCOPY_DEFAULT_OPTIONS: JSON.stringify({ mode: 'copy', concurrency: 32 }),
            S3XCOPY_STATE_BUCKET: names.stateBucket,
            S3XCOPY_TOPIC_ARN: arns.topic,
            S3XCOPY_NOTIFY_ON_SUCCESS: 'true',
            POWERTOOLS_SERVICE_NAME: 's3xcopy-copy',
            POWERTOOLS_METRICS_NAMESPACE: 's3xcopy',
            NODE_OPTIONS: '--enable-source-maps',
          },
        },
      });
    });

    it("tells the list function the Map's MaxConcurrency, so that it plans whole rounds of it", () => {
      const { sourceTemplate } = synthesize({ mapMaxConcurrency: 25 }, { nag: false });
      sourceTemplate.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 's3xcopy-list',
        Environment: { Variables: Match.objectLike({ S3XCOPY_MAP_MAX_CONCURRENCY: '25' }) },
      });
    });

    it('gives list and copy the full 15 minutes, and notify 5 minutes and 1 GiB to read every result file', () => {
      for (const kind of ['list', 'copy']) {
        template.hasResourceProperties('AWS::Lambda::Function', {
          FunctionName: `s3xcopy-${kind}`,
          Timeout: 900,
          MemorySize: 1024,
        });
      }
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 's3xcopy-notify',
        Timeout: 300,
        MemorySize: 1024,
      });
    });

    it('keeps function logs for the configured retention', () => {
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: '/aws/lambda/s3xcopy-copy',
        RetentionInDays: 30,
      });
    });

    it('names the function roles so the target account can trust them before deployment', () => {
      for (const role of ['s3xcopy-list', 's3xcopy-copy', 's3xcopy-notify']) {
        template.hasResourceProperties('AWS::IAM::Role', { RoleName: role });
      }
    });

    it('attaches no managed policies to any role', () => {
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  describe('state bucket', () => {
    it('is encrypted, private, SSL-only and expires its working files', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: names.stateBucket,
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({ ExpirationInDays: 14, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
          ],
        },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  describe('state machine', () => {
    it('is a Standard state machine with ALL logging and tracing', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: names.stateMachine,
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: '/aws/vendedlogs/states/s3xcopy-copy',
        RetentionInDays: 30,
      });
    });

    it('supplies a value for every placeholder in the ASL file', () => {
      // Arrange
      const asl = readFileSync(DEFAULT_DEFINITION_PATH, 'utf8');
      const substitutions = definitionSubstitutions(config);
      // Act
      const placeholders = placeholdersIn(asl);
      // Assert
      expect(placeholders.length).toBeGreaterThan(0);
      for (const name of placeholders) expect(substitutions[name]).toEqual(expect.any(String));
      const [stateMachine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
      expect(Object.keys(stateMachine?.Properties.DefinitionSubstitutions).sort()).toEqual(
        Object.keys(substitutions).sort(),
      );
      expect(stateMachine?.Properties.DefinitionSubstitutions).toMatchObject({
        ListFunctionArn: arns.listFunction,
        StateBucket: names.stateBucket,
        MapMaxConcurrency: '40',
      });
    });

    describe('Task timeouts against function timeouts', () => {
      /** The real ASL with the two notify Tasks' TimeoutSeconds set, written to a temp file. */
      const withNotifyTimeout = (seconds: number) => {
        const definition = JSON.parse(readFileSync(DEFAULT_DEFINITION_PATH, 'utf8'));
        for (const state of ['NotifySuccess', 'NotifyFailure']) definition.States[state].TimeoutSeconds = seconds;
        const file = path.join(tempDir, `notify-${seconds}.asl.json`);
        writeFileSync(file, JSON.stringify(definition));
        return file;
      };
      let tempDir: string;
      beforeAll(() => {
        tempDir = mkdtempSync(path.join(tmpdir(), 's3xcopy-asl-'));
      });
      afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

      it('checks every Lambda Task, the Distributed Map child included', () => {
        // Arrange: functions that may run for 15 minutes each
        const long = { timeout: Duration.minutes(15) };
        // Act
        const problems = taskTimeoutProblems(readFileSync(DEFAULT_DEFINITION_PATH, 'utf8'), {
          list: long,
          copy: long,
          notify: long,
        });
        // Assert: List and Copy (960 s) outlast 15 minutes; the notify Tasks are shorter
        expect(
          problems.map(({ state, kind, functionTimeoutSeconds }) => [state, kind, functionTimeoutSeconds]),
        ).toEqual([
          ['NotifySuccess', 'notify', 900],
          ['NotifyFailure', 'notify', 900],
        ]);
        expect(
          taskTimeoutProblems(readFileSync(DEFAULT_DEFINITION_PATH, 'utf8'), {
            list: { timeout: Duration.seconds(960) },
            copy: { timeout: Duration.seconds(960) },
            notify: { timeout: Duration.seconds(1) },
          }).map((problem) => problem.state),
          // MirrorDeletes invokes the list function too.
        ).toEqual(['List', 'Copy', 'MirrorDeletes']);
      });

      it('lets every Lambda Task of the real ASL outlast the function it invokes', () => {
        expect(taskTimeoutProblems(readFileSync(DEFAULT_DEFINITION_PATH, 'utf8'))).toEqual([]);
        template.hasResourceProperties('AWS::Lambda::Function', {
          FunctionName: 's3xcopy-notify',
          Timeout: FUNCTION_SIZING.notify.timeout.toSeconds(),
        });
      });

      it('fails synth, naming the state and the fix, when a notify Task gives up before the function', () => {
        expect(() => synthesize({}, { definitionPath: withNotifyTimeout(120), nag: false })).toThrow(
          /Task "NotifySuccess" times out after 120 s, but the notify function may run 300 s: give the Task a longer TimeoutSeconds \(e\.g\. 330\)/,
        );
      });

      it('synthesizes when every Task outlasts its function', () => {
        expect(() => synthesize({}, { definitionPath: withNotifyTimeout(301), nag: false })).not.toThrow();
      });
    });

    it('refuses an ASL file with a placeholder the deployment does not supply', () => {
      // Arrange
      const fixture = path.join(__dirname, '..', 'fixtures', 'infra', 'unknown-placeholder.asl.json');
      // Act + Assert
      expect(() => synthesize({}, { definitionPath: fixture })).toThrow(/\$\{SomethingNew\}/);
    });
  });

  describe('notifications and alarms', () => {
    it('encrypts the topic with a rotating customer key that CloudWatch may use, and subscribes the emails', () => {
      template.hasResourceProperties('AWS::SNS::Topic', { TopicName: names.topic, KmsMasterKeyId: Match.anyValue() });
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it.each(['list', 'notify'])('alarms on any %s function error', (kind) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Dimensions: [
          {
            Name: 'FunctionName',
            Value: { Ref: Match.stringLikeRegexp(`^Functions${kind[0]?.toUpperCase()}${kind.slice(1)}[A-F0-9]{8}$`) },
          },
        ],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^NotificationsTopic') }],
      });
    });

    it("alarms on the copy function's own count of failed invocations, not on Lambda's Errors", () => {
      // A hand-over to the next invocation (CopyTimeBudgetError) is an error to Lambda and normal work
      // to us: test/statemachine/copy-alarms.test.ts evaluates these alarms over local runs.
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 's3xcopy-copyInvocationsFailed',
        Namespace: 's3xcopy',
        MetricName: 'InvocationsFailed',
        Dimensions: [{ Name: 'service', Value: 's3xcopy-copy' }],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^NotificationsTopic') }],
      });
      template.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        {
          Namespace: 'AWS/Lambda',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^FunctionsCopy') } }],
        },
        0,
      );
    });

    it('alarms on copy batches that failed after their retries (a copy that died writes no metric)', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 's3xcopy-CopyBatchesFailed',
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsFailed',
        Dimensions: [
          {
            Name: 'StateMachineArn',
            Value: 'arn:aws:states:eu-west-1:111111111111:stateMachine:s3xcopy-copy/CopyBatches',
          },
        ],
        Threshold: 0,
      });
    });

    it.each(['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'])('alarms on %s', (metric) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metric,
        Namespace: 'AWS/States',
        Threshold: 0,
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^NotificationsTopic') }],
      });
    });
  });

  describe('dead-letter queue alarms', () => {
    /** The alarm on a queue's ApproximateNumberOfMessagesVisible, by the queue's logical ID prefix. */
    const dlqAlarm = (queueIdPrefix: string) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
        (alarm) =>
          alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(alarm.Properties.Dimensions).includes(`"${queueIdPrefix}`),
      );

    it.each([
      ['the direct event path', 'DirectEventsDeadLetters', /failed on every delivery/],
      ['the schedule', 'ScheduleDeadLetters', /could not start/],
    ])('alarms to the topic as soon as a message sits in the dead-letter queue of %s', (_name, queueId, meaning) => {
      // Act
      const alarms = dlqAlarm(queueId);
      // Assert
      expect(alarms).toHaveLength(1);
      expect(alarms[0]?.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(`^${queueId}`), 'QueueName'] } },
        ],
        AlarmActions: [{ Ref: expect.stringMatching(/^NotificationsTopic/) }],
      });
      expect(alarms[0]?.Properties.AlarmDescription).toMatch(meaning);
    });

    it('watches only dead-letter queues, not the event queue itself', () => {
      // Act
      const watched = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
        .filter((alarm) => alarm.Properties.Namespace === 'AWS/SQS')
        .map((alarm) => alarm.Properties.Dimensions[0].Value['Fn::GetAtt'][0] as string);
      // Assert: the event queue holds events while the pipe batches them, which is normal
      // the schedule's, the events queue's and the events digest schedule's
      expect(watched).toHaveLength(3);
      for (const id of watched) expect(id).toMatch(/DeadLetters/);
    });

    it('has no dead-letter alarms when neither trigger is configured', () => {
      const { sourceTemplate } = synthesize({ schedule: undefined, s3Events: { enabled: false } }, { nag: false });
      sourceTemplate.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS' }, 0);
    });
  });

  describe('triggers', () => {
    it('starts the configured job on the schedule', () => {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(0 2 * * ? *)',
        ScheduleExpressionTimezone: 'Europe/Paris',
        Target: Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('^WorkflowStateMachine') },
          Input: JSON.stringify({ options: { mode: 'sync' } }),
          DeadLetterConfig: { Arn: Match.anyValue() },
        }),
      });
    });

    it('routes Object Created events under the prefix to a queue with a dead-letter queue, with delivery "pipe"', () => {
      const { sourceTemplate: piped } = synthesize({ s3Events: { delivery: 'pipe' } }, { nag: false });
      piped.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: { bucket: { name: ['example-source-bucket'] }, object: { key: [{ prefix: 'data/incoming/' }] } },
        },
        Targets: [Match.objectLike({ DeadLetterConfig: { Arn: Match.anyValue() } })],
      });
      piped.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
        SqsManagedSseEnabled: true,
      });
    });

    it('batches events through a pipe into one execution per batch, with delivery "pipe"', () => {
      const { sourceTemplate: piped } = synthesize({ s3Events: { delivery: 'pipe' } }, { nag: false });
      piped.hasResourceProperties('AWS::Pipes::Pipe', {
        SourceParameters: { SqsQueueParameters: { BatchSize: 50, MaximumBatchingWindowInSeconds: 60 } },
        Target: { Ref: Match.stringLikeRegexp('^WorkflowStateMachine') },
        TargetParameters: { StepFunctionStateMachineParameters: { InvocationType: 'FIRE_AND_FORGET' } },
      });
    });

    it('creates neither schedule nor event pipeline when the configuration turns them off', () => {
      const { sourceTemplate } = synthesize({ schedule: undefined, s3Events: { enabled: false } });
      sourceTemplate.resourceCountIs('AWS::Scheduler::Schedule', 0);
      sourceTemplate.resourceCountIs('AWS::Pipes::Pipe', 0);
      sourceTemplate.resourceCountIs('AWS::Events::Rule', 0);
    });
  });

  describe('a source bucket the stack owns', () => {
    const owned = synthesize({ source: { createBucket: true } }).sourceTemplate;

    it('turns on EventBridge notifications without a custom resource for the pipe', () => {
      const piped = synthesize({ source: { createBucket: true }, s3Events: { delivery: 'pipe' } }, { nag: false });
      piped.sourceTemplate.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: 'example-source-bucket',
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      });
      piped.sourceTemplate.resourceCountIs('Custom::S3BucketNotifications', 0);
      owned.resourceCountIs('Custom::S3BucketNotifications', 0);
    });

    it('lets the target role read the source prefix through the bucket policy', () => {
      owned.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: Match.stringLikeRegexp('^SourceBucket') },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { AWS: 'arn:aws:iam::222222222222:role/s3xcopy-target' },
              Action: ['s3:GetObject', 's3:GetObjectTagging'],
              Resource: 'arn:aws:s3:::example-source-bucket/data/*',
            }),
            Match.objectLike({
              Principal: { AWS: 'arn:aws:iam::222222222222:role/s3xcopy-target' },
              Action: 's3:ListBucket',
              Condition: { StringLike: { 's3:prefix': ['data/*'] } },
            }),
          ]),
        },
      });
    });
  });

  it('is what the example configuration parses to', () => {
    expect(config).toEqual(parseInfraConfig(exampleConfig()));
  });
});
