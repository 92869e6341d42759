import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Command } from 'commander';
import { isTransientPollError, jobInputFromFlags, MAX_FAILED_POLLS, register } from '../../cli/commands/start';
import { UsageError } from '../../cli/errors';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:111111111111:stateMachine:s3xcopy-copy';
const EXECUTION = 'arn:aws:states:eu-west-1:111111111111:execution:s3xcopy-copy/nightly-1';
const MAP_RUN = 'arn:aws:states:eu-west-1:111111111111:mapRun:s3xcopy-copy/nightly-1:abc';
const MAP_RUN_2 = 'arn:aws:states:eu-west-1:111111111111:mapRun:s3xcopy-copy/nightly-1:def';

/** Item counts as DescribeMapRun returns them. */
function itemCounts(counts: { total: number; succeeded: number; running?: number; failed?: number }) {
  return {
    total: counts.total,
    succeeded: counts.succeeded,
    running: counts.running ?? 0,
    pending: 0,
    failed: counts.failed ?? 0,
    timedOut: 0,
    aborted: 0,
    resultsWritten: counts.succeeded + (counts.failed ?? 0),
  };
}

function execution(status: 'RUNNING' | 'SUCCEEDED' | 'FAILED') {
  return { status, executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, startDate: new Date() };
}

function mapRuns(...arns: string[]) {
  return {
    mapRuns: arns.map((mapRunArn) => ({
      mapRunArn,
      executionArn: EXECUTION,
      stateMachineArn: STATE_MACHINE,
      startDate: new Date(),
    })),
  };
}

/** An error as the SDK throws it for a throttled call (Step Functions' ThrottlingException is unmodelled). */
function throttled() {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

const sfn = mockClient(SFNClient);

async function runStart(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('s3xcopy').exitOverride();
  register(program, { stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTTY: false });
  for (const command of program.commands) command.exitOverride();
  process.exitCode = undefined;
  await program.parseAsync(['node', 's3xcopy', 'start', '--state-machine-arn', STATE_MACHINE, ...args]);
  const exitCode = process.exitCode ?? 0;
  process.exitCode = undefined;
  return { stdout: out.join(''), stderr: err.join(''), exitCode };
}

function listExit(totals: { listed: number; selected: number; skipped: number; bytes: number }) {
  return {
    events: [
      {
        id: 9,
        timestamp: new Date(),
        type: 'TaskStateExited' as const,
        // What the deployed ASL's List Task exits with: the function's output at $.listed.Payload.
        stateExitedEventDetails: {
          name: 'List',
          output: JSON.stringify({ list: { continuation: null }, listed: { Payload: { totals, continuation: null } } }),
        },
      },
    ],
  };
}

beforeEach(() => {
  sfn.reset();
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date('2026-11-28T12:00:00Z') });
});

