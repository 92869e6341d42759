import type { AslState } from '../../cli/runner/definition';

/** The states reachable from `start` without passing a Task: the definition's failure tail. */
export function failureTail(states: Record<string, AslState>, start: string): Record<string, AslState> {
  const tail: Record<string, AslState> = {};
  const pending = [start];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (tail[name]) continue;
    const state = states[name];
    if (!state || state.Type === 'Task')
      throw new Error(`the failure tail reaches ${name}, which is not a plain state`);
    tail[name] = structuredClone(state);
    const choices = (state.Choices ?? []) as { Next: string }[];
    for (const next of [state.Next, state.Default, ...choices.map((choice) => choice.Next)]) {
      if (typeof next === 'string') pending.push(next);
    }
  }
  return tail;
}
