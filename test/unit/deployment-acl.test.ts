import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { createListHandler } from '../../functions/list/handler';
import { assertDeploymentAllows, type DeploymentConfig, loadConfig } from '../../functions/shared/config';
import { TargetClients } from '../../functions/shared/target-role';

/** A client for a port nothing listens on: any S3 call fails with a connection error, never InvalidJobError. */
const unreachable = new S3Client({
  region: 'us-east-1',
  endpoint: 'http://127.0.0.1:9',
  forcePathStyle: true,
  maxAttempts: 1,
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});

function listHandler(allowAcl: boolean | undefined) {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const logger = new Logger({ serviceName: 'acl-test', logLevel: 'SILENT' });
  const config: DeploymentConfig = {
    defaults: { source: { bucket: 'src-bucket' }, target: { bucket: 'dst-bucket' } },
    stateBucket: 'state-bucket',
    notifyOnSuccess: true,
    ...(allowAcl === undefined ? {} : { allowAcl }),
  };
  return createListHandler({
    config,
    sourceS3: unreachable,
    stateS3: unreachable,
    targetClients: new TargetClients(new STSClient({ region: 'us-east-1' }), () => unreachable),
    observability: { logger, metrics: new Metrics({ namespace: 'acl-test', serviceName: 'acl-test', logger }) },
  });
}

const context = { functionName: 's3xcopy-list', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;
const aclJob = { request: { options: { acl: 'bucket-owner-full-control' } }, jobId: 'job-acl' };

describe('options.acl against what the deployment grants', () => {
  it('reads S3XCOPY_ALLOW_ACL, and leaves it unset when the variable is', () => {
    expect(loadConfig({ S3XCOPY_ALLOW_ACL: 'true' }).allowAcl).toBe(true);
    expect(loadConfig({ S3XCOPY_ALLOW_ACL: 'false' }).allowAcl).toBe(false);
    expect(loadConfig({}).allowAcl).toBeUndefined();
    expect(() => loadConfig({ S3XCOPY_ALLOW_ACL: 'yes' })).toThrow(/S3XCOPY_ALLOW_ACL must be "true" or "false"/);
  });

  it('rejects a job with options.acl before listing anything when the deployment grants no s3:PutObjectAcl', async () => {
    // Act
    const error = await listHandler(false)(aclJob, context).catch((caught: unknown) => caught);
    // Assert
    expect(error).toMatchObject({ name: 'InvalidJobError' });
    expect((error as Error).message).toMatch(
      /options\.acl "bucket-owner-full-control" needs s3:PutObjectAcl.*allowAcl/,
    );
  });

  it('goes on to list when the deployment grants it (the unreachable server is what fails then)', async () => {
    // Act
    const error = await listHandler(true)(aclJob, context).catch((caught: unknown) => caught);
    // Assert
    expect((error as Error).name).not.toBe('InvalidJobError');
  });

  it('accepts jobs without an ACL whatever the deployment grants', () => {
    expect(() =>
      assertDeploymentAllows({ options: {} }, { defaults: {}, notifyOnSuccess: true, allowAcl: false }),
    ).not.toThrow();
  });
});
