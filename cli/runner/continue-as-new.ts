/**
 * Local support for `arn:aws:states:::states:startExecution`, which the ASL uses to continue a long job
 * in a new execution of the same state machine before the 25,000-event history limit. In AWS the new
 * execution starts on its own; locally the runner starts it when the current one has ended, with the
 * same handlers and state store, so one job spread over several executions runs as it would deployed.
 */
import type { AslState } from './definition';

/** The optimized integration that starts an execution and returns at once (no `.sync`). */
export const START_EXECUTION_RESOURCE = 'arn:aws:states:::states:startExecution';

/** Slices per execution when the caller sets none: infra's default (slicesPerExecution) too. */
export const DEFAULT_SLICES_PER_EXECUTION = 500;

/** At most this many executions per local run: a continuation that never ends is a bug, not a long job. */
export const MAX_LOCAL_EXECUTIONS = 10_000;

/** An execution the ASL asked to start. */
export interface RequestedExecution {
  name: string;
  arn: string;
  input: unknown;
}

/** StartExecution named a state machine the local run does not have. */
export class LocalStartExecutionError extends Error {
  constructor(requested: unknown, local: string) {
    super(
      `StartExecution asked for state machine ${String(requested)}, but the local run only has ${local}: the ` +
        'ASL must continue in its own state machine ($$.StateMachine.Id).',
    );
    this.name = 'StepFunctions.StateMachineDoesNotExistException';
  }
}

/** The names of the Task states (top level) that start executions. */
export function startExecutionStates(states: Record<string, AslState>): string[] {
  return Object.entries(states)
    .filter(([, state]) => state.Type === 'Task' && state.Resource === START_EXECUTION_RESOURCE)
    .map(([name]) => name);
}

/**
 * Stands in for the Step Functions service's StartExecution: the Task handler records the request
 * and answers as AWS does (`{ ExecutionArn, StartDate }`); `next()` hands the recorded execution to
 * the runner once the current one has ended.
 */
export class LocalExecutionStarter {
  private readonly pending: RequestedExecution[] = [];
  private started = 1;

  constructor(
    private readonly stateMachineArn: string,
    private readonly firstName: string,
    private readonly executionArn: (name: string) => string,
  ) {}

  /** The Task handler for every StartExecution state. */
  readonly handler = async (request: unknown): Promise<{ ExecutionArn: string; StartDate: string }> => {
    const { StateMachineArn, Input } = (request ?? {}) as { StateMachineArn?: unknown; Input?: unknown };
    if (StateMachineArn !== this.stateMachineArn)
      throw new LocalStartExecutionError(StateMachineArn, this.stateMachineArn);
    this.started++;
    if (this.started > MAX_LOCAL_EXECUTIONS) {
      throw new Error(`The local run started more than ${MAX_LOCAL_EXECUTIONS} executions: the job never ends`);
    }
    const name = `${this.firstName}-${this.started}`;
    const execution = {
      name,
      arn: this.executionArn(name),
      input: typeof Input === 'string' ? JSON.parse(Input) : Input,
    };
    this.pending.push(execution);
    return { ExecutionArn: execution.arn, StartDate: new Date().toISOString() };
  };

  /** The execution to run next, if the last one started one. */
  next(): RequestedExecution | undefined {
    return this.pending.shift();
  }
}

/**
 * Runs the first execution, then every execution it (and each successor) started, one after another.
 * @returns each execution's outcome, in order; the last one is the job's.
 */
export async function runChainedExecutions<T>(
  first: RequestedExecution,
  starter: LocalExecutionStarter,
  runExecution: (execution: RequestedExecution) => Promise<T>,
): Promise<Array<{ execution: RequestedExecution; outcome: T }>> {
  const outcomes: Array<{ execution: RequestedExecution; outcome: T }> = [];
  for (let execution: RequestedExecution | undefined = first; execution; execution = starter.next()) {
    outcomes.push({ execution, outcome: await runExecution(execution) });
  }
  return outcomes;
}
