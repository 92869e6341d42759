/** Start-up: `--help` and `--version` load no command's code; a command loads only its own. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { COMMANDS, requestedCommand } from '../../cli/commands/catalog';
import { COMMAND_DESCRIPTIONS } from '../../cli/commands/descriptions';

const ROOT = path.join(__dirname, '..', '..');

/** Heavy modules, each named by a path fragment of a file it loads. */
const HEAVY = ['@aws-sdk/client-s3', 'aws-local-stepfunctions', 'zod', 'cli/runner/runner', 'cli/cost/'];

/** Runs the CLI from source in a fresh process and returns the heavy modules it loaded. */
async function heavyModulesLoadedBy(args: string[]): Promise<{ loaded: string[]; stdout: string }> {
  const script = `
    const { run } = require('./cli/main.ts');
    let out = '';
    const io = { stdout: (t) => { out += t; }, stderr: () => undefined, isTTY: false };
    run(['node', 's3xcopy', ...${JSON.stringify(args)}], io).then(() => {
      const files = Object.keys(require.cache).map((f) => f.split(path.sep).join('/'));
      const heavy = ${JSON.stringify(HEAVY)}.filter((h) => files.some((f) => f.includes(h)));
      process.stdout.write(JSON.stringify({ loaded: heavy, stdout: out }));
    });`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--require', 'tsx/cjs', '-e', `const path = require('node:path'); ${script}`],
    { cwd: ROOT, env: { ...process.env, AWS_REGION: 'us-east-1' } },
  );
  return JSON.parse(stdout) as { loaded: string[]; stdout: string };
}

describe('requestedCommand', () => {
  it('finds the command named first, after options, or after help', () => {
    expect(requestedCommand(['run', '--source', 's3://a'])).toBe('run');
    expect(requestedCommand(['--help'])).toBeUndefined();
    expect(requestedCommand(['help', 'estimate'])).toBe('estimate');
    expect(requestedCommand(['nosuch'])).toBeUndefined();
  });
});

describe('CLI start-up', () => {
  it('--help lists every command with its description and loads none of them', async () => {
    // Act
    const { loaded, stdout } = await heavyModulesLoadedBy(['--help']);

    // Assess
    expect(loaded).toEqual([]);
    for (const { name } of COMMANDS) {
      expect(stdout).toContain(`  ${name} `);
      expect(stdout.replace(/\s+/g, ' ')).toContain(COMMAND_DESCRIPTIONS[name].slice(0, 40));
    }
  });

  it('--version loads no command', async () => {
    const { loaded, stdout } = await heavyModulesLoadedBy(['--version']);
    expect(loaded).toEqual([]);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a command loads its own code only: estimate needs no AWS SDK and no runner', async () => {
    // Act
    const { loaded, stdout } = await heavyModulesLoadedBy(['estimate', '--objects', '1000', '--avg-size', '1MiB']);

    // Assess
    expect(stdout).toContain('$');
    expect(loaded).not.toContain('aws-local-stepfunctions');
    expect(loaded).not.toContain('cli/runner/runner');
    expect(loaded).toContain('cli/cost/');
  });

  it("run's --help shows the run options without loading the runner", async () => {
    const { loaded, stdout } = await heavyModulesLoadedBy(['run', '--help']);
    expect(stdout).toContain('--slice-max-objects');
    expect(loaded).not.toContain('cli/runner/runner');
  });
});
