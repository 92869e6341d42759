/**
 * One server of the matrix as the suite uses it: where it is, the CLI's environment for it, oracle
 * clients, and what it offers (STS with a role, tenants). The embedded server is started in-process here;
 * moto and Ceph were started by global-setup.ts.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { applyEmbeddedClientFix, type EmbeddedS3, startEmbeddedS3 } from '../../cli/embedded-s3';
import { compatDeployment, forRgw, hasWildcardAction, printedPolicy, withoutAction } from './deployed-policies';
import { oracleClient } from './oracle';
import { readServerStates, type ServerName, serverScript } from './servers';

export interface CompatServer {
  name: ServerName;
  endpoint: string;
  /** Environment for the CLI child process: credentials, and S3XCOPY_EMBEDDED for the embedded server. */
  cliEnv: Record<string, string>;
  /** The oracle's client, with the same identity as the CLI. */
  s3: S3Client;
  /** A role the CLI can assume as --target-role-arn, on the server's own STS; none: the server has no STS. */
  roleArn?: string;
  /**
   * Puts the deployed policies for a source/target pair (deployed-policies.ts): the target role's permission
   * policy on `roleArn`, the same minus the target's s3:GetObjectTagging on `lackingRoleArn`, and the source
   * bucket's policy. Only servers that enforce role policies have it.
   */
  deployPolicies?(source: string, target: string): Promise<void>;
  /** A role with the deployed policy minus one needed action (deployPolicies). */
  lackingRoleArn?: string;
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
  if (name === 'unpatched-s3rver') return startUnpatchedS3rver();
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
    ...(env.CEPH_LACKING_ROLE_ARN ? { lackingRoleArn: env.CEPH_LACKING_ROLE_ARN } : {}),
    async deployPolicies(source, target) {
      const deployment = compatDeployment(source, target);
      const permissions = forRgw(printedPolicy(deployment, 'target-permissions'));
      if (hasWildcardAction(permissions))
        throw new Error(`the deployed policy grants a wildcard action: ${JSON.stringify(permissions)}`);
      const lacking = withoutAction(permissions, 'WriteTargetPrefix', 's3:GetObjectTagging');
      for (const [role, policy] of [
        ['s3xcopy-target', permissions],
        ['s3xcopy-target-lacking', lacking],
      ] as const) {
        const file = path.join(tmpdir(), `s3xcopy-compat-${role}-${source}.json`);
        writeFileSync(file, JSON.stringify(policy));
        const put = serverScript('ceph', 'role-policy', role, file);
        if (put.code !== 0) throw new Error(`ceph.sh role-policy ${role} failed: ${put.stderr}`);
      }
      // The printed bucket policy names the target role; the lacking role is named beside it, so that the
      // one action removed from its own policy is the only difference between the two.
      const bucketPolicy = forRgw(printedPolicy(deployment, 'source-bucket'));
      for (const statement of bucketPolicy.Statement) {
        const principal = statement.Principal as { AWS: string | string[] };
        principal.AWS = [principal.AWS, env.CEPH_LACKING_ROLE_ARN ?? ''].flat();
      }
      await s3.send(new PutBucketPolicyCommand({ Bucket: source, Policy: JSON.stringify(bucketPolicy) }));
    },
    tenant: {
      name: env.CEPH_TENANT ?? '',
      s3: tenantS3,
      async grantWrite(bucket) {
        // What the target role may do on a target bucket (the deployed target statements), granted to the
        // source user, who copies into this other tenant's bucket.
        const targetStatements = printedPolicy(
          compatDeployment(`${bucket}-unused-source`, bucket),
          'target-permissions',
        )
          .Statement.filter((statement) => statement.Sid !== undefined && /Target/.test(statement.Sid))
          .map((statement) => ({ ...statement, Principal: { AWS: ['arn:aws:iam:::user/source'] } }));
        await tenantS3.send(
          new PutBucketPolicyCommand({
            Bucket: bucket,
            Policy: JSON.stringify({ Version: '2012-10-17', Statement: targetStatements }),
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

/**
 * The unpatched s3rver in a child process (unpatched-s3rver-main.ts says what it keeps and why), on the
 * Node that runs the suite, in a fresh directory removed on stop.
 */
async function startUnpatchedS3rver(): Promise<CompatServer> {
  const directory = await mkdtemp(path.join(tmpdir(), 's3xcopy-unpatched-s3rver-'));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '--import', 'tsx', path.join(__dirname, 'unpatched-s3rver-main.ts'), directory],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /PORT=(\d+)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`the unpatched s3rver exited ${code} before it listened: ${stderr}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const s3 = oracleClient(endpoint, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
  // The client-side signing fix only (see unpatched-s3rver-main.ts); the CLI applies it with S3XCOPY_EMBEDDED=1.
  applyEmbeddedClientFix(s3);
  return {
    name: 'unpatched-s3rver',
    endpoint,
    cliEnv: { S3XCOPY_EMBEDDED: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    s3,
    async stop() {
      s3.destroy();
      child.removeAllListeners('exit');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