describe('s3xcopy start', () => {
  it('starts an execution with only the job fields given, so the deployment defaults fill the rest', async () => {
    // Act
    const { stdout, exitCode } = await runStart([
      '--source',
      's3://src-bucket/data/2026/',
      '--mode',
      'sync',
      '--include',
      '**/*.parquet',
      '--part-size',
      '128MiB',
      '--name',
      'nightly-1',
    ]);
    // Assert
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE, name: 'nightly-1' });
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input as string);
    expect(input).toEqual({
      source: { bucket: 'src-bucket', prefix: 'data/2026/' },
      filter: { include: ['**/*.parquet'] },
      options: { mode: 'sync', partSize: 128 * 1024 * 1024 },
    });
    expect(stdout).toBe(`${EXECUTION}\n`);
    expect(exitCode).toBe(0);
  });

  it('starts with {} when no job flag is given, like a console start', async () => {
    await runStart([]);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input).toBe('{}');
  });

  it('watches until SUCCEEDED, reporting Map Run counts and list totals, and exits 0', async () => {
    // Arrange: one poll running, the next one done
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        status: 'RUNNING',
        executionArn: EXECUTION,
        stateMachineArn: STATE_MACHINE,
        startDate: new Date(),
      })
      .resolves({
        status: 'SUCCEEDED',
        executionArn: EXECUTION,
        stateMachineArn: STATE_MACHINE,
        startDate: new Date(),
        output: JSON.stringify({ totals: { listed: 10, selected: 8, skipped: 2, bytes: 2048 } }),
      });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [{ mapRunArn: MAP_RUN, executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, startDate: new Date() }],
    });
    sfn
      .on(DescribeMapRunCommand)
      .resolvesOnce({
        itemCounts: {
          total: 4,
          succeeded: 1,
          running: 3,
          pending: 0,
          failed: 0,
          timedOut: 0,
          aborted: 0,
          resultsWritten: 1,
        },
      } as never)
      .resolves({
        itemCounts: {
          total: 4,
          succeeded: 4,
          running: 0,
          pending: 0,
          failed: 0,
          timedOut: 0,
          aborted: 0,
          resultsWritten: 4,
        },
      } as never);
    sfn.on(GetExecutionHistoryCommand).resolves(listExit({ listed: 10, selected: 8, skipped: 2, bytes: 2048 }));
    // Act
    const { stdout, stderr, exitCode } = await runStart(['--watch', '--poll-seconds', '0']);
    // Assert
    expect(stderr).toContain(
      'RUNNING: listed 10, selected 8 (2.0 KiB), skipped 2; slices copied 1; batches 1/4 done, 3 running, 0 failed',
    );
    expect(stdout).toBe(
      'SUCCEEDED: listed 10, selected 8 (2.0 KiB), skipped 2; slices copied 1; batches 4/4 done, 0 running, 0 failed\n',
    );
    expect(exitCode).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn: EXECUTION, reverseOrder: true });
  });

  it('exits 1 with the error and cause when the execution FAILED', async () => {
    // Arrange
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      executionArn: EXECUTION,
      stateMachineArn: STATE_MACHINE,
      startDate: new Date(),
      error: 'AssumeRoleError',
      cause: 'Cannot assume target role arn:aws:iam::222222222222:role/s3xcopy-target',
    });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    // Act
    const { stdout, exitCode } = await runStart(['--watch', '--poll-seconds', '0', '--json']);
    // Assert
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({
      status: 'FAILED',
      executionArn: EXECUTION,
      mapRuns: 0,
      error: 'AssumeRoleError',
      cause: expect.stringContaining('s3xcopy-target'),
    });
    expect(exitCode).toBe(1);
  });

  it('counts timed-out and aborted batches as failed', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ status: 'ABORTED', executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, startDate: new Date() });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [{ mapRunArn: MAP_RUN, executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, startDate: new Date() }],
    });
    sfn.on(DescribeMapRunCommand).resolves({
      itemCounts: {
        total: 5,
        succeeded: 2,
        running: 0,
        pending: 0,
        failed: 1,
        timedOut: 1,
        aborted: 1,
        resultsWritten: 5,
      },
    } as never);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const { stdout, exitCode } = await runStart(['--watch', '--poll-seconds', '0', '--json']);
    expect(JSON.parse(stdout).batches).toEqual({ total: 5, succeeded: 2, failed: 3, running: 0, pending: 0 });
    expect(exitCode).toBe(1);
  });

  it('exits 1 when the execution SUCCEEDED but a batch failed within the tolerated failure percentage', async () => {
    // Arrange: a job with toleratedFailurePercentage ends SUCCEEDED with one of four batches failed
    sfn.on(DescribeExecutionCommand).resolves(execution('SUCCEEDED'));
    sfn.on(ListMapRunsCommand).resolves(mapRuns(MAP_RUN));
    sfn
      .on(DescribeMapRunCommand)
      .resolves({ status: 'SUCCEEDED', itemCounts: itemCounts({ total: 4, succeeded: 3, failed: 1 }) } as never);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    // Act
    const { stdout, stderr, exitCode } = await runStart(['--watch', '--poll-seconds', '0']);
    // Assert
    expect(stdout).toContain('SUCCEEDED: listing; slices copied 1; batches 3/4 done, 0 running, 1 failed');
    expect(stderr).toContain("1 batch(es) failed within the job's toleratedFailurePercentage");
    expect(exitCode).toBe(1);
  });

  it('describes a finished Map Run once, and only the running one on later polls', async () => {
    // Arrange: slice 1's Map Run has ended; slice 2's runs for two polls, then ends with the execution
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('SUCCEEDED'));
    sfn.on(ListMapRunsCommand).resolves(mapRuns(MAP_RUN, MAP_RUN_2));
    sfn
      .on(DescribeMapRunCommand, { mapRunArn: MAP_RUN })
      .resolves({ status: 'SUCCEEDED', itemCounts: itemCounts({ total: 10, succeeded: 10 }) } as never);
    sfn
      .on(DescribeMapRunCommand, { mapRunArn: MAP_RUN_2 })
      .resolvesOnce({ status: 'RUNNING', itemCounts: itemCounts({ total: 6, succeeded: 1, running: 5 }) } as never)
      .resolvesOnce({ status: 'RUNNING', itemCounts: itemCounts({ total: 6, succeeded: 4, running: 2 }) } as never)
      .resolves({ status: 'SUCCEEDED', itemCounts: itemCounts({ total: 6, succeeded: 6 }) } as never);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    // Act
    const { stdout, stderr, exitCode } = await runStart(['--watch', '--poll-seconds', '0']);
    // Assert
    const described = sfn.commandCalls(DescribeMapRunCommand).map((call) => call.args[0].input.mapRunArn);
    expect(described.filter((arn) => arn === MAP_RUN)).toHaveLength(1);
    expect(described.filter((arn) => arn === MAP_RUN_2)).toHaveLength(3);
    expect(stderr).toContain('batches 14/16 done, 2 running, 0 failed');
    expect(stdout).toContain('slices copied 2; batches 16/16 done, 0 running, 0 failed');
    expect(exitCode).toBe(0);
  });

  it('rides out a throttled poll and carries on watching', async () => {
    // Arrange: the second poll's DescribeMapRun is throttled
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('SUCCEEDED'));
    sfn.on(ListMapRunsCommand).resolves(mapRuns(MAP_RUN));
    sfn
      .on(DescribeMapRunCommand)
      .resolvesOnce({ status: 'RUNNING', itemCounts: itemCounts({ total: 4, succeeded: 1, running: 3 }) } as never)
      .rejectsOnce(throttled())
      .resolves({ status: 'SUCCEEDED', itemCounts: itemCounts({ total: 4, succeeded: 4 }) } as never);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    // Act
    const { stdout, stderr, exitCode } = await runStart(['--watch', '--poll-seconds', '0']);
    // Assert
    expect(stderr).toContain('Progress poll failed (ThrottlingException: Rate exceeded)');
    expect(stdout).toContain('batches 4/4 done');
    expect(exitCode).toBe(0);
  });

  it(`gives up with the error after ${MAX_FAILED_POLLS} throttled polls in a row`, async () => {
    // Arrange
    sfn.on(DescribeExecutionCommand).rejects(throttled());
    // Act + Assert
    await expect(runStart(['--watch', '--poll-seconds', '0'])).rejects.toThrow('Rate exceeded');
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(MAX_FAILED_POLLS);
  });

  it('ends the watch at once on an error another poll cannot fix', async () => {
    // Arrange
    const denied = Object.assign(new Error('not authorized to perform: states:DescribeExecution'), {
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    sfn.on(DescribeExecutionCommand).rejects(denied);
    // Act + Assert
    await expect(runStart(['--watch', '--poll-seconds', '0'])).rejects.toThrow(/states:DescribeExecution/);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(1);
  });

  it.each([
    ['throttling', true],
    ['a 503', true],
    ['a reset connection', true],
    ['a missing execution', false],
    ['a plain bug', false],
  ] as const)('says whether a poll that failed with %s may be retried (%p)', (kind, transient) => {
    const errors: Record<string, Error> = {
      throttling: throttled(),
      'a 503': Object.assign(new Error('unavailable'), {
        name: 'ServiceUnavailable',
        $metadata: { httpStatusCode: 503 },
      }),
      'a reset connection': Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'a missing execution': Object.assign(new Error('gone'), {
        name: 'ExecutionDoesNotExist',
        $metadata: { httpStatusCode: 400 },
      }),
      'a plain bug': new TypeError('x is undefined'),
    };
    expect(isTransientPollError(errors[kind])).toBe(transient);
  });
  it.each([
    [['--mode', 'mirror'], /--mode: "mirror" is not a mode/],
    [['--source', 'src-bucket'], /--source: "src-bucket" is not an S3 URI/],
    [['--concurrency', '0'], /--concurrency: "0" is not a whole number/],
    [['--name', 'has spaces'], /--name: "has spaces" must be 1-80/],
    [['--target-role-arn', 'role/x'], /Invalid job: target\.roleArn must be an IAM role ARN/],
    [['--poll-seconds', 'soon'], /--poll-seconds: "soon" is not a number/],
  ])('refuses %j as bad usage before starting anything', async (args, message) => {
    await expect(runStart(args)).rejects.toThrow(message);
    await expect(runStart(args)).rejects.toBeInstanceOf(UsageError);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('refuses an ARN that is not a state machine', async () => {
    const program = new Command('s3xcopy').exitOverride();
    register(program, { stdout: () => {}, stderr: () => {}, isTTY: false });
    await expect(
      program.parseAsync([
        'node',
        's3xcopy',
        'start',
        '--state-machine-arn',
        'arn:aws:lambda:eu-west-1:111111111111:function:x',
      ]),
    ).rejects.toThrow(/--state-machine-arn: .* is not a state machine ARN/);
  });
});

describe('s3xcopy start --watch, the ledger', () => {
  /** The history's end as Step Functions writes it: Notify's TaskSucceeded (its output), then its state exit. */
  function notifyEnd(payload: unknown) {
    return {
      events: [
        {
          id: 31,
          timestamp: new Date(),
          type: 'TaskStateExited' as const,
          stateExitedEventDetails: { name: 'NotifyFailure' },
        },
        {
          id: 30,
          timestamp: new Date(),
          type: 'TaskSucceeded' as const,
          taskSucceededEventDetails: {
            resourceType: 'lambda',
            resource: 'invoke',
            output: JSON.stringify({ Payload: payload }),
          },
        },
      ],
    };
  }

  it('prints the ledger Notify reported and exits 1 when objects were not attempted', async () => {
    // Arrange: every batch that ran succeeded, but the Map Run stopped with three batches pending.
    sfn.on(DescribeExecutionCommand).resolves(execution('FAILED'));
    sfn.on(ListMapRunsCommand).resolves(mapRuns(MAP_RUN));
    sfn
      .on(DescribeMapRunCommand)
      .resolves({ status: 'FAILED', itemCounts: itemCounts({ total: 4, succeeded: 0, failed: 1 }) } as never);
    sfn.on(GetExecutionHistoryCommand).resolves(
      notifyEnd({
        dryRun: false,
        objects: { listed: 4, selected: 4, copied: 0, skipped: 0, failed: 1, notAttempted: 3 },
        bytes: { selected: 40, copied: 0 },
        failuresFile: 's3://state/reports/nightly-1/failures.jsonl',
      }),
    );

    // Act
    const { stdout, exitCode } = await runStart(['--watch', '--poll-seconds', '0']);

    // Assert
    expect(stdout).toContain(
      'Ledger: 4 selected = 0 copied + 0 skipped + 1 failed + 3 not attempted; failed keys: s3://state/reports/nightly-1/failures.jsonl',
    );
    expect(exitCode).toBe(1);
  });

  it('finds the ledger in a history served oldest first, as moto serves it whatever reverseOrder says', async () => {
    // Arrange
    sfn.on(DescribeExecutionCommand).resolves(execution('SUCCEEDED'));
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    const newestFirst = notifyEnd({
      dryRun: false,
      objects: { listed: 2, selected: 2, copied: 2, skipped: 0, failed: 0, notAttempted: 0 },
      bytes: { selected: 20, copied: 20 },
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [...newestFirst.events].reverse() });

    // Act
    const { stdout, exitCode } = await runStart(['--watch', '--poll-seconds', '0']);

    // Assert
    expect(stdout).toContain('Ledger: 2 selected = 2 copied + 0 skipped + 0 failed + 0 not attempted');
    expect(exitCode).toBe(0);
  });

  it('says the counts are unavailable, never 0 copied, when Notify could not read them', async () => {
    // Arrange
    sfn.on(DescribeExecutionCommand).resolves(execution('FAILED'));
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    sfn.on(GetExecutionHistoryCommand).resolves(
      notifyEnd({
        dryRun: false,
        objects: { listed: 4, selected: 4, copied: null, skipped: null, failed: null, notAttempted: null },
        bytes: { selected: 40, copied: null },
        countsUnavailable: 'the ResultWriter files could not be read: NoSuchBucket',
      }),
    );

    // Act
    const { stdout } = await runStart(['--watch', '--poll-seconds', '0', '--json']);

    // Assert
    expect(JSON.parse(stdout).ledger).toMatchObject({
      objects: { copied: null },
      countsUnavailable: 'the ResultWriter files could not be read: NoSuchBucket',
    });
  });
  it('says when the ledger was counted from the batch records, and how many batches had none', async () => {
    // Arrange: moto's engine wrote no ResultWriter file; Notify counted the copy function's records.
    sfn.on(DescribeExecutionCommand).resolves(execution('SUCCEEDED'));
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    const ledgerSource = { from: 'batch-records', reason: 'names no result file', batches: 3, batchesWithoutRecord: 1 };
    sfn.on(GetExecutionHistoryCommand).resolves(
      notifyEnd({
        dryRun: false,
        objects: { listed: 3, selected: 3, copied: 2, skipped: 0, failed: 0, notAttempted: 1 },
        bytes: { selected: 30, copied: 20 },
        ledgerSource,
      }),
    );

    // Act
    const text = await runStart(['--watch', '--poll-seconds', '0']);
    const json = await runStart(['--watch', '--poll-seconds', '0', '--json']);

    // Assert
    expect(text.stdout).toContain(
      'Ledger: 3 selected = 2 copied + 0 skipped + 0 failed + 1 not attempted (counted from the batch records: 1 of 3 batches had none)',
    );
    expect(JSON.parse(json.stdout).ledger.ledgerSource).toEqual(ledgerSource);
    expect(text.exitCode).toBe(1);
  });
});

describe('s3xcopy start --watch, a job that continued as new', () => {
  const SECOND = 'arn:aws:states:eu-west-1:111111111111:execution:s3xcopy-copy/second';
  const THIRD = 'arn:aws:states:eu-west-1:111111111111:execution:s3xcopy-copy/third';
  const MAP_RUN_3 = 'arn:aws:states:eu-west-1:111111111111:mapRun:s3xcopy-copy/third:ghi';

  /** A SUCCEEDED execution that ended in the ASL's "Continued" state, naming the next one. */
  function continued(arn: string, next: string) {
    return {
      ...execution('SUCCEEDED'),
      executionArn: arn,
      output: JSON.stringify({ list: { continuation: { slice: 3 } }, continuedAs: { executionArn: next } }),
    };
  }

  const ledgerEnd = {
    events: [
      {
        id: 31,
        timestamp: new Date(),
        type: 'TaskStateExited' as const,
        stateExitedEventDetails: { name: 'NotifySuccess' },
      },
      {
        id: 30,
        timestamp: new Date(),
        type: 'TaskSucceeded' as const,
        taskSucceededEventDetails: {
          resourceType: 'lambda',
          resource: 'invoke',
          output: JSON.stringify({
            Payload: {
              dryRun: false,
              objects: { listed: 9, selected: 9, copied: 9, skipped: 0, failed: 0, notAttempted: 0 },
              bytes: { selected: 90, copied: 90 },
            },
          }),
        },
      },
    ],
  };

  beforeEach(() => {
    // Three executions of one job: the first two continued, the third ran the job's last slice and notified.
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION }).resolves(continued(EXECUTION, SECOND));
    sfn.on(DescribeExecutionCommand, { executionArn: SECOND }).resolves(continued(SECOND, THIRD));
    sfn
      .on(DescribeExecutionCommand, { executionArn: THIRD })
      .resolves({ ...execution('SUCCEEDED'), executionArn: THIRD });
    sfn.on(ListMapRunsCommand, { executionArn: EXECUTION }).resolves(mapRuns(MAP_RUN));
    sfn.on(ListMapRunsCommand, { executionArn: SECOND }).resolves(mapRuns(MAP_RUN_2));
    sfn.on(ListMapRunsCommand, { executionArn: THIRD }).resolves(mapRuns(MAP_RUN_3));
    sfn
      .on(DescribeMapRunCommand)
      .resolves({ status: 'SUCCEEDED', itemCounts: itemCounts({ total: 3, succeeded: 3 }) } as never);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(GetExecutionHistoryCommand, { executionArn: THIRD }).resolves(ledgerEnd);
  });

  it('follows the chain to the last execution and prints the whole job and its ledger once', async () => {
    // Act
    const { stdout, stderr, exitCode } = await runStart(['--watch', '--poll-seconds', '0']);
    // Assert
    expect(stderr).toContain(`Continued as ${SECOND}\n`);
    expect(stderr).toContain(`Continued as ${THIRD}\n`);
    expect(stdout).toBe(
      'SUCCEEDED: listing; slices copied 3; batches 9/9 done, 0 running, 0 failed\n' +
        'Ledger: 9 selected = 9 copied + 0 skipped + 0 failed + 0 not attempted\n',
    );
    expect(stdout.match(/Ledger:/g)).toHaveLength(1);
    expect(exitCode).toBe(0);
    // The ledger is read where Notify ran: the last execution.
    const historyReads = sfn
      .commandCalls(GetExecutionHistoryCommand)
      .map((call) => call.args[0].input.executionArn)
      .filter((arn, i, all) => all.indexOf(arn) === i);
    expect(historyReads).toContain(THIRD);
  });

  it('names every execution of the job in --json, with the one it started first', async () => {
    // Act
    const { stdout, exitCode } = await runStart(['--watch', '--poll-seconds', '0', '--json']);
    // Assert
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      status: 'SUCCEEDED',
      executionArn: EXECUTION,
      executions: [EXECUTION, SECOND, THIRD],
      mapRuns: 3,
      batches: { total: 9, succeeded: 9, failed: 0 },
      ledger: { objects: { copied: 9, notAttempted: 0 } },
    });
    expect(exitCode).toBe(0);
  });

  it('exits 1 when the last execution of the chain failed', async () => {
    // Arrange
    sfn
      .on(DescribeExecutionCommand, { executionArn: THIRD })
      .resolves({ ...execution('FAILED'), executionArn: THIRD, error: 'CopyBatchError', cause: 'batch s7-b0 failed' });
    // Act
    const { stdout, exitCode } = await runStart(['--watch', '--poll-seconds', '0']);
    // Assert
    expect(stdout).toContain('FAILED: listing; slices copied 3');
    expect(stdout).toContain('CopyBatchError: batch s7-b0 failed');
    expect(exitCode).toBe(1);
  });

  it('stops with a clear error when the chain loops back to an execution it followed', async () => {
    // Arrange
    sfn.on(DescribeExecutionCommand, { executionArn: THIRD }).resolves(continued(THIRD, SECOND));
    // Act + Assert
    await expect(runStart(['--watch', '--poll-seconds', '0'])).rejects.toThrow(
      `Execution ${THIRD} says it continued in ${SECOND}, which this watch already followed`,
    );
  });
});

