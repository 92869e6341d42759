/**
 * Large objects across many invocations, in the in-memory S3 model (sim/): no bytes are stored, parts are
 * content descriptors, time is virtual, so an object of S3's maximum size (48.8 TiB, 10,000 parts of
 * 5 GiB) crosses dozens of 15-minute invocations in seconds. The driver plays Step Functions: it calls
 * copyBatch again after every CopyTimeBudgetError or killed invocation, as the ASL's Retry does.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateMultipartUploadCommand, type S3Client, UploadPartCopyCommand } from '@aws-sdk/client-s3';
import { copyBatch } from '../../functions/copy/copy-engine';
import { S3ProgressStore, type UploadRecord, uploadRecordKey } from '../../functions/copy/progress-record';
import { CopyTimeBudgetError } from '../../functions/shared/errors';
import {
  type CopyInput,
  type CopyResult,
  DEFAULT_OPTIONS,
  GiB,
  MiB,
  parseJob,
  S3_LIMITS,
  TiB,
} from '../../functions/shared/job';
import { VirtualClock } from '../../sim/clock';
import { sameContent } from '../../sim/content';
import { awsLatency, seededRandom } from '../../sim/limits';
import { S3Model } from '../../sim/s3-model';

const logger = new Logger({ serviceName: 'copy-sim-test', logLevel: 'SILENT' });
const LAMBDA_MS = 900_000;
const KEY = 'huge/object.bin';

interface PartCopy {
  invocation: number;
  uploadId: string;
  partNumber: number;
}

interface Scenario {
  model: S3Model;
  clock: VirtualClock;
  input: CopyInput;
  /** Every UploadPartCopy S3 carried out, as the invocations saw it answered (killed ones included). */
  partCopies: PartCopy[];
}

function scenario(
  size: number,
  partSize: number,
  concurrency: number = DEFAULT_OPTIONS.concurrency,
  checksumAlgorithm?: string,
  /** The source's part sizes, when it was uploaded in parts. */
  parts?: number[],
): Scenario {
  // Timers due within 5 ms of each other wake together: fewer scheduling turns, same outcome.
  const clock = new VirtualClock(Date.UTC(2026, 0, 1), 5);
  // About 100 MB/s per server-side part copy, tens of ms per small request, seeded.
  const model = new S3Model({ clock, latency: awsLatency({ random: seededRandom(7), copyBytesPerSecond: 100e6 }) });
  for (const bucket of ['src', 'dst', 'state']) model.createBucket(bucket);
  model.seed('src', [
    {
      key: KEY,
      size,
      origin: 'version-1',
      ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
      ...(parts ? { parts } : {}),
    },
  ]);
  const listed = model.object('src', KEY);
  if (!listed) throw new Error('seed failed');
  const job = parseJob({
    source: { bucket: 'src', prefix: '' },
    target: { bucket: 'dst', prefix: '' },
    filter: { include: [], exclude: [] },
    options: { ...DEFAULT_OPTIONS, partSize, concurrency },
  });
  const input: CopyInput = {
    job,
    jobId: 'sim-job',
    batch: {
      id: 's0-b0',
      bytes: size,
      objects: [{ key: KEY, size, etag: listed.etag, lastModified: new Date(listed.lastModified).toISOString() }],
    },
  };
  return { model, clock, input, partCopies: [] };
}

/**
 * A client of one invocation. `killAfterParts`: after that many of its UploadPartCopy calls were carried
 * out, the invocation is killed (as by Lambda's timeout): that answer and every later request never
 * return, so nothing after the kill reaches S3 or the record.
 */
function invocationClient(s: Scenario, invocation: number, killAfterParts?: number) {
  const client: S3Client = s.model.client();
  const send = client.send.bind(client) as (command: unknown, options?: unknown) => Promise<unknown>;
  let parts = 0;
  let onKill: () => void = () => undefined;
  const killed = new Promise<void>((resolve) => {
    onKill = resolve;
  });
  let dead = false;
  (client as { send: unknown }).send = async (command: unknown, options?: unknown) => {
    if (dead) return new Promise(() => undefined);
    const answer = await send(command, options);
    if (command instanceof UploadPartCopyCommand) {
      // S3 carried it out, whether or not the invocation lives to see the answer.
      s.partCopies.push({
        invocation,
        uploadId: String(command.input.UploadId),
        partNumber: Number(command.input.PartNumber),
      });
      if (killAfterParts !== undefined && ++parts >= killAfterParts) {
        dead = true;
        onKill();
      }
    }
    if (dead) return new Promise(() => undefined);
    return answer;
  };
  return { client, killed };
}

