import { configFromContext, parseInfraConfig } from '../../infra/config';
import { THIRD_ACCOUNT } from '../support/accounts';
import { exampleConfig, merge } from './synth';

describe('infra configuration', () => {
  it('fills defaults and normalises prefixes', () => {
    // Act
    const config = parseInfraConfig({
      source: { account: '111111111111', region: 'eu-west-1', bucket: 'src-bucket', prefix: 'data' },
      target: { account: '222222222222', region: 'eu-west-1', bucket: 'dst-bucket' },
    });
    // Assert
    expect(config).toMatchObject({
      namePrefix: 's3xcopy',
      source: { prefix: 'data/', createBucket: false },
      target: { prefix: '', createBucket: false },
      allowSync: true,
      mapMaxConcurrency: 40,
      logRetentionDays: 30,
      s3Events: { enabled: false, batchSize: 50, batchWindowSeconds: 60 },
    });
  });

  it('names every bad field in one message', () => {
    // Arrange
    const bad = merge(exampleConfig(), {
      source: { account: '1234' },
      logRetentionDays: 10,
      alarmEmails: ['not-an-email'],
      surprise: true,
    });
    // Act + Assert
    expect(() => parseInfraConfig(bad)).toThrow(
      /source\.account must be a 12-digit AWS account ID.*alarmEmails\.0 must be an email address.*logRetentionDays must be one of CloudWatch's retention periods.*unknown field\(s\) surprise/,
    );
  });

  it("rejects a source or target bucket that is the deployment's state bucket", () => {
    // Prepare: the state bucket's fixed name is <namePrefix>-state-<account>-<region>
    const base = { account: '111111111111', region: 'eu-west-1' };
    const state = 's3xcopy-state-111111111111-eu-west-1';
    const asTarget = { source: { ...base, bucket: 'src-bucket' }, target: { ...base, bucket: state } };
    const asSource = { source: { ...base, bucket: state }, target: { ...base, bucket: 'dst-bucket' } };

    // Act + Assess
    expect(() => parseInfraConfig(asTarget)).toThrow(`target.bucket is the deployment's state bucket ${state}`);
    expect(() => parseInfraConfig(asSource)).toThrow(`source.bucket is the deployment's state bucket ${state}`);
  });

  it("validates the schedule's job with the job schema", () => {
    const bad = merge(exampleConfig(), { schedule: { job: { options: { mode: 'mirror' } } } });
    expect(() => parseInfraConfig(bad)).toThrow(/schedule\.job is not a valid job: options\.mode/);
  });

  it('rejects a schedule expression Scheduler would not accept', () => {
    const bad = merge(exampleConfig(), { schedule: { expression: 'every day' } });
    expect(() => parseInfraConfig(bad)).toThrow(/schedule\.expression must be an EventBridge Scheduler expression/);
  });

  it('rejects default options the job schema rejects', () => {
    const bad = merge(exampleConfig(), { defaultOptions: { concurrency: 0 } });
    expect(() => parseInfraConfig(bad)).toThrow(/defaultOptions options\.concurrency/);
  });

  it('rejects an event prefix outside the source prefix', () => {
    const bad = merge(exampleConfig(), { s3Events: { prefix: 'elsewhere/' } });
    expect(() => parseInfraConfig(bad)).toThrow(/s3Events\.prefix must lie within source\.prefix "data\/"/);
  });

  it('caps the event batch at 50 and says why, since the batch is the execution input', () => {
    // Arrange
    const tooBig = merge(exampleConfig(), { s3Events: { batchSize: 51 } });
    // Act + Assert
    expect(() => parseInfraConfig(tooBig)).toThrow(
      /s3Events\.batchSize must be at most 50: the pipe passes the batch of \(trimmed\) records as the execution input, which Step Functions limits to 256 KiB/,
    );
    expect(parseInfraConfig(merge(exampleConfig(), { s3Events: { batchSize: 50 } })).s3Events.batchSize).toBe(50);
  });

  it('refuses to create, or take S3 events from, a source bucket in another account', () => {
    // Arrange
    const elsewhere = { source: { bucketAccount: THIRD_ACCOUNT, createBucket: true }, s3Events: { enabled: true } };
    // Act + Assert
    expect(() => parseInfraConfig(merge(exampleConfig(), elsewhere))).toThrow(
      new RegExp(
        `source\\.createBucket cannot be true when source\\.bucketAccount \\(${THIRD_ACCOUNT}\\).*` +
          `s3Events\\.enabled cannot be true when the source bucket lives in account ${THIRD_ACCOUNT}`,
      ),
    );
  });

  it('refuses to create a source bucket outside the stack region: the stack would create it in its own region', () => {
    // Arrange: the workflow runs in eu-west-1 (cdk.json); the bucket is said to live in us-east-1
    const elsewhere = merge(exampleConfig(), { source: { createBucket: true, bucketRegion: 'us-east-1' } });
    // Act + Assert: the message names both regions and both ways out
    expect(() => parseInfraConfig(elsewhere)).toThrow(
      /source\.createBucket cannot be true when source\.bucketRegion \(us-east-1\) is not the stack's region \(eu-west-1\).*create the bucket in us-east-1 yourself and set "createBucket": false, or drop source\.bucketRegion/,
    );
    expect(
      parseInfraConfig(merge(exampleConfig(), { source: { createBucket: true, bucketRegion: 'eu-west-1' } })).source
        .createBucket,
    ).toBe(true);
  });

  it('refuses S3 events from a source bucket in another region: S3 sends them within that region only', () => {
    // Arrange
    const elsewhere = merge(exampleConfig(), { source: { bucketRegion: 'us-east-1' }, s3Events: { enabled: true } });
    // Act + Assert
    expect(() => parseInfraConfig(elsewhere)).toThrow(
      /s3Events\.enabled cannot be true when the source bucket lives in us-east-1 and the workflow in eu-west-1: S3 sends its events only within the bucket's own region.*deploy the workflow in us-east-1 \(source\.region\)/,
    );
    expect(parseInfraConfig(merge(exampleConfig(), { s3Events: { enabled: true } })).s3Events.enabled).toBe(true);
  });

  it('applies -c s3xcopy.<path>=<value> overrides over the cdk.json object', () => {
    // Act
    const config = configFromContext({
      s3xcopy: exampleConfig(),
      's3xcopy.source.bucket': 'other-source-bucket',
      's3xcopy.mapMaxConcurrency': '10',
      's3xcopy.alarmEmails': '["a@example.com","b@example.com"]',
    });
    // Assert
    expect(config.source.bucket).toBe('other-source-bucket');
    expect(config.source.account).toBe('111111111111');
    expect(config.mapMaxConcurrency).toBe(10);
    expect(config.alarmEmails).toEqual(['a@example.com', 'b@example.com']);
  });

  it('accepts the whole configuration as a JSON string from -c s3xcopy=...', () => {
    const config = configFromContext({ s3xcopy: JSON.stringify(exampleConfig()) });
    expect(config.target.bucket).toBe('example-target-bucket');
  });
});
