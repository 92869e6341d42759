/**
 * A local Map Run: what Step Functions does for a Distributed Map, for the fields our ASL uses.
 * Reads the items (ItemReader s3:getObject, JSON), shapes each with ItemSelector, runs one child
 * execution per item at MaxConcurrency, stops starting children once the tolerated failures are
 * exceeded, and writes the ResultWriter files in AWS's layout (`<Prefix>/<mapRunId>/manifest.json`,
 * `SUCCEEDED_0.json`, `FAILED_0.json`, `PENDING_0.json`), shaped as its WriterConfig asks.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { ResultWriterEntry, ResultWriterManifest } from '../../functions/notify/results';
import type { AslState } from './definition';
import { applyTemplate, queryPath } from './paths';

/** Concurrency when the Map sets none (0 means "as many as possible" in AWS; a local run needs a bound). */
export const LOCAL_DEFAULT_MAX_CONCURRENCY = 40;

/** One child execution's outcome. */
export type ChildOutcome =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED'; error: string; cause: string };

export interface MapRunDeps {
  /** Reads the ItemReader object and writes the ResultWriter files. */
  stateS3: S3Client;
  /** Runs one child execution (the ItemProcessor) and reports how it ended; never rejects for a child failure. */
  runChild(input: unknown, child: { name: string; arn: string; index: number }): Promise<ChildOutcome>;
  /** The parent's context object ($$), for paths in the Map's fields. */
  context: Record<string, unknown>;
  /** Names the Map Run ARN and child ARNs after the parent execution, as AWS does. */
  stateMachineArn: string;
}

/** An error a Map Run ends with; `name` is what Retry/Catch match (States.ExceedToleratedFailureThreshold, ...). */
export class MapRunError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function numberField(state: AslState, field: string, input: unknown, context: unknown): number | undefined {
  if (typeof state[field] === 'number') return state[field];
  const pathField = `${field}Path`;
  if (typeof state[pathField] === 'string') {
    const value = queryPath(state[pathField], input, context);
    if (typeof value !== 'number' || value < 0) {
      throw new MapRunError('States.Runtime', `${pathField} ${state[pathField]} must select a non-negative number`);
    }
    return value;
  }
  return undefined;
}

async function readItems(state: AslState, input: unknown, deps: MapRunDeps): Promise<unknown[]> {
  if (!state.ItemReader) {
    const items = state.ItemsPath ? queryPath(state.ItemsPath, input, deps.context) : input;
    if (!Array.isArray(items)) throw new MapRunError('States.Runtime', 'The Map input is not an array');
    return items;
  }
  const reader = state.ItemReader as { Resource: string; ReaderConfig?: { InputType?: string }; Parameters: unknown };
  if (reader.Resource !== 'arn:aws:states:::s3:getObject' || reader.ReaderConfig?.InputType !== 'JSON') {
    throw new MapRunError(
      'States.ItemReaderFailed',
      `The local runner reads items only from s3:getObject with InputType JSON, not ${reader.Resource} ${reader.ReaderConfig?.InputType ?? ''}`,
    );
  }
  const { Bucket, Key } = applyTemplate(reader.Parameters, input, deps.context) as { Bucket: string; Key: string };
  let text: string;
  try {
    const response = await deps.stateS3.send(new GetObjectCommand({ Bucket, Key }));
    text = await (response.Body as { transformToString(): Promise<string> }).transformToString();
  } catch (error) {
    throw new MapRunError('States.ItemReaderFailed', `Cannot read items from s3://${Bucket}/${Key}: ${String(error)}`);
  }
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch {
    throw new MapRunError('States.ItemReaderFailed', `s3://${Bucket}/${Key} is not JSON`);
  }
  if (!Array.isArray(items))
    throw new MapRunError('States.ItemReaderFailed', `s3://${Bucket}/${Key} is not a JSON array`);
  return items;
}

/** ResultWriter.WriterConfig: how each result file is shaped (AWS's defaults when absent). */
export interface WriterConfig {
  /** NONE: execution records; COMPACT: each child's output; FLATTEN: COMPACT with array outputs spliced in. */
  Transformation: 'NONE' | 'COMPACT' | 'FLATTEN';
  /** JSON: one array per file; JSONL: one value per line. */
  OutputType: 'JSON' | 'JSONL';
}

/**
 * Reads a ResultWriter's WriterConfig. Without one, AWS exports execution records (NONE) as a JSON array.
 * @throws MapRunError naming a value AWS would reject (asl-validator 4 does not check WriterConfig)
 */
