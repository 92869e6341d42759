/**
 * The workflow on a second Step Functions engine: statemachine/copy.asl.json executed by moto's engine
 * (LocalStack's ASL interpreter), not by aws-local-stepfunctions and our Distributed Map adapter. Its
 * Lambda tasks run our real handlers (moto-engine.ts); S3 and SNS are moto's. Jobs are started with
 * `s3xcopy start --watch` through the Step Functions API where its flags can say the job, and with
 * StartExecution where they cannot (tolerated failures, S3 events). Every outcome is read back from the
 * target by the oracle and from moto's SNS topic. docs/compatibility.md lists where the engines differ.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type CliRun, cli } from './cli';
import { type CompatServer, connect } from './connect';
import { type MotoEngine, startMotoEngine } from './moto-engine';
import { compareCopies, type ExpectedCopy, listKeys } from './oracle';
import { IN_CI, readServerStates } from './servers';
import { type SnsInbox, subscribeInbox } from './sns-inbox';

/** What `s3xcopy start --watch --json` prints at the end. */
interface WatchSummary {
  status: string;
  executions: string[];
  mapRuns: number;
  batches: { total: number; succeeded: number; failed: number; running: number; pending: number };
  totals: { listed: number; selected: number; skipped: number } | null;
  ledger: {
    objects: {
      selected: number;
      copied: number | null;
      skipped: number | null;
      failed: number | null;
      notAttempted: number | null;
    };
    bytes: { copied: number | null };
    countsUnavailable?: string;
    ledgerSource?: { from: string; reason: string; batches: number; batchesWithoutRecord: number };
  } | null;
  error?: string;
  cause?: string;
}