interface DriveOptions {
  /** Invocation number (from 1) -> kill it after this many part copies. */
  kills?: Record<number, number>;
  /** Runs before invocation n starts. */
  before?: (invocation: number) => void;
  /** Runs when the n-th part copy of the whole run has been carried out (on the model, synchronously). */
  maxInvocations?: number;
}

/** Plays Step Functions: invokes copyBatch until it returns, retrying time-budget stops and kills. */
async function drive(s: Scenario, options: DriveOptions = {}): Promise<{ result: CopyResult; invocations: number }> {
  return s.clock.run(async () => {
    for (let invocation = 1; invocation <= (options.maxInvocations ?? 200); invocation++) {
      options.before?.(invocation);
      const { client, killed } = invocationClient(s, invocation, options.kills?.[invocation]);
      const deadline = s.clock.now() + LAMBDA_MS;
      const run = copyBatch(s.input, {
        s3: client,
        logger,
        // The record goes through the same (killable) client: a dead invocation writes nothing either.
        progress: new S3ProgressStore(client, 'state'),
        remainingTimeMs: () => deadline - s.clock.now(),
        now: () => s.clock.now(),
        sleep: (ms) => s.clock.sleep(ms),
        random: seededRandom(invocation),
      });
      const outcome = await Promise.race([
        run.then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        ),
        killed.then(() => ({ killed: true as const })),
      ]);
      if ('result' in outcome) return { result: outcome.result, invocations: invocation };
      if ('error' in outcome && !(outcome.error instanceof CopyTimeBudgetError)) throw outcome.error;
      // A killed invocation: Step Functions retries after the Lambda's timeout.
      if ('killed' in outcome) await s.clock.sleep(Math.max(0, deadline - s.clock.now()));
    }
    throw new Error('the copy did not finish within the invocations allowed');
  });
}

/** How often each (upload, part) was copied. */
function copiesPerPart(s: Scenario): Map<string, PartCopy[]> {
  const byPart = new Map<string, PartCopy[]>();
  for (const copy of s.partCopies) {
    const id = `${copy.uploadId}#${copy.partNumber}`;
    byPart.set(id, [...(byPart.get(id) ?? []), copy]);
  }
  return byPart;
}

async function record(s: Scenario): Promise<UploadRecord> {
  const state = s.model.object('state', uploadRecordKey(s.input.jobId, KEY));
  if (!state?.body) throw new Error('no upload record');
  return JSON.parse(Buffer.from(state.body).toString('utf8')) as UploadRecord;
}

