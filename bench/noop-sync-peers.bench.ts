/**
 * No-op sync beside `aws s3 sync` and rclone, on one moto_server, in one run (`npm run bench:noop-sync`):
 *
 * For each N (default 2,000 and 20,000 objects: small JSON objects plus four objects uploaded in 8 MiB parts,
 * the layout `aws s3 cp` uses), every tool copies the source once into its own target prefix, then syncs
 * it again with nothing to do, then once more after 1% of the sources were rewritten in place with new
 * content of the same size. For each run the bench reports:
 * - wall time (process start-up included: it is what a user waits for), and its ratio to s3xcopy's;
 * - the objects the sync wrote, read back twice and independently of what the tool says: from a listing of
 *   the target before and after the timed runs (ETag or LastModified changed), and from a counting proxy
 *   (bench/request-counting-proxy.ts) that sees every write request of one more run;
 * - the S3 requests that run made, by operation (through the proxy).
 * Timed runs go straight to moto; the counted runs go through the proxy and are not timed, so the proxy's
 * own cost stays out of the times. A no-op sync is repeatable, so its counted run does what its timed runs
 * did; for the changed row, the sources are rewritten a second time before the counted run.
 *
 * Tools: `s3xcopy run` (the compiled CLI: run `npm run build` first), the aws CLI (pyenv), rclone (Debian's
 * package, installed when missing: see bench/rclone.bench.ts). All at 32 requests in parallel, as in the
 * peers section. Options: `--objects 2000,20000`, BENCH_NOOP_RUNS (timed no-op runs per tool, default 3;
 * `3,1` gives one count per N), S3XCOPY_MOTO_PORT and S3XCOPY_BENCH_PROXY_PORT (default: free ports).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createS3Client } from '../functions/shared/clients';
import { startLoadSampler } from './all';
import {
  type BenchOptions,
  type BenchSection,
  markdownTable,
  median,
  ratio,
  round,
  runSectionFromCommandLine,
} from './harness';
import { type Exec, exec, startMoto } from './peers.bench';
import { ensureRclone } from './rclone.bench';
import { type CountingProxy, type RequestCounts, startCountingProxy } from './request-counting-proxy';

const ROOT = path.join(__dirname, '..');
const PARALLEL = 32;
const CREDENTIALS = { accessKeyId: 'noop', secretAccessKey: 'noop' };
const MiB = 2 ** 20;
/** Multipart sources in `aws s3 cp`'s default layout: 8 MiB parts, the last one shorter. */
const MULTIPART: Record<string, number[]> = {
  'large/9MiB.bin': [8 * MiB, 1 * MiB],
  'large/13MiB.bin': [8 * MiB, 5 * MiB],
  'large/17MiB.bin': [8 * MiB, 8 * MiB, 1 * MiB],
  'large/24MiB.bin': [8 * MiB, 8 * MiB, 8 * MiB],
};
/** S3 (and moto) LastModified has one-second precision: a write in the same second as the last one would
 * look unchanged in a listing, so every read-back starts at least this long after the previous writes. */
const SECOND_BOUNDARY_MS = 1_100;

/** One tool: how it syncs `source` (a bucket) into `target` (bucket/prefix) through `endpoint`. */
interface Tool {
  label: string;
  /** The target prefix it owns, under the target bucket. */
  prefix: string;
  sync(endpoint: string, mode: 'copy' | 'sync'): Promise<Exec>;
}

const smallKey = (i: number) => `small/${String(i).padStart(5, '0')}.json`;
/** The same length for every `fill` character, so a rewrite keeps the object's size. */
const smallBody = (i: number, fill: string) => JSON.stringify({ i, padding: fill.repeat(200 + (i % 300)) });

function toolEnv(work: string): NodeJS.ProcessEnv {
  // AWS_CA_BUNDLE makes rclone refuse its plain-HTTP transport; a profile would point the aws CLI elsewhere.
  const { AWS_CA_BUNDLE: _caBundle, AWS_PROFILE: _profile, ...baseEnv } = process.env;
  return {
    ...baseEnv,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: path.join(work, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'no-credentials'),
    RCLONE_CONFIG_PEER_TYPE: 's3',
    RCLONE_CONFIG_PEER_PROVIDER: 'Other',
    RCLONE_CONFIG_PEER_REGION: 'us-east-1',
    RCLONE_CONFIG_PEER_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_PEER_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_PEER_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  };
}

