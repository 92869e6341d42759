/**
 * The failure tail of the real statemachine/copy.asl.json (every state from NotifyFailure's Next to the
 * Fail state, as written), run by aws-local-stepfunctions: an error name Step Functions reserves
 * (`States.`...) leaves the execution renamed `S3xcopy.<rest>` with the original name at the start of
 * the cause, since a Fail state may not raise a reserved name (LocalStack's interpreter turns one into
 * States.Runtime, test/compat/moto-engine-errors.compat.test.ts); any other error leaves unchanged.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { loadDefinition } from '../../cli/runner/definition';
import { EXAMPLE_DEFINITION_VALUES } from '../support/example-definition';
import { failureTail } from '../support/failure-tail';

const definition = loadDefinition(EXAMPLE_DEFINITION_VALUES);

const START = definition.States.NotifyFailure?.Next as string;
const TAIL = failureTail(definition.States, START);

/** Runs the tail on `list.error` and returns the execution's error name and cause. */
async function failWith(error: Record<string, string> | undefined) {
  const machine = new StateMachine({ StartAt: START, States: TAIL } as never, {
    validationOptions: { noValidate: true },
  });
  const input = { list: error ? { error } : {}, carry: { jobId: 'job-1' } };
  const outcome = await machine
    .run(input as never)
    .result.then(() => ({ name: 'none', cause: '' }))
    .catch((thrown: { cause?: { name?: string; message?: string } }) => ({
      name: thrown.cause?.name ?? 'none',
      cause: thrown.cause?.message ?? '',
    }));
  return outcome;
}

describe('the failure tail of statemachine/copy.asl.json', () => {
  it('ends in the Fail state that keeps the error and cause it is given', () => {
    const fails = Object.values(TAIL).filter((state) => state.Type === 'Fail');
    expect(fails).toEqual([
      expect.objectContaining({ ErrorPath: '$.list.error.Error', CausePath: '$.list.error.Cause' }),
    ]);
  });

  it.each([
    ['States.Timeout', 'S3xcopy.Timeout'],
    ['States.ExceedToleratedFailureThreshold', 'S3xcopy.ExceedToleratedFailureThreshold'],
    ['States.Runtime', 'S3xcopy.Runtime'],
  ])('renames the reserved %s to %s and keeps the original name in the cause', async (reserved, renamed) => {
    // Act
    const outcome = await failWith({ Error: reserved, Cause: 'Task timed out after 900 s' });

    // Assess
    expect(outcome).toEqual({ name: renamed, cause: `${reserved}: Task timed out after 900 s` });
  });

  it.each([
    ['CopyBatchError', '1 of 2 objects in batch s0-b0 failed: f/denied (AccessDenied)'],
    ['AssumeRoleError', 'States.Timeout is only mentioned in this cause'],
    ['MyStates.Timeout', 'a name that merely contains States.'],
  ])('leaves %s as it is', async (name, cause) => {
    // Act
    const outcome = await failWith({ Error: name, Cause: cause });

    // Assess
    expect(outcome).toEqual({ name, cause });
  });
});
