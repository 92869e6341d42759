/**
 * What S3 events cost per million objects, measured: each event path copies small objects on the embedded
 * S3 server at 1 and at 50 events per execution, and its own counts (invocations and their durations, state
 * transitions, S3 requests) are priced with cli/cost/. The direct path runs the events handler as its
 * SQS event source mapping would (cli/runner/events-run.ts); the pipe path runs the real ASL with the real
 * handlers (runLocal), once per batch the Pipe would start. What no local run can count is added from the
 * model: SQS requests (one SendMessage per event, a ReceiveMessage and a DeleteMessageBatch per 10), the
 * Pipe's requests and EventBridge's opt-in data events. Durations are local (no network round trip), so
 * the Lambda duration charge here is lower than on AWS, where the model's 60 ms a request applies.
 *
 * `npm run bench:events` prints one Markdown table (docs/cost.md quotes it).
 */
import { Writable } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { sqsRequests } from '../cli/cost/event-scenarios';
import { formatUsd, priceUsage, type UsageCounts } from '../cli/cost/model';
import { usageFromRunStats } from '../cli/cost/run-stats';
import { startEmbeddedS3 } from '../cli/embedded-s3';
import { runEventsLocal } from '../cli/runner/events-run';
import { runLocal } from '../cli/runner/runner';
import type { RunStats } from '../cli/runner/stats';
import { createS3Client } from '../functions/shared/clients';

const OBJECTS = 100;
const OBJECT_BYTES = 4096;

interface Row {
  path: string;
  perExecution: number;
  executions: number;
  transitions: number;
  invocations: number;
  lambdaMs: number;
  usage: UsageCounts;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function lambdaOf(stats: RunStats) {
  const all = Object.values(stats.lambda);
  return { invocations: sum(all.map((l) => l.invocations)), ms: sum(all.map((l) => l.totalMs)) };
}

async function main(): Promise<void> {
  const server = await startEmbeddedS3();
  const s3 = createS3Client(server.endpoint);
  const buckets = ['ev-src', 'ev-state', ...[1, 50].flatMap((n) => [`ev-direct-${n}`, `ev-pipe-${n}`])];
  for (const bucket of buckets) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = Array.from({ length: OBJECTS }, (_, i) => `in/${String(i).padStart(5, '0')}.bin`);
  const limit = pLimit(16);
  const body = Buffer.alloc(OBJECT_BYTES, 'x');
  await Promise.all(
    keys.map((key) => limit(() => s3.send(new PutObjectCommand({ Bucket: 'ev-src', Key: key, Body: body })))),
  );
  const defaults = (target: string) => ({
    source: { bucket: 'ev-src', prefix: 'in/' },
    target: { bucket: target, prefix: 'out/' },
    options: {},
  });
  const rows: Row[] = [];
  try {
    for (const n of [1, 50]) {
      const direct = await runEventsLocal({
        endpoint: server.endpoint,
        defaults: defaults(`ev-direct-${n}`),
        keys,
        eventsPerInvocation: n,
      });
      const usage = usageFromRunStats(direct.stats, OBJECTS).usage;
      usage.sqsRequests = sqsRequests(OBJECTS, n);
      const lambda = lambdaOf(direct.stats);
      rows.push({
        path: 'direct (events function)',
        perExecution: n,
        executions: 0,
        transitions: 0,
        invocations: lambda.invocations,
        lambdaMs: lambda.ms,
        usage,
      });
    }
    for (const n of [1, 50]) {
      // One execution per batch, as the Pipe starts them; 100 objects at 1 per execution would take minutes
      // locally, so the one-event case runs 10 executions and is priced per object like the rest.
      const batches = n === 1 ? 10 : OBJECTS / n;
      const totals: UsageCounts[] = [];
      let transitions = 0;
      let invocations = 0;
      let lambdaMs = 0;
      for (let b = 0; b < batches; b++) {
        const input = keys.slice(b * n, b * n + n).map((key) => ({
          'detail-type': 'Object Created',
          detail: { bucket: { name: 'ev-src' }, object: { key } },
        }));
        const run = await runLocal({
          input,
          endpoint: server.endpoint,
          defaults: defaults(`ev-pipe-${n}`),
          stateBucket: 'ev-state',
          retryIntervalMs: 0,
          logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
        });
        const usage = usageFromRunStats(run.stats, n).usage;
        totals.push(usage);
        transitions += sum(Object.values(usage.stateTransitions ?? {}));
        const lambda = lambdaOf(run.stats);
        invocations += lambda.invocations;
        lambdaMs += lambda.ms;
      }
      const objects = batches * n;
      const usage: UsageCounts = {
        objects,
        stateTransitions: { all: transitions },
        lambda: totals.flatMap((usageOfRun) => usageOfRun.lambda ?? []),
        s3Requests: {},
        snsPublishes: sum(totals.map((usageOfRun) => usageOfRun.snsPublishes ?? 0)),
        sqsRequests: sqsRequests(objects, n),
        pipeRequests: objects,
        eventBridgeEvents: objects,
      };
      for (const usageOfRun of totals) {
        for (const [type, count] of Object.entries(usageOfRun.s3Requests ?? {})) {
          const requests = usage.s3Requests as Record<string, number>;
          requests[type] = (requests[type] ?? 0) + (count ?? 0);
        }
      }
      rows.push({
        path: 'pipe -> workflow',
        perExecution: n,
        executions: batches,
        transitions,
        invocations,
        lambdaMs,
        usage,
      });
    }
  } finally {
    s3.destroy();
    await server.stop();
  }
  const lines = [
    '| path | events per execution | objects | executions | transitions | Lambda invocations | Lambda ms (local) | orchestration per 1M objects | of which Lambda | S3 requests per 1M objects |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((row) => {
      const cost = priceUsage(row.usage);
      const perMillion = (value: number) => formatUsd((value / row.usage.objects) * 1_000_000);
      return `| ${row.path} | ${row.perExecution} | ${row.usage.objects} | ${row.executions} | ${row.transitions} | ${row.invocations} | ${row.lambdaMs} | ${formatUsd(cost.perMillionObjects.orchestration)} | ${perMillion(cost.orchestration.lambdaRequests + cost.orchestration.lambdaDuration)} | ${formatUsd(cost.perMillionObjects.s3Requests)} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
