/**
 * The small part of JSONPath the local Distributed Map adapter evaluates itself: reference paths
 * (`$`, `$.a.b`, `$['a b']`, `$$.Map.Item.Value`) in ItemReader, ItemSelector, ResultWriter and the
 * *Path fields. aws-local-stepfunctions evaluates every other state; anything fancier here fails loudly
 * rather than being guessed.
 */

/** A JSON value as Step Functions passes it around. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const SEGMENT = /^(?:\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[(\d+)\])/;

/** Evaluates a reference path against the state input (`$...`) or the context object (`$$...`). */
export function queryPath(path: string, input: unknown, context: unknown): unknown {
  let rest: string;
  let value: unknown;
  if (path.startsWith('$$')) {
    value = context;
    rest = path.slice(2);
  } else if (path.startsWith('$')) {
    value = input;
    rest = path.slice(1);
  } else {
    throw new Error(`"${path}" is not a JSONPath reference path (it must start with $ or $$)`);
  }
  while (rest.length > 0) {
    const match = SEGMENT.exec(rest);
    if (!match) {
      throw new Error(
        `The local runner evaluates only simple reference paths in Distributed Map fields; "${path}" is not one`,
      );
    }
    const key = match[1] ?? match[2] ?? Number(match[3]);
    value = value !== null && typeof value === 'object' ? (value as Record<string | number, unknown>)[key] : undefined;
    rest = rest.slice(match[0].length);
  }
  if (value === undefined) {
    throw Object.assign(new Error(`Invalid path '${path}': the input has no such field`), {
      name: 'States.Runtime',
    });
  }
  return value;
}

/** Evaluates a payload template: fields ending in `.$` take the value of their path, others are copied. */
export function applyTemplate(template: unknown, input: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((item) => applyTemplate(item, input, context));
  if (template === null || typeof template !== 'object') return template;
  const result: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(template)) {
    if (field.endsWith('.$')) {
      if (typeof value !== 'string') throw new Error(`Field "${field}" must hold a path string`);
      result[field.slice(0, -2)] = queryPath(value, input, context);
    } else {
      result[field] = applyTemplate(value, input, context);
    }
  }
  return result;
}
