/**
 * What a no-op sync copies and asks, side by side in one run (counts and ratios, not times):
 *
 * 1. On real servers (the embedded one in-process; moto and Ceph RGW when their endpoints are given:
 *    S3XCOPY_BENCH_MOTO=http://127.0.0.1:PORT, S3XCOPY_BENCH_CEPH_ENV=<ceph.sh's env file>): sources in
 *    5, 8 and 16 MiB parts, an uneven layout, a single part, and a single part above the 5 MiB threshold
 *    the runs pass (copied in parts); `s3xcopy run`, then `run --mode sync` (a state bucket of the run's
 *    keeps the identity records): the objects and bytes the sync copied again.
 * 2. On the S3 model (sim/), N objects (BENCH_SYNC_OBJECTS, default 100,000; 1,000,000 for the published
 *    figure), a mix of single-part, multipart, SSE-KMS targets and single parts above the threshold
 *    (modelObject): the requests per object of a no-op `s3xcopy run --mode sync` when the targets are
 *    what the copy writes now (the source's layout, identity records where the ETags differ), the same
 *    without records, and what it wrote before (single-part copies below the threshold, 64 MiB parts above).
 *
 * Usage: npx tsx bench/sync-identity.bench.ts (run `npm run build` first: part 1 runs the compiled CLI).
 * BENCH_SYNC_SERVERS=0 skips part 1; BENCH_SYNC_LIST_CONCURRENCY=N passes `--list-concurrency N` to part 2;
 * BENCH_SYNC_BREAKDOWN=1 adds what each bucket's LIST requests were spent on to part 2's rows. Part 2 prices
 * its requests with cli/cost/prices.ts and adds the orchestration `s3xcopy estimate` prices for the job.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { s3RequestPrice, s3RequestTypeOfCommand } from '../cli/cost/model';
import { buildScenario } from '../cli/cost/scenarios';
import { applyEmbeddedClientFix, startEmbeddedS3 } from '../cli/embedded-s3';
import type { CliIo } from '../cli/io';
import { identityRecordBody, identityRecordKey } from '../functions/shared/identity-record';
import { S3Model, type SeedObject } from '../sim/s3-model';
import { type BenchSection, printSection } from './harness';

const MiB = 1024 * 1024;
const ROOT = path.join(__dirname, '..');

const LAYOUTS: Record<string, number[]> = {
  'p5-13MiB.bin': [5 * MiB, 5 * MiB, 3 * MiB],
  'p8-13MiB.bin': [8 * MiB, 5 * MiB],
  'p16-70MiB.bin': [16 * MiB, 16 * MiB, 16 * MiB, 16 * MiB, 6 * MiB],
  'uneven-18MiB.bin': [7 * MiB, 5 * MiB, 6 * MiB, 1000],
  'single.bin': [2000],
  // Above the 5 MiB threshold the server runs pass: copied in parts, so only its identity record proves it.
  'single-above-threshold-6MiB.bin': [6 * MiB],
};

interface Summary {
  objects?: { copied?: number; skipped?: number; failed?: number };
  bytes?: { copied?: number };
}

function cli(args: string[], env: Record<string, string>): Promise<Summary> {
  return new Promise((resolve, reject) => {
    execFile(
      'node',
      ['bin/s3xcopy.js', ...args, '--json'],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_REGION: 'us-east-1', ...env },
        maxBuffer: 64 * MiB,
      },
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as Summary);
        } catch {
          reject(new Error(`s3xcopy ${args.join(' ')}: ${error?.message ?? ''}\n${stderr}`));
        }
      },
    );
  });
}

async function seedLayouts(s3: S3Client, bucket: string): Promise<void> {
  for (const [key, sizes] of Object.entries(LAYOUTS)) {
    if (sizes.length === 1) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(sizes[0] ?? 0) }));
      continue;
    }
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const parts = [];
    for (const [i, size] of sizes.entries()) {
      const answer = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: randomBytes(size) }),
      );
      parts.push({ PartNumber: i + 1, ETag: answer.ETag });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
    );
  }
}

function client(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** One server: seed, copy, no-op sync; what the sync copied. */
async function onServer(name: string, s3: S3Client, endpoint: string, env: Record<string, string>) {
  const run = randomBytes(3).toString('hex');
  const [src, dst] = [`noop-src-${run}`, `noop-dst-${run}`];
  const state = `noop-state-${run}`;
  for (const bucket of [src, dst, state]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await seedLayouts(s3, src);
  const args = [
    'run',
    '--source',
    `s3://${src}`,
    '--target',
    `s3://${dst}`,
    '--endpoint',
    endpoint,
    '--multipart-threshold',
    '5MiB',
    '--state-bucket',
    state,
  ];
  const copied = await cli(args, env);
  const synced = await cli([...args, '--mode', 'sync'], env);
  const bytes = Object.values(LAYOUTS).reduce((sum, sizes) => sum + sizes.reduce((a, b) => a + b, 0), 0);
  return {
    where: name,
    objects: Object.keys(LAYOUTS).length,
    MiB: Math.round(bytes / MiB),
    'first run copied': copied.objects?.copied ?? -1,
    'no-op sync: objects copied': synced.objects?.copied ?? -1,
    'no-op sync: bytes copied': synced.bytes?.copied ?? -1,
    'no-op sync: skipped': synced.objects?.skipped ?? -1,
  };
}

async function serverRows(): Promise<Array<Record<string, string | number>>> {
  const rows: Array<Record<string, string | number>> = [];
  const server = await startEmbeddedS3();
  const embedded = client(server.url, 'S3RVER', 'S3RVER');
  applyEmbeddedClientFix(embedded);
  rows.push(
    await onServer('embedded', embedded, server.url, {
      S3XCOPY_EMBEDDED: '1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    }),
  );
  await server.stop();
  const moto = process.env.S3XCOPY_BENCH_MOTO;
  if (moto) {
    const env = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
    rows.push(await onServer('moto', client(moto, 'testing', 'testing'), moto, env));
  }
  const cephEnv = process.env.S3XCOPY_BENCH_CEPH_ENV;
  if (cephEnv) {
    const vars = Object.fromEntries(
      readFileSync(cephEnv, 'utf8')
        .split('\n')
        .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    const [endpoint, key, secret] = [vars.CEPH_ENDPOINT ?? '', vars.CEPH_ACCESS_KEY ?? '', vars.CEPH_SECRET_KEY ?? ''];
    const env = { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret };
    rows.push(await onServer('Ceph RGW', client(endpoint, key, secret), endpoint, env));
  }
  return rows;
}

/** What the targets of a model run are: as the copy wrote them before, or now (with or without records). */
type Targets = 'before' | 'now, no records' | 'now';

/**
 * One model object: 60% single-part 1,000 B, 20% 13 MiB in 8 MiB parts, 10% 70 MiB in 16 MiB parts, 5%
 * single-part 1,000 B whose target is SSE-KMS (its ETag is its own), 5% single-part 80 MiB (above the
 * default 64 MiB threshold: copied in 64 MiB parts, a `-2` ETag).
 */
function modelObject(i: number) {
  const key = `data/${String(i % 100).padStart(2, '0')}/object-${String(i).padStart(7, '0')}.bin`;
  const kind = i % 20;
  if (kind < 12) return { key, sizes: [1000], kms: false };
  if (kind < 16) return { key, sizes: [8 * MiB, 5 * MiB], kms: false };
  if (kind < 18) return { key, sizes: [16 * MiB, 16 * MiB, 16 * MiB, 16 * MiB, 6 * MiB], kms: false };
  if (kind < 19) return { key, sizes: [1000], kms: true };
  return { key, sizes: [80 * MiB], kms: false };
}

/** The source objects on the model, and the target each would have after a copy ('now' or 'before'). */
function* modelObjects(count: number, bucket: 'src' | Targets): Generator<SeedObject> {
  for (let i = 0; i < count; i++) {
    const { key, sizes, kms } = modelObject(i);
    const size = sizes.reduce((a, b) => a + b, 0);
    // Before: a CopyObject below the 64 MiB threshold (MD5 ETag), 64 MiB parts above it. Now: the source's
    // layout, but a single part above the threshold is still copied in 64 MiB parts.
    const copiedInParts = size > 64 * MiB ? [64 * MiB, size - 64 * MiB] : undefined;
    const parts =
      bucket === 'src'
        ? sizes.length > 1
          ? sizes
          : undefined
        : bucket === 'before'
          ? copiedInParts
          : sizes.length > 1
            ? sizes
            : copiedInParts;
    yield {
      key,
      size,
      origin: key,
      ...(parts ? { parts } : {}),
      ...(kms && bucket !== 'src' ? { kmsKeyId: 'arn:aws:kms:us-east-1:222222222222:key/bench' } : {}),
    };
  }
}

/** What the LIST requests of one bucket were spent on. */
interface ListSide {
  requests: number;
  delimited: number;
  flat: number;
  /** Flat pages with fewer than 1,000 keys (empty ones included). */
  short: number;
  empty: number;
  keys: number;
  unique: number;
  /** Keys listed again within the slice that listed them first (a range's page running past its end). */
  againInSlice: number;
  /** Keys listed again by a later slice (read-ahead a full slice dropped). */
  againLater: number;
}

/**
 * Records every ListObjectsV2 the model answers, per bucket, and splits the requests beyond the ideal
 * (one full page per 1,000 distinct keys) into their causes: delimited pages, pages not filled, and keys
 * listed more than once. A slice starts when the target's listing starts again (each slice opens it).
 */
function recordListings(model: S3Model) {
  const sides = new Map<string, ListSide>();
  const firstSlice = new Map<string, number>();
  let slice = 0;
  const send = model.send.bind(model);
  model.send = async (operation, input) => {
    const output = await send(operation, input);
    if (operation !== 'ListObjectsV2') return output;
    const bucket = String(input.Bucket);
    if (bucket === 'dst' && input.ContinuationToken === undefined && input.MaxKeys !== 1) slice++;
    const side = sides.get(bucket) ?? {
      requests: 0,
      delimited: 0,
      flat: 0,
      short: 0,
      empty: 0,
      keys: 0,
      unique: 0,
      againInSlice: 0,
      againLater: 0,
    };
    sides.set(bucket, side);
    side.requests++;
    if (input.Delimiter !== undefined) {
      side.delimited++;
      return output;
    }
    const contents = (output.Contents ?? []) as Array<{ Key: string }>;
    side.flat++;
    if (contents.length < 1000) side.short++;
    if (contents.length === 0) side.empty++;
    for (const { Key } of contents) {
      side.keys++;
      const id = `${bucket}/${Key}`;
      const seen = firstSlice.get(id);
      if (seen === undefined) {
        firstSlice.set(id, slice);
        side.unique++;
      } else if (seen === slice) side.againInSlice++;
      else side.againLater++;
    }
    return output;
  };
  const describe = (name: string, side: ListSide) => {
    const ideal = Math.ceil(side.unique / 1000);
    const unfilled = side.flat - side.keys / 1000;
    return `${name}: ${side.requests} LIST (ideal ${ideal}): ${side.delimited} delimited, ${side.flat} flat of which ${side.short} short (${side.empty} empty) = ${unfilled.toFixed(1)} pages not filled, keys listed again ${side.againInSlice} in the same slice + ${side.againLater} by a later slice = ${((side.againInSlice + side.againLater) / 1000).toFixed(1)} pages`;
  };
  return {
    slices: () => slice,
    describe: () =>
      [...sides.entries()]
        .map(([bucket, side]) => describe(bucket === 'src' ? 'source' : bucket === 'dst' ? 'target' : bucket, side))
        .concat(`${slice} slices`)
        .join('; '),
  };
}

/**
 * The requests' price (cli/cost/prices.ts). HeadBucket and CreateBucket (the local run's preflight and
 * its state bucket) are bucket administration, which the cost model does not price.
 */
function requestsUsd(requests: Array<[string, number]>): number {
  return requests.reduce((sum, [operation, n]) => {
    const type = s3RequestTypeOfCommand(operation);
    return type ? sum + n * s3RequestPrice(type) : sum;
  }, 0);
}

/** What the deployed workflow adds to a no-op sync of `count` objects (Step Functions, Lambda), as `s3xcopy estimate` prices it. */
function orchestrationUsd(count: number): number {
  // The mix repeats every 20 objects (modelObject).
  const mix = Array.from({ length: 20 }, (_, i) => modelObject(i).sizes.reduce((a, b) => a + b, 0));
  const averageSizeBytes = Math.round(mix.reduce((a, b) => a + b, 0) / mix.length);
  const scenario = buildScenario('s3xcopy-standard', {
    objects: count,
    averageSizeBytes,
    mode: 'sync',
    changedFraction: 0,
  });
  return scenario.cost.orchestration.total;
}

/** The identity records the copy leaves for targets whose ETag differs from the source's. */
async function writeRecords(model: S3Model, count: number): Promise<number> {
  const s3 = model.client();
  const job = { source: { bucket: 'src', prefix: '' }, target: { bucket: 'dst', prefix: '' } };
  let written = 0;
  for (let i = 0; i < count; i++) {
    const { key } = modelObject(i);
    const [source, target] = [model.object('src', key), model.object('dst', key)];
    if (!source || !target || source.etag === target.etag) continue;
    const facts = { size: source.size, sourceEtag: source.etag, targetEtag: target.etag };
    await s3.send(
      new PutObjectCommand({ Bucket: STATE, Key: identityRecordKey(job, key), Body: identityRecordBody(facts) }),
    );
    written++;
  }
  return written;
}

const STATE = 'bench-state';

/** A no-op sync on the model (the CLI in this process, every S3 client answered by the model). */
async function noopSyncOnModel(count: number, targets: Targets) {
  const model = new S3Model();
  for (const bucket of ['src', 'dst', STATE]) model.createBucket(bucket);
  model.seed('src', modelObjects(count, 'src'));
  model.seed('dst', modelObjects(count, targets));
  const records = targets === 'now' ? await writeRecords(model, count) : 0;
  const before = { ...model.stats.requests };
  const ledger = recordListings(model);
  const send = S3Client.prototype.send as (this: S3Client, ...args: unknown[]) => unknown;
  const attached = new WeakSet<S3Client>();
  (S3Client.prototype as unknown as { send: typeof send }).send = function (this: S3Client, ...args: unknown[]) {
    if (!attached.has(this)) {
      model.attach(this);
      attached.add(this);
    }
    return send.apply(this, args);
  };
  try {
    const { run } = await import('../cli/main');
    let stdout = '';
    const io: CliIo = {
      stdout: (text) => {
        stdout += text;
      },
      stderr: () => undefined,
      isTTY: false,
    };
    await run(
      [
        'node',
        's3xcopy',
        'run',
        '--source',
        's3://src',
        '--target',
        's3://dst',
        '--mode',
        'sync',
        '--endpoint',
        'http://127.0.0.1:9',
        '--state-bucket',
        STATE,
        '--json',
        ...(process.env.BENCH_SYNC_LIST_CONCURRENCY
          ? ['--list-concurrency', process.env.BENCH_SYNC_LIST_CONCURRENCY]
          : []),
      ],
      io,
    );
    const summary = JSON.parse(stdout || '{}') as Summary;
    const requests = Object.entries(model.stats.requests)
      .map(([operation, n]): [string, number] => [operation, n - (before[operation] ?? 0)])
      .filter(([, n]) => n > 0);
    const total = requests.reduce((sum, [, n]) => sum + n, 0);
    const perMillion = (usd: number) => `$${((usd / count) * 1e6).toFixed(4)}`;
    return {
      targets: {
        before: 'as the copy wrote them before (no layout, no records)',
        'now, no records': 'as the copy writes them now, without identity records',
        now: 'as the copy writes them now, with identity records',
      }[targets],
      objects: count,
      'identity records': records,
      'objects copied': summary.objects?.copied ?? -1,
      'GiB copied': Math.round(((summary.bytes?.copied ?? 0) / 2 ** 30) * 10) / 10,
      'requests per object': Math.round((total / count) * 10_000) / 10_000,
      requests: requests.map(([operation, n]) => `${operation} ${n}`).join(', '),
      'S3 requests per million objects': perMillion(requestsUsd(requests)),
      'with orchestration': perMillion(requestsUsd(requests) + orchestrationUsd(count)),
      ...(process.env.BENCH_SYNC_BREAKDOWN ? { 'LIST breakdown': ledger.describe() } : {}),
    };
  } finally {
    (S3Client.prototype as unknown as { send: typeof send }).send = send;
  }
}

/** Part 1: the servers. */
export async function run(): Promise<BenchSection> {
  return {
    title: 'No-op sync on real servers: what a sync right after a copy copies again',
    rows: await serverRows(),
    notes: [
      'The sources are uploaded in parts (UploadPart), as aws s3 cp and boto3 do, or in one PUT; --multipart-threshold 5MiB and --state-bucket, other options default.',
    ],
  };
}

/**
 * Part 2: the model. The targets "as the copy wrote them before" are copied again by this sync (the old
 * copy did so on every run, the new one once, after which they are written in the source's layout): fewer
 * of them (BENCH_SYNC_BEFORE_OBJECTS, default 20,000) keep the run short, since each is a real copy.
 */
export async function runModel(): Promise<BenchSection> {
  const count = Number(process.env.BENCH_SYNC_OBJECTS ?? 100_000);
  const beforeCount = Number(process.env.BENCH_SYNC_BEFORE_OBJECTS ?? Math.min(count, 20_000));
  const rows =
    beforeCount > 0
      ? [await noopSyncOnModel(beforeCount, 'before'), await noopSyncOnModel(beforeCount, 'now, no records')]
      : [];
  rows.push(await noopSyncOnModel(count, 'now'));
  return {
    title: 'No-op sync on the S3 model: requests per object',
    rows,
    notes: [
      '60% single-part 1,000 B, 20% 13 MiB in 8 MiB parts, 10% 70 MiB in 16 MiB parts, 5% 1,000 B with an SSE-KMS target, 5% single-part 80 MiB (above the 64 MiB threshold); every request of the sync counted, the listing of both sides and the state bucket included (not the records written before it).',
    ],
  };
}

if (require.main === module) {
  (async () => {
    if (process.env.BENCH_SYNC_SERVERS !== '0') printSection(await run());
    printSection(await runModel());
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
