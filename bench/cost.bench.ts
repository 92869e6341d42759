/**
 * Cost per million objects, from a local run's own counts: `runLocal` (the real ASL, the real handlers)
 * copies N small objects on the embedded S3 server, then syncs them again (nothing to copy). The run's
 * state transitions, Lambda invocations and durations, S3 requests by type, STS and SNS calls are priced
 * with cli/cost/ (us-east-1 list prices), next to the model's estimate for the same job (a check of the
 * model against what the code really did) and the model's figures for every design at 1,000,000 objects.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { formatUsd, priceUsage, type UsageCounts } from '../cli/cost/model';
import { PRICES_AS_OF } from '../cli/cost/prices';
import { usageFromRunStats } from '../cli/cost/run-stats';
import { buildScenario, buildScenarios, type Design, type PlannedJob } from '../cli/cost/scenarios';
import { startEmbeddedS3 } from '../cli/embedded-s3';
import { runLocal } from '../cli/runner/runner';
import { createS3Client } from '../functions/shared/clients';
import type { BenchOptions, BenchSection } from './harness';
import { ratio, runSectionFromCommandLine } from './harness';

const SOURCE = 'cost-src';
const TARGET = 'cost-dst';
/**
 * A state bucket on the same server: with it the runner leaves ResultWriter files in place, as AWS does,
 * instead of downloading them into a local directory (requests AWS would not bill to the job).
 */
const STATE = 'cost-state';
const OBJECT_BYTES = 4096;

const CHART_LABELS: Record<Design, string> = {
  's3xcopy-standard': 's3xcopy, Standard children',
  's3xcopy-express': 's3xcopy, Express children',
  'per-object-executions': 'one execution per object',
  'sequential-lambda': 'sequential Lambda',
  's3-batch-operations': 'S3 Batch Operations',
};

async function seed(s3: S3Client, count: number): Promise<void> {
  const limit = pLimit(16);
  const body = Buffer.alloc(OBJECT_BYTES, 'x');
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      limit(() =>
        s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: `data/${String(i).padStart(6, '0')}.bin`, Body: body })),
      ),
    ),
  );
}

function requestSummary(usage: UsageCounts): string {
  return Object.entries(usage.s3Requests ?? {})
    .map(([type, count]) => `${type} ${count}`)
    .join(', ');
}

function transitionTotal(usage: UsageCounts): number {
  return Object.values(usage.stateTransitions ?? {}).reduce((sum, count) => sum + count, 0);
}

