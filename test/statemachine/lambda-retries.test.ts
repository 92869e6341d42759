/**
 * Each Lambda Task of the real statemachine/copy.asl.json, run by aws-local-stepfunctions with its own
 * Retry and Catch as written: the errors AWS documents for the Lambda service (and STS throttling that
 * outlasted the function's own retries) are retried; a role that refuses to be assumed is not.
 * The Lambda service is the boundary mocked here: a Task handler throws what Lambda would report.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { type AslState, loadDefinition } from '../../cli/runner/definition';
import { EXAMPLE_DEFINITION_VALUES } from '../support/example-definition';

const definition = loadDefinition(EXAMPLE_DEFINITION_VALUES);

/** Every Lambda Task of the definition, the Distributed Map's child included, by name. */
function lambdaTasks(states: Record<string, AslState>): Record<string, AslState> {
  const found: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task' && state.Resource === 'arn:aws:states:::lambda:invoke') found[name] = state;
    if (state.ItemProcessor?.States) Object.assign(found, lambdaTasks(state.ItemProcessor.States));
  }
  return found;
}

const TASKS = lambdaTasks(definition.States);

/** Lambda's documented transient errors for the Invoke API, as Step Functions names them. */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

class NamedError extends Error {
  constructor(name: string) {
    super(`${name} (injected)`);
    this.name = name;
  }
}

/**
 * Runs one Task of the real definition, as written (Retry, Catch, ResultSelector, paths), ending after it:
 * its Next and its Catch targets become Succeed states that keep what they received.
 */
async function runTask(taskName: string, failures: string[]) {
  const task = structuredClone(TASKS[taskName]) as AslState;
  const targets = new Set<string>([task.Next, ...(task.Catch ?? []).map((c: { Next: string }) => c.Next)]);
  targets.delete(undefined as unknown as string);
  const states: Record<string, AslState> = { [taskName]: task };
  for (const target of targets) states[target] = { Type: 'Pass', Result: target, ResultPath: '$.endedIn', End: true };
  if (task.End) delete task.Next;
  const machine = new StateMachine({ StartAt: taskName, States: states } as never, {
    validationOptions: { noValidate: true },
  });
  const queue = [...failures];
  let calls = 0;
  const execution = machine.run(
    { list: { continuation: null }, carry: { request: {}, jobId: 'job-1' }, job: {}, batch: { id: 'b1' } } as never,
    {
      overrides: {
        taskResourceLocalHandlers: {
          [taskName]: async () => {
            calls++;
            const next = queue.shift();
            if (next) throw new NamedError(next);
            return { Payload: { ok: true, rootCause: { Error: 'E', Cause: 'C' } } } as never;
          },
        },
        retryIntervalOverrides: { [taskName]: 0 },
      },
      context: {
        Execution: { Id: 'arn:aws:states:us-east-1:111111111111:execution:s3xcopy-copy:job-1', Name: 'job-1' },
      },
    },
  );
  const output = (await execution.result.catch((error: unknown) => {
    // aws-local-stepfunctions wraps the state's error in an ExecutionError (error.cause).
    const cause = (error as { cause?: { name?: string } }).cause;
    return { thrown: cause?.name ?? (error as Error).name };
  })) as Record<string, unknown>;
  return { calls, output, normalNext: TASKS[taskName]?.Next as string | undefined };
}

describe('Lambda Task retries in statemachine/copy.asl.json', () => {
  it('has the five Lambda Tasks the workflow runs', () => {
    // MirrorDeletes: the list function's final step for sync --delete.
    expect(Object.keys(TASKS).sort()).toEqual(['Copy', 'List', 'MirrorDeletes', 'NotifyFailure', 'NotifySuccess']);
  });

  describe.each(Object.keys(TASKS))('%s', (taskName) => {
    it.each(LAMBDA_SERVICE_ERRORS)('retries %s and carries on with the function result', async (errorName) => {
      // Act: the Lambda service fails the invocation twice, then the function runs
      const { calls, output, normalNext } = await runTask(taskName, [errorName, errorName]);
      // Assert: three invocations, and the Task's normal path, not its Catch
      expect(calls).toBe(3);
      expect(output.thrown).toBeUndefined();
      expect(output.endedIn).toBe(normalNext);
      expect((output.list as { notificationError?: unknown } | undefined)?.notificationError).toBeUndefined();
    });
  });

  it.each(Object.keys(TASKS))(
    'retries Lambda.Unknown in %s: how Step Functions reports an unhandled function error, a timeout or running out of memory',
    async (taskName) => {
      // Act: the function dies twice without an error document of its own, then runs
      const { calls, output, normalNext } = await runTask(taskName, ['Lambda.Unknown', 'Lambda.Unknown']);
      // Assert
      expect(calls).toBe(3);
      expect(output.thrown).toBeUndefined();
      expect(output.endedIn).toBe(normalNext);
    },
  );

  it.each(['Copy', 'List'])(
    'retries AssumeRoleTransientError (STS throttled past the function retries) in %s',
    async (name) => {
      // Act
      const { calls, output, normalNext } = await runTask(name, ['AssumeRoleTransientError']);
      // Assert
      expect(calls).toBe(2);
      expect(output.thrown).toBeUndefined();
      expect(output.endedIn).toBe(normalNext);
    },
  );

  it('fails the batch at once on AssumeRoleError: a trust or permission problem no retry can fix', async () => {
    // Act
    const { calls, output } = await runTask('Copy', ['AssumeRoleError']);
    // Assert
    expect(calls).toBe(1);
    expect(output.thrown).toBe('AssumeRoleError');
  });

  it('gives up on a Lambda service error after its retries and goes to its Catch', async () => {
    // Act: List allows 6 attempts in all
    const { calls, output } = await runTask('List', Array(10).fill('Lambda.ClientExecutionTimeoutException'));
    // Assert
    expect(calls).toBe(7);
    expect(output.endedIn).toBe('NotifyFailure');
    expect(output.list).toMatchObject({ error: { Error: 'Lambda.ClientExecutionTimeoutException' } });
  });
});
