/**
 * Child process of bench/growth.bench.ts: runs `s3xcopy run` (cli/main.ts, the whole local runner, the
 * ASL and the real handlers) in this process with every S3 client answered by the in-memory S3 model
 * (sim/s3-model.ts) instead of a server, so what is timed and what fills memory is s3xcopy's own work.
 *
 * Usage: tsx bench/run-on-model.ts OBJECTS [SLICE_OBJECTS]. Prints one JSON line on stderr:
 * { objects, sliceMaxObjects, exitCode, seconds, peakRssBytes, seededRssBytes, copied, modelRequests }.
 * seededRssBytes is the RSS once the model holds the source objects, before s3xcopy starts: the part of
 * the peak that is the model's, not s3xcopy's. GROWTH_TRACE=1 prints the peak, RSS and heap as each slice
 * starts.
 */
import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import type { CliIo } from '../cli/io';
import { S3Model } from '../sim/s3-model';

/** The process's peak resident set (VmHWM), which no sampling interval can miss. */
function peakRssBytes(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage.rss();
}

async function main(): Promise<void> {
  const objects = Number(process.argv[2]);
  const sliceMaxObjects = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  if (!Number.isSafeInteger(objects) || objects < 1 || (sliceMaxObjects !== undefined && !(sliceMaxObjects >= 1))) {
    throw new Error('usage: tsx bench/run-on-model.ts OBJECTS [SLICE_OBJECTS]');
  }
  const model = new S3Model();
  model.createBucket('growth-src');
  model.createBucket('growth-dst');
  model.seed(
    'growth-src',
    (function* () {
      for (let i = 0; i < objects; i++) {
        yield {
          key: `data/${String(i % 100).padStart(2, '0')}/object-${String(i).padStart(7, '0')}.json`,
          size: 1_000,
        };
      }
    })(),
  );
  // Every S3 client the CLI makes (source, target, state) is answered by the model.
  const attached = new WeakSet<S3Client>();
  const send = S3Client.prototype.send as (this: S3Client, ...args: unknown[]) => unknown;
  (S3Client.prototype as unknown as { send: typeof send }).send = function (this: S3Client, ...args: unknown[]) {
    if (!attached.has(this)) {
      model.attach(this);
      attached.add(this);
    }
    return send.apply(this, args);
  };
  const { run } = await import('../cli/main');
  // What is left after a full collection is the model and the loaded code.
  (await import('../cli/runner/slice-heap')).fullCollection()?.();
  const seededRssBytes = process.memoryUsage.rss();
  let stdout = '';
  const started = process.hrtime.bigint();
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      // Memory as each slice starts, to see what grows with the job (the slice heap guard has run).
      if (process.env.GROWTH_TRACE && text.includes('slice')) {
        const m = (n: number) => Math.round(n / 2 ** 20);
        const { rss, heapUsed, external } = process.memoryUsage();
        process.stderr.write(
          `trace: hwm ${m(peakRssBytes())} rss ${m(rss)} heap ${m(heapUsed)} external ${m(external)} MiB `,
        );
      }
      process.stderr.write(text);
    },
    isTTY: false,
  };
  const exitCode = await run(
    [
      'node',
      's3xcopy',
      'run',
      '--source',
      's3://growth-src',
      '--target',
      's3://growth-dst',
      '--endpoint',
      'http://127.0.0.1:9',
      '--json',
      ...(sliceMaxObjects === undefined ? [] : ['--slice-max-objects', String(sliceMaxObjects)]),
    ],
    io,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (process.env.GROWTH_HEAP_SNAPSHOT) {
    (globalThis as { gc?: () => void }).gc?.();
    const { writeHeapSnapshot } = await import('node:v8');
    process.stderr.write(`heap snapshot: ${writeHeapSnapshot(process.env.GROWTH_HEAP_SNAPSHOT)}\n`);
  }
  const summary = JSON.parse(stdout || '{}') as { objects?: { copied?: number } };
  const modelRequests = Object.values(model.stats.requests).reduce((a, b) => a + b, 0);
  process.stderr.write(
    `${JSON.stringify({ objects, sliceMaxObjects: sliceMaxObjects ?? null, exitCode, seconds, peakRssBytes: peakRssBytes(), seededRssBytes, copied: summary.objects?.copied ?? 0, modelRequests })}\n`,
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`run-on-model: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
