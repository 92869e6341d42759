/**
 * `npm run soak`: 10,000+ objects (large ones among them) copied through the fault proxy
 * (test/support/fault-proxy.ts), with a copy worker killed mid-batch and re-runs until the job is done;
 * then every object is checked by reading both sides. Writes docs/reliability.md with the figures.
 *
 *   npm run soak                         embedded server, 10,000 objects
 *   SOAK_OBJECTS=2000 npm run soak       a shorter run (the docs record the count)
 *   SOAK_SERVER=ceph npm run soak        through Ceph RGW (scripts/servers/ceph.sh start first)
 *
 * Required result: 0 objects lost, 0 reported copied that are not byte-identical, 0 multipart uploads
 * left open, every run's ledger exact (selected = copied + skipped + failed + not attempted). Exit 1 if not.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { applyEmbeddedClientFix, startEmbeddedS3 } from '../cli/embedded-s3';
import { listKeys, openUploads, oracleClient } from '../test/compat/oracle';
import { FAULT_KINDS, type FaultKind, seededRandom, startFaultProxy } from '../test/support/fault-proxy';

const ROOT = path.join(__dirname, '..');
const MiB = 1024 * 1024;
const OBJECTS = Number(process.env.SOAK_OBJECTS ?? 10_000);
const LARGE = Math.max(4, Math.round(OBJECTS / 500));
const SERVER = process.env.SOAK_SERVER ?? 'embedded';
const RATES: Record<FaultKind, number> = {
  slowDown: 0.02,
  internalError: 0.01,
  lostResponse: 0.005,
  reset: 0.005,
  slow: 0.005,
  truncated: 0.005,
};

interface RunRecord {
  label: string;
  code: number | null;
  seconds: number;
  objects?: { selected: number; copied: number; skipped: number; failed: number; notAttempted?: number };
  killed?: boolean;
  /** S3 operations the run's handlers sent to the source and target (stats.json), SDK retries not included. */
  operations?: number;
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function sha256(s3: S3Client, bucket: string, key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  return createHash('sha256').update(bytes).digest('hex');
}

interface SoakServer {
  url: string;
  s3: S3Client;
  env: Record<string, string>;
  stop(): Promise<void>;
}

