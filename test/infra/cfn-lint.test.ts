import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { synthesize } from './synth';

/**
 * cfn-lint (AWS's CloudFormation linter) over every template of the deployments we support: zero errors.
 * Warnings are allowed (CDK's explicit DependsOn beside a GetAtt gives W3005).
 */

/** cfn-lint: $CFN_LINT, else on PATH, else pyenv's shim (where this machine kind installs it). */
function findCfnLint(): string | undefined {
  const candidates = [
    process.env.CFN_LINT,
    ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => (dir ? path.join(dir, 'cfn-lint') : undefined)),
    path.join(homedir(), '.pyenv', 'shims', 'cfn-lint'),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there: try the next place
    }
  }
  return undefined;
}

interface Finding {
  Level: string;
  Rule: { Id: string };
  Message: string;
  Filename: string;
  Location: { Path: Array<string | number> };
}

const DEPLOYMENTS: Array<[string, unknown]> = [
  ['example (cross-account, schedule, S3 events, managed source bucket)', { source: { createBucket: true } }],
  ['same-account', { target: { account: '111111111111', externalId: undefined } }],
  [
    'SSE-KMS on both sides, ACLs allowed, no triggers',
    {
      source: { kmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555' },
      target: { kmsKeyArn: 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555' },
      allowAcl: true,
      schedule: undefined,
      s3Events: { enabled: false },
    },
  ],
  ['target bucket in another region', { target: { region: 'us-east-1' } }],
];

describe('cfn-lint on every synthesized template', () => {
  it('finds zero errors', () => {
    // Arrange
    const cfnLint = findCfnLint();
    if (!cfnLint) {
      throw new Error(
        'cfn-lint is not installed, and npm test runs it on every synthesized template: install it with ' +
          '`pip install cfn-lint` (or `pipx install cfn-lint`), put it on PATH, or set CFN_LINT to its path.',
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), 's3xcopy-cfn-lint-'));
    const files: string[] = [];
    try {
      DEPLOYMENTS.forEach(([_name, patch], index) => {
        const built = synthesize(patch, { nag: false });
        const templates = { source: built.sourceTemplate, target: built.targetTemplate };
        for (const [stack, template] of Object.entries(templates)) {
          if (!template) continue;
          const file = path.join(dir, `${index}-${stack}.json`);
          writeFileSync(file, JSON.stringify(template.toJSON(), null, 1));
          files.push(file);
        }
      });
      // Act
      const run = spawnSync(cfnLint, ['--format', 'json', '--', ...files], { encoding: 'utf8', timeout: 120_000 });
      // Assert: exit codes are a bitmask (2 errors, 4 warnings, 8 informational); 1 means cfn-lint itself failed
      if (run.error || run.status === null || run.status === 1) {
        throw new Error(`cfn-lint did not run: ${run.error?.message ?? ''} ${run.stderr}`);
      }
      const findings = JSON.parse(run.stdout || '[]') as Finding[];
      const errors = findings
        .filter((finding) => finding.Level === 'Error')
        .map((f) => `${path.basename(f.Filename)} ${f.Rule.Id} ${f.Location.Path.join('/')}: ${f.Message}`);
      expect(files.length).toBe(7);
      expect(errors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