/** The four rows: s3xcopy, aws s3 sync, rclone copy (size + modification time) and rclone copy --checksum. */
function makeTools(source: string, target: string, env: NodeJS.ProcessEnv): Tool[] {
  const s3xcopy: Tool = {
    label: `s3xcopy run --mode sync --concurrency ${PARALLEL}`,
    prefix: 's3xcopy/',
    async sync(endpoint, mode) {
      const args = ['run', '--source', `s3://${source}`, '--target', `s3://${target}/s3xcopy/`];
      const result = await exec(
        process.execPath,
        [
          path.join(ROOT, 'bin', 's3xcopy.js'),
          ...args,
          '--endpoint',
          endpoint,
          '--mode',
          mode,
          '--concurrency',
          String(PARALLEL),
          '--json',
        ],
        env,
      );
      const summary = JSON.parse(result.stdout) as { status?: string };
      if (summary.status !== 'SUCCEEDED') throw new Error(`s3xcopy run --mode ${mode}: ${result.stdout.slice(0, 400)}`);
      return result;
    },
  };
  const aws: Tool = {
    label: `aws s3 sync (max_concurrent_requests ${PARALLEL})`,
    prefix: 'aws/',
    sync: (endpoint) =>
      exec(
        'aws',
        ['s3', 'sync', `s3://${source}`, `s3://${target}/aws`, '--endpoint-url', endpoint, '--only-show-errors'],
        env,
      ),
  };
  const rclone = (label: string, prefix: string, extra: string[]): Tool => ({
    label,
    prefix: `${prefix}/`,
    sync: (endpoint) =>
      exec(
        'rclone',
        [
          'copy',
          `peer:${source}`,
          `peer:${target}/${prefix}`,
          '--transfers',
          String(PARALLEL),
          '--checkers',
          String(PARALLEL),
          '--s3-no-check-bucket',
          ...extra,
        ],
        { ...env, RCLONE_CONFIG_PEER_ENDPOINT: endpoint },
      ),
  });
  return [
    s3xcopy,
    aws,
    rclone(`rclone copy --transfers ${PARALLEL} (size + modification time)`, 'rclone', []),
    rclone(`rclone copy --checksum --transfers ${PARALLEL}`, 'rclone-checksum', ['--checksum']),
  ];
}

async function putMultipart(s3: S3Client, bucket: string, key: string, sizes: number[]): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts = [];
  for (const [index, size] of sizes.entries()) {
    const PartNumber = index + 1;
    const answer = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: randomBytes(size) }),
    );
    parts.push({ PartNumber, ETag: answer.ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
}

/** Fills the source: `count` objects in all, four of them multipart. */
async function seed(s3: S3Client, bucket: string, count: number): Promise<void> {
  const smallCount = count - Object.keys(MULTIPART).length;
  const limit = pLimit(16);
  await Promise.all(
    Array.from({ length: smallCount }, (_, i) =>
      limit(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: smallKey(i), Body: smallBody(i, 'x') }))),
    ),
  );
  for (const [key, sizes] of Object.entries(MULTIPART)) await putMultipart(s3, bucket, key, sizes);
}

/** The 1% of sources the changed row rewrites: small ones spread over the keys, and one multipart object. */
function changedKeys(count: number): string[] {
  const smallCount = count - Object.keys(MULTIPART).length;
  const wanted = Math.max(1, Math.round(count / 100)) - 1;
  const small = Array.from({ length: wanted }, (_, n) => n * 100 + 50).filter((i) => i < smallCount);
  return [...small.map(smallKey), Object.keys(MULTIPART)[0] ?? ''];
}

/** Rewrites `keys` in place: new content, same size (multipart ones in the same parts). */
async function rewrite(s3: S3Client, bucket: string, keys: string[], fill: string): Promise<void> {
  for (const key of keys) {
    const sizes = MULTIPART[key];
    if (sizes) await putMultipart(s3, bucket, key, sizes);
    else {
      const i = Number(/(\d+)\.json$/.exec(key)?.[1]);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: smallBody(i, fill) }));
    }
  }
}

