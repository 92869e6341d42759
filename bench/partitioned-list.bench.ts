/**
 * Listing that scales, measured on the List step itself (functions/list/list-slice.ts, copy mode, the
 * default 100,000-object slices, manifests written to a state bucket) against the S3 model in virtual
 * time: one ListObjectsV2 chain (options.listConcurrency 1) vs partitions listed at once
 * (functions/list/ordered-listing.ts). Synthetic buckets (keys computed by the model, none stored), LIST
 * latency log-normal around 40 ms, S3's per-prefix request rates, SDK retries emulated. Each run goes slice
 * after slice, as the state machine's continuation does, until the window of virtual time is used or the
 * bucket is listed; the rate is keys listed / virtual seconds, everything a slice does included.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { Continuation } from '../functions/list/contract';
import { listSlice } from '../functions/list/list-slice';
import { resolveJob } from '../functions/shared/job';
import { VirtualClock } from '../sim/clock';
import { AWS_RATE_LIMITS, awsLatency, seededRandom } from '../sim/limits';
import { S3Model } from '../sim/s3-model';
import { type BenchOptions, type BenchSection, ratio, round, runSectionFromCommandLine } from './harness';

const GOAL = 8;
const CONCURRENCY = Number(process.env.LIST_CONCURRENCY ?? 32);

interface Shape {
  name: string;
  prefixes: string[];
  keysPerPrefix: number;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const SHAPES: Shape[] = [
  {
    name: '10M keys: 100 prefixes x 100 sub-prefixes x 1,000 keys',
    prefixes: Array.from({ length: 10_000 }, (_, i) => `p${pad(Math.floor(i / 100), 2)}/q${pad(i % 100, 2)}/`),
    keysPerPrefix: 1_000,
  },
  {
    name: '1M keys: 1,000 prefixes x 1,000 keys',
    prefixes: Array.from({ length: 1_000 }, (_, i) => `p${pad(i, 3)}/`),
    keysPerPrefix: 1_000,
  },
  {
    name: '10M keys: 100 prefixes x 100,000 keys',
    prefixes: Array.from({ length: 100 }, (_, i) => `p${pad(i, 2)}/`),
    keysPerPrefix: 100_000,
  },
  {
    name: '100M keys: 10,000 prefixes x 10,000 keys (more common prefixes than one page)',
    prefixes: Array.from({ length: 10_000 }, (_, i) => `p${pad(i, 5)}/`),
    keysPerPrefix: 10_000,
  },
];

interface Measured {
  keys: number;
  seconds: number;
  lists: number;
  slices: number;
}

/** Runs the List step slice after slice for `windowMs` of virtual time. */
async function measure(shape: Shape, listConcurrency: number, windowMs: number): Promise<Measured> {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1), 0, 60_000);
  const model = new S3Model({ clock, latency: awsLatency({ random: seededRandom(11) }), rateLimits: AWS_RATE_LIMITS });
  model.createSyntheticBucket('big', { prefixes: shape.prefixes, keysPerPrefix: shape.keysPerPrefix, size: 1_000 });
  model.createBucket('dst');
  model.createBucket('state');
  const s3 = model.client({ sdkRetries: { maxAttempts: 3 } });
  const job = resolveJob({
    source: { bucket: 'big', prefix: '' },
    target: { bucket: 'dst', prefix: '' },
    options: { listConcurrency },
  });
  let keys = 0;
  let slices = 0;
  let listMs = 0;
  await clock.run(async () => {
    let continuation: Continuation | null = null;
    do {
      const sliceStarted = clock.now();
      const output = await listSlice({
        job,
        jobId: 'bench',
        continuation,
        clients: { source: s3, target: async () => s3, state: s3 },
        stateBucket: 'state',
      });
      listMs += clock.now() - sliceStarted;
      // The Map Run reads each manifest; here nothing does: drop it (outside the measured time) so that
      // memory stays flat.
      if (output.manifest) {
        await s3.send(new DeleteObjectCommand({ Bucket: 'state', Key: output.manifest.key }));
      }
      keys = output.totals.listed;
      slices++;
      continuation = output.continuation;
    } while (continuation && listMs < windowMs);
  });
  return {
    keys,
    seconds: listMs / 1000,
    lists: model.stats.requests.ListObjectsV2 ?? 0,
    slices,
  };
}

