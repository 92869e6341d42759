/**
 * Loads statemachine/copy.asl.json for a local run: validates it with asl-validator, fills the
 * `${Placeholders}` infra fills at deploy time, and turns each Distributed Map into a Task of the same
 * name that the runner binds to its own Map Run implementation (distributed-map.ts), because
 * aws-local-stepfunctions does not execute ItemReader, ResultWriter or ToleratedFailure* (NOTES.md).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The ASL file every deployment and every local run executes. */
export const DEFINITION_PATH = path.join(__dirname, '..', '..', 'statemachine', 'copy.asl.json');

/** Every placeholder the ASL uses; infra supplies the same names as definitionSubstitutions. */
export const PLACEHOLDERS = [
  'ListFunctionArn',
  'CopyFunctionArn',
  'NotifyFunctionArn',
  'StateBucket',
  'MapMaxConcurrency',
  'SlicesPerExecution',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** The resource the adapted Distributed Map states carry; nothing in AWS has it. */
export const LOCAL_MAP_RESOURCE = 'arn:aws:states:::s3xcopy:local-distributed-map';

// biome-ignore lint/suspicious/noExplicitAny: ASL states are open-ended JSON; each use below checks the fields it reads.
export type AslState = Record<string, any>;
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  Comment?: string;
  TimeoutSeconds?: number;
}

interface ValidationResult {
  isValid: boolean;
  errors: Array<{ message?: string; path?: string; 'Error code'?: string }>;
  errorsText?: (separator?: string) => string;
}

/** Validates an ASL definition with asl-validator (on a copy: the validator adds fields to its input). */
export function validateDefinition(definition: unknown): string[] {
  const validate = require('asl-validator') as (definition: unknown, options?: object) => ValidationResult;
  const result = validate(JSON.parse(JSON.stringify(definition)), { checkPaths: true, checkArn: true });
  if (result.isValid) return [];
  return result.errorsText ? result.errorsText('\n').split('\n') : result.errors.map((e) => JSON.stringify(e));
}

/**
 * Replaces every `${Name}` in the ASL text, as CDK's definitionSubstitutions do.
 * @throws naming a placeholder without a value, or a value for one the file does not use
 */
export function fillPlaceholders(text: string, values: Record<string, string>): string {
  const used = new Set<string>();
  const filled = text.replace(/\$\{(\w+)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined)
      throw new Error(`The state machine uses \${${name}} but the local runner has no value for it`);
    used.add(name);
    // The value lands inside a JSON string: escape it as one.
    return JSON.stringify(value).slice(1, -1);
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`Placeholders not used by the state machine: ${unused.join(', ')}`);
  return filled;
}

/**
 * A Map Run has no timeout in AWS; the Task standing in for it locally gets the longest one Node's
 * timers allow (aws-local-stepfunctions would otherwise apply its 60 s Task default).
 */
export const LOCAL_MAP_TIMEOUT_SECONDS = 2_000_000;

/** A Distributed Map the runner executes itself, keyed by the state's name. */
export type DistributedMaps = Record<string, AslState>;

function isDistributedMap(state: AslState): boolean {
  return state.Type === 'Map' && (state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED' || !!state.ItemReader);
}

/**
 * Replaces every Distributed Map by a Task with the same name, InputPath, ResultSelector, ResultPath,
 * OutputPath, Retry, Catch and Next/End: the state machine around it runs unchanged; the runner binds
 * the Task to its Map Run implementation.
 */
export function adaptForLocal(definition: AslDefinition): { definition: AslDefinition; maps: DistributedMaps } {
  const maps: DistributedMaps = {};
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (!isDistributedMap(state)) {
      states[name] = state;
      continue;
    }
    maps[name] = state;
    const task: AslState = { Type: 'Task', Resource: LOCAL_MAP_RESOURCE, TimeoutSeconds: LOCAL_MAP_TIMEOUT_SECONDS };
    for (const field of ['Comment', 'InputPath', 'ResultSelector', 'ResultPath', 'OutputPath', 'Retry', 'Catch']) {
      if (field in state) task[field] = state[field];
    }
    if (state.End) task.End = true;
    else task.Next = state.Next;
    states[name] = task;
  }
  return { definition: { ...definition, States: states }, maps };
}

/**
 * Loads and fills the ASL file, and validates it once, filled: what a deployment runs is the filled
 * file too (CDK's definitionSubstitutions), and a second validation of the unfilled text found nothing
 * the filled one misses while it cost every `s3xcopy run` about 0.15 s of CPU (test/statemachine
 * validates the file as it is in the repository).
 */
export function loadDefinition(values: Record<Placeholder, string>, file = DEFINITION_PATH): AslDefinition {
  const text = readFileSync(file, 'utf8');
  const filled = JSON.parse(fillPlaceholders(text, values)) as AslDefinition;
  const errors = validateDefinition(filled);
  if (errors.length > 0) {
    throw new Error(`${file} with its placeholders filled is not a valid state machine:\n${errors.join('\n')}`);
  }
  return filled;
}

/** The names of every Task state that invokes a Lambda function, the Map's child states included. */
export function lambdaTaskStates(states: Record<string, AslState>): string[] {
  const names: string[] = [];
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task' && String(state.Resource).startsWith('arn:aws:states:::lambda:invoke')) names.push(name);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor?.States) names.push(...lambdaTaskStates(processor.States));
    for (const branch of state.Branches ?? []) names.push(...lambdaTaskStates(branch.States));
  }
  return names;
}

/** The names of every state with a Retry field, at any depth (for instant retries in tests). */
export function retryingStates(states: Record<string, AslState>): string[] {
  const names: string[] = [];
  for (const [name, state] of Object.entries(states)) {
    if (Array.isArray(state.Retry)) names.push(name);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor?.States) names.push(...retryingStates(processor.States));
  }
  return names;
}
