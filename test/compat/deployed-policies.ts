/**
 * The policies the compat suite runs under: exactly what a deployment for the suite's buckets would
 * deploy, printed by `s3xcopy policies` (infra/policies.ts, the code the stacks synthesize from), never a
 * copy kept here. The target role gets the target stack's permission policy; the source bucket gets the
 * bucket policy `s3xcopy policies` prints for a source bucket no stack manages.
 *
 * What RGW cannot express is translated to its closest statement, and only that:
 * - RGW has no accounts: the role ARN in a principal, `arn:aws:iam::222222222222:role/NAME`, is
 *   `arn:aws:iam:::role/NAME` there.
 * - The target role's trust (the source account's root with an aws:PrincipalArn condition on the function
 *   roles) cannot be written at all: ceph.sh trusts the source user instead.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './servers';

export interface PolicyDocument {
  Version: string;
  Statement: Array<{ Sid?: string; Action: string | string[]; [key: string]: unknown }>;
}

/** The deployment the suite's runs stand for: the whole source and target buckets, with deletes and manifests. */
export function compatDeployment(source: string, target: string) {
  return {
    namePrefix: 's3xcopy',
    source: { account: '111111111111', region: 'us-east-1', bucket: source, prefix: '', createBucket: false },
    target: { account: '222222222222', region: 'us-east-1', bucket: target, prefix: '', createBucket: false },
    allowSync: true,
    allowDelete: true,
    manifests: { bucket: source, prefix: 'lists/' },
  };
}

/** `s3xcopy policies --config <deployment> --only <part>`, run as a user runs it. */
export function printedPolicy(
  deployment: ReturnType<typeof compatDeployment>,
  part: 'target-permissions' | 'source-bucket',
): PolicyDocument {
  const file = path.join(tmpdir(), `s3xcopy-compat-cdk-${deployment.source.bucket}.json`);
  writeFileSync(file, JSON.stringify({ context: { s3xcopy: deployment } }));
  const stdout = execFileSync('node', ['bin/s3xcopy.js', 'policies', '--config', file, '--only', part], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` },
  });
  return JSON.parse(stdout) as PolicyDocument;
}

/** The same policy in RGW's ARNs: role and user ARNs without an account. */
export function forRgw(policy: PolicyDocument): PolicyDocument {
  return JSON.parse(JSON.stringify(policy).replace(/arn:aws:iam::\d{12}:/g, 'arn:aws:iam:::')) as PolicyDocument;
}

/** `policy` without one action (the proof that the server enforces what the policy says). */
export function withoutAction(policy: PolicyDocument, sid: string, action: string): PolicyDocument {
  const copy = structuredClone(policy);
  const statement = copy.Statement.find((candidate) => candidate.Sid === sid);
  if (!statement) throw new Error(`the policy has no statement ${sid}: ${JSON.stringify(policy)}`);
  const actions = [statement.Action].flat();
  if (!actions.includes(action)) throw new Error(`statement ${sid} does not grant ${action}`);
  statement.Action = actions.filter((candidate) => candidate !== action);
  return copy;
}

/** True when a policy grants a wildcard action anywhere (what the compat setup must never do). */
export function hasWildcardAction(policy: PolicyDocument): boolean {
  return policy.Statement.some((statement) => [statement.Action].flat().some((action) => action.includes('*')));
}
