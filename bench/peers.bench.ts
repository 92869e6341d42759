/**
 * Peers on one S3 server: `s3xcopy run` (the CLI as a user runs it, bin/s3xcopy.js), `aws s3 sync` with
 * max_concurrent_requests 32 and `rclone copy --transfers 32`, each a separate process against the same
 * moto_server (a separate process too, so no tool shares its process with the server), same objects:
 * - copy: into a fresh target prefix;
 * - no-op sync: the same command again onto that prefix (s3xcopy with --mode sync), nothing to copy.
 * Methods alternate run by run. Start-up is included: it is what a user waits for.
 *
 * moto_server and the aws CLI come from this machine (pyenv); rclone from Debian's package (installed
 * by bench/rclone.bench.ts's helper when missing). A missing tool is reported, not faked.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createS3Client } from '../functions/shared/clients';
import {
  type BenchOptions,
  type BenchSection,
  median,
  perSecond,
  ratio,
  round,
  runSectionFromCommandLine,
} from './harness';
import { ensureRclone } from './rclone.bench';

const ROOT = path.join(__dirname, '..');
const SOURCE = 'peers-src';
const TARGET = 'peers-dst';
const PARALLEL = 32;
const CREDENTIALS = { accessKeyId: 'peers', secretAccessKey: 'peers' };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto_server on a free loopback port and waits until it answers. */
async function startMoto(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode} before answering`);
    try {
      const response = await fetch(`${url}/moto-api/`);
      if (response.status < 500) return { url, process: child };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('moto_server did not answer within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function exec(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: 600_000, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
      else resolve(stdout);
    });
  });
}

async function timed(body: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const title = `Peers: s3xcopy run, aws s3 sync and rclone copy at ${PARALLEL} in parallel, same objects, same server`;
  const notes: string[] = [];
  const awsVersion = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  if (awsVersion.status !== 0) {
    return { title, rows: [], notes: ['The aws CLI is not installed (`apt-get install -y awscli`); section not run.'] };
  }
  const rcloneVersion = ensureRclone(notes);
  const count = options.quick ? 300 : 2_000;
  const runs = options.quick ? 1 : 3;
  const moto = await startMoto();
  const work = await mkdtemp(path.join(tmpdir(), 's3xcopy-bench-peers-'));
  const s3 = createS3Client({ endpoint: moto.url, credentials: CREDENTIALS });
  try {
    const awsConfig = path.join(work, 'aws-config');
    await writeFile(awsConfig, `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${PARALLEL}\n`);
    const { AWS_CA_BUNDLE: _caBundle, AWS_PROFILE: _profile, ...baseEnv } = process.env;
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: awsConfig,
      AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'no-credentials'),
      RCLONE_CONFIG_PEER_TYPE: 's3',
      RCLONE_CONFIG_PEER_PROVIDER: 'Other',
      RCLONE_CONFIG_PEER_ENDPOINT: moto.url,
      RCLONE_CONFIG_PEER_REGION: 'us-east-1',
      RCLONE_CONFIG_PEER_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG_PEER_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      RCLONE_CONFIG_PEER_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    };
    for (const bucket of [SOURCE, TARGET]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const limit = pLimit(16);
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        limit(() =>
          s3.send(
            new PutObjectCommand({
              Bucket: SOURCE,
              Key: `small/${String(i).padStart(5, '0')}.json`,
              Body: JSON.stringify({ i, padding: 'x'.repeat(200 + (i % 300)) }),
            }),
          ),
        ),
      ),
    );

    const s3xcopy = (prefix: string, mode: 'copy' | 'sync') =>
      exec(
        process.execPath,
        [
          path.join(ROOT, 'bin', 's3xcopy.js'),
          'run',
          '--source',
          `s3://${SOURCE}/small`,
          '--target',
          `s3://${TARGET}/${prefix}`,
          '--endpoint',
          moto.url,
          '--mode',
          mode,
          '--concurrency',
          String(PARALLEL),
          '--json',
        ],
        env,
      ).then((stdout) => {
        const summary = JSON.parse(stdout) as { status: string; objects: { copied: number; skipped: number } };
        const expected = mode === 'copy' ? summary.objects.copied : summary.objects.skipped;
        if (summary.status !== 'SUCCEEDED' || expected !== count) {
          throw new Error(`s3xcopy run --mode ${mode}: ${stdout.slice(0, 300)}`);
        }
      });
    const aws = (prefix: string) =>
      exec(
        'aws',
        [
          's3',
          'sync',
          `s3://${SOURCE}/small`,
          `s3://${TARGET}/${prefix}`,
          '--endpoint-url',
          moto.url,
          '--only-show-errors',
        ],
        env,
      );
    const rclone = (prefix: string) =>
      exec(
        'rclone',
        [
          'copy',
          `peer:${SOURCE}/small`,
          `peer:${TARGET}/${prefix}`,
          '--transfers',
          String(PARALLEL),
          '--checkers',
          String(PARALLEL),
          '--s3-no-check-bucket',
        ],
        env,
      );

    const methods = [
      {
        label: `s3xcopy run --concurrency ${PARALLEL}`,
        copy: (p: string) => s3xcopy(p, 'copy'),
        noop: (p: string) => s3xcopy(p, 'sync'),
      },
      { label: `aws s3 sync (max_concurrent_requests ${PARALLEL})`, copy: aws, noop: aws },
      ...(rcloneVersion ? [{ label: `rclone copy --transfers ${PARALLEL}`, copy: rclone, noop: rclone }] : []),
    ];
    const copyMs = methods.map(() => [] as number[]);
    const noopMs = methods.map(() => [] as number[]);
    for (let i = 0; i < runs; i++) {
      for (const [index, method] of methods.entries()) {
        const prefix = `m${index}-r${i}`;
        copyMs[index]?.push(await timed(() => method.copy(prefix)));
        noopMs[index]?.push(await timed(() => method.noop(prefix)));
      }
    }
    const copy = copyMs.map((list) => median(list));
    const noop = noopMs.map((list) => median(list));
    const ours = { copy: copy[0] ?? 0, noop: noop[0] ?? 0 };
    const rows = methods.map((method, index) => ({
      method: method.label,
      'copy s': round((copy[index] ?? 0) / 1000),
      'copy objects/s': round(perSecond(count, copy[index] ?? 0)),
      's3xcopy copy speed vs this': ratio(copy[index] ?? 0, ours.copy),
      'no-op sync s': round((noop[index] ?? 0) / 1000),
      's3xcopy no-op speed vs this': ratio(noop[index] ?? 0, ours.noop),
    }));
    const awsCopy = copy[1] ?? 0;
    const awsNoop = noop[1] ?? 0;
    const rcloneCopy = rcloneVersion ? (copy[2] ?? 0) : undefined;
    const copyGoal = ours.copy * 1.5 <= Math.min(awsCopy, rcloneCopy ?? Number.POSITIVE_INFINITY);
    const noopGoal = ours.noop <= awsNoop;
    notes.push(
      `${count} objects of 200-500 bytes on moto_server (a separate process), median of ${runs} runs per method, methods alternating; ${awsVersion.stdout.trim() || awsVersion.stderr.trim()}${rcloneVersion ? `; ${rcloneVersion}` : ''}.`,
      "Each copy goes into a fresh target prefix; the no-op sync repeats the same command onto it (all three compare listings: s3xcopy's List step in --mode sync lists both sides and applies the sync rule, size and ETag, with no request per object). 'speed vs this' above 1x means s3xcopy was faster.",
      'Every time includes the process start-up: s3xcopy runs its compiled CLI (see CLI start-up), the state machine, the handlers and a private state store in its process.',
      `Goals (issue 14): copy >= 1.5x faster than both peers: ${copyGoal ? 'met' : 'not met'} (${ratio(awsCopy, ours.copy)} vs aws s3 sync${rcloneCopy ? `, ${ratio(rcloneCopy, ours.copy)} vs rclone` : ''}); no-op sync at least as fast as aws s3 sync: ${noopGoal ? 'met' : 'not met'} (${ratio(awsNoop, ours.noop)}).`,
    );
    return {
      title,
      rows,
      notes,
      headline: `Peers on moto_server, ${count} objects: s3xcopy copies at ${ratio(awsCopy, ours.copy)} the speed of aws s3 sync${rcloneCopy ? ` and ${ratio(rcloneCopy, ours.copy)} that of rclone` : ''} (goal 1.5x: ${copyGoal ? 'met' : 'not met'}); a no-op sync at ${ratio(awsNoop, ours.noop)} aws s3 sync's speed (goal >= 1x: ${noopGoal ? 'met' : 'not met'}).`,
      chart: {
        unit: 'objects/s copied',
        bars: methods.map((method, index) => ({
          label: method.label,
          value: round(perSecond(count, copy[index] ?? 0)),
        })),
      },
    };
  } finally {
    s3.destroy();
    moto.process.kill();
    await rm(work, { recursive: true, force: true });
  }
}

if (require.main === module) runSectionFromCommandLine('peers', run);
