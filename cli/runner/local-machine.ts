/**
 * The state machine of a local run: statemachine/copy.asl.json filled with local placeholders and run by
 * aws-local-stepfunctions, its Lambda tasks calling the local functions, its StartExecution tasks (continue
 * as new) recorded for the runner, and its Distributed Map run by the adapter in distributed-map.ts. Every
 * state entered or retried is counted, as Step Functions bills transitions.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import { decodeCause } from '../../functions/notify/results';
import { actingAs, type CallIdentity, recordCall } from '../../functions/shared/call-recorder';
import { LocalExecutionStarter, type RequestedExecution, startExecutionStates } from './continue-as-new';
import {
  type AslDefinition,
  type AslState,
  adaptForLocal,
  type DistributedMaps,
  lambdaTaskStates,
  loadDefinition,
  type Placeholder,
  retryingStates,
} from './definition';
import { type ChildOutcome, runDistributedMap } from './distributed-map';
import { invokeLocal, type LocalFunction } from './lambda';
import type { FunctionName } from './local-functions';
import type { ProgressEvent } from './progress-event';
import { increment, type RunStats } from './stats';

const ACCOUNT_ARN = 'arn:aws:states:local:111111111111';
const STATE_MACHINE_ARN = `${ACCOUNT_ARN}:stateMachine:s3xcopy`;

/** An execution's ARN from its name. */
export function localExecutionArn(name: string): string {
  return `${ACCOUNT_ARN}:execution:s3xcopy:${name}`;
}

export interface LocalMachineOptions {
  executionName: string;
  /** The job's first input (what `$$.Execution.Input` is inside the Map). */
  input: unknown;
  stateBucket: string;
  stateS3: S3Client;
  mapMaxConcurrency: number;
  slicesPerExecution: number;
  functions: Record<FunctionName, LocalFunction>;
  stats: RunStats;
  definitionFile?: string;
  retryIntervalMs?: number;
  onProgress?: (event: ProgressEvent) => void;
}

/** How one execution ended: a FAILED one carries the Fail state's error and decoded cause. */
export interface ExecutionOutcome {
  status: 'SUCCEEDED' | 'FAILED';
  error?: { error: string; cause: string };
}

/** A runnable local machine: `runExecution` runs one execution; `starter` holds the ones it started. */
export interface LocalMachine {
  runExecution(run: RequestedExecution): Promise<ExecutionOutcome>;
  starter: LocalExecutionStarter;
}

function placeholderValues(options: LocalMachineOptions): Record<Placeholder, string> {
  const fn = (name: string) => `arn:aws:lambda:local:111111111111:function:s3xcopy-${name}`;
  return {
    ListFunctionArn: fn('list'),
    CopyFunctionArn: fn('copy'),
    NotifyFunctionArn: fn('notify'),
    StateBucket: options.stateBucket,
    MapMaxConcurrency: String(options.mapMaxConcurrency),
    SlicesPerExecution: String(options.slicesPerExecution),
  };
}

/**
 * A deep copy made in this realm. Not structuredClone: under Jest its objects come from another realm,
 * and aws-local-stepfunctions then stops treating nested payload templates as plain objects.
 */
function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// Validating the ASL costs 0.15-0.5 s of CPU: once per file and placeholder values per process.
const definitionCache = new Map<string, AslDefinition>();

function loadCached(values: Record<Placeholder, string>, file?: string): AslDefinition {
  const cacheKey = JSON.stringify([values, file]);
  let definition = definitionCache.get(cacheKey);
  if (!definition) {
    definition = loadDefinition(values, file);
    definitionCache.set(cacheKey, definition);
  }
  return copyJson(definition);
}

/** The error a failed execution or child ended with, unwrapped from the library's ExecutionError. */
function errorOf(error: unknown): { name: string; message: string } {
  let current = error as { name?: string; message?: string; cause?: unknown } | undefined;
  while (current && current.name === 'ExecutionError' && current.cause) {
    current = current.cause as typeof current;
  }
  return { name: current?.name ?? 'Error', message: current?.message ?? String(error) };
}

type RunOverrides = { taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> } & Record<
  string,
  unknown
>;

