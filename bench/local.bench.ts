/**
 * Orchestration overhead: the same objects copied (1) by `s3xcopy run`'s path, the local runner executing
 * statemachine/copy.asl.json with the real list, copy and notify handlers, and (2) by the copy worker
 * alone (copyBatch over the same batches, in parallel as the Distributed Map runs them), on one embedded
 * S3 server. The ratio is what listing, planning, manifests, the Map, ResultWriter files and the notify
 * step cost on top of the copying itself. `npm run bench:local`.
 */
import '../cli/runner/esm-interop';
import { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { startEmbeddedS3 } from '../cli/embedded-s3';
import { type LocalRunResult, runLocal } from '../cli/runner/runner';
import { total } from '../cli/runner/stats';
import { copyBatch } from '../functions/copy/copy-engine';
import { createS3Client } from '../functions/shared/clients';
import { DEFAULT_OPTIONS, parseJob } from '../functions/shared/job';
import {
  type BenchOptions,
  type BenchSection,
  median,
  perSecond,
  ratio,
  round,
  runSectionFromCommandLine,
  seedSmallObjects,
} from './harness';

const SOURCE = 'local-bench-src';
const TARGET = 'local-bench-dst';
const STATE = 'local-bench-state';

/** Runs the orchestration-overhead section. */
export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const count = options.quick ? 400 : 2000;
  const runs = options.quick ? 1 : 3;
  const server = await startEmbeddedS3();
  const s3 = createS3Client(server.endpoint);
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  try {
    for (const bucket of [SOURCE, TARGET, STATE]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const objects = await seedSmallObjects(s3, SOURCE, 'objects/', count);
    const batchSize = DEFAULT_OPTIONS.maxObjectsPerBatch;

    let lastRunner: LocalRunResult | undefined;
    const runRunner = async (i: number) => {
      const result = await runLocal({
        input: { source: { bucket: SOURCE, prefix: 'objects/' }, target: { bucket: TARGET, prefix: `runner-${i}/` } },
        endpoint: server.endpoint,
        stateBucket: STATE,
        logStream: discard,
      });
      if (result.status !== 'SUCCEEDED' || result.objects.copied !== count) {
        throw new Error(`The runner copied ${result.objects.copied} of ${count} objects (${result.status})`);
      }
      lastRunner = result;
    };

    const logger = new Logger({ serviceName: 'bench-local', logLevel: 'ERROR' });
    const job = parseJob({
      source: { bucket: SOURCE, prefix: 'objects/' },
      target: { bucket: TARGET, prefix: 'worker/' },
      filter: { include: [], exclude: [] },
      options: DEFAULT_OPTIONS,
    });
    const runWorker = async (i: number) => {
      // A fresh client per run, as each runner execution makes its own: a warm client alone was measured
      // to copy about 1.4x faster on this server, which would be charged to orchestration unfairly.
      const client = createS3Client(server.endpoint);
      const target = { ...job.target, prefix: `worker-${i}/` };
      const batches = [];
      for (let start = 0; start < objects.length; start += batchSize) {
        const slice = objects.slice(start, start + batchSize);
        batches.push({ id: `b${start}`, objects: slice, bytes: slice.reduce((sum, o) => sum + o.size, 0) });
      }
      const results = await Promise.all(
        batches.map((batch) =>
          copyBatch(
            { job: { ...job, target }, jobId: 'bench', batch },
            { s3: client, logger, remainingTimeMs: () => 900_000 },
          ),
        ),
      );
      client.destroy();
      const copied = results.reduce((sum, r) => sum + r.copied, 0);
      if (copied !== count) throw new Error(`The worker copied ${copied} of ${count} objects`);
    };

    // Alternate the two, so a slow phase of the machine (or the server's warm-up) hits both alike.
    const runnerMs: number[] = [];
    const workerMs: number[] = [];
    const timed = async (body: () => Promise<void>) => {
      const started = performance.now();
      await body();
      return performance.now() - started;
    };
    for (let i = 0; i < runs + 1; i++) {
      const first = i % 2 === 0;
      const a = await timed(() => (first ? runRunner(i) : runWorker(i)));
      const b = await timed(() => (first ? runWorker(i) : runRunner(i)));
      // The first round warms both paths up (JIT, sockets, the server) and is not counted.
      if (i === 0) continue;
      runnerMs.push(first ? a : b);
      workerMs.push(first ? b : a);
    }
    const runner = { medianMs: median(runnerMs) };
    const worker = { medianMs: median(workerMs) };

    const stats = lastRunner?.stats;
    const transitions = stats ? total(stats.transitions.parent) + total(stats.transitions.children) : 0;
    const s3Requests = stats ? total(stats.s3.source) + total(stats.s3.target) + total(stats.s3.state) : 0;
    return {
      title: 'Orchestration overhead: s3xcopy run vs the copy worker alone',
      rows: [
        {
          method: 's3xcopy run (local runner, real ASL and handlers)',
          objects: count,
          'median ms': round(runner.medianMs),
          'objects/s': round(perSecond(count, runner.medianMs)),
          'vs worker': ratio(runner.medianMs, worker.medianMs),
        },
        {
          method: 'copy worker alone (copyBatch, same batches in parallel)',
          objects: count,
          'median ms': round(worker.medianMs),
          'objects/s': round(perSecond(count, worker.medianMs)),
          'vs worker': '1.00x',
        },
      ],
      notes: [
        `${count} small objects, median of ${runs} run(s) each after a warm-up round, alternating the two, one embedded S3 server in-process; default job options (batches of ${batchSize}).`,
        '"vs worker" is wall time relative to the worker alone: the cost of listing, the manifest, the Map Run with its ResultWriter files, and Notify. Both make a fresh S3 client per run.',
        stats
          ? `One runner execution: ${transitions} state transitions (${total(stats.transitions.parent)} parent, ${total(stats.transitions.children)} in ${stats.executions.children} child executions), ${stats.lambda.list?.invocations ?? 0} list + ${stats.lambda.copy?.invocations ?? 0} copy + ${stats.lambda.notify?.invocations ?? 0} notify invocations, ${s3Requests} S3 requests (${total(stats.s3.state)} on the state bucket).`
          : 'No runner statistics.',
      ],
      chart: {
        unit: 'objects/s',
        bars: [
          { label: 's3xcopy run', value: round(perSecond(count, runner.medianMs)) },
          { label: 'worker alone', value: round(perSecond(count, worker.medianMs)) },
        ],
      },
    };
  } finally {
    s3.destroy();
    await server.stop();
  }
}

if (require.main === module) runSectionFromCommandLine('local', run);
