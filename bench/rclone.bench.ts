/**
 * An outside peer on the same embedded S3 server: `rclone copy` (Debian's package, server-side copies
 * between two paths of one remote) vs `s3xcopy run` (runLocal: the real ASL, list + plan + copy + notify)
 * over the same objects, each into a fresh target prefix, alternating run by run. Both list the source,
 * both copy with CopyObject, both end when every object is copied: an end-to-end comparison.
 *
 * rclone is configured through environment variables only (no config file): provider Other, path-style
 * requests, the embedded server's fixed credentials. When rclone is missing the section installs it with
 * `apt-get install -y rclone` (root only, after apt-get update) and says so; when that fails it says why.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { EMBEDDED_CREDENTIALS, type EmbeddedS3, startEmbeddedS3 } from '../cli/embedded-s3';
import { runLocal } from '../cli/runner/runner';
import { createS3Client } from '../functions/shared/clients';
import { DEFAULT_OPTIONS } from '../functions/shared/job';
import {
  type BenchOptions,
  type BenchSection,
  measure,
  median,
  perSecond,
  ratio,
  round,
  runSectionFromCommandLine,
} from './harness';

const SOURCE = 'rclone-src';
const TARGET = 'rclone-dst';
const STATE = 'rclone-state';
/** rclone's default parallelism, and ours (DEFAULT_OPTIONS.concurrency) for a like-for-like row. */
const RCLONE_DEFAULT_TRANSFERS = 4;

function rcloneVersion(): string | undefined {
  const result = spawnSync('rclone', ['version'], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  return result.stdout.split('\n')[0]?.trim();
}

/** Finds rclone, installing Debian's package when it is missing and this process may; notes what happened. */
export function ensureRclone(notes: string[]): string | undefined {
  const found = rcloneVersion();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    notes.push(
      'rclone is not installed and this user cannot install it (needs root): `sudo apt-get install -y rclone`.',
    );
    return undefined;
  }
  const update = spawnSync('apt-get', ['update', '-qq'], { encoding: 'utf8', timeout: 180_000 });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'rclone'], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = rcloneVersion();
  if (!installed) {
    const why = (install.stderr || update.stderr || install.error?.message || 'unknown error')
      .trim()
      .split('\n')
      .slice(-2)
      .join(' ');
    notes.push(`rclone is not installed and \`apt-get install -y rclone\` failed: ${why}`);
    return undefined;
  }
  notes.push(
    `rclone was missing; this run installed Debian's package with \`apt-get install -y rclone\` (${installed}).`,
  );
  return installed;
}

/** rclone's configuration for the embedded server, as environment variables (remote name "bench"). */
function rcloneEnv(server: EmbeddedS3): NodeJS.ProcessEnv {
  // AWS_CA_BUNDLE makes rclone's S3 client refuse its own HTTP transport ("unable to load custom CA bundle");
  // the embedded server speaks plain HTTP on loopback, so no CA bundle applies.
  const { AWS_CA_BUNDLE: _caBundle, ...env } = process.env;
  return {
    ...env,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: server.url,
    RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: EMBEDDED_CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: EMBEDDED_CREDENTIALS.secretAccessKey,
  };
}