export async function run(options: BenchOptions = {}): Promise<BenchSection> {
  const windowMs = options.quick ? 3_000 : 10_000;
  const wallStarted = Date.now();
  const rows: Array<Record<string, string | number>> = [];
  const ratios: Array<{ shape: Shape; speedup: number; chain: Measured; partitioned: Measured }> = [];
  for (const shape of SHAPES) {
    const chain = await measure(shape, 1, windowMs);
    const partitioned = await measure(shape, CONCURRENCY, windowMs);
    const chainRate = chain.keys / chain.seconds;
    const partitionedRate = partitioned.keys / partitioned.seconds;
    ratios.push({ shape, speedup: partitionedRate / chainRate, chain, partitioned });
    for (const [label, m, rate] of [
      ['one chain (listConcurrency 1)', chain, chainRate],
      [`partitioned (listConcurrency ${CONCURRENCY})`, partitioned, partitionedRate],
    ] as const) {
      rows.push({
        bucket: shape.name,
        'List step': label,
        slices: m.slices,
        'virtual s': round(m.seconds),
        keys: m.keys,
        'keys/s': round(rate),
        'LISTs per 1,000 keys': round((m.lists / m.keys) * 1000),
        'vs one chain': ratio(rate, chainRate),
      });
    }
  }
  return {
    title: 'Listing that scales: the List step, partitioned vs one ListObjectsV2 chain (simulated)',
    rows,
    notes: [
      `The List step (listSlice, copy mode, 100,000-object slices, manifests written) slice after slice on synthetic buckets of the S3 model: LIST latency log-normal around 40 ms, 5,500 LIST/s per prefix, SDK retries emulated. Each run lasts ${windowMs / 1000} s of virtual time or until the bucket is listed (${round((Date.now() - wallStarted) / 1000)} s of wall-clock time here for all rows).`,
      `Partitioned: functions/list/ordered-listing.ts, ${CONCURRENCY} partitions at once; read-ahead goes to the partitions the slice reaches next, within ${CONCURRENCY} x 4 pages for those up to each one and the keys the slice still takes; a partition listed to its end leaves the window of ${CONCURRENCY} at once (its pages wait for the slice), so one slow request does not hold back the partitions behind it, and no partition starts past the slice's once the pages buffered before it reach ${CONCURRENCY} x 4; keys reach the slice in S3's order and the continuation stays one key. "LISTs per 1,000 keys" above 1 is the delimiter requests, key ranges with no key (one request each) and the read-ahead a full slice drops (listed again by the next slice).`,
      `A level with more common prefixes than one page (the last bucket) is paged with continuation tokens, a page of prefixes at a time into the queue (the embedded test server pages delimiter listings as S3 does since 2026-12-01). A partition whose first page is full (the third and last buckets) is cut after that page into key ranges at the character where its keys still vary (prefix listings, split again after their own first page), listed side by side, and one range of the rest, cut at a coarser character too once its own first page is full; a folder whose page holds only direct keys is listed on as one range, without a delimited page, and is cut by characters only once that range's own first page (the folder's second) is full too, so a flat folder of 2,000 keys costs 2 LISTs, as one chain. A delimiter page of more than 4 x ${CONCURRENCY} common prefixes (the 1M and 100M buckets) is listed as about ${CONCURRENCY} runs of consecutive prefixes, each one key range without the delimiter, split by what its first page shows (runs of as many prefixes as a page passed, or one partition per prefix when it passed at most one); the level's other runs wait for the first run's page and become one partition per prefix when runs met large prefixes. Small prefixes take about one LIST per 1,000 keys instead of one each; on these buckets of large prefixes it costs the first run's request and the round trip the others wait.`,
      `Goal (issue 14): >= ${GOAL}x the one-chain rate on a bucket spread over prefixes: ${ratios.every((r) => r.speedup >= GOAL) ? 'met on every bucket' : ratios.some((r) => r.speedup >= GOAL) ? `met on ${ratios.filter((r) => r.speedup >= GOAL).length} of ${ratios.length} buckets` : 'not met'} (${ratios.map((r) => `${ratio(r.speedup, 1)} on ${r.shape.name.split(':')[0]}`).join(', ')}).`,
    ],
    goals: ratios.map((r) => ({
      goal: `2. Partitioned listing vs one chain (List step, simulated), ${r.shape.name.split(':')[0]}`,
      target: `>= ${GOAL}x`,
      before: `1x (one chain: ${round(r.chain.keys / r.chain.seconds).toLocaleString('en-US')} keys/s)`,
      measured: `${ratio(r.speedup, 1)} (${round(r.partitioned.keys / r.partitioned.seconds).toLocaleString('en-US')} keys/s, ${round((r.partitioned.lists / r.partitioned.keys) * 1000)} LISTs per 1,000 keys)`,
      met: r.speedup >= GOAL,
      holdsBack:
        'the partitions found in this bucket do not keep the listing concurrency busy: see the LISTs per 1,000 keys and the notes above.',
    })),
    headline: `List step, partitioned (listConcurrency ${CONCURRENCY}) vs one chain, simulated: ${ratios.map((r) => `${ratio(r.speedup, 1)} on ${r.shape.name.split(':')[0]}`).join(', ')} (goal >= ${GOAL}x).`,
    chart: {
      unit: 'keys listed per second by the List step (simulated)',
      bars: ratios.flatMap((r) => [
        { label: `${r.shape.name.split(':')[0]}, one chain`, value: round(r.chain.keys / r.chain.seconds) },
        {
          label: `${r.shape.name.split(':')[0]}, partitioned`,
          value: round(r.partitioned.keys / r.partitioned.seconds),
        },
      ]),
    },
  };
}

if (require.main === module) runSectionFromCommandLine('partitioned-list', run);
