/**
 * The failure tail of statemachine/copy.asl.json (every state after NotifyFailure, as written) on moto's
 * Step Functions engine (LocalStack's interpreter): a reserved error name (`States.`...) that reaches the
 * Fail state is renamed S3xcopy.<rest>, so the execution keeps the error instead of the engine's
 * States.Runtime. The second case shows why: the same error given straight to the Fail state, as the
 * definition did before, is lost on this engine.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { loadDefinition } from '../../cli/runner/definition';
import { EXAMPLE_DEFINITION_VALUES } from '../support/example-definition';
import { failureTail } from '../support/failure-tail';
import { IN_CI, readServerStates } from './servers';

const state = readServerStates().moto;

const definition = loadDefinition(EXAMPLE_DEFINITION_VALUES);

if (!state?.available) {
  if (IN_CI) throw new Error(`moto's Step Functions engine is required on CI: ${state?.reason ?? 'not started'}`);
  describe.skip(`failure names on moto's engine (skipped: ${state?.reason ?? 'not started'})`, () => {
    it('runs', () => undefined);
  });
} else {
  describe("the failure tail on moto's Step Functions engine", () => {
    const run = randomBytes(3).toString('hex');
    const sfn = new SFNClient({
      endpoint: state.env.MOTO_ENDPOINT ?? '',
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    afterAll(() => sfn.destroy());

    const tailStart = definition.States.NotifyFailure?.Next as string;
    const tail = failureTail(definition.States, tailStart);

    async function failWith(name: string, startAt: string, States: unknown, error: { Error: string; Cause: string }) {
      const created = await sfn.send(
        new CreateStateMachineCommand({
          name: `${name}-${run}`,
          definition: JSON.stringify({ StartAt: startAt, States }),
          roleArn: 'arn:aws:iam::111111111111:role/s3xcopy-state-machine',
        }),
      );
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: created.stateMachineArn,
          input: JSON.stringify({ list: { error }, carry: { jobId: name } }),
        }),
      );
      for (;;) {
        const execution: DescribeExecutionCommandOutput = await sfn.send(
          new DescribeExecutionCommand({ executionArn }),
        );
        if (execution.status !== 'RUNNING') return execution;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }

    it('keeps a reserved error, renamed, with the original name in the cause', async () => {
      // Act
      const execution = await failWith('renamed', tailStart, tail, {
        Error: 'States.Timeout',
        Cause: 'Task timed out',
      });

      // Assess
      expect(execution).toMatchObject({
        status: 'FAILED',
        error: 'S3xcopy.Timeout',
        cause: 'States.Timeout: Task timed out',
      });
    }, 60_000);

    it('keeps any other error as it is', async () => {
      // Act
      const execution = await failWith('kept', tailStart, tail, {
        Error: 'CopyBatchError',
        Cause: '1 of 2 objects failed',
      });

      // Assess
      expect(execution).toMatchObject({ status: 'FAILED', error: 'CopyBatchError', cause: '1 of 2 objects failed' });
    }, 60_000);

    it('loses a reserved error handed straight to the Fail state (why the tail renames it)', async () => {
      // Act: the Fail state alone, as the definition's failure path was before the rename.
      const execution = await failWith(
        'straight',
        'Failed',
        { Failed: definition.States.Failed },
        { Error: 'States.Timeout', Cause: 'Task timed out' },
      );

      // Assess
      expect(execution).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
      expect(execution.cause).toMatch(/MUST NOT begin with the prefix 'States\.'/);
    }, 60_000);
  });
}