export function writerConfigOf(resultWriter: AslState): WriterConfig {
  const config = (resultWriter.WriterConfig ?? {}) as { Transformation?: unknown; OutputType?: unknown };
  const transformation = config.Transformation ?? 'NONE';
  const outputType = config.OutputType ?? 'JSON';
  if (transformation !== 'NONE' && transformation !== 'COMPACT' && transformation !== 'FLATTEN') {
    throw new MapRunError(
      'States.Runtime',
      `ResultWriter.WriterConfig.Transformation must be NONE, COMPACT or FLATTEN, not ${JSON.stringify(transformation)}`,
    );
  }
  if (outputType !== 'JSON' && outputType !== 'JSONL') {
    throw new MapRunError(
      'States.Runtime',
      `ResultWriter.WriterConfig.OutputType must be JSON or JSONL, not ${JSON.stringify(outputType)}`,
    );
  }
  return { Transformation: transformation, OutputType: outputType };
}

/**
 * The values a SUCCEEDED file holds. Failed and pending children keep the full record whatever the
 * Transformation (AWS: a failed child's result is returned unchanged, as with NONE).
 */
function succeededValues(entries: ResultWriterEntry[], transformation: WriterConfig['Transformation']): unknown[] {
  if (transformation === 'NONE') return entries;
  const outputs = entries.map((entry) => (entry.Output === undefined ? null : JSON.parse(entry.Output)));
  return transformation === 'FLATTEN'
    ? outputs.flatMap((output) => (Array.isArray(output) ? output : [output]))
    : outputs;
}

async function putResultFile(
  s3: S3Client,
  bucket: string,
  key: string,
  values: unknown[],
  outputType: WriterConfig['OutputType'],
): Promise<number> {
  const body =
    outputType === 'JSONL' ? `${values.map((value) => JSON.stringify(value)).join('\n')}\n` : JSON.stringify(values);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
  return Buffer.byteLength(body);
}

interface MapRunIds {
  mapRunId: string;
  mapRunArn: string;
  stateMachineName: string;
}

/** The tolerated-failure check: without either field no failure is tolerated; crossing any one fails. */
function failureThreshold(state: AslState, input: unknown, deps: MapRunDeps, items: number) {
  const toleratedPercentage = numberField(state, 'ToleratedFailurePercentage', input, deps.context);
  const toleratedCount = numberField(state, 'ToleratedFailureCount', input, deps.context);
  return (failed: number): boolean => {
    if (toleratedCount === undefined && toleratedPercentage === undefined) return failed > 0;
    if (toleratedCount !== undefined && failed > toleratedCount) return true;
    return toleratedPercentage !== undefined && (failed / items) * 100 > toleratedPercentage;
  };
}

/**
 * Runs the children, MaxConcurrency at a time, and records each one's execution record at its item's
 * index; once the failures cross the threshold no further child starts (AWS leaves those PENDING).
 */
async function runChildren(
  state: AslState,
  input: unknown,
  items: unknown[],
  deps: MapRunDeps,
  ids: MapRunIds,
): Promise<{ entries: Array<ResultWriterEntry | undefined>; failed: number; exceeded: boolean }> {
  const maxConcurrency = numberField(state, 'MaxConcurrency', input, deps.context) || LOCAL_DEFAULT_MAX_CONCURRENCY;
  const exceeds = failureThreshold(state, input, deps, items.length);
  const entries: Array<ResultWriterEntry | undefined> = new Array(items.length);
  let failed = 0;
  let exceeded = false;
  const limit = pLimit(maxConcurrency);
  await Promise.all(
    items.map((item, index) =>
      limit(async () => {
        if (exceeded) return;
        const childInput = state.ItemSelector
          ? applyTemplate(state.ItemSelector, input, { ...deps.context, Map: { Item: { Index: index, Value: item } } })
          : item;
        const name = `${ids.mapRunId.slice(0, 8)}-${index}`;
        const arn = `arn:aws:states:local:111111111111:execution:${ids.stateMachineName}/${ids.mapRunId}:${name}`;
        const startDate = new Date().toISOString();
        const outcome = await deps.runChild(childInput, { name, arn, index });
        const base = {
          ExecutionArn: arn,
          Name: name,
          Input: JSON.stringify(childInput),
          InputDetails: { Included: true },
          StartDate: startDate,
          StopDate: new Date().toISOString(),
          StateMachineArn: deps.stateMachineArn,
        };
        if (outcome.status === 'SUCCEEDED') {
          entries[index] = {
            ...base,
            Status: 'SUCCEEDED',
            Output: JSON.stringify(outcome.output),
            OutputDetails: { Included: true },
          };
        } else {
          failed++;
          entries[index] = { ...base, Status: 'FAILED', Error: outcome.error, Cause: outcome.cause };
          if (exceeds(failed)) exceeded = true;
        }
      }),
    ),
  );
  return { entries, failed, exceeded: exceeded || (failed > 0 && exceeds(failed)) };
}

