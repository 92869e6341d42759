/**
 * `s3xcopy demo` (what `npm start` runs): the whole workflow on this machine, no AWS account needed.
 * Starts the embedded S3 server, seeds a sample tree (odd keys, a few objects above the multipart
 * threshold), copies it with the real state machine and handlers, checks the copy, then runs again in
 * sync mode to show that everything is skipped.
 */
import '../runner/esm-interop';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import pLimit from 'p-limit';
import { createS3Client } from '../../functions/shared/clients';
import { MiB } from '../../functions/shared/job';
import { startEmbeddedS3 } from '../embedded-s3';
import { EXIT, UsageError } from '../errors';
import type { CliIo } from '../io';
import type { LocalRunResult } from '../runner/runner';
import { formatBytes } from '../size';
import { COMMAND_DESCRIPTIONS } from './descriptions';
import { exitCodeFor, runSummaryJson, runWithProgress, summaryLine } from './run';

export const DEMO_BUCKETS = { source: 'demo-source', target: 'demo-target', state: 'demo-state' } as const;
export const DEFAULT_DEMO_OBJECTS = 3000;

/** One object of the sample tree. */
export interface SampleObject {
  key: string;
  size: number;
}

/** Keys that trip naive tools: spaces, +, %, =, ;, :, @, $, commas, non-ASCII, deep paths. */
const ODD_KEYS = [
  'odd/with space/report final.csv',
  'odd/plus+sign/a+b=c.txt',
  'odd/percent/100%25 literal%20.txt',
  'odd/semi;colon:comma,at@dollar$.bin',
  'odd/unicode/café-crème.txt',
  'odd/unicode/日本語/ファイル.txt',
  'odd/unicode/Ελληνικά.txt',
  'odd/deep/a/b/c/d/e/f/g/h/i/j/leaf.json',
  'odd/dots/..hidden..',
  'odd/brackets/[draft] (v2) {final}.md',
];

/** Large enough to go multipart at the demo's 5 MiB threshold (S3's minimum part size). */
const LARGE_OBJECTS: SampleObject[] = [
  { key: 'media/video-01.bin', size: 6 * MiB + 123 },
  { key: 'media/video-02.bin', size: 9 * MiB },
  { key: 'media/archive.tar', size: 12 * MiB - 7 },
];

/** The sample tree: `count` objects in total, deterministic keys and sizes. */
export function sampleTree(count: number): SampleObject[] {
  const objects: SampleObject[] = [...LARGE_OBJECTS, ...ODD_KEYS.map((key, i) => ({ key, size: 100 + i * 37 }))];
  let seed = 42;
  const random = () => {
    // A small LCG: the same tree on every machine, without a dependency.
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; objects.length < count; i++) {
    const day = String((i % 28) + 1).padStart(2, '0');
    const kind = i % 3;
    const key =
      kind === 0
        ? `logs/2026/11/${day}/app-${String(i).padStart(5, '0')}.log`
        : kind === 1
          ? `data/parquet/year=2026/part-${String(i).padStart(5, '0')}.parquet`
          : `images/thumbs/img_${i}.jpg`;
    objects.push({ key, size: Math.floor(200 + random() * 16 * 1024) });
  }
  return objects.slice(0, Math.max(count, 1));
}

/** The bytes of a sample object: recognisable text, so a byte-for-byte check means something. */
export function sampleBody(object: SampleObject): Buffer {
  const pattern = Buffer.from(`${object.key}\n`);
  const body = Buffer.alloc(object.size);
  for (let offset = 0; offset < object.size; offset += pattern.length) pattern.copy(body, offset);
  return body;
}

async function seed(s3: S3Client, objects: SampleObject[]): Promise<void> {
  const limit = pLimit(32);
  await Promise.all(
    objects.map((object) =>
      limit(() =>
        s3.send(new PutObjectCommand({ Bucket: DEMO_BUCKETS.source, Key: object.key, Body: sampleBody(object) })),
      ),
    ),
  );
}