describe('copying large objects across invocations in the S3 model', () => {
  it("copies an object of S3's maximum size (48.8 TiB) across dozens of invocations, every part exactly once", async () => {
    // Arrange: 50,000 GiB in 10,000 parts of 5 GiB (the job asks for 64 MiB parts: too many).
    const s = scenario(S3_LIMITS.maxObjectBytes, 64 * MiB);
    // Act
    const { result, invocations } = await drive(s);
    // Assert
    const source = s.model.object('src', KEY);
    const target = s.model.object('dst', KEY);
    expect(result).toMatchObject({ copied: 1, failed: 0, bytesCopied: S3_LIMITS.maxObjectBytes });
    expect(target && source && sameContent(target.content, source.content)).toBe(true);
    expect(target?.parts).toHaveLength(S3_LIMITS.maxParts);
    expect(invocations).toBeGreaterThanOrEqual(12);
    const perPart = copiesPerPart(s);
    expect(perPart.size).toBe(S3_LIMITS.maxParts);
    expect([...perPart.values()].every((copies) => copies.length === 1)).toBe(true);
    expect(new Set(s.partCopies.map((copy) => copy.uploadId)).size).toBe(1);
    expect(s.model.openUploads()).toEqual([]);
    expect(await record(s)).toMatchObject({ state: 'completed', invocations, partCount: S3_LIMITS.maxParts });
    // For the report: the largest object copied in a test, and the invocations it took.
    process.stdout.write(`[sim] ${S3_LIMITS.maxObjectBytes / TiB} TiB in ${invocations} invocations\n`);
  });

  it("resumes a copy in the source's uneven layout, part by part, and ends with the source's ETag", async () => {
    // Arrange: 2,000 parts alternating 5 GiB and 4 GiB (about 8.8 TiB): several invocations.
    const layout = Array.from({ length: 2_000 }, (_, i) => (i % 2 === 0 ? 5 * GiB : 4 * GiB));
    const size = layout.reduce((a, b) => a + b, 0);
    const s = scenario(size, 64 * MiB, DEFAULT_OPTIONS.concurrency, undefined, layout);
    // Act
    const { result, invocations } = await drive(s);
    // Assert
    expect(result).toMatchObject({ copied: 1, failed: 0, bytesCopied: size });
    expect(invocations).toBeGreaterThan(1);
    expect(s.model.object('dst', KEY)?.parts).toEqual(layout);
    expect(s.model.object('dst', KEY)?.etag).toBe(s.model.object('src', KEY)?.etag);
    expect([...copiesPerPart(s).values()].every((copies) => copies.length === 1)).toBe(true);
    expect(await record(s)).toMatchObject({ state: 'completed', partSize: 5 * GiB, partSizes: layout });
  });

  it('completes a resumed SHA256 upload with the checksums of the parts earlier invocations copied', async () => {
    // Arrange: 8 TiB, 8 parts at a time: several invocations. A SHA256 upload is COMPOSITE, and S3 refuses
    // a Complete that lacks any part's checksum, so the parts of earlier invocations need theirs recorded.
    const s = scenario(8 * TiB, 5 * GiB, 8, 'SHA256');
    // Act
    const { result, invocations } = await drive(s);
    // Assert
    expect(result).toMatchObject({ copied: 1, failed: 0 });
    expect(invocations).toBeGreaterThan(1);
    expect(s.model.object('dst', KEY)?.checksum).toMatchObject({ algorithm: 'SHA256', type: 'COMPOSITE' });
    const done = await record(s);
    expect(done.checksum).toEqual({ algorithm: 'SHA256', type: 'COMPOSITE' });
    expect(Object.keys(done.partChecksums ?? {})).toHaveLength(done.partCount);
  });

  it('redoes only the parts a killed invocation could not record, and never touches a foreign upload', async () => {
    // Arrange: 2 TiB, 8 parts at a time; another writer's upload of the same key is open all along (one part in it); the
    // second invocation is killed right after its 40th part copy, before recording it.
    const s = scenario(2 * TiB, 1 * GiB, 8);
    const foreign = await s.clock.run(async () => {
      const created = await s.model.client().send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: KEY }));
      await s.model.client().send(
        new UploadPartCopyCommand({
          Bucket: 'dst',
          Key: KEY,
          UploadId: created.UploadId,
          PartNumber: 1,
          CopySource: `src/${KEY}`,
          CopySourceRange: 'bytes=0-5242879',
        }),
      );
      return created;
    });
    s.partCopies.length = 0;
    // Act
    const { result, invocations } = await drive(s, { kills: { 2: 40 } });
    // Assert
    const source = s.model.object('src', KEY);
    const target = s.model.object('dst', KEY);
    expect(result).toMatchObject({ copied: 1, failed: 0, bytesCopied: 2 * TiB });
    expect(target && source && sameContent(target.content, source.content)).toBe(true);
    expect(invocations).toBeGreaterThan(2);
    const ours = s.partCopies.filter((copy) => copy.uploadId !== foreign.UploadId);
    expect(ours).toHaveLength(s.partCopies.length);
    const twice = [...copiesPerPart(s).values()].filter((copies) => copies.length > 1);
    // Only parts the killed invocation copied after its last record write are copied again, once each.
    expect(twice.every((copies) => copies.length === 2 && copies[0]?.invocation === 2)).toBe(true);
    expect(twice.length).toBeGreaterThan(0);
    expect(twice.length).toBeLessThan(s.partCopies.filter((copy) => copy.invocation === 2).length);
    expect(s.model.openUploads()).toEqual([{ bucket: 'dst', key: KEY, uploadId: foreign.UploadId, parts: 1 }]);
  });

  it('aborts the upload, records why, and copies the new version when the source is overwritten mid-copy', async () => {
    // Arrange: 2 TiB, 8 parts at a time; overwritten (with 3 TiB) before the second invocation.
    const s = scenario(2 * TiB, 1 * GiB, 8);
    // Act
    const { result } = await drive(s, {
      before: (invocation) => {
        if (invocation === 2) s.model.seed('src', [{ key: KEY, size: 3 * TiB, origin: 'version-2' }]);
      },
    });
    // Assert
    const source = s.model.object('src', KEY);
    const target = s.model.object('dst', KEY);
    expect(result).toMatchObject({ copied: 1, bytesCopied: 3 * TiB });
    expect(target && source && sameContent(target.content, source.content)).toBe(true);
    expect(s.model.openUploads()).toEqual([]);
    const final = await record(s);
    expect(final.state).toBe('completed');
    expect(final.history?.[0]).toMatchObject({ state: 'aborted' });
    expect(final.history?.[0]?.reason).toMatch(/^source-changed/);
    expect(final.history?.[0]?.partsDone).toBeGreaterThan(0);
    const uploads = new Set(s.partCopies.map((copy) => copy.uploadId));
    expect(uploads.size).toBe(2);
    // Within each upload, no part was copied twice (nothing failed but the source changing).
    expect([...copiesPerPart(s).values()].every((copies) => copies.length === 1)).toBe(true);
  });
});
