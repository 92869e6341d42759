import { Match } from 'aws-cdk-lib/assertions';
import { EVENTS_FUNCTION_SIZING } from '../../functions/shared/function-sizing';
import { EVENTS_MAX_RECEIVE_COUNT } from '../../infra/constructs/event-copy';
import { resourceArns } from '../../infra/names';
import {
  deployment,
  functionsInvokableBy,
  isAllowed,
  principalsThatMayAssumeTargetRole,
  roleIdByArn,
  s3ActionsAllowed,
} from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

/** The example deployment: S3 events on, delivered the default way (the events function). */
const built = synthesize({ source: { createBucket: true } });
const template = built.sourceTemplate;
const arns = resourceArns(built.config);
const d = deployment(
  built.config,
  template.toJSON() as TemplateJson,
  built.targetTemplate?.toJSON() as TemplateJson | undefined,
);

describe('the direct event path (s3Events.delivery "lambda")', () => {
  describe('resources', () => {
    it('starts no execution per batch: no pipe, and the events function is invoked by an SQS event source mapping', () => {
      template.resourceCountIs('AWS::Pipes::Pipe', 0);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: Match.stringLikeRegexp('^DirectEventsFunction') },
        EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DirectEventsQueue'), 'Arn'] },
        BatchSize: 50,
        MaximumBatchingWindowInSeconds: 60,
        // Only the failed messages of a batch are delivered again.
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    });

    it('gives a batch of more than 10 events at least the 1 s batching window Lambda requires', () => {
      const noWindow = synthesize({ s3Events: { batchWindowSeconds: 0 } }, { nag: false });
      noWindow.sourceTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        BatchSize: 50,
        MaximumBatchingWindowInSeconds: 1,
      });
    });

    it('runs the events function small (billed per event), arm64, traced, told the queue maxReceiveCount', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 's3xcopy-events',
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: EVENTS_FUNCTION_SIZING.memoryMB,
        Timeout: EVENTS_FUNCTION_SIZING.timeoutSeconds,
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: Match.objectLike({
            S3XCOPY_EVENTS_MAX_RECEIVE_COUNT: String(EVENTS_MAX_RECEIVE_COUNT),
            S3XCOPY_SOURCE_BUCKET: 'example-source-bucket',
            S3XCOPY_TOPIC_ARN: arns.topic,
          }),
        },
      });
    });

    it('keeps a failing message for a few deliveries, then moves it to a dead-letter queue', () => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: 's3xcopy-events',
        VisibilityTimeout: EVENTS_FUNCTION_SIZING.timeoutSeconds * 6,
        RedrivePolicy: {
          maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT,
          deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DirectEventsDeadLetters'), 'Arn'] },
        },
        SqsManagedSseEnabled: true,
      });
    });

    it('has the managed source bucket notify the queue itself of Object Created under the prefix (no EventBridge)', () => {
      template.resourceCountIs('AWS::Events::Rule', 0);
      template.hasResource('AWS::S3::Bucket', {
        Properties: Match.objectLike({
          BucketName: 'example-source-bucket',
          NotificationConfiguration: {
            QueueConfigurations: [
              {
                Event: 's3:ObjectCreated:*',
                Queue: arns.eventsQueue,
                Filter: { S3Key: { Rules: [{ Name: 'Prefix', Value: 'data/incoming/' }] } },
              },
            ],
          },
        }),
        DependsOn: Match.arrayWith([Match.stringLikeRegexp('^DirectEventsQueuePolicy')]),
      });
    });

    it('lets only S3, for the source bucket in its account, send to the queue', () => {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: 'SourceBucketSendsObjectCreated',
              Effect: 'Allow',
              Principal: { Service: 's3.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: arns.eventsQueue,
              Condition: {
                ArnEquals: { 'aws:SourceArn': arns.sourceBucket },
                StringEquals: { 'aws:SourceAccount': '111111111111' },
              },
            },
          ]),
        },
      });
    });

    it('routes Object Created events through an EventBridge rule instead with s3Events.source "eventbridge"', () => {
      const viaRule = synthesize(
        { source: { createBucket: true }, s3Events: { source: 'eventbridge' } },
        { nag: false },
      );
      viaRule.sourceTemplate.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: { bucket: { name: ['example-source-bucket'] }, object: { key: [{ prefix: 'data/incoming/' }] } },
        },
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DirectEventsQueue'), 'Arn'] } })],
      });
      viaRule.sourceTemplate.hasResourceProperties('AWS::S3::Bucket', {
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      });
    });

    it('alarms to the topic on the events function errors and on its dead-letter queue', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 's3xcopy-eventsErrors',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^DirectEventsFunction') } }],
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^NotificationsTopic') }],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 's3xcopy-DirectEventsDeadLetters',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^NotificationsTopic') }],
      });
    });
  });

  describe('least privilege (IAM proofs)', () => {
    const roleId = roleIdByArn(d.source, arns.eventsRole);
    const policies = d.source.identityPolicies(roleId);
    const otherQueue = arns.eventsQueue.replace(/[^:]+$/, 'someone-elses-queue');

    it('gives the events role no direct S3 access cross-account: it copies as the target role', async () => {
      expect(await s3ActionsAllowed(d, arns.eventsRole, policies)).toEqual([]);
      expect(await principalsThatMayAssumeTargetRole(d)).toContain(arns.eventsRole);
    });

    it('lets the events role receive and delete messages of its own queue only, and send none', async () => {
      const may = (action: string, queue: string) =>
        isAllowed(
          { principal: arns.eventsRole, action, resource: queue, resourceAccount: built.config.source.account },
          policies,
        );
      expect(await may('sqs:ReceiveMessage', arns.eventsQueue)).toBe(true);
      expect(await may('sqs:DeleteMessage', arns.eventsQueue)).toBe(true);
      expect(await may('sqs:ReceiveMessage', otherQueue)).toBe(false);
      expect(await may('sqs:SendMessage', arns.eventsQueue)).toBe(false);
    });

    it('lets the events role write failure reports under reports/events/ only', async () => {
      const may = (key: string) =>
        isAllowed(
          {
            principal: arns.eventsRole,
            action: 's3:PutObject',
            resource: `${arns.stateBucket}/${key}`,
            resourceAccount: built.config.source.account,
          },
          policies,
        );
      expect(await may('reports/events/2026-12-06/request.json')).toBe(true);
      expect(await may('reports/job-1/ledger.json')).toBe(false);
      expect(await may('manifests/job-1/part-0.json')).toBe(false);
    });

    it("lets the events role invoke no function, and start executions of the deployment's state machine only", async () => {
      const may = (action: string, resource: string) =>
        isAllowed(
          { principal: arns.eventsRole, action, resource, resourceAccount: built.config.source.account },
          policies,
        );
      expect(await functionsInvokableBy(d, arns.eventsRole)).toEqual([]);
      expect(await may('states:StartExecution', arns.stateMachine)).toBe(true);
      expect(await may('states:StartExecution', `${arns.stateMachine}-other`)).toBe(false);
      expect(await may('states:StartSyncExecution', arns.stateMachine)).toBe(false);
    });

    it('tells the events function the state machine to hand large objects to, and the configured threshold', () => {
      // Arrange
      const sized = synthesize({ s3Events: { handOverSize: 1073741824 } }, { nag: false });
      // Assert
      sized.sourceTemplate.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 's3xcopy-events',
        Environment: {
          Variables: Match.objectLike({
            S3XCOPY_STATE_MACHINE_ARN: arns.stateMachine,
            S3XCOPY_EVENTS_HAND_OVER_BYTES: '1073741824',
          }),
        },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 's3xcopy-events',
        Environment: { Variables: Match.objectLike({ S3XCOPY_EVENTS_HAND_OVER_BYTES: Match.absent() }) },
      });
    });

    it('in a same-account deployment, reads the source and writes the target prefix exactly as the copy role does', async () => {
      // Arrange
      const same = synthesize({ target: { account: '111111111111' } }, { nag: false });
      const ds = deployment(same.config, same.sourceTemplate.toJSON() as TemplateJson);
      const sameArns = resourceArns(same.config);
      const of = (arn: string) => ds.source.identityPolicies(roleIdByArn(ds.source, arn));
      // Act
      const events = await s3ActionsAllowed(ds, sameArns.eventsRole, of(sameArns.eventsRole));
      const copy = await s3ActionsAllowed(ds, sameArns.copyRole, of(sameArns.copyRole));
      // Assert
      expect(events).toEqual(copy);
      expect(events).toContain('target object: s3:PutObject');
    });
  });
});

