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
import { register } from '../../cli/commands/start';
import { UsageError } from '../../cli/errors';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:111111111111:stateMachine:s3xcopy-copy';
const EXECUTION = 'arn:aws:states:eu-west-1:111111111111:execution:s3xcopy-copy/nightly-1';
const MAP_RUN = 'arn:aws:states:eu-west-1:111111111111:mapRun:s3xcopy-copy/nightly-1:abc';

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
        stateExitedEventDetails: { name: 'List', output: JSON.stringify({ totals, continuation: null }) },
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