async function connectServer(): Promise<SoakServer> {
  if (SERVER === 'embedded') {
    const server = await startEmbeddedS3();
    const s3 = oracleClient(server.url, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    applyEmbeddedClientFix(s3);
    return {
      url: server.url,
      s3,
      env: { S3XCOPY_EMBEDDED: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
      stop: () => server.stop(),
    };
  }
  if (SERVER === 'ceph') {
    const dir = process.env.S3XCOPY_CEPH_DIR ?? path.join(process.env.TMPDIR ?? tmpdir(), 's3xcopy-ceph');
    const env = Object.fromEntries(
      readFileSync(path.join(dir, 'env'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    ) as Record<string, string>;
    const credentials = { accessKeyId: env.CEPH_ACCESS_KEY ?? '', secretAccessKey: env.CEPH_SECRET_KEY ?? '' };
    return {
      url: env.CEPH_ENDPOINT ?? '',
      s3: oracleClient(env.CEPH_ENDPOINT ?? '', credentials),
      env: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
      stop: async () => undefined,
    };
  }
  throw new Error(`SOAK_SERVER=${SERVER}: use embedded or ceph`);
}

function startCli(args: string[], env: Record<string, string>): { child: ChildProcess; done: Promise<RunRecord> } {
  const started = Date.now();
  const child = spawn('node', ['bin/s3xcopy.js', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
      AWS_REGION: 'us-east-1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.resume();
  const done = new Promise<RunRecord>((resolve) => {
    child.on('exit', (code, signal) => {
      const record: RunRecord = { label: '', code, seconds: (Date.now() - started) / 1000 };
      if (signal) record.killed = true;
      try {
        const summary = JSON.parse(stdout) as { objects: RunRecord['objects']; outputDir: string };
        record.objects = summary.objects;
        const stats = JSON.parse(readFileSync(path.join(summary.outputDir, 'stats.json'), 'utf8')) as {
          s3: Record<string, Record<string, number>>;
        };
        record.operations = ['source', 'target']
          .flatMap((role) => Object.values(stats.s3[role] ?? {}))
          .reduce((a, b) => a + b, 0);
      } catch {
        // A killed run prints no summary.
      }
      resolve(record);
    });
  });
  return { child, done };
}

async function main(): Promise<void> {
  const started = Date.now();
  const server = await connectServer();
  const suffix = randomBytes(3).toString('hex');
  const src = `soak-src-${suffix}`;
  const dst = `soak-dst-${suffix}`;
  await server.s3.send(new CreateBucketCommand({ Bucket: src }));
  await server.s3.send(new CreateBucketCommand({ Bucket: dst }));

  process.stderr.write(`soak: seeding ${OBJECTS} objects (${LARGE} large) on ${SERVER}\n`);
  const seedStarted = Date.now();
  const keys = Array.from({ length: OBJECTS }, (_, i) =>
    i < LARGE ? `data/large/object ${i}.bin` : `data/${String(i % 50).padStart(2, '0')}/obj+${i} ü.bin`,
  );
  const digests = new Map<string, string>();
  let seedBytes = 0;
  await pool(keys, 16, async (key) => {
    const index = keys.indexOf(key);
    const body = randomBytes(index < LARGE ? (6 + (index % 4) * 4) * MiB : 256 + (index % 17) * 211);
    seedBytes += body.length;
    digests.set(key, createHash('sha256').update(body).digest('hex'));
    await server.s3.send(
      new PutObjectCommand({
        Bucket: src,
        Key: key,
        Body: body,
        Metadata: { i: String(index) },
        Tagging: `n=${index}`,
      }),
    );
  });
  const seedSeconds = (Date.now() - seedStarted) / 1000;

  const proxy = await startFaultProxy({
    upstream: server.url,
    rates: RATES,
    slowMs: 1_000,
    random: seededRandom(2026),
  });
  const args = (mode: string) => [
    'run',
    '--source',
    `s3://${src}/data/`,
    '--target',
    `s3://${dst}/data/`,
    '--mode',
    mode,
    '--endpoint',
    proxy.url,
    '--multipart-threshold',
    '5MiB',
    '--part-size',
    '5MiB',
    '--json',
  ];
  const runs: RunRecord[] = [];

  // Run 1: killed (SIGKILL, as a crashed worker) once the target holds about a third of the objects.
  process.stderr.write('soak: run 1 (killed mid-batch)\n');
  const first = startCli(args('copy'), server.env);
  for (;;) {
    const held = (await listKeys(server.s3, dst, 'data/')).length;
    if (held >= OBJECTS / 3 || first.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  first.child.kill('SIGKILL');
  runs.push({ ...(await first.done), label: 'copy, worker killed mid-batch' });
  const openAfterKill = (await openUploads(server.s3, dst)).length;

  // Re-runs (sync) until one finishes with nothing failed.
  for (let attempt = 1; attempt <= 4; attempt++) {
    process.stderr.write(`soak: re-run ${attempt} (sync)\n`);
    const rerun = startCli(args('sync'), server.env);
    const record = { ...(await rerun.done), label: `sync re-run ${attempt}` };
    runs.push(record);
    if (record.code === 0) break;
  }
  const counts = proxy.counts();
  await proxy.close();

  // The oracle: every source object in the target, byte for byte; nothing extra; no upload open.
  process.stderr.write('soak: checking every object\n');
  const targetKeys = new Set(await listKeys(server.s3, dst, 'data/'));
  let lost = 0;
  let different = 0;
  await pool(keys, 16, async (key) => {
    if (!targetKeys.has(key)) {
      lost++;
      return;
    }
    if ((await sha256(server.s3, dst, key)) !== digests.get(key)) different++;
  });
  const extra = [...targetKeys].filter((key) => !digests.has(key)).length;
  const open = (await openUploads(server.s3, dst)).length;
  const ledgerExact = runs.every(
    (run) =>
      run.killed ||
      (run.objects !== undefined &&
        run.objects.selected ===
          run.objects.copied + run.objects.skipped + run.objects.failed + (run.objects.notAttempted ?? 0)),
  );
  const last = runs.at(-1);
  const finished = last?.code === 0 && last.objects?.failed === 0 && last.objects.selected === OBJECTS;
  const totalSeconds = (Date.now() - started) / 1000;
  await server.stop();

  const ok = lost === 0 && different === 0 && extra === 0 && open === 0 && ledgerExact && finished;
  const rows = runs
    .map((run) => {
      const o = run.objects;
      const ledger = o
        ? `${o.selected} | ${o.copied} | ${o.skipped} | ${o.failed} | ${o.notAttempted ?? 0}`
        : '- | - | - | - | -';
      return `| ${run.label} | ${run.killed ? 'killed (SIGKILL)' : run.code} | ${ledger} | ${run.seconds.toFixed(0)} |`;
    })
    .join('\n');
  const faultRows = FAULT_KINDS.map((kind) => `| ${kind} | ${counts.faults[kind]} |`).join('\n');
  const injected = Object.values(counts.faults).reduce((a, b) => a + b, 0);
  const finishedRuns = runs.filter((run) => run.operations !== undefined);
  const operations = finishedRuns.reduce((sum, run) => sum + (run.operations ?? 0), 0);
  const doc = `# Reliability: the soak under injected faults

Regenerate with \`npm run soak\` (scripts/soak.ts; \`SOAK_OBJECTS\`, \`SOAK_SERVER=embedded|ceph\`). This file is
written by that command; do not edit it by hand.

What it does: seeds ${OBJECTS.toLocaleString('en-US')} objects (${LARGE} of them 6-18 MiB, copied with
multipart copies of 5 MiB parts; the rest 256 B-3.6 KiB, each with metadata and a tag) on the ${SERVER} server,
then runs \`s3xcopy run\` as a child process through the fault proxy (test/support/fault-proxy.ts),
which injects the faults below at random (seeded) into the CLI's requests. The first run's process is
killed with SIGKILL once the target holds a third of the objects (a worker dying mid-batch); then
\`--mode sync\` re-runs until one ends with nothing failed. Finally every object is read back from both
buckets and compared by SHA-256.

## Result (${new Date().toISOString().slice(0, 10)}, ${SERVER} server)

| requirement | result |
| --- | --- |
| objects lost | ${lost} |
| reported copied but not byte-identical | ${different} |
| objects in the target that are not in the source | ${extra} |
| multipart uploads left open (after the kill: ${openAfterKill}; at the end) | ${open} |
| every run's ledger exact (selected = copied + skipped + failed + not attempted) | ${ledgerExact ? 'yes' : 'NO'} |
| the last re-run finished with 0 failed, all ${OBJECTS} selected | ${finished ? 'yes' : 'NO'} |

## Runs

| run | exit | selected | copied | skipped | failed | not attempted | seconds |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows}

## Faults injected

${counts.requests.toLocaleString('en-US')} requests reached the proxy; ${injected.toLocaleString('en-US')} got a fault
(${((injected / Math.max(1, counts.requests)) * 100).toFixed(1)}%), every one of which the CLI had to retry or
recover from (the SDK's retries, the copy engine's backoff, the state machine's Retry, or the next run).
Retries: the re-runs' handlers counted ${operations.toLocaleString('en-US')} S3 operations on source and target
(stats.json; a retry by the copy engine counts as a new operation). The other
${(counts.requests - operations).toLocaleString('en-US')} requests the proxy saw are the killed run's requests and the
SDK's own retries of a failed attempt.

| fault | injected |
| --- | --- |
${faultRows}

- slowDown: 503 SlowDown without reaching the server; internalError: 500 without reaching it;
  lostResponse: the server acted, the client got a 500 (a Complete or a copy that happened but looks
  failed); reset: the connection closed with no answer; slow: held back 1 s; truncated: half the body,
  then the connection closed.

Seeding took ${seedSeconds.toFixed(0)} s (${(seedBytes / MiB).toFixed(0)} MiB); the whole soak ${totalSeconds.toFixed(0)} s on
this machine (2 shared cores).
`;
  writeFileSync(path.join(ROOT, 'docs', 'reliability.md'), doc);
  process.stderr.write(`${doc}\nsoak: ${ok ? 'PASSED' : 'FAILED'}\n`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
