/**
 * One server of the matrix as the suite uses it: where it is, the CLI's environment for it, oracle
 * clients, and what it offers (STS with a role, tenants). The embedded server is started in-process here;
 * moto and Ceph were started by global-setup.ts.
 */
import { PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { applyEmbeddedClientFix, type EmbeddedS3, startEmbeddedS3 } from '../../cli/embedded-s3';
import { oracleClient } from './oracle';
import { readServerStates, type ServerName } from './servers';

export interface CompatServer {
  name: ServerName;
  endpoint: string;
  /** Environment for the CLI child process: credentials, and S3XCOPY_EMBEDDED for the embedded server. */
  cliEnv: Record<string, string>;
  /** The oracle's client, with the same identity as the CLI. */
  s3: S3Client;
  /** A role the CLI can assume as --target-role-arn, on the server's own STS; none: the server has no STS. */
  roleArn?: string;
  /** A second tenant (RGW): a client for its user and a way to let the main user write to its bucket. */
  tenant?: { name: string; s3: S3Client; grantWrite(bucket: string): Promise<void> };
  stop(): Promise<void>;
}

export async function connect(name: ServerName): Promise<CompatServer> {
  if (name === 'embedded') {
    const server: EmbeddedS3 = await startEmbeddedS3();
    const s3 = oracleClient(server.url, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    // The server's own signing defect (NOTES.md), fixed on the client side for every client, ours included.
    applyEmbeddedClientFix(s3);
    return {
      name,
      endpoint: server.url,
      cliEnv: { S3XCOPY_EMBEDDED: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
      s3,
      async stop() {
        s3.destroy();
        await server.stop();
      },
    };
  }
  const state = readServerStates()[name];
  if (!state?.available) throw new Error(`${name} is not available: ${state?.reason ?? 'global-setup did not run'}`);
  if (name === 'moto') {
    const endpoint = state.env.MOTO_ENDPOINT ?? '';
    const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
    const s3 = oracleClient(endpoint, credentials);
    return {
      name,
      endpoint,
      cliEnv: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
      s3,
      roleArn: 'arn:aws:iam::123456789012:role/s3xcopy-target',
      async stop() {
        s3.destroy();
      },
    };
  }
  const env = state.env;
  const endpoint = env.CEPH_ENDPOINT ?? '';
  const credentials = { accessKeyId: env.CEPH_ACCESS_KEY ?? '', secretAccessKey: env.CEPH_SECRET_KEY ?? '' };
  const s3 = oracleClient(endpoint, credentials);
  const tenantS3 = oracleClient(endpoint, {
    accessKeyId: env.CEPH_TENANT_ACCESS_KEY ?? '',
    secretAccessKey: env.CEPH_TENANT_SECRET_KEY ?? '',
  });
  return {
    name,
    endpoint,
    cliEnv: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    s3,
    ...(env.CEPH_ROLE_ARN ? { roleArn: env.CEPH_ROLE_ARN } : {}),
    tenant: {
      name: env.CEPH_TENANT ?? '',
      s3: tenantS3,
      async grantWrite(bucket) {
        await tenantS3.send(
          new PutBucketPolicyCommand({
            Bucket: bucket,
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { AWS: ['arn:aws:iam:::user/source'] },
                  Action: ['s3:*'],
                  Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
                },
              ],
            }),
          }),
        );
      },
    },
    async stop() {
      s3.destroy();
      tenantS3.destroy();
    },
  };
}