/** Runs the cost section. */
export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const count = options.quick ? 300 : 2000;
  const server = await startEmbeddedS3();
  const s3 = createS3Client(server.endpoint);
  const outputDir = await mkdtemp(path.join(tmpdir(), 's3xcopy-bench-cost-'));
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
    await s3.send(new CreateBucketCommand({ Bucket: TARGET }));
    await s3.send(new CreateBucketCommand({ Bucket: STATE }));
    await seed(s3, count);

    const runJob = async (mode: 'copy' | 'sync', name: string) => {
      const result = await runLocal({
        input: {
          source: { bucket: SOURCE, prefix: 'data/' },
          target: { bucket: TARGET, prefix: 'copy/' },
          options: { mode },
        },
        endpoint: server.endpoint,
        stateBucket: STATE,
        executionName: name,
        outputDir: path.join(outputDir, name),
        logStream: quiet,
        retryIntervalMs: 0,
      });
      if (result.status !== 'SUCCEEDED') {
        throw new Error(`local ${mode} run ${result.status}: ${result.error?.error}: ${result.error?.cause}`);
      }
      return result;
    };
    const copyRun = await runJob('copy', 'bench-cost-copy');
    const syncRun = await runJob('sync', 'bench-cost-sync');
    if (copyRun.objects.copied !== count || syncRun.objects.skipped !== count) {
      throw new Error(
        `expected ${count} copied then ${count} skipped, got ${copyRun.objects.copied} and ${syncRun.objects.skipped}`,
      );
    }

    const measuredCopy = usageFromRunStats(copyRun.stats, count);
    const measuredSync = usageFromRunStats(syncRun.stats, count);
    const copyCost = priceUsage(measuredCopy.usage);
    const syncCost = priceUsage(measuredSync.usage);
    const job: PlannedJob = { objects: count, averageSizeBytes: OBJECT_BYTES, mode: 'copy' };
    const modelCopy = buildScenario('s3xcopy-standard', job);
    const modelSync = buildScenario('s3xcopy-standard', { ...job, mode: 'sync', changedFraction: 0 });

    const perMillion = (cost: ReturnType<typeof priceUsage>) => ({
      'S3 requests /1M': formatUsd(cost.perMillionObjects.s3Requests),
      'orchestration /1M': formatUsd(cost.perMillionObjects.orchestration),
      'total /1M': formatUsd(cost.perMillionObjects.total),
    });
    const rows: Array<Record<string, string | number>> = [
      {
        what: `measured: local run, copy ${count} objects`,
        ...perMillion(copyCost),
        transitions: transitionTotal(measuredCopy.usage),
        'S3 requests': requestSummary(measuredCopy.usage),
      },
      {
        what: `model: same job, copy`,
        ...perMillion(modelCopy.cost),
        transitions: transitionTotal(modelCopy.counts),
        'S3 requests': requestSummary(modelCopy.counts),
      },
      {
        what: `measured: local run, sync again (all ${count} unchanged)`,
        ...perMillion(syncCost),
        transitions: transitionTotal(measuredSync.usage),
        'S3 requests': requestSummary(measuredSync.usage),
      },
      {
        what: 'model: same job, sync, 0% changed',
        ...perMillion(modelSync.cost),
        transitions: transitionTotal(modelSync.counts),
        'S3 requests': requestSummary(modelSync.counts),
      },
    ];

    // The comparison at scale, from the model (a local run of a million objects would take hours here).
    const million = buildScenarios({ objects: 1_000_000, averageSizeBytes: OBJECT_BYTES, mode: 'copy' });
    for (const scenario of million) {
      rows.push({
        what: `model, 1,000,000 objects: ${scenario.title}`,
        ...perMillion(scenario.cost),
        transitions: transitionTotal(scenario.counts),
        'S3 requests': requestSummary(scenario.counts),
      });
    }
    const ours = million.find((scenario) => scenario.design === 's3xcopy-standard');
    const batchOps = million.find((scenario) => scenario.design === 's3-batch-operations');
    const perObject = million.find((scenario) => scenario.design === 'per-object-executions');
    if (!ours || !batchOps || !perObject) throw new Error('the model is missing a design');
    const unpriced = Object.entries({ ...measuredCopy.unpricedS3Commands, ...measuredSync.unpricedS3Commands });

    return {
      title: 'Cost per million objects (us-east-1 list prices)',
      rows,
      notes: [
        `Prices as of ${PRICES_AS_OF} (cli/cost/prices.ts); model and assumptions in docs/cost.md. Objects of ${OBJECT_BYTES} bytes.`,
        `At 1,000,000 objects: s3xcopy ${formatUsd(ours.cost.perMillionObjects.total)} per million (S3 requests ${formatUsd(ours.cost.perMillionObjects.s3Requests)} + orchestration ${formatUsd(ours.cost.perMillionObjects.orchestration)}) vs S3 Batch Operations ${formatUsd(batchOps.cost.perMillionObjects.total)} (${formatUsd(batchOps.cost.perMillionObjects.s3Requests)} + ${formatUsd(batchOps.cost.perMillionObjects.orchestration)}): orchestration ${ratio(batchOps.cost.perMillionObjects.orchestration, ours.cost.perMillionObjects.orchestration)} cheaper, total ${ratio(batchOps.cost.perMillionObjects.total, ours.cost.perMillionObjects.total)} cheaper; one execution per object costs ${ratio(perObject.cost.perMillionObjects.orchestration, ours.cost.perMillionObjects.orchestration)} our orchestration.`,
        `Measured rows price what the local run counted (runLocal stats); their per-million figures spread this small job's fixed costs (one List, one Notify, ${copyRun.stats.executions.mapRuns} Map Run) over ${count} objects, so they sit above the million-object rows.`,
        'Local Lambda durations come from the in-process server (no network round trip), so the measured Lambda duration charge is lower than on AWS; the model assumes 60 ms per request. Either way it is cents per million.',
        'The measured sync HEADs nothing: the list step compares the two listings and plans no batch, so an unchanged prefix costs LIST requests and a few transitions.',
        ...(unpriced.length > 0
          ? [
              `S3 commands the run made that S3 does not bill per object copied (not priced): ${unpriced.map(([name, n]) => `${name} ${n}`).join(', ')}.`,
            ]
          : []),
      ],
      headline: `Cost: s3xcopy ${formatUsd(ours.cost.perMillionObjects.total)} per million small objects (orchestration ${formatUsd(ours.cost.perMillionObjects.orchestration)}) vs S3 Batch Operations ${formatUsd(batchOps.cost.perMillionObjects.total)} (orchestration ${formatUsd(batchOps.cost.perMillionObjects.orchestration)}), ${ratio(batchOps.cost.perMillionObjects.orchestration, ours.cost.perMillionObjects.orchestration)} less orchestration; one execution per object: ${formatUsd(perObject.cost.perMillionObjects.total)}.`,
      chart: {
        unit: '$ per million objects',
        bars: million.map((scenario) => ({
          label: CHART_LABELS[scenario.design as Design],
          value: scenario.cost.perMillionObjects.total,
        })),
      },
    };
  } finally {
    s3.destroy();
    await server.stop();
    await rm(outputDir, { recursive: true, force: true });
  }
}

if (require.main === module) runSectionFromCommandLine('cost', run);
