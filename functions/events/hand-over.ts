/**
 * Objects too large for one events invocation go to the bulk workflow instead. The events function keeps
 * nothing across deliveries of a message, so an object whose copy outlasts the invocation would start
 * over on every delivery and end in the dead-letter queue; the workflow's copy records its progress and
 * resumes across invocations. The events function starts one execution of the deployment's state machine
 * per such object, with the input the pipe delivery sends for a batch of one key (keys mode), and counts
 * the object as handed over.
 *
 * A duplicate or late event of the same version must not start a second execution, so the execution is
 * named from the bucket, key, ETag and LastModified (hashed): Step Functions refuses a second execution of
 * that name (ExecutionAlreadyExists, for 90 days after the first one closes), which counts as "already
 * handed over", not as an error. A new version has another ETag or LastModified, hence another name.
 */
import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { encodeFormUrl } from '../list/s3-url-encoding';
import { COPY_RATES } from '../shared/copy-rates';
import { FUNCTION_SIZING } from '../shared/function-sizing';
import type { ManifestObject } from '../shared/job';

/** What a start did: a new execution, or one of that name existed already (a duplicate event). */
export type HandOverStart = { started: true; execution: string } | { started: false; execution: string };

/** Starts the bulk workflow for one object (deployed: StartExecution; local runs: the local machine). */
export interface WorkflowStarter {
  /**
   * @param name the execution's name: deterministic per object version (executionName)
   * @param input the execution input (handOverInput)
   */
  start(name: string, input: unknown): Promise<HandOverStart>;
}

/**
 * The bytes a copy started now may take, by the copy-rate model: what the bulk path plans for one whole
 * copy invocation (COPY_RATES.plannedBatchBytes, for the copy function's 15 minutes less its margin),
 * scaled to the time this invocation has left and halved, because an events copy that runs out of time
 * is not resumed but started again on the next delivery.
 * @param spareMs milliseconds left before the time budget's safety margin
 */
export function bytesWithinTime(spareMs: number): number {
  const plannedMs = FUNCTION_SIZING.copy.timeoutSeconds * 1000 - 30_000;
  return Math.max(0, Math.floor((COPY_RATES.plannedBatchBytes * Math.max(0, spareMs)) / plannedMs / 2));
}

/**
 * Whether an object goes to the workflow: larger than the configured threshold (s3Events.handOverSize),
 * or than what the model says fits in the time left.
 */
export function handsOver(size: number, spareMs: number, thresholdBytes?: number): boolean {
  return size > Math.min(thresholdBytes ?? Number.POSITIVE_INFINITY, bytesWithinTime(spareMs));
}

/** Step Functions execution names: 1-80 characters of letters, digits, `-` and `_`. */
const NAME_FRAGMENT_CHARS = 24;

/**
 * The execution name of one object version: `event-`, a readable fragment of the key's last segment, and
 * a hash of bucket, key, ETag and LastModified (so two versions, or two keys with the same fragment, never
 * share a name). At most 6 + 24 + 1 + 40 = 71 characters.
 */
export function executionName(bucket: string, object: Pick<ManifestObject, 'key' | 'etag' | 'lastModified'>): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([bucket, object.key, object.etag.replace(/"/g, ''), object.lastModified]))
    .digest('hex')
    .slice(0, 40);
  const base = object.key.slice(object.key.lastIndexOf('/') + 1);
  const fragment = base
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, NAME_FRAGMENT_CHARS);
  return fragment === '' ? `event-${hash}` : `event-${fragment}-${hash}`;
}

/**
 * The execution input for one object: what the pipe delivery sends for a batch of one event
 * (infra/constructs/triggers.ts, PIPE_RECORD_TEMPLATE), an array of trimmed EventBridge records. The key
 * goes in form-encoded: the list step form-decodes an EventBridge key first (functions/list/s3-events.ts),
 * which gives back exactly this key, whatever characters it holds.
 */
export function handOverInput(bucket: string, object: Pick<ManifestObject, 'key' | 'size' | 'etag'>): unknown[] {
  return [
    {
      'detail-type': 'Object Created',
      detail: {
        bucket: { name: bucket },
        object: { key: encodeFormUrl(object.key), size: object.size, etag: object.etag.replace(/"/g, '') },
      },
    },
  ];
}

/**
 * The deployed starter: StartExecution on the deployment's state machine. A second start of a name whose
 * execution still runs, with the same input, succeeds as if it were the first (Standard workflows are
 * idempotent there) and is counted as started; it starts nothing new either way.
 */
export function stateMachineStarter(sfn: SFNClient, stateMachineArn: string): WorkflowStarter {
  return {
    async start(name, input) {
      try {
        const started = await sfn.send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
        );
        return { started: true, execution: started.executionArn ?? name };
      } catch (error) {
        // Only a second start of the same object version can meet this name: the first one stands.
        if (error instanceof ExecutionAlreadyExists || (error as { name?: string }).name === 'ExecutionAlreadyExists') {
          return { started: false, execution: name };
        }
        throw error;
      }
    },
  };
}