describe('the events digest (s3Events.digestHours)', () => {
  const digestRoleId = roleIdByArn(d.source, arns.digestRole);
  const digestPolicies = d.source.identityPolicies(digestRoleId);
  const may = (action: string, resource: string) =>
    isAllowed(
      { principal: arns.digestRole, action, resource, resourceAccount: built.config.source.account },
      digestPolicies,
    );

  it('runs the digest function on a schedule of its period, told the period', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 's3xcopy-events-digest',
      Environment: { Variables: Match.objectLike({ S3XCOPY_EVENTS_DIGEST_HOURS: '24' }) },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 day)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsDigestFunction'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsDigestDeadLetters'), 'Arn'] } },
      }),
    });
  });

  it('has no digest with digestHours 0', () => {
    const off = synthesize({ s3Events: { digestHours: 0 } }, { nag: false });
    off.sourceTemplate.resourcePropertiesCountIs('AWS::Lambda::Function', { FunctionName: 's3xcopy-events-digest' }, 0);
  });

  it('lets the digest role read metrics, write digests under reports/events/ and publish, nothing else', async () => {
    expect(await may('cloudwatch:GetMetricData', '*')).toBe(true);
    expect(await may('s3:PutObject', `${arns.stateBucket}/reports/events/2026-12-06.json`)).toBe(true);
    expect(await may('s3:PutObject', `${arns.stateBucket}/reports/job-1/ledger.json`)).toBe(false);
    expect(await may('s3:GetObject', `${arns.stateBucket}/reports/events/2026-12-06.json`)).toBe(false);
    expect(await may('sns:Publish', arns.topic)).toBe(true);
    expect(await may('cloudwatch:PutMetricData', '*')).toBe(false);
    expect(await s3ActionsAllowed(d, arns.digestRole, digestPolicies)).toEqual([]);
  });
});

describe('delivery "pipe": the workflow per batch, as before', () => {
  const piped = synthesize({ s3Events: { delivery: 'pipe' } }, { nag: false });

  it('has the pipe and no events function', () => {
    piped.sourceTemplate.resourceCountIs('AWS::Pipes::Pipe', 1);
    piped.sourceTemplate.resourcePropertiesCountIs('AWS::Lambda::Function', { FunctionName: 's3xcopy-events' }, 0);
    piped.sourceTemplate.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
  });

  it('alarms on the pipe path dead-letter queue', () => {
    piped.sourceTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 's3xcopy-ObjectCreatedDeadLetters',
      AlarmDescription: Match.stringLikeRegexp('never started an execution'),
    });
  });
});
