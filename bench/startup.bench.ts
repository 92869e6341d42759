/**
 * CLI start-up: how long `s3xcopy` takes before it does anything, compiled (dist/cli/s3xcopy.js, which
 * `npm install` builds) against the TypeScript sources through tsx (S3XCOPY_FROM_SOURCE=1, with tsx's
 * cache warm: its best case). Two measures, each the median of several fresh processes:
 * - `s3xcopy --help`: process start to exit;
 * - `s3xcopy run`: process start to the first HTTP request reaching the S3 endpoint (a loopback server
 *   that records the moment and answers 503), i.e. everything a run pays before its first request.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type BenchOptions, type BenchSection, median, ratio, round, runSectionFromCommandLine } from './harness';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 's3xcopy.js');
const GOAL_MS = 500;

type Mode = 'compiled' | 'source';

function env(mode: Mode): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(mode === 'source' ? { S3XCOPY_FROM_SOURCE: '1' } : { S3XCOPY_FROM_SOURCE: '0' }),
    AWS_ACCESS_KEY_ID: 'startup',
    AWS_SECRET_ACCESS_KEY: 'startup',
    AWS_REGION: 'us-east-1',
  };
}

/** Builds the bundle unless bin/s3xcopy.js would already run it. */
function ensureCompiled(): void {
  const { freshBundle } = require('../bin/compiled.js') as { freshBundle(): string | undefined };
  if (freshBundle()) return;
  const built = spawnSync(process.execPath, [path.join(ROOT, 'build', 'bundle-cli.js')], { encoding: 'utf8' });
  if (built.status !== 0 || !freshBundle()) {
    throw new Error(`build/bundle-cli.js did not produce a current bundle: ${built.stderr}`);
  }
}

/** Wall time of `s3xcopy --help` (or `--version`), process start to exit. */
function helpMs(mode: Mode, flag: '--help' | '--version' = '--help'): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [BIN, flag], { env: env(mode), encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const expected = flag === '--help' ? /Usage: s3xcopy/ : /^\d+\.\d+\.\d+/;
  if (result.status !== 0 || !expected.test(result.stdout)) {
    throw new Error(`s3xcopy ${flag} (${mode}) exited ${result.status}: ${result.stderr}`);
  }
  return ms;
}

/** Process start to the first request `s3xcopy run` sends to its endpoint. */
async function firstRequestMs(mode: Mode): Promise<number> {
  let firstRequest: bigint | undefined;
  const server = createServer((request, response) => {
    firstRequest ??= process.hrtime.bigint();
    request.resume();
    response.writeHead(503, { 'content-type': 'application/xml' });
    response.end('<Error><Code>SlowDown</Code><Message>start-up bench</Message></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const started = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [
      BIN,
      'run',
      '--source',
      's3://startup-src',
      '--target',
      's3://startup-dst',
      '--endpoint',
      `http://127.0.0.1:${port}`,
    ],
    { env: env(mode), stdio: 'ignore' },
  );
  try {
    const deadline = Date.now() + 60_000;
    while (firstRequest === undefined) {
      if (child.exitCode !== null) throw new Error(`s3xcopy run (${mode}) exited ${child.exitCode} before any request`);
      if (Date.now() > deadline) throw new Error(`s3xcopy run (${mode}) sent no request within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return Number(firstRequest - started) / 1e6;
  } finally {
    child.kill('SIGKILL');
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const runs = options.quick ? 3 : 7;
  ensureCompiled();
  // One untimed start each: tsx's cache and Node's compile cache warm, as on any second start.
  helpMs('compiled');
  helpMs('source');
  const figures: Record<Mode, { version: number; help: number; first: number }> = {
    compiled: { version: 0, help: 0, first: 0 },
    source: { version: 0, help: 0, first: 0 },
  };
  for (const mode of ['compiled', 'source'] as const) {
    const version: number[] = [];
    const help: number[] = [];
    const first: number[] = [];
    // Interleaved with the other measures so a burst of load on the machine hits all three.
    for (let i = 0; i < runs; i++) {
      version.push(helpMs(mode, '--version'));
      help.push(helpMs(mode));
      first.push(await firstRequestMs(mode));
    }
    figures[mode] = { version: median(version), help: median(help), first: median(first) };
  }
  const row = (label: string, mode: Mode) => ({
    'CLI start-up': label,
    '`--version` (ms)': round(figures[mode].version),
    '`--help` (ms)': round(figures[mode].help),
    '`run` to first request (ms)': round(figures[mode].first),
  });
  const met = Math.max(figures.compiled.version, figures.compiled.help, figures.compiled.first) <= GOAL_MS;
  return {
    title: 'CLI start-up',
    rows: [row('compiled (dist/cli/s3xcopy.js)', 'compiled'), row('TypeScript through tsx (warm cache)', 'source')],
    notes: [
      `Medians of ${runs} fresh processes each (Node ${process.versions.node}). \`npm install\` compiles the CLI and the handlers it runs into one file (build/bundle-cli.js, the \`prepare\` script); bin/s3xcopy.js runs it while no source file is newer, else the sources through tsx.`,
      `Compiled starts ${ratio(figures.source.help, figures.compiled.help)} faster for \`--help\` and reaches its first request ${ratio(figures.source.first, figures.compiled.first)} sooner. Goal: <= ${GOAL_MS} ms for \`--version\`, \`--help\` and before the first request: ${met ? 'met' : 'not met'} here. \`--version\` and \`--help\` load no command's code (cli/commands/catalog.ts); \`run\` loads the local runner only after its preflight request, so the first request waits for the S3 client alone.`,
      'tsx with a cold cache (the first start after a source change) takes longer than the warm figure above.',
    ],
    chart: {
      unit: 'ms to first request, lower is better',
      bars: [
        { label: 'compiled', value: round(figures.compiled.first) },
        { label: 'TypeScript through tsx', value: round(figures.source.first) },
      ],
    },
    goals: [
      {
        goal: '3. CLI start-up (compiled): `--version` / `--help` / `run` to first request',
        target: `<= ${GOAL_MS} ms`,
        before: 'about 2.5 s',
        measured: `${round(figures.compiled.version)} / ${round(figures.compiled.help)} / ${round(figures.compiled.first)} ms`,
        met,
        holdsBack: 'start-up is over the goal: profile `node --cpu-prof bin/s3xcopy.js --help`.',
      },
    ],
    headline: `CLI start-up: \`--version\` ${round(figures.compiled.version)} ms, \`--help\` ${round(figures.compiled.help)} ms, ${round(figures.compiled.first)} ms to the first request of \`s3xcopy run\` compiled, ${round(figures.source.first)} ms from TypeScript (goal <= ${GOAL_MS} ms: ${met ? 'met' : 'not met'}).`,
  };
}

if (require.main === module) runSectionFromCommandLine('startup', run);