/** Every object under `prefix`, relative key -> "ETag LastModified": what a read-back compares. */
async function snapshot(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, string>> {
  const objects = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      objects.set((object.Key ?? '').slice(prefix.length), `${object.ETag} ${object.LastModified?.toISOString()}`);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** Keys whose ETag or LastModified differ between two snapshots, or that appeared. */
function rewritten(before: Map<string, string>, after: Map<string, string>): Set<string> {
  return new Set([...after].filter(([key, state]) => before.get(key) !== state).map(([key]) => key));
}

async function timed(body: () => Promise<Exec>): Promise<number> {
  const started = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Requests a run made, with the object writes into the target bucket, as one record. */
interface Counted {
  total: number;
  byOperation: string;
  /** Target objects written, keys relative to the tool's prefix (as in a snapshot). */
  written: Set<string>;
}

function summarizeCounts(counts: RequestCounts, target: string, prefix: string): Counted {
  const operations = Object.entries(counts.byOperation).sort(([, a], [, b]) => b - a);
  const keys = [...(counts.writes.get(target)?.keys ?? [])];
  return {
    total: counts.total,
    byOperation: operations.map(([operation, n]) => `${operation} ${n}`).join(', '),
    written: new Set(keys.map((key) => (key.startsWith(prefix) ? key.slice(prefix.length) : key))),
  };
}

async function countedRun(proxy: CountingProxy, tool: Tool, target: string): Promise<Counted> {
  proxy.reset();
  await tool.sync(proxy.url, 'sync');
  return summarizeCounts(proxy.counts(), target, tool.prefix);
}

interface ToolResult {
  copyMs: number;
  noopMs: number[];
  /** Target objects each timed no-op run wrote, read back from listings, in run order. */
  noopRewritten: number[];
  noopCounted?: Counted;
  changedMs: number;
  changedRewritten: Set<string>;
  changedCounted?: Counted;
}

/**
 * The timed no-op runs, tools rotating so none always runs on the warmest (or the most loaded) server; after
 * each run the tool's target is listed again, so what every run wrote is read back (a tool may write on its
 * first sync after a copy and not later).
 */
async function timedNoopRuns(
  runs: number,
  tools: Tool[],
  results: ToolResult[],
  listTarget: (index: number) => Promise<Map<string, string>>,
  motoUrl: string,
): Promise<void> {
  const last = await Promise.all(tools.map((_, index) => listTarget(index)));
  const lastEnded = tools.map(() => Date.now());
  for (let run = 0; run < runs; run++) {
    for (let step = 0; step < tools.length; step++) {
      const index = (run + step) % tools.length;
      // Each run starts in a later second than the tool's previous writes, or a listing could not see them.
      await sleep(Math.max(0, SECOND_BOUNDARY_MS - (Date.now() - (lastEnded[index] ?? 0))));
      const ms = await timed(() => (tools[index] as Tool).sync(motoUrl, 'sync'));
      lastEnded[index] = Date.now();
      const after = await listTarget(index);
      results[index]?.noopMs.push(ms);
      results[index]?.noopRewritten.push(rewritten(last[index] ?? new Map(), after).size);
      last[index] = after;
    }
  }
}

/** One N: seed, copy with every tool, no-op syncs (timed, then counted), the changed row (timed, counted). */
async function measureCount(
  count: number,
  runs: number,
  s3: S3Client,
  motoUrl: string,
  proxy: CountingProxy,
  env: NodeJS.ProcessEnv,
): Promise<{ tools: Tool[]; results: ToolResult[]; changed: string[] }> {
  const [source, target] = [`noop-src-${count}`, `noop-dst-${count}`];
  for (const bucket of [source, target]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await seed(s3, source, count);
  const tools = makeTools(source, target, env);
  const results: ToolResult[] = [];
  for (const tool of tools) {
    const copyMs = await timed(() => tool.sync(motoUrl, 'copy'));
    const copied = await snapshot(s3, target, tool.prefix);
    if (copied.size !== count) throw new Error(`${tool.label}: the copy left ${copied.size} of ${count} objects`);
    results.push({ copyMs, noopMs: [], noopRewritten: [], changedMs: 0, changedRewritten: new Set() });
  }
  const listTarget = (index: number) => snapshot(s3, target, tools[index]?.prefix ?? '');
  const snapshots = () => Promise.all(tools.map((_, index) => listTarget(index)));
  await timedNoopRuns(runs, tools, results, listTarget, motoUrl);
  for (const [index, result] of results.entries()) {
    result.noopCounted = await countedRun(proxy, tools[index] as Tool, target);
  }
  const changed = changedKeys(count);
  // The rewrites land in a later second than any copy, so every source is strictly newer than its copy.
  await sleep(SECOND_BOUNDARY_MS);
  await rewrite(s3, source, changed, 'y');
  await sleep(SECOND_BOUNDARY_MS);
  const beforeChange = await snapshots();
  for (const [index, tool] of tools.entries()) {
    const result = results[index] as ToolResult;
    result.changedMs = await timed(() => tool.sync(motoUrl, 'sync'));
  }
  const afterChange = await snapshots();
  // A second rewrite gives the counted run the same work as the timed one: 1% of sources newer than their copies.
  await sleep(SECOND_BOUNDARY_MS);
  await rewrite(s3, source, changed, 'z');
  for (const [index, result] of results.entries()) {
    result.changedRewritten = rewritten(beforeChange[index] ?? new Map(), afterChange[index] ?? new Map());
    result.changedCounted = await countedRun(proxy, tools[index] as Tool, target);
  }
  return { tools, results, changed };
}

/** The changed row's read-back: which rewritten sources a sync copied, and what else it wrote. */
function changedCells(written: Set<string>, changed: string[]): { caught: number; others: number; multipart: boolean } {
  const multipartKey = changed.find((key) => key in MULTIPART) ?? '';
  return {
    caught: changed.filter((key) => written.has(key)).length,
    others: [...written].filter((key) => !changed.includes(key)).length,
    multipart: written.has(multipartKey),
  };
}

function rowsFor(count: number, tools: Tool[], results: ToolResult[], changed: string[]) {
  const ours = median(results[0]?.noopMs ?? [0]);
  return tools.map((tool, index) => {
    const result = results[index] as ToolResult;
    const noop = median(result.noopMs);
    const listed = changedCells(result.changedRewritten, changed);
    const proxied = changedCells(result.changedCounted?.written ?? new Set(), changed);
    return {
      objects: count,
      tool: tool.label,
      'copy s': round(result.copyMs / 1000),
      'no-op sync s': round(noop / 1000),
      'time vs s3xcopy': ratio(noop, ours),
      'no-op: objects written, each timed run (listing); the counted run (proxy)': `${result.noopRewritten.join(', ')}; ${result.noopCounted?.written.size}`,
      'no-op: requests': result.noopCounted?.total ?? 0,
      'no-op: requests per object': round((result.noopCounted?.total ?? 0) / count),
      'no-op: requests by operation': result.noopCounted?.byOperation ?? '',
      'changed sync s': round(result.changedMs / 1000),
      'changed: rewritten sources copied (listing / proxy)': `${listed.caught} / ${proxied.caught} of ${changed.length}${listed.multipart && proxied.multipart ? '' : ' (not the multipart one)'}`,
      'changed: other objects written (listing / proxy)': `${listed.others} / ${proxied.others}`,
      'changed: requests': result.changedCounted?.total ?? 0,
    };
  });
}

/** moto's version (moto_server has no --version): asked of the Python on PATH, pyenv's where moto lives. */
function motoVersion(): string {
  const python = spawnSync('python', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' });
  const version = /(\d+\.\d+\.\d+)/.exec(python.stdout ?? '')?.[1];
  return version ? `moto_server ${version}` : 'moto_server';
}

function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `Node ${process.versions.node}, ${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM`;
}

function countsFromArguments(options: BenchOptions): number[] {
  const index = process.argv.indexOf('--objects');
  const given = index >= 0 ? process.argv[index + 1] : process.env.BENCH_NOOP_OBJECTS;
  const counts = (given ?? (options.quick ? '300' : '2000,20000')).split(',').map(Number);
  const bad = counts.find((n) => !Number.isInteger(n) || n < Object.keys(MULTIPART).length + 1);
  if (bad !== undefined) throw new Error(`bench noop-sync: --objects takes whole numbers above 4, got "${given}"`);
  return counts;
}

export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const title = 'No-op sync beside aws s3 sync and rclone on moto_server: wall time, objects written, requests';
  const notes: string[] = [];
  const awsVersion = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  const rcloneVersion = ensureRclone(notes);
  if (awsVersion.status !== 0 || !rcloneVersion) {
    return { title, rows: [], notes: [...notes, 'The aws CLI or rclone is missing; section not run.'] };
  }
  const counts = countsFromArguments(options);
  const runsList = (process.env.BENCH_NOOP_RUNS ?? (options.quick ? '1' : '3')).split(',').map(Number);
  const moto = await startMoto(process.env.S3XCOPY_MOTO_PORT ? Number(process.env.S3XCOPY_MOTO_PORT) : undefined);
  const proxy = await startCountingProxy(moto.url, Number(process.env.S3XCOPY_BENCH_PROXY_PORT ?? 0));
  const work = await mkdtemp(path.join(tmpdir(), 's3xcopy-bench-noop-'));
  const s3 = createS3Client({ endpoint: moto.url, credentials: CREDENTIALS });
  const started = new Date();
  try {
    const config = `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${PARALLEL}\n  addressing_style = path\n`;
    await writeFile(path.join(work, 'aws-config'), config);
    const env = toolEnv(work);
    const rows: Array<Record<string, string | number>> = [];
    const runsUsed: number[] = [];
    for (const [index, count] of counts.entries()) {
      const runs = runsList[index] ?? runsList.at(-1) ?? 3;
      runsUsed.push(runs);
      const phaseStarted = Date.now();
      const load = startLoadSampler();
      const { tools, results, changed } = await measureCount(count, runs, s3, moto.url, proxy, env);
      const loadSeen = load.stop();
      const countRows = rowsFor(count, tools, results, changed);
      rows.push(...countRows);
      // A long run prints each N's table as soon as it is done, so a later failure does not lose it.
      process.stderr.write(`${markdownTable(countRows)}\n`);
      notes.push(
        `${count} objects: the whole round (seed, copies, syncs, read-backs) took ${round((Date.now() - phaseStarted) / 1000)} s; the 1-minute load average was ${loadSeen.min.toFixed(1)}-${loadSeen.max.toFixed(1)} (mean ${loadSeen.mean.toFixed(1)}) on ${cpus().length} cores shared with other work.`,
      );
    }
    notes.unshift(
      `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machineLine()}, one ${motoVersion()} (a separate process) for everything; ${awsVersion.stdout.trim() || awsVersion.stderr.trim()}; ${rcloneVersion}. Command: \`npm run build && ${runsList.length > 1 || runsList[0] !== 3 ? `BENCH_NOOP_RUNS=${runsList.join(',')} ` : ''}npm run bench:noop-sync${counts.join(',') === '2000,20000' ? '' : ` -- --objects ${counts.join(',')}`}\`.`,
      `Sources: N objects in one bucket, N-4 of 200-500 bytes and four of 9-24 MiB uploaded in 8 MiB parts (aws s3 cp's layout). Each tool first copied them into its own target prefix; "no-op sync s" is the median of ${runsUsed.join(' / ')} timed runs per tool (tools rotating), start-up included; "time vs s3xcopy" is that time over s3xcopy's (above 1x: slower than s3xcopy).`,
      '"objects written" is read back, not reported by the tools: "listing" counts, run by run, the target objects whose ETag or LastModified changed (each run started at least 1.1 s after the last write, since LastModified has one-second precision); "proxy" counts the distinct target keys written (PutObject, CopyObject, CompleteMultipartUpload) by one more run through a counting proxy, which also gives the requests. The proxy runs are not timed.',
      `Changed row: 1% of the sources (every 100th small object and the 9 MiB multipart one) rewritten in place with new content of the same size, then one timed sync per tool; they were rewritten again before the counted run. Every tool at ${PARALLEL} requests in parallel (aws: max_concurrent_requests; rclone: --transfers and --checkers); rclone copy, not sync, so nothing is deleted.`,
    );
    return {
      title,
      rows,
      notes,
      headline: headline(rows),
    };
  } finally {
    s3.destroy();
    await proxy.close();
    moto.process.kill();
    await rm(work, { recursive: true, force: true });
  }
}

function headline(rows: Array<Record<string, string | number>>): string {
  const parts = [...new Set(rows.map((row) => row.objects))].map((count) => {
    const ofCount = rows.filter((row) => row.objects === count);
    const ours = ofCount[0];
    const peers = ofCount.slice(1).map((row) => `${String(row.tool).split(' (')[0]} ${row['no-op sync s']} s`);
    return `${count} objects: s3xcopy ${ours?.['no-op sync s']} s (${ours?.['no-op: requests']} requests), ${peers.join(', ')}`;
  });
  return `No-op sync on moto_server: ${parts.join('; ')}.`;
}

if (require.main === module) runSectionFromCommandLine('noop-sync', run);
