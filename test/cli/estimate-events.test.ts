import { execFile } from 'node:child_process';
import path from 'node:path';
import { buildEventScenarios, PIPE_EXECUTION_TRANSITIONS } from '../../cli/cost/event-scenarios';
import { usageFromRunStats } from '../../cli/cost/run-stats';
import { runEventsLocal } from '../../cli/runner/events-run';
import { total } from '../../cli/runner/stats';
import { runOnTestS3 } from '../support/local-run';
import { startTestS3, type TestS3 } from '../support/s3';

const root = path.resolve(__dirname, '../..');

/** Runs `node bin/s3xcopy.js ...args` with Node 24 first on PATH, as npm would (see estimate.test.ts). */
function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { JEST_WORKER_ID: _jestWorker, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      'node',
      ['bin/s3xcopy.js', ...args],
      {
        cwd: root,
        env: { ...env, PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${env.PATH ?? ''}` },
        timeout: 30_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

interface EstimateJson {
  job: { trigger: string; eventsPerExecution: number; objects: number };
  designs: Array<{ design: string; perMillionObjects: { orchestration: number; total: number } }>;
}

async function estimateEvents(eventsPerExecution: number): Promise<EstimateJson> {
  const result = await runCli([
    'estimate',
    '--trigger',
    's3-events',
    '--events-per-execution',
    String(eventsPerExecution),
    '--objects',
    '1000000',
    '--avg-size',
    '256KiB',
    '--json',
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as EstimateJson;
}

describe('s3xcopy estimate --trigger s3-events', () => {
  it.each([
    [1, 3.0],
    [50, 1.0],
  ])(
    'prices an event design at %i event(s) per execution within $%d per million objects of orchestration, beside S3 Replication',
    async (n, goal) => {
      // Act
      const estimate = await estimateEvents(n);
      // Assert
      expect(estimate.job).toMatchObject({ trigger: 's3-events', eventsPerExecution: n, objects: 1_000_000 });
      const designs = estimate.designs.map((design) => design.design);
      expect(designs).toEqual([
        'event-direct-lambda',
        'event-direct-lambda-eventbridge',
        'event-pipe-workflow',
        's3-replication',
      ]);
      const direct = estimate.designs[0];
      expect(direct?.perMillionObjects.orchestration).toBeLessThanOrEqual(goal);
      expect(
        estimate.designs.find((design) => design.design === 's3-replication')?.perMillionObjects.orchestration,
      ).toBe(0);
    },
  );

  it('prints the event designs as a table, wall clock "as they come"', async () => {
    const result = await runCli(['estimate', '--trigger', 's3-events', '--objects', '1000', '--avg-size', '1MiB']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('1 event(s) per execution');
    expect(result.stdout).toContain('S3 events -> SQS -> events function (s3xcopy)');
    expect(result.stdout).toContain('S3 Replication');
    expect(result.stdout).toContain('as they come');
  });

  it.each([
    [['--events-per-execution', '0'], /--events-per-execution: "0" is not a whole number >= 1/],
    [['--events-per-execution', '51'], /--events-per-execution: 51 is above 50/],
    [['--trigger', 'schedule'], /--trigger: "schedule" is not a trigger/],
    [['--changed', '5%'], /--changed prices a bulk job/],
  ])('exits 2 on bad input %j, naming the option', async (extra, message) => {
    const base = ['estimate', '--objects', '1000', '--avg-size', '1MiB'];
    const args = extra[0] === '--trigger' ? [...base, ...extra] : [...base, '--trigger', 's3-events', ...extra];
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('exits 2 when --events-per-execution comes without --trigger s3-events', async () => {
    const result = await runCli(['estimate', '--objects', '1000', '--avg-size', '1MiB', '--events-per-execution', '5']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--events-per-execution applies to --trigger s3-events only/);
  });
});

describe('the event model against measured local runs', () => {
  let s3: TestS3;
  const KEYS = Array.from({ length: 50 }, (_, i) => `in/object ${String(i).padStart(2, '0')}+.bin`);
  const defaults = (target: string) => ({
    source: { bucket: 'measure-src', prefix: 'in/' },
    target: { bucket: target, prefix: 'out/' },
    options: {},
  });

  beforeAll(async () => {
    s3 = await startTestS3();
    for (const bucket of ['measure-src', 'measure-dst1', 'measure-dst50', 'measure-state', 'measure-pipe']) {
      await s3.createBucket(bucket);
    }
    await s3.putMany(
      'measure-src',
      KEYS.map((key) => ({ key, body: `body of ${key}` })),
    );
  });
  afterAll(() => s3.stop());

  it.each([1, 50])(
    'counts, at %i event(s) per invocation, the invocations and S3 requests the model prices for the direct path',
    async (n) => {
      // Act
      const run = await runEventsLocal({
        endpoint: s3.server.endpoint,
        defaults: defaults(`measure-dst${n}`),
        keys: KEYS,
        eventsPerInvocation: n,
      });
      // Assert: every key copied, under the mapped key, with an exact ledger
      expect(await s3.listKeys(`measure-dst${n}`, 'out/')).toHaveLength(KEYS.length);
      const copied = run.reports.reduce((sum, report) => sum + report.ledger.copied, 0);
      expect(copied).toBe(KEYS.length);
      expect(run.retried).toBe(0);
      // Assert: the model counts what the run did
      const measured = usageFromRunStats(run.stats, KEYS.length).usage;
      const modelled = buildEventScenarios({ objects: KEYS.length, averageSizeBytes: 20, eventsPerExecution: n })[0];
      expect(measured.lambda?.[0]?.invocations).toBe(modelled?.counts.lambda?.[0]?.invocations);
      expect(measured.s3Requests).toEqual(modelled?.counts.s3Requests);
      expect(total(run.stats.transitions.parent)).toBe(0);
    },
  );

  it.each([1, 50])(
    'counts, at %i event(s) per execution, the transitions per execution the model prices for the pipe path',
    async (n) => {
      // Arrange: the execution input a Pipe builds from n SQS records (EventBridge events)
      const input = KEYS.slice(0, n).map((key) => ({
        'detail-type': 'Object Created',
        detail: { bucket: { name: 'measure-src' }, object: { key } },
      }));
      // Act
      const run = await runOnTestS3(s3, 'measure-state', input, { defaults: defaults('measure-pipe') });
      // Assert
      expect(run.status).toBe('SUCCEEDED');
      const usage = usageFromRunStats(run.stats, n).usage;
      expect(usage.stateTransitions).toEqual(PIPE_EXECUTION_TRANSITIONS);
      expect(usage.lambda?.map((lambda) => [lambda.name, lambda.invocations])).toEqual([
        ['list', 1],
        ['copy', 1],
        ['notify', 1],
      ]);
    },
  );
});
