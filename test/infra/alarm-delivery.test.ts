import { resourceArns } from '../../infra/names';
import { CLOUDWATCH_SERVICE } from '../../infra/policies';
import { deployment, topicActionsAllowedForService } from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

/**
 * The alarms must reach someone: each alarm is evaluated as AWS evaluates it, as the service principal
 * cloudwatch.amazonaws.com against the RESOURCE policies of the topic and of the topic's KMS key.
 */
describe('alarm delivery to the encrypted, SSL-only topic', () => {
  const built = synthesize();
  const d = deployment(built.config, built.sourceTemplate.toJSON() as TemplateJson);
  const account = built.config.source.account;
  const region = built.config.source.region;
  const topicArn = resourceArns(built.config).topic;
  const everything = ['sns:Publish', 'kms:GenerateDataKey', 'kms:Decrypt'];

  it('lets CloudWatch publish, and use the topic key, for every alarm of the stack', async () => {
    // Arrange: function failures x5 (list, copy, notify, events, events digest), failed copy batches,
    // executions x3, three dead-letter queues
    const alarms = d.source.alarms();
    expect(alarms).toHaveLength(12);
    // Act
    const results = await Promise.all(
      alarms.map(async (alarm) => ({
        alarm: alarm.id,
        actions: alarm.actions,
        allowed: await topicActionsAllowedForService(d, {
          service: CLOUDWATCH_SERVICE,
          sourceAccount: account,
          sourceArn: alarm.arn,
        }),
      })),
    );
    // Assert: every alarm notifies the topic, and both resource policies let it
    expect(results).toEqual(alarms.map((alarm) => ({ alarm: alarm.id, actions: [topicArn], allowed: everything })));
  });

  it("denies CloudWatch acting for another account's alarm (confused deputy)", async () => {
    // Act
    const allowed = await topicActionsAllowedForService(d, {
      service: CLOUDWATCH_SERVICE,
      sourceAccount: '222222222222',
      sourceArn: `arn:aws:cloudwatch:${region}:222222222222:alarm:s3xcopy-listErrors`,
    });
    // Assert
    expect(allowed).toEqual([]);
  });

  it('denies CloudWatch acting for an alarm of this account that is not the deployment’s', async () => {
    // Act
    const allowed = await topicActionsAllowedForService(d, {
      service: CLOUDWATCH_SERVICE,
      sourceAccount: account,
      sourceArn: `arn:aws:cloudwatch:${region}:${account}:alarm:someone-elses-alarm`,
    });
    // Assert
    expect(allowed).toEqual([]);
  });

  it('denies other services: EventBridge, S3 and Pipes have no reason to publish here', async () => {
    // Act
    const results = await Promise.all(
      ['events.amazonaws.com', 's3.amazonaws.com', 'pipes.amazonaws.com'].map((service) =>
        topicActionsAllowedForService(d, {
          service,
          sourceAccount: account,
          sourceArn: `arn:aws:cloudwatch:${region}:${account}:alarm:s3xcopy-listErrors`,
        }),
      ),
    );
    // Assert
    expect(results).toEqual([[], [], []]);
  });
});
