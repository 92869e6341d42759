/**
 * `s3xcopy demo` (what `npm start` runs), as a child process, on a small sample tree.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { sampleBody, sampleTree } from '../../cli/commands/demo';

const ROOT = path.join(__dirname, '..', '..');

function demo(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'node',
      ['bin/s3xcopy.js', 'demo', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` },
        timeout: 90_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('s3xcopy demo', () => {
  it('copies the sample tree, then skips all of it in sync mode, and checks the copy', async () => {
    // Act
    const run = await demo(['--objects', '60', '--json']);

    // Assess
    expect(run.code).toBe(0);
    const document = JSON.parse(run.stdout);
    expect(document.verified).toBe(true);
    expect(document.runs.map((r: { name: string }) => r.name)).toEqual(['copy', 'sync']);
    expect(document.runs[0]).toMatchObject({ status: 'SUCCEEDED', objects: { selected: 60, copied: 60, failed: 0 } });
    expect(document.runs[1]).toMatchObject({ status: 'SUCCEEDED', objects: { selected: 60, copied: 0, skipped: 60 } });
    expect(run.stderr).toMatch(/\[notification\] s3xcopy SUCCEEDED/);
  });

  it('refuses a sample size it cannot make, with exit 2', async () => {
    // Act
    const run = await demo(['--objects', 'lots']);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--objects: "lots" is not a whole number/);
  });
});

describe('the demo sample tree', () => {
  it('has the requested count, unique keys, odd keys and three multipart-sized objects', () => {
    // Act
    const tree = sampleTree(500);

    // Assess
    expect(tree).toHaveLength(500);
    expect(new Set(tree.map((o) => o.key)).size).toBe(500);
    expect(tree.filter((o) => o.size > 5 * 1024 * 1024)).toHaveLength(3);
    expect(tree.some((o) => /[^\x20-\x7e]/.test(o.key))).toBe(true);
    expect(tree.some((o) => o.key.includes(' '))).toBe(true);
  });

  it('makes bodies of exactly the planned size', () => {
    // Act / Assess
    for (const object of sampleTree(30)) expect(sampleBody(object)).toHaveLength(object.size);
  });
});
