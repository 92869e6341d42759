/** `s3xcopy --version` and the engines range a user's own Node must satisfy. */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
};

describe('s3xcopy --version', () => {
  it('prints the package version and exits 0', async () => {
    // Act
    const { stdout } = await promisify(execFile)('node', ['bin/s3xcopy.js', '--version'], { cwd: ROOT });

    // Assess
    expect(stdout.trim()).toBe(manifest.version);
  });
});

describe('s3xcopy --help read by a pipe that closes early (`| head -1`)', () => {
  it('ends quietly with exit 0, without an EPIPE stack trace', async () => {
    // Act: close our end of the pipe before the CLI writes, as `head -1` does once it has its line.
    const child = spawn('node', ['bin/s3xcopy.js', '--help'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    // Assess
    expect(stderr).not.toMatch(/EPIPE/);
    expect(code).toBe(0);
  });
});

describe('package engines', () => {
  it("accept Node 20, so npx on a user's own Node prints no engine warning (npm brings Node 24 to run on)", () => {
    // Assess: the README promises Node 20 or later; npm warns EBADENGINE when engines say otherwise.
    expect(manifest.engines.node).toBe('>=20');
  });
});
