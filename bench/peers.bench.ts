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
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createS3Client } from '../functions/shared/clients';
import {
  type BenchOptions,
  type BenchSection,
  type GoalRow,
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

/** Starts moto_server on a loopback port (a free one unless given) and waits until it answers. */
export async function startMoto(givenPort?: number): Promise<{ url: string; process: ChildProcess }> {
  const port = givenPort ?? (await freePort());
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

export interface Exec {
  stdout: string;
  /** CPU seconds (user + system) the command and its children used, from bash's `times`. */
  cpuSeconds: number;
}

/** Runs `command` under bash so its CPU time can be read back (bash's `times`, children line). */
export function exec(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Exec> {
  const script = '"$@"; rc=$?; times >&2; exit $rc';
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', script, 'bash', command, ...args],
      { env, timeout: 600_000, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`${command} ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-4, -2).join(' ')}`),
          );
        else resolve({ stdout, cpuSeconds: childrenCpuSeconds(stderr) });
      },
    );
  });
}

/** The last line of bash's `times` is the children's user and system time, e.g. `0m8.100s 0m0.400s`. */
export function childrenCpuSeconds(stderr: string): number {
  const line = stderr.trim().split('\n').at(-1) ?? '';
  const times = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (times.length !== 2) throw new Error(`bench peers: cannot read CPU times from bash's times output "${line}"`);
  return (times[0] ?? 0) + (times[1] ?? 0);
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds a running process has used so far (/proc/PID/stat utime + stime). */
async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

interface Timed {
  ms: number;
  toolCpu: number;
  serverCpu: number;
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
      ).then((result) => {
        const stdout = result.stdout;
        const summary = JSON.parse(stdout) as { status: string; objects: { copied: number; skipped: number } };
        const expected = mode === 'copy' ? summary.objects.copied : summary.objects.skipped;
        if (summary.status !== 'SUCCEEDED' || expected !== count) {
          throw new Error(`s3xcopy run --mode ${mode}: ${stdout.slice(0, 300)}`);
        }
        return result;
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
    const motoPid = moto.process.pid;
    if (motoPid === undefined) throw new Error('moto_server has no pid');
    const timed = async (body: () => Promise<Exec>): Promise<Timed> => {
      const serverBefore = await processCpuSeconds(motoPid);
      const started = process.hrtime.bigint();
      const result = await body();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      return { ms, toolCpu: result.cpuSeconds, serverCpu: (await processCpuSeconds(motoPid)) - serverBefore };
    };
    const copyRuns = methods.map(() => [] as Timed[]);
    const noopRuns = methods.map(() => [] as Timed[]);
    for (let i = 0; i < runs; i++) {
      for (const [index, method] of methods.entries()) {
        const prefix = `m${index}-r${i}`;
        copyRuns[index]?.push(await timed(() => method.copy(prefix)));
        noopRuns[index]?.push(await timed(() => method.noop(prefix)));
      }
    }
    const medianOf = (list: Timed[], pick: (t: Timed) => number) => median(list.map(pick));
    const copy = copyRuns.map((list) => medianOf(list, (t) => t.ms));
    const noop = noopRuns.map((list) => medianOf(list, (t) => t.ms));
    const ours = { copy: copy[0] ?? 0, noop: noop[0] ?? 0 };
    const cpu = (list: Timed[] | undefined, pick: (t: Timed) => number) => round(list ? medianOf(list, pick) : 0);
    const rows = methods.map((method, index) => ({
      method: method.label,
      'copy s': round((copy[index] ?? 0) / 1000),
      'copy objects/s': round(perSecond(count, copy[index] ?? 0)),
      's3xcopy copy speed vs this': ratio(copy[index] ?? 0, ours.copy),
      'copy: tool CPU s': cpu(copyRuns[index], (t) => t.toolCpu),
      'copy: moto CPU s': cpu(copyRuns[index], (t) => t.serverCpu),
      'no-op sync s': round((noop[index] ?? 0) / 1000),
      's3xcopy no-op speed vs this': ratio(noop[index] ?? 0, ours.noop),
      'no-op: tool CPU s': cpu(noopRuns[index], (t) => t.toolCpu),
      'no-op: moto CPU s': cpu(noopRuns[index], (t) => t.serverCpu),
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
    const seconds = (ms: number) => `${round(ms / 1000)} s`;
    const cpuOf = (index: number, pick: (t: Timed) => number) => cpu(copyRuns[index], pick);
    const cpuUse = `moto_server (Python) used ${methods.map((method, index) => `${cpuOf(index, (t) => t.serverCpu)} s of CPU for ${method.label.split(' ')[0]}'s copies`).join(', ')}; the tools themselves used ${methods.map((method, index) => `${method.label.split(' ')[0]} ${cpuOf(index, (t) => t.toolCpu)} s`).join(', ')}, all on the same 2 cores`;
    const ourMotoCpu = cpuOf(0, (t) => t.serverCpu);
    // Against a peer: 1.5x its time is what s3xcopy would have to take; moto's CPU for s3xcopy's own copies
    // is time no client can go under.
    const copyHoldsBack = (peer: string, peerMs: number) =>
      `${cpuUse}. 1.5x ${peer}'s ${seconds(peerMs)} would be ${seconds(peerMs / 1.5)}, ${peerMs / 1.5 / 1000 < ourMotoCpu ? `below the ${ourMotoCpu} s of CPU moto spent serving s3xcopy's copies: on a server that is the bound, no client reaches it` : `above the ${ourMotoCpu} s of CPU moto spent serving s3xcopy's copies: what is left is s3xcopy's time beyond moto's work (start-up, the listings before the first copy, each batch's end) on cores it shares with moto`}.`;
    const goals: GoalRow[] = [
      {
        goal: `3. Copy vs aws s3 sync (max_concurrent_requests ${PARALLEL}), ${count} objects on moto`,
        target: '>= 1.5x',
        before: '0.66-1.03x (13.6-17.0 s vs 11.2-14.0 s)',
        measured: `${ratio(awsCopy, ours.copy)} (${seconds(ours.copy)} vs ${seconds(awsCopy)})`,
        met: ours.copy * 1.5 <= awsCopy,
        holdsBack: copyHoldsBack('aws s3 sync', awsCopy),
      },
      ...(rcloneCopy !== undefined
        ? [
            {
              goal: `3. Copy vs rclone --transfers ${PARALLEL}, ${count} objects on moto`,
              target: '>= 1.5x',
              before: '1.03-1.66x (vs 17.5-22.6 s)',
              measured: `${ratio(rcloneCopy, ours.copy)} (${seconds(ours.copy)} vs ${seconds(rcloneCopy)})`,
              met: ours.copy * 1.5 <= rcloneCopy,
              holdsBack: copyHoldsBack('rclone', rcloneCopy),
            },
          ]
        : []),
      {
        goal: `3. No-op sync vs aws s3 sync, ${count} objects on moto`,
        target: '>= 1x',
        before: '0.35-0.68x (3.8-5.7 s vs 2.0-2.6 s)',
        measured: `${ratio(awsNoop, ours.noop)} (${seconds(ours.noop)} vs ${seconds(awsNoop)})`,
        met: noopGoal,
        holdsBack: `both tools only list (s3xcopy: no request per object, see the cost section's requests); s3xcopy used ${cpu(noopRuns[0], (t) => t.toolCpu)} s of CPU and moto ${cpu(noopRuns[0], (t) => t.serverCpu)} s for it, aws s3 sync ${cpu(noopRuns[1], (t) => t.toolCpu)} s and moto ${cpu(noopRuns[1], (t) => t.serverCpu)} s: the difference is s3xcopy's fixed costs (start-up, the local state machine, its state store and report writes).`,
      },
    ];
    return {
      title,
      rows,
      notes,
      goals,
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