/**
 * Writes the ResultWriter files in AWS's layout: `<Prefix>/<mapRunId>/{SUCCEEDED,FAILED,PENDING}_0.json`
 * and `manifest.json`; children that never started are PENDING.
 * @returns the Map state's output, `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }`
 */
async function writeResults(
  state: AslState,
  input: unknown,
  items: unknown[],
  entries: Array<ResultWriterEntry | undefined>,
  deps: MapRunDeps,
  ids: MapRunIds,
  writerConfig: WriterConfig,
): Promise<unknown> {
  const byStatus = {
    SUCCEEDED: entries.filter((e): e is ResultWriterEntry => e?.Status === 'SUCCEEDED'),
    FAILED: entries.filter((e): e is ResultWriterEntry => e !== undefined && e.Status !== 'SUCCEEDED'),
    PENDING: items.flatMap((item, index): ResultWriterEntry[] =>
      entries[index] === undefined
        ? [{ ExecutionArn: '', Status: 'PENDING', Input: JSON.stringify(item), InputDetails: { Included: true } }]
        : [],
    ),
  };
  const writer = state.ResultWriter as { Resource: string; Parameters: unknown };
  const { Bucket, Prefix = '' } = applyTemplate(writer.Parameters, input, deps.context) as {
    Bucket: string;
    Prefix?: string;
  };
  const base = `${Prefix === '' || Prefix.endsWith('/') ? Prefix : `${Prefix}/`}${ids.mapRunId}/`;
  const manifest: ResultWriterManifest = { DestinationBucket: Bucket, MapRunArn: ids.mapRunArn, ResultFiles: {} };
  try {
    for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
      const list = byStatus[status];
      manifest.ResultFiles[status] = [];
      if (list.length === 0) continue;
      const key = `${base}${status}_0.json`;
      const values = status === 'SUCCEEDED' ? succeededValues(list, writerConfig.Transformation) : list;
      const size = await putResultFile(deps.stateS3, Bucket, key, values, writerConfig.OutputType);
      manifest.ResultFiles[status].push({ Key: key, Size: size });
    }
    await deps.stateS3.send(
      new PutObjectCommand({
        Bucket,
        Key: `${base}manifest.json`,
        Body: JSON.stringify(manifest),
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw new MapRunError(
      'States.ResultWriterFailed',
      `Cannot write the Map Run results to s3://${Bucket}/${base}: ${String(error)}`,
    );
  }
  return { MapRunArn: ids.mapRunArn, ResultWriterDetails: { Bucket, Key: `${base}manifest.json` } };
}

/**
 * Runs one Map Run of a Distributed Map state on `input`.
 * @returns with a ResultWriter, `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }` (AWS's output);
 *   without one, the children's outputs in item order
 * @throws MapRunError named States.ExceedToleratedFailureThreshold when more children failed than tolerated
 */
export async function runDistributedMap(state: AslState, input: unknown, deps: MapRunDeps): Promise<unknown> {
  // A bad WriterConfig fails the Map Run before any child runs, as AWS rejects it when the definition is created.
  const writerConfig = writerConfigOf(state.ResultWriter ?? {});
  const items = await readItems(state, input, deps);
  const mapRunId = randomUUID();
  const ids: MapRunIds = {
    mapRunId,
    mapRunArn: `${deps.stateMachineArn.replace(':stateMachine:', ':mapRun:')}/${mapRunId}:${mapRunId}`,
    stateMachineName: deps.stateMachineArn.split(':').pop() ?? 'local',
  };
  const { entries, failed, exceeded } = await runChildren(state, input, items, deps, ids);
  const output = state.ResultWriter
    ? await writeResults(state, input, items, entries, deps, ids, writerConfig)
    : entries.map((entry) => (entry?.Output ? JSON.parse(entry.Output) : null));
  if (exceeded) {
    throw new MapRunError(
      'States.ExceedToleratedFailureThreshold',
      `The specified tolerated failure threshold was exceeded: ${failed} of ${items.length} items failed (Map Run ${ids.mapRunArn})`,
    );
  }
  return output;
}
