/**
 * The events function's hand-over through the real Step Functions API (moto's): the deployed starter
 * (functions/events/hand-over.ts) starts one execution per object version, and a second start of the same
 * version after the first finished meets ExecutionAlreadyExists, which it reports as "already handed
 * over", not as an error. moto keeps AWS's rule: a name is taken for good once used (AWS: for 90 days).
 */
import { randomBytes } from 'node:crypto';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { executionName, handOverInput, stateMachineStarter } from '../../functions/events/hand-over';
import { IN_CI, readServerStates } from './servers';

const state = readServerStates().moto;

if (!state?.available) {
  const reason = state?.reason ?? 'global-setup did not record it';
  if (IN_CI) throw new Error(`moto is required on CI: ${reason}`);
  describe.skip(`events hand-over on moto (skipped: ${reason})`, () => {
    it('starts one execution per object version', () => undefined);
  });
} else {
  describe("events hand-over through moto's Step Functions API", () => {
    const sfn = new SFNClient({
      region: 'us-east-1',
      endpoint: state.env.MOTO_ENDPOINT ?? '',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    afterAll(() => sfn.destroy());

    it('starts one execution per object version, and counts a second start of it as already handed over', async () => {
      // Arrange: a state machine that ends at once, and two versions of one key
      const run = randomBytes(3).toString('hex');
      const machine = await sfn.send(
        new CreateStateMachineCommand({
          name: `hand-over-${run}`,
          roleArn: 'arn:aws:iam::111111111111:role/s3xcopy-state-machine',
          definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
        }),
      );
      const starter = stateMachineStarter(sfn, machine.stateMachineArn ?? '');
      const v1 = { key: 'in/big file+1.bin', size: 20, etag: '"aaa"', lastModified: '2026-12-06T07:00:00.000Z' };
      const v2 = { ...v1, etag: '"bbb"', lastModified: '2026-12-06T07:05:00.000Z' };
      const start = (version: typeof v1) => starter.start(executionName('src', version), handOverInput('src', version));

      // Act
      const first = await start(v1);
      for (let tries = 0; tries < 50; tries++) {
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn: first.execution }));
        if (described.status !== 'RUNNING') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const duplicate = await start(v1);
      const newer = await start(v2);

      // Assert
      expect(first.started).toBe(true);
      expect(duplicate).toEqual({ started: false, execution: executionName('src', v1) });
      expect(newer.started).toBe(true);
      const executions = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn }));
      expect(executions.executions?.map((execution) => execution.name).sort()).toEqual(
        [executionName('src', v1), executionName('src', v2)].sort(),
      );
      const input = await sfn.send(new DescribeExecutionCommand({ executionArn: first.execution }));
      expect(JSON.parse(input.input ?? 'null')).toEqual(handOverInput('src', v1));
    });
  });
}
