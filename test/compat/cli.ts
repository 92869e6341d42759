/** The CLI as a user runs it: `node bin/s3xcopy.js ...` in a child process, on the Node npm put first. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './servers';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The --json summary, when stdout is one JSON document. */
  json?: CliSummary;
}

export interface CliSummary {
  status: string;
  dryRun: boolean;
  objects: { listed: number; selected: number; copied: number; skipped: number; failed: number; notAttempted?: number };
  bytes: { copied: number; selected: number };
  failures: Array<{ key: string; code: string; message?: string }>;
  /** With --delete: the delete ledger (functions/list/delete-proof.ts). */
  deletes?: {
    toDelete: number;
    proven: number;
    refused: number;
    deleted: number;
    failed: number;
    notAttempted: number;
  };
}

export function cli(args: string[], env: Record<string, string>, timeoutMs = 240_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      'node',
      ['bin/s3xcopy.js', ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
          AWS_REGION: 'us-east-1',
          ...env,
        },
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        let json: CliSummary | undefined;
        try {
          json = JSON.parse(stdout) as CliSummary;
        } catch {
          json = undefined;
        }
        resolve({ code, stdout, stderr, ...(json ? { json } : {}) });
      },
    );
  });
}
