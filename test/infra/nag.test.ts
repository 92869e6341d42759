import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { buildApp } from '../../infra/app';
import { exampleConfig, FIXTURE_FUNCTIONS, merge, synthesize } from './synth';

describe('cdk-nag AwsSolutions and Serverless packs', () => {
  it.each([
    ['the example configuration', {}],
    ['a managed source bucket', { source: { createBucket: true } }],
    ['a same-account deployment', { target: { account: '111111111111', externalId: undefined } }],
    [
      'KMS keys on both sides, no triggers',
      {
        source: { kmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555' },
        target: { kmsKeyArn: 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555' },
        schedule: undefined,
        s3Events: { enabled: false },
        alarmEmails: [],
      },
    ],
  ])('reports zero unacknowledged findings for %s', (_name, patch) => {
    // Act + Assert: an unacknowledged finding makes synth throw with the report
    expect(() => synthesize(patch)).not.toThrow();
  });

  it('fails synth when a new wildcard permission is added without an acknowledgement', () => {
    // Arrange
    const built = buildApp({
      functionsDir: FIXTURE_FUNCTIONS,
      appProps: {
        context: { s3xcopy: merge(exampleConfig(), {}), 'aws:cdk:bundling-stacks': [] },
        builtinCloudFormationValidation: false,
      },
    });
    built.source.functions.roles.notify.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::example-source-bucket/*'] }),
    );
    // Act + Assert
    expect(() => built.app.synth()).toThrow(
      /NotifyRole\/DefaultPolicy[\s\S]*AwsSolutions-IAM5\[Resource::arn:aws:s3:::example-source-bucket\/\*\]/,
    );
  });

  it('accepts the same addition once it is acknowledged with a reason', () => {
    // Arrange
    const built = buildApp({
      functionsDir: FIXTURE_FUNCTIONS,
      appProps: {
        context: { s3xcopy: merge(exampleConfig(), {}), 'aws:cdk:bundling-stacks': [] },
        builtinCloudFormationValidation: false,
      },
    });
    const role = built.source.functions.roles.notify;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::example-source-bucket/*'] }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:aws:s3:::example-source-bucket/*]',
      reason: 'test',
    });
    // Act + Assert
    expect(() => built.app.synth()).not.toThrow();
  });
});