function watchSummary(run: CliRun): WatchSummary {
  try {
    return JSON.parse(run.stdout) as WatchSummary;
  } catch {
    throw new Error(`s3xcopy start printed no JSON (exit ${run.code})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
}

const state = readServerStates().moto;
const lambdaPort = Number(state?.env.MOTO_LAMBDA_PORT);
const unavailable = !state?.available
  ? (state?.reason ?? 'global-setup did not record it')
  : !lambdaPort
    ? 'scripts/servers/moto.sh recorded no MOTO_LAMBDA_PORT (a moto_server started by an older script runs: stop it)'
    : undefined;

/** Why Notify counts from the batch records on this engine (functions/notify/batch-records.ts). */
const NO_RESULT_FILES = /names no result file: the Step Functions engine wrote only the Map Run's manifest/;

/** The oracle's read-back of a target prefix: how many objects it holds and their bytes. */
async function heldUnder(s3: S3Client, bucket: string, prefix: string): Promise<{ objects: number; bytes: number }> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const contents = page.Contents ?? [];
  return { objects: contents.length, bytes: contents.reduce((sum, item) => sum + (item.Size ?? 0), 0) };
}

if (unavailable) {
  if (IN_CI) throw new Error(`moto's Step Functions engine is required on CI: ${unavailable}`);
  describe.skip(`moto's Step Functions engine (skipped: ${unavailable})`, () => {
    it('runs the workflow', () => undefined);
  });
} else {
  describe("the workflow on moto's Step Functions engine", () => {
    let server: CompatServer;
    let engine: MotoEngine;
    let stateMachineArn: string;
    let inbox: SnsInbox;
    const run = randomBytes(3).toString('hex');
    const src = `engine-src-${run}`;
    const dst = `engine-dst-${run}`;
    const keys = ['a.txt', 'with space+plus.txt', 'unicode/日本語.txt', 'deep/x/y.bin', 'z.log'];
    const expectedUnder = (prefix: string, only = keys): ExpectedCopy[] =>
      only.map((key) => ({ sourceKey: `data/${key}`, targetKey: `${prefix}${key}` }));

    const start = (name: string, args: string[], machine = stateMachineArn) =>
      cli(
        ['start', '--state-machine-arn', machine, '--name', name, '--watch', '--json', '--poll-seconds', '1', ...args],
        {
          ...server.cliEnv,
          // The SDK's standard variable: the CLI's Step Functions client talks to moto.
          AWS_ENDPOINT_URL_SFN: server.endpoint,
        },
      );

    /** Starts an execution with an input `start` has no flags for, and waits for its end. */
    async function execute(name: string, input: unknown): Promise<DescribeExecutionCommandOutput> {
      const { executionArn } = await engine.sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      for (;;) {
        const execution = await engine.sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (execution.status !== 'RUNNING') return execution;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }

    /** The copy function's own counts over the invocations from `from` on. */
    function copiedSince(from: number) {
      const results = engine.copyResults.slice(from);
      return {
        copied: results.reduce((sum, result) => sum + result.copied, 0),
        skipped: results.reduce((sum, result) => sum + result.skipped, 0),
      };
    }

    beforeAll(async () => {
      server = await connect('moto');
      await server.s3.send(new CreateBucketCommand({ Bucket: src }));
      await server.s3.send(new CreateBucketCommand({ Bucket: dst }));
      for (const [index, key] of keys.entries()) {
        await server.s3.send(
          new PutObjectCommand({
            Bucket: src,
            Key: `data/${key}`,
            Body: randomBytes(200 + index),
            Metadata: { n: `${index}` },
          }),
        );
      }
      engine = await startMotoEngine({
        motoEndpoint: server.endpoint,
        lambdaPort,
        run,
        defaults: { source: { bucket: src, prefix: 'events/' }, target: { bucket: dst, prefix: 'events/' } },
        logFile: path.join(tmpdir(), `s3xcopy-moto-engine-${run}.log`),
      });
      stateMachineArn = await engine.createStateMachine(`s3xcopy-${run}`, 100);
      inbox = await subscribeInbox(engine.sns, engine.topicArn);
    }, 60_000);

    afterEach(() => {
      engine.deniedTargetKeys.clear();
      engine.defaults.options = {};
    });

    afterAll(async () => {
      await inbox?.close();
      await engine?.close();
      await server?.stop();
    });

    it('copies a prefix started and watched by s3xcopy start, and reports to SNS', async () => {
      // Act
      const result = await start(`copy-${run}`, ['--source', `s3://${src}/data/`, '--target', `s3://${dst}/copy/`]);

      // Assess: the engine ran every step; the target holds faithful copies.
      const summary = watchSummary(result);
      expect(summary).toMatchObject({
        status: 'SUCCEEDED',
        executions: [expect.stringMatching(`:copy-${run}$`)],
        mapRuns: 1,
        batches: { total: 1, succeeded: 1, failed: 0 },
        totals: { listed: keys.length, selected: keys.length, skipped: 0 },
      });
      expect(copiedSince(0)).toEqual({ copied: keys.length, skipped: 0 });
      expect(
        await compareCopies({
          source: { s3: server.s3, bucket: src },
          target: { s3: server.s3, bucket: dst, prefix: 'copy/' },
          expected: expectedUnder('copy/'),
        }),
      ).toEqual([]);
      // moto's ResultWriter writes no result file: Notify counts the copy function's batch records, and
      // its ledger is what the target holds; the watch exits 0 since every object was copied.
      const held = await heldUnder(server.s3, dst, 'copy/');
      expect(summary.ledger?.objects).toMatchObject({
        selected: keys.length,
        copied: held.objects,
        skipped: 0,
        failed: 0,
        notAttempted: 0,
      });
      expect(summary.ledger?.bytes.copied).toBe(held.bytes);
      expect(summary.ledger?.countsUnavailable).toBeUndefined();
      expect(summary.ledger?.ledgerSource).toMatchObject({ batches: 1, batchesWithoutRecord: 0 });
      expect(summary.ledger?.ledgerSource?.reason).toMatch(NO_RESULT_FILES);
      expect(result.code).toBe(0);
      const messages = inbox.messages;
      expect(messages).toEqual([
        expect.objectContaining({ subject: expect.stringMatching(/^s3xcopy SUCCEEDED: .*, 5 copied, 0 skipped$/) }),
      ]);
      expect(messages[0]?.body).toContain("Counted from the copy function's batch records (1 of 1 batches had one;");
      expect(messages[0]?.body).toContain(`copy-${run}`);
    });

    it('syncs: copies exactly the object that changed, skips the rest', async () => {
      // Arrange
      await server.s3.send(new PutObjectCommand({ Bucket: src, Key: 'data/a.txt', Body: randomBytes(321) }));
      const from = engine.copyResults.length;

      // Act
      const result = await start(`sync-${run}`, [
        '--source',
        `s3://${src}/data/`,
        '--target',
        `s3://${dst}/copy/`,
        '--mode',
        'sync',
      ]);

      // Assess: the list step skipped the four unchanged objects; the copy function copied the fifth.
      const summary = watchSummary(result);
      expect(summary).toMatchObject({
        status: 'SUCCEEDED',
        batches: { total: 1, succeeded: 1 },
        totals: { selected: keys.length, skipped: keys.length - 1 },
      });
      expect(summary.ledger?.objects).toMatchObject({
        copied: 1,
        skipped: keys.length - 1,
        failed: 0,
        notAttempted: 0,
      });
      expect(summary.ledger?.bytes.copied).toBe(321);
      expect(result.code).toBe(0);
      expect(copiedSince(from)).toEqual({ copied: 1, skipped: 0 });
      expect(
        await compareCopies({
          source: { s3: server.s3, bucket: src },
          target: { s3: server.s3, bucket: dst, prefix: 'copy/' },
          expected: expectedUnder('copy/'),
        }),
      ).toEqual([]);
    });

    it('succeeds with a failed batch within the tolerated failure percentage, and the watch exits 1', async () => {
      // Arrange: one object per batch, so the denied one fails one batch of five (20 %); `start` has no
      // flags for these, so the deployment's defaults set them.
      engine.deniedTargetKeys.add('tolerated/z.log');
      engine.defaults.options = { toleratedFailurePercentage: 50, maxObjectsPerBatch: 1 };
      const copyInvocations = engine.invocations.copy;

      // Act
      const result = await start(`tolerated-${run}`, [
        '--source',
        `s3://${src}/data/`,
        '--target',
        `s3://${dst}/tolerated/`,
      ]);

      // Assess: four batches copied; the fifth was tried four times (1 + the ASL's 3 retries) and failed.
      // The ledger counts the failed batch from its last attempt's record.
      const summary = watchSummary(result);
      expect(summary).toMatchObject({
        status: 'SUCCEEDED',
        batches: { total: keys.length, succeeded: keys.length - 1, failed: 1 },
      });
      const held = await heldUnder(server.s3, dst, 'tolerated/');
      expect(summary.ledger?.objects).toMatchObject({ copied: held.objects, skipped: 0, failed: 1, notAttempted: 0 });
      expect(summary.ledger?.bytes.copied).toBe(held.bytes);
      expect(summary.ledger?.ledgerSource).toMatchObject({ batches: keys.length, batchesWithoutRecord: 0 });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('1 batch(es) failed within the job');
      expect(engine.invocations.copy - copyInvocations).toBe(keys.length - 1 + 4);
      expect(
        await compareCopies({
          source: { s3: server.s3, bucket: src },
          target: { s3: server.s3, bucket: dst, prefix: 'tolerated/' },
          expected: expectedUnder('tolerated/', keys.slice(0, -1)),
        }),
      ).toEqual([]);
    });

    it('does not fail the Map for a failed batch beyond the tolerance (AWS does), and the watch still exits 1', async () => {
      // Arrange
      engine.deniedTargetKeys.add('beyond/z.log');
      engine.defaults.options = { toleratedFailurePercentage: 0, maxObjectsPerBatch: 1 };

      // Act
      const result = await start(`beyond-${run}`, ['--source', `s3://${src}/data/`, '--target', `s3://${dst}/beyond/`]);

      // Assess: moto's Map Run counts the failed batch and ends SUCCEEDED (docs/compatibility.md); on AWS
      // the execution fails with the batch's CopyBatchError. The watch's exit code is 1 either way.
      const summary = watchSummary(result);
      expect(summary).toMatchObject({
        status: 'SUCCEEDED',
        batches: { total: keys.length, succeeded: keys.length - 1, failed: 1 },
      });
      expect(summary.ledger?.objects).toMatchObject({ copied: keys.length - 1, failed: 1, notAttempted: 0 });
      expect(result.code).toBe(1);
      expect((await listKeys(server.s3, dst, 'beyond/')).sort()).toEqual(
        keys
          .slice(0, -1)
          .map((key) => `beyond/${key}`)
          .sort(),
      );
      const messages = inbox.messages;
      expect(messages.at(-1)?.body).toContain(`beyond-${run}`);
    });

    it('mirror deletes the target keys the source no longer has, once every copy succeeded', async () => {
      // Arrange
      await server.s3.send(new PutObjectCommand({ Bucket: dst, Key: 'mirror/stale.txt', Body: 'gone at the source' }));

      // Act
      const result = await start(`mirror-${run}`, [
        '--source',
        `s3://${src}/data/`,
        '--target',
        `s3://${dst}/mirror/`,
        '--mode',
        'sync',
        '--delete',
      ]);

      // Assess
      expect(watchSummary(result).status).toBe('SUCCEEDED');
      expect(
        await compareCopies({
          source: { s3: server.s3, bucket: src },
          target: { s3: server.s3, bucket: dst, prefix: 'mirror/' },
          expected: expectedUnder('mirror/'),
        }),
      ).toEqual([]);
      expect(await listKeys(server.s3, dst, 'mirror/')).not.toContain('mirror/stale.txt');
    });

    it('copies the objects of a batch of S3 events with the deployment defaults', async () => {
      // Arrange: two objects created, delivered as an EventBridge Pipe delivers SQS records (one twice).
      const created = ['events/e1.txt', 'events/e 2.txt'];
      for (const key of created) {
        await server.s3.send(new PutObjectCommand({ Bucket: src, Key: key, Body: randomBytes(64) }));
      }
      const event = (key: string) => ({
        body: JSON.stringify({
          'detail-type': 'Object Created',
          source: 'aws.s3',
          detail: { bucket: { name: src }, object: { key } },
        }),
      });

      // Act
      const execution = await execute(`events-${run}`, [
        event(created[0] ?? ''),
        event(created[1] ?? ''),
        event(created[0] ?? ''),
      ]);

      // Assess
      expect(execution.status).toBe('SUCCEEDED');
      expect(
        await compareCopies({
          source: { s3: server.s3, bucket: src },
          target: { s3: server.s3, bucket: dst, prefix: 'events/' },
          expected: created.map((key) => ({ sourceKey: key, targetKey: key })),
        }),
      ).toEqual([]);
    });

    it('continues a job in new executions after its slice budget, and s3xcopy start follows it to the end', async () => {
      // Arrange: one slice per execution, two objects per slice: five objects take three executions.
      const continuing = await engine.createStateMachine(`s3xcopy-continue-${run}`, 1);
      engine.defaults.options = { sliceMaxObjects: 2 };

      // Act
      const result = await start(
        `continue-${run}`,
        ['--source', `s3://${src}/data/`, '--target', `s3://${dst}/continued/`],
        continuing,
      );

      // Assess
      const summary = watchSummary(result);
      expect(summary).toMatchObject({ status: 'SUCCEEDED', mapRuns: 3, batches: { total: 3, succeeded: 3 } });
      expect(summary.executions).toHaveLength(3);
      expect(summary.totals).toMatchObject({ listed: keys.length, selected: keys.length });
      // One job id across the three executions: the last one's Notify counts every slice's batch records.
      const held = await heldUnder(server.s3, dst, 'continued/');
      expect(summary.ledger?.objects).toMatchObject({ copied: held.objects, skipped: 0, failed: 0, notAttempted: 0 });
      expect(summary.ledger?.bytes.copied).toBe(held.bytes);
      expect(result.code).toBe(0);
      expect(
        await compareCopies({
          source: { s3: server.s3, bucket: src },
          target: { s3: server.s3, bucket: dst, prefix: 'continued/' },
          expected: expectedUnder('continued/'),
        }),
      ).toEqual([]);
    });
  });
}