/** Runs rclone asynchronously (the embedded server lives in this process and must keep serving). */
function runRclone(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('rclone', args, { env, timeout: 300_000, maxBuffer: 16 * 2 ** 20 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`rclone ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
      else resolve();
    });
  });
}

async function seed(s3: S3Client, count: number): Promise<void> {
  const limit = pLimit(16);
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      limit(() => {
        const body = JSON.stringify({ i, padding: 'x'.repeat(200 + (i % 300)) });
        return s3.send(
          new PutObjectCommand({ Bucket: SOURCE, Key: `small/${String(i).padStart(5, '0')}.json`, Body: body }),
        );
      }),
    ),
  );
}

/** Runs the rclone section. */
export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const notes: string[] = [];
  const title = 'Outside peer: rclone copy vs s3xcopy run, same objects, same server';
  const version = ensureRclone(notes);
  if (!version) return { title, rows: [], notes };

  const count = options.quick ? 300 : 1000;
  const runs = options.quick ? 1 : 3;
  const server = await startEmbeddedS3();
  const s3 = createS3Client(server.endpoint);
  const outputDir = await mkdtemp(path.join(tmpdir(), 's3xcopy-bench-rclone-'));
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const env = rcloneEnv(server);
  try {
    for (const bucket of [SOURCE, TARGET, STATE]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await seed(s3, count);

    const rcloneCopy = (transfers: number, prefix: string) =>
      runRclone(
        [
          'copy',
          `bench:${SOURCE}/small`,
          `bench:${TARGET}/${prefix}`,
          '--transfers',
          String(transfers),
          '--checkers',
          String(Math.max(8, transfers)),
          '--s3-no-check-bucket',
        ],
        env,
      );
    const s3xcopyRun = async (prefix: string, name: string) => {
      const result = await runLocal({
        input: { source: { bucket: SOURCE, prefix: 'small/' }, target: { bucket: TARGET, prefix: `${prefix}/` } },
        endpoint: server.endpoint,
        stateBucket: STATE,
        executionName: name,
        outputDir: path.join(outputDir, name),
        logStream: quiet,
        retryIntervalMs: 0,
      });
      if (result.status !== 'SUCCEEDED' || result.objects.copied !== count) {
        throw new Error(`s3xcopy run ${name}: ${result.status}, copied ${result.objects.copied} of ${count}`);
      }
    };

    const methods: Array<{ label: string; body: (run: number) => Promise<void> }> = [
      {
        label: `rclone copy, defaults (--transfers ${RCLONE_DEFAULT_TRANSFERS})`,
        body: (i) => rcloneCopy(RCLONE_DEFAULT_TRANSFERS, `rclone-default-${i}`),
      },
      {
        label: `rclone copy --transfers ${DEFAULT_OPTIONS.concurrency}`,
        body: (i) => rcloneCopy(DEFAULT_OPTIONS.concurrency, `rclone-${DEFAULT_OPTIONS.concurrency}-${i}`),
      },
      {
        label: `s3xcopy run (defaults: concurrency ${DEFAULT_OPTIONS.concurrency})`,
        body: (i) => s3xcopyRun(`s3xcopy-${i}`, `bench-rclone-${i}`),
      },
    ];
    const times = methods.map(() => [] as number[]);
    // Alternate methods run by run, so neither gets a warmer server or a fuller disk.
    for (let i = 0; i < runs; i++) {
      for (const [index, method] of methods.entries()) {
        const measured = await measure(1, () => method.body(i));
        times[index]?.push(...measured.runsMs);
      }
    }
    const medians = times.map((list) => median(list));
    const ours = medians[2] ?? 0;
    const rows = methods.map((method, index) => ({
      method: method.label,
      'median s': round((medians[index] ?? 0) / 1000),
      'objects/s': round(perSecond(count, medians[index] ?? 0)),
      'speed vs s3xcopy run': ratio(ours, medians[index] ?? 0),
    }));
    notes.push(
      `${version}; ${count} objects of 200-500 bytes, median of ${runs} runs per method, methods alternating, each run into a fresh target prefix.`,
      'rclone copies server-side here (source and target on one remote), one CopyObject per object, after listing both sides; s3xcopy run lists, plans its batches (one for these 1,000 objects), runs the state machine locally and copies each batch with the copy worker.',
      "'speed vs s3xcopy run' is that method's objects/s over s3xcopy run's: below 1x it was slower. Both share this machine's 2 cores with the in-process server; s3xcopy run also runs the state machine and the handlers in the same process, while rclone is a separate process.",
    );
    const rcloneTuned = medians[1] ?? 0;
    return {
      title,
      rows,
      notes,
      headline: `rclone: s3xcopy run copied ${round(perSecond(count, ours))} objects/s end to end vs rclone copy ${round(perSecond(count, rcloneTuned))} objects/s at the same parallelism (s3xcopy at ${ratio(rcloneTuned, ours)} rclone's speed) and ${round(perSecond(count, medians[0] ?? 0))} objects/s with rclone's defaults, same objects, same embedded server.`,
      chart: {
        unit: 'objects/s',
        bars: methods.map((method, index) => ({
          label: method.label.replace(/ \(.*\)$/, ''),
          value: round(perSecond(count, medians[index] ?? 0)),
        })),
      },
    };
  } finally {
    s3.destroy();
    await server.stop();
    await rm(outputDir, { recursive: true, force: true });
  }
}

if (require.main === module) runSectionFromCommandLine('rclone', run);