describe('jobInputFromFlags (s3xcopy start preflight)', () => {
  const flags = { include: [] as string[], exclude: [] as string[] };

  it('refuses a prefix starting with "/" and one over 1,024 UTF-8 bytes before anything starts', () => {
    expect(() => jobInputFromFlags({ ...flags, source: 's3://src-bucket//data/' })).toThrow(
      /source\.prefix must not start with "\/"/,
    );
    expect(() => jobInputFromFlags({ ...flags, target: `s3://dst-bucket/${'\u00e9'.repeat(600)}` })).toThrow(
      /target\.prefix must be at most 1024 bytes of UTF-8/,
    );
  });

  it('puts --manifest, --manifest-format and --request-payer into the execution input (the deployment fills the rest)', () => {
    expect(
      jobInputFromFlags({
        ...flags,
        manifest: 's3://lists-bucket/run 1/inventory.json',
        manifestFormat: 'inventory',
        requestPayer: true,
      }),
    ).toEqual({
      source: { manifest: { bucket: 'lists-bucket', key: 'run 1/inventory.json', format: 'inventory' } },
      options: { requestPayer: true },
    });
  });

  it('refuses --manifest-format without --manifest, and a manifest URI without a key, naming the flag', () => {
    expect(() => jobInputFromFlags({ ...flags, manifestFormat: 'csv' })).toThrow(/--manifest-format needs --manifest/);
    expect(() => jobInputFromFlags({ ...flags, manifest: 's3://lists-bucket' })).toThrow(
      /--manifest: "s3:\/\/lists-bucket" names no manifest object/,
    );
  });

  it('refuses a job too large for a copy invocation with a usage error (exit 2)', () => {
    const include = Array.from({ length: 2000 }, (_, i) => `very/long/pattern/number/${i}/**/*.parquet`);
    expect(() => jobInputFromFlags({ ...flags, include })).toThrow(UsageError);
    expect(() => jobInputFromFlags({ ...flags, include })).toThrow(/at most 32768 fit/);
  });
});
