/**
 * Listing that scales, on the S3 model: a 100-million-key bucket (10,000 prefixes of 10,000 keys, computed
 * by the model, none stored), listed the way the List step does today (one ListObjectsV2 chain, 1,000
 * keys a request) and partitioned (functions/list/partitions.ts: common prefixes found with a delimiter,
 * then 32 partitions listed at once). Both run in virtual time with the model's LIST latency and S3's
 * per-prefix read rates, for the same window of virtual time; the rate is keys listed / window, and the
 * partitioned window includes its discovery requests.
 */
import { discoverPartitions, listPartitions } from '../functions/list/partitions';
import { listPages } from '../functions/list/s3-listing';
import { VirtualClock } from '../sim/clock';
import { AWS_RATE_LIMITS, awsLatency, seededRandom } from '../sim/limits';
import { S3Model } from '../sim/s3-model';
import { type BenchOptions, type BenchSection, ratio, round, runSectionFromCommandLine } from './harness';

const GOAL = 8;
const PREFIXES = 10_000;
const KEYS_PER_PREFIX = 10_000;

function syntheticModel(seed: number) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1), 0, 60_000);
  const model = new S3Model({
    clock,
    latency: awsLatency({ random: seededRandom(seed) }),
    rateLimits: AWS_RATE_LIMITS,
  });
  model.createSyntheticBucket('big', {
    prefixes: Array.from({ length: PREFIXES }, (_, i) => `p${String(i).padStart(5, '0')}/`),
    keysPerPrefix: KEYS_PER_PREFIX,
    size: 1_000,
  });
  return { clock, model, s3: model.client({ sdkRetries: { maxAttempts: 3 } }) };
}

export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const windowMs = options.quick ? 2_000 : 5_000;
  const concurrency = 32;
  const total = PREFIXES * KEYS_PER_PREFIX;
  const wallStarted = Date.now();

  const sequential = syntheticModel(11);
  let sequentialKeys = 0;
  await sequential.clock.run(async () => {
    const deadline = sequential.clock.now() + windowMs;
    for await (const page of listPages(sequential.s3, { bucket: 'big', prefix: '', role: 'source' })) {
      sequentialKeys += page.objects.length;
      if (sequential.clock.now() >= deadline) break;
    }
  });
  const sequentialSeconds = windowMs / 1000;

  const partitioned = syntheticModel(11);
  let partitionedKeys = 0;
  let discoveryRequests = 0;
  let discoveryMs = 0;
  let partitions = 0;
  const started = partitioned.clock.now();
  await partitioned.clock.run(async () => {
    const deadline = started + windowMs;
    const plan = await discoverPartitions(partitioned.s3, 'big', '', { target: concurrency * 4, maxDepth: 2 });
    discoveryRequests = plan.requests;
    discoveryMs = partitioned.clock.now() - started;
    partitions = plan.partitions.length;
    await listPartitions(partitioned.s3, plan, {
      bucket: 'big',
      concurrency,
      shouldStop: () => partitioned.clock.now() >= deadline,
      onObjects: (_partition, objects) => {
        partitionedKeys += objects.length;
      },
    });
  });
  const partitionedSeconds = (partitioned.clock.now() - started) / 1000;
  const sequentialRate = sequentialKeys / sequentialSeconds;
  const partitionedRate = partitionedKeys / partitionedSeconds;
  const speedup = partitionedRate / sequentialRate;
  const hours = (rate: number) => round(total / rate / 3600);
  return {
    title: 'Listing that scales: partitioned vs one ListObjectsV2 chain (simulated, 100M keys)',
    rows: [
      {
        listing: 'one chain (the List step today)',
        'virtual s': round(sequentialSeconds),
        keys: sequentialKeys,
        'keys/s': round(sequentialRate),
        'hours for 100M keys': hours(sequentialRate),
        'vs one chain': '1x',
      },
      {
        listing: `partitioned: ${partitions.toLocaleString('en-US')} prefixes, ${concurrency} at once`,
        'virtual s': round(partitionedSeconds),
        keys: partitionedKeys,
        'keys/s': round(partitionedRate),
        'hours for 100M keys': hours(partitionedRate),
        'vs one chain': ratio(partitionedRate, sequentialRate),
      },
    ],
    notes: [
      `A synthetic bucket on the S3 model: ${total.toLocaleString('en-US')} keys under ${PREFIXES.toLocaleString('en-US')} first-level prefixes; LIST latency log-normal around 40 ms, 5,500 LIST/s per prefix, SDK retries emulated. Each listing runs ${windowMs / 1000} s of virtual time (${round((Date.now() - wallStarted) / 1000)} s of wall-clock time here for both); the rate holds for the whole bucket since every request returns 1,000 keys.`,
      `Discovery (the delimiter listing that finds the partitions) took ${discoveryRequests} requests and ${round(discoveryMs / 1000)} s, inside the partitioned window. Every key is listed exactly once: test/unit/list-partitions.test.ts proves it over generated key sets, including a stop and resume, and the sync merge per partition.`,
      `Goal (issue 14): >= ${GOAL}x the sequential rate: ${speedup >= GOAL ? 'met' : 'not met'} (${ratio(partitionedRate, sequentialRate)}). The List step does not use it yet (functions/list/list-slice.ts lists one chain): wiring it in means a slice lists several partitions at once and records one continuation per partition.`,
    ],
    headline: `Partitioned listing (simulated, 100M keys over 10,000 prefixes): ${ratio(partitionedRate, sequentialRate)} the keys/s of one ListObjectsV2 chain (goal >= ${GOAL}x): ${hours(partitionedRate)} h instead of ${hours(sequentialRate)} h for the whole bucket.`,
    chart: {
      unit: 'keys listed per second (simulated)',
      bars: [
        { label: 'one ListObjectsV2 chain', value: round(sequentialRate) },
        { label: `partitioned, ${concurrency} at once`, value: round(partitionedRate) },
      ],
    },
  };
}

if (require.main === module) runSectionFromCommandLine('partitioned-list', run);