/** Fills and adapts the ASL, and wires every Task of the parent and of the Map's children. */
export function createLocalMachine(options: LocalMachineOptions): LocalMachine {
  const values = placeholderValues(options);
  const byArn = new Map<string, LocalFunction>([
    [values.ListFunctionArn, options.functions.list],
    [values.CopyFunctionArn, options.functions.copy],
    [values.NotifyFunctionArn, options.functions.notify],
  ]);
  const invoke = async (request: unknown) => {
    const { FunctionName, Payload } = (request ?? {}) as { FunctionName?: string; Payload?: unknown };
    const fn = FunctionName ? byArn.get(FunctionName) : undefined;
    if (!fn) throw new Error(`The local runner has no function ${String(FunctionName)}`);
    // The state machine's role invokes; the function then calls AWS as its own role.
    recordStateMachineCall('lambda', 'InvokeCommand', { FunctionName: fn.name });
    return actingAs(fn.name.replace(/^s3xcopy-/, '') as CallIdentity, () => invokeLocal(fn, Payload));
  };
  const filled = loadCached(values, options.definitionFile);
  const { definition, maps } = adaptForLocal(filled);
  const starter = new LocalExecutionStarter(STATE_MACHINE_ARN, options.executionName, localExecutionArn);
  const states: Record<string, AslState> = { ...filled.States };
  const taskHandlers: RunOverrides['taskResourceLocalHandlers'] = {};
  for (const name of lambdaTaskStates(states)) taskHandlers[name] = invoke;
  for (const name of startExecutionStates(states)) {
    // ContinueAsNew: the state machine's role starts the next execution of the same state machine.
    taskHandlers[name] = (request: unknown) => {
      recordStateMachineCall('states', 'StartExecutionCommand', {});
      return starter.handler(request);
    };
  }
  const overrides: RunOverrides = { taskResourceLocalHandlers: taskHandlers };
  if (options.retryIntervalMs !== undefined) {
    const intervals: Record<string, number> = {};
    for (const name of retryingStates(states)) intervals[name] = options.retryIntervalMs;
    overrides.retryIntervalOverrides = intervals;
  }
  addDistributedMaps(maps, taskHandlers, overrides, options);
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  return { runExecution: (run) => runParent(machine, run, overrides, options), starter };
}

/** Records a call the Step Functions service makes as the state machine's role (S3XCOPY_RECORD_CALLS). */
function recordStateMachineCall(service: string, command: string, input: Record<string, string | boolean>): void {
  recordCall({ identity: 'stateMachine', service, command, input, outcome: 'ok' });
}

/** The execution context every state sees as `$$` (the Map's children get their own Execution). */
function executionContext(options: LocalMachineOptions, run?: RequestedExecution) {
  return {
    Execution: {
      Id: run?.arn ?? localExecutionArn(options.executionName),
      Name: run?.name ?? options.executionName,
      RoleArn: 'arn:aws:iam::111111111111:role/s3xcopy-local',
    },
    StateMachine: { Id: STATE_MACHINE_ARN, Name: 's3xcopy' },
  };
}

/** Each Distributed Map becomes a Task whose handler runs the Map Run adapter over its own child machine. */
function addDistributedMaps(
  maps: DistributedMaps,
  taskHandlers: RunOverrides['taskResourceLocalHandlers'],
  overrides: RunOverrides,
  options: LocalMachineOptions,
): void {
  const context = executionContext(options);
  for (const [mapName, mapState] of Object.entries(maps)) {
    const processor = mapState.ItemProcessor ?? mapState.Iterator;
    const { ProcessorConfig: _ignored, ...childDefinition } = processor;
    const child = new StateMachine(childDefinition, { validationOptions: { noValidate: true } });
    taskHandlers[mapName] = async (input) => {
      options.stats.executions.mapRuns++;
      // The Map Run starts its children as executions of this state machine, as the state machine's role;
      // its ItemReader and ResultWriter read and write the state bucket as that role too.
      recordStateMachineCall('states', 'StartExecutionCommand', { MapRun: true });
      return actingAs('stateMachine', () =>
        runDistributedMap(mapState, copyJson(input), {
          stateS3: options.stateS3,
          stateMachineArn: STATE_MACHINE_ARN,
          context: { ...context, Execution: { ...context.Execution, Input: options.input } },
          runChild: async (childInput, info): Promise<ChildOutcome> => {
            options.stats.executions.children++;
            const execution = child.run(childInput as never, {
              overrides: overrides as never,
              context: { Execution: { Id: info.arn, Name: info.name }, StateMachine: context.StateMachine },
            });
            const drained = countTransitions(execution.eventLogs, options.stats.transitions.children);
            try {
              return { status: 'SUCCEEDED', output: await execution.result };
            } catch (error) {
              const { name, message } = errorOf(error);
              return { status: 'FAILED', error: name, cause: message };
            } finally {
              await drained;
            }
          },
        }),
      );
    };
  }
}

/** Counts every state entered or retried, as Step Functions bills them; reports retries as progress. */
async function countTransitions(
  events: AsyncGenerator<{ type: string; state?: { name: string }; retry?: { attempt: number } }>,
  counts: Record<string, number>,
  onProgress?: (event: ProgressEvent) => void,
): Promise<void> {
  for await (const event of events) {
    if ((event.type === 'StateEntered' || event.type === 'StateRetried') && event.state) {
      increment(counts, event.state.name);
      if (event.type === 'StateRetried' && onProgress && event.retry) {
        onProgress({ type: 'retry', state: event.state.name, attempt: event.retry.attempt });
      }
    }
  }
}

async function runParent(
  machine: StateMachine,
  run: RequestedExecution,
  overrides: RunOverrides,
  options: LocalMachineOptions,
): Promise<ExecutionOutcome> {
  const execution = machine.run(run.input as never, {
    overrides: overrides as never,
    context: executionContext(options, run),
  });
  const drained = countTransitions(execution.eventLogs as never, options.stats.transitions.parent, options.onProgress);
  let outcome: ExecutionOutcome = { status: 'SUCCEEDED' };
  try {
    await execution.result;
  } catch (caught) {
    const { name, message } = errorOf(caught);
    outcome = { status: 'FAILED', error: { error: name, cause: decodeCause(message).message } };
  }
  await drained;
  return outcome;
}