async function bodyOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** Checks the large and odd objects byte for byte in the target; returns the keys that differ. */
async function verify(s3: S3Client, objects: SampleObject[], targetPrefix: string): Promise<string[]> {
  const checked = objects.filter((o) => o.size > 5 * MiB || o.key.startsWith('odd/'));
  const bad: string[] = [];
  for (const object of checked) {
    const body = await bodyOf(s3, DEMO_BUCKETS.target, `${targetPrefix}${object.key}`).catch(() => undefined);
    if (!body?.equals(sampleBody(object))) bad.push(object.key);
  }
  return bad;
}

interface DemoFlags {
  objects: string;
  json?: boolean;
}

/** Registers `s3xcopy demo`. */
export function register(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description(COMMAND_DESCRIPTIONS.demo)
    .option('--objects <n>', 'how many sample objects', String(DEFAULT_DEMO_OBJECTS))
    .option('--json', 'print one JSON document with both runs on stdout')
    .action(async (flags: DemoFlags) => {
      const count = /^\d+$/.test(flags.objects) ? Number(flags.objects) : Number.NaN;
      if (!(count >= 20 && count <= 100_000)) {
        throw new UsageError(`--objects: "${flags.objects}" is not a whole number from 20 to 100000.`);
      }
      // The story is the demo's output; with --json it moves to stderr so stdout holds only the document.
      const say = (text: string) => (flags.json ? io.stderr : io.stdout)(`${text}\n`);
      const server = await startEmbeddedS3();
      const s3 = createS3Client(server.endpoint);
      try {
        say(`Embedded S3 server at ${server.url} (objects kept in ${server.directory} while the demo runs)`);
        for (const bucket of Object.values(DEMO_BUCKETS)) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        const objects = sampleTree(count);
        const total = objects.reduce((sum, o) => sum + o.size, 0);
        const seedStart = Date.now();
        await seed(s3, objects);
        say(
          `Seeded s3://${DEMO_BUCKETS.source}/ with ${count.toLocaleString('en-US')} objects (${formatBytes(total)}; odd keys, 3 objects of 6-12 MiB) in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`,
        );

        const targetPrefix = 'mirror/';
        const job = (mode: 'copy' | 'sync') => ({
          source: { bucket: DEMO_BUCKETS.source },
          target: { bucket: DEMO_BUCKETS.target, prefix: targetPrefix },
          // 5 MiB, S3's smallest part: the demo's larger objects take the multipart path.
          options: { mode, multipartThreshold: 5 * MiB, partSize: 5 * MiB, maxObjectsPerBatch: 100 },
        });
        const runs: Array<{ name: string; result: LocalRunResult; durationMs: number }> = [];
        for (const mode of ['copy', 'sync'] as const) {
          say(
            mode === 'copy'
              ? `\nRun 1: copy s3://${DEMO_BUCKETS.source}/ -> s3://${DEMO_BUCKETS.target}/${targetPrefix} with statemachine/copy.asl.json and the real handlers`
              : `\nRun 2: the same job in sync mode: the target has everything, so every object is skipped`,
          );
          const { result, durationMs } = await runWithProgress(io, mode, {
            input: job(mode),
            endpoint: server.endpoint,
            stateBucket: DEMO_BUCKETS.state,
          });
          say(summaryLine(result, durationMs));
          runs.push({ name: mode, result, durationMs });
        }
        const mismatched = await verify(s3, objects, targetPrefix);
        say(
          mismatched.length === 0
            ? '\nChecked the large and odd-key objects byte for byte in the target: identical.'
            : `\nThese objects differ in the target: ${mismatched.join(', ')}`,
        );
        const first = runs[0]?.result;
        if (first) {
          say(
            `Results (ResultWriter files): ${first.results ?? 'none'}; notifications, Lambda logs and stats.json: ${first.outputDir}`,
          );
        }
        say('Next: `npx s3xcopy run --help` to copy your own buckets, `npx s3xcopy estimate --help` for costs.');
        if (flags.json) {
          io.stdout(
            `${JSON.stringify({
              runs: runs.map((run) => ({ name: run.name, ...runSummaryJson(run.result, run.durationMs) })),
              verified: mismatched.length === 0,
            })}\n`,
          );
        }
        const failed = mismatched.length > 0 || runs.some((run) => exitCodeFor(run.result) !== EXIT.ok);
        process.exitCode = failed ? EXIT.failed : EXIT.ok;
      } finally {
        s3.destroy();
        await server.stop();
      }
    });
}
