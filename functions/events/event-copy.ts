/**
 * The direct event path: copies the objects named by a batch of S3 "Object Created" events (SQS messages
 * from an EventBridge rule), in one Lambda invocation, without a Step Functions execution. It applies the
 * deployment's job exactly as the bulk path does (bucket, prefix mapping, filters, options) and keeps the
 * same ledger: selected = copied + skipped + failed + notAttempted.
 *
 * Events arrive at least once and in any order, so an event is only a hint that a key changed:
 * - the copy is of what the source holds NOW (a HEAD when the batch runs), pinned to that HEAD's ETag
 *   (x-amz-copy-source-if-match, in the copy engine): an older event can never copy an older version;
 * - after copying, the source is HEADed again; when it changed meanwhile (a newer upload raced the copy)
 *   the key goes round again, so the last copy to finish is always of the newest version, whichever
 *   invocation, event or retry it came from;
 * - the target is checked first, with the sync rule (same size and ETag, or another content proof): a
 *   duplicate or late event finds the target current and is counted as skipped ("unchanged"). Where the
 *   ETags differ (an SSE-KMS target, a copy in other parts), one HEAD of the key's identity record in the
 *   state bucket (functions/copy/identity-records.ts) can still prove it; copies leave such records.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { HttpHandlerOptions } from '@smithy/types';
import pLimit from 'p-limit';
import { type CopyContextOptions, createCopyContext } from '../copy/copy-context';
import { targetMatches } from '../copy/copy-engine';
import { copyObject, type Outcome, targetIsCurrent } from '../copy/copy-object';
import { findTarget } from '../copy/target-lookup';
import { OutOfTime } from '../copy/time-budget';
import { isArchived } from '../list/archived-objects';
import { createObjectFilter } from '../list/object-filter';
import { type ObjectRef, parseObjectCreatedEvents } from '../list/s3-events';
import { toManifestObject } from '../list/s3-listing';
import { errorMessage, httpStatusOf } from '../shared/errors';
import { type CopyFailure, type Job, type ManifestObject, type SkipReason, targetKeyFor } from '../shared/job';
import { sourcePayer } from '../shared/request-payer';
import { executionName, handOverInput, handsOver, type WorkflowStarter } from './hand-over';

/** One SQS message of the batch: its id (for partial batch failures) and body (one EventBridge event). */
export interface EventMessage {
  messageId: string;
  body: string;
}

/**
 * What one batch did, in the bulk path's terms (docs/state-bucket.md, "The ledger"), plus the objects
 * handed to the workflow: selected = copied + skipped + failed + notAttempted + handedOver.
 */
export interface EventLedger {
  /** SQS messages in the batch. */
  messages: number;
  /** Messages naming no created object, another bucket, or a key outside the source prefix. */
  ignored: number;
  /** Messages naming a key another message of the same batch named too (copied once). */
  duplicates: number;
  /** Distinct keys named, within the source bucket and prefix. */
  listed: number;
  /** Keys that passed the filters (a vanished object counts here and as skipped, as in the bulk path). */
  selected: number;
  copied: number;
  skipped: number;
  skippedByReason: Partial<Record<SkipReason, number>>;
  failed: number;
  /** Keys the invocation ran out of time for: their messages go back to the queue. */
  notAttempted: number;
  bytesCopied: number;
  /**
   * Keys that went round again because the source changed while they were copied (the next round copies
   * the newer version, or finds the target already holds it).
   */
  recopied: number;
  /** Keys too large for this invocation, handed to the bulk workflow (hand-over.ts). */
  handedOver: number;
  /** Of those, keys whose execution existed already (a duplicate event of the same version). */
  alreadyHandedOver: number;
}

export interface EventCopyResult {
  ledger: EventLedger;
  failures: CopyFailure[];
  /** For each failure (same order), the messages that named its key. */
  failureMessageIds: string[][];
  /** Messages to hand back to the queue (failed or not attempted): SQS delivers them again. */
  retryMessageIds: string[];
  /** Keys the invocation ran out of time for, each with the messages that named it. */
  notAttempted: Array<{ key: string; messageIds: string[] }>;
}

export interface EventCopyDeps extends Omit<CopyContextOptions, 'jobId' | 'progress' | 'sourceS3'> {
  /** The target role's client (or the function's own, same account): copies and target checks. */
  s3: S3Client;
  /** Reads the source (HEAD): the target role's client for the source bucket's region. */
  sourceS3: S3Client;
  logger: Logger;
  /** Rounds of copy-then-check before a key whose source keeps changing is handed back to the queue. */
  maxRounds?: number;
  /** Where objects too large for the invocation go; without it every object is copied here. */
  handOver?: { starter: WorkflowStarter; thresholdBytes?: number };
}

/** The role session and the copy context's job id: one per deployment, so warm invocations reuse the session. */
export const EVENTS_JOB_ID = 's3xcopy-events';

const DEFAULT_MAX_ROUNDS = 3;

type KeyFate =
  | { kind: 'copied'; bytes: number }
  | { kind: 'skipped'; reason: SkipReason }
  | { kind: 'failed'; failure: CopyFailure }
  | { kind: 'stopped' }
  | { kind: 'handedOver'; started: boolean };

interface NamedKey {
  /** Candidate keys in the order to HEAD them (s3-events.ts: an EventBridge key may be encoded). */
  candidates: string[];
  messageIds: string[];
}

/**
 * The distinct keys a batch names within the job's bucket and prefix, each with the messages naming it.
 * A message whose body names nothing copyable is counted as ignored and never retried.
 */
export function keysOfMessages(job: Job, messages: readonly EventMessage[]) {
  const keys = new Map<string, NamedKey>();
  let ignored = 0;
  let duplicates = 0;
  for (const message of messages) {
    const refs = parseObjectCreatedEvents({ body: message.body }).refs.filter((ref) => inJob(job, ref));
    if (refs.length === 0) ignored++;
    let duplicate = refs.length > 0;
    for (const ref of refs) {
      const candidates = [ref.key, ...(ref.fallbackKeys ?? [])].filter((key) => key.startsWith(job.source.prefix));
      const known = keys.get(ref.key);
      if (known) {
        if (!known.messageIds.includes(message.messageId)) known.messageIds.push(message.messageId);
        continue;
      }
      duplicate = false;
      keys.set(ref.key, { candidates, messageIds: [message.messageId] });
    }
    if (duplicate) duplicates++;
  }
  return { keys, ignored, duplicates };
}

function inJob(job: Job, ref: ObjectRef): boolean {
  return (
    ref.bucket === job.source.bucket &&
    [ref.key, ...(ref.fallbackKeys ?? [])].some((key) => key.startsWith(job.source.prefix))
  );
}

/** HEADs the candidates in order; the first that exists, or undefined when every one is gone. */
async function headCurrent(
  s3: S3Client,
  bucket: string,
  candidates: readonly string[],
  send: <T>(operation: () => Promise<T>) => Promise<T>,
  options: HttpHandlerOptions,
  payer: { RequestPayer?: 'requester' },
): Promise<ManifestObject | undefined> {
  for (const key of candidates) {
    try {
      const head = await send(() => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...payer }), options));
      return toManifestObject({
        Key: key,
        Size: head.ContentLength ?? 0,
        ...(head.ETag ? { ETag: head.ETag } : {}),
        ...(head.LastModified ? { LastModified: head.LastModified } : {}),
        ...(head.StorageClass ? { StorageClass: head.StorageClass } : {}),
      });
    } catch (error) {
      // The role that reads the source may list the prefix, so a missing key is a 404, not a 403.
      if (httpStatusOf(error) !== 404) throw error;
    }
  }
  return undefined;
}

/** The same version: ETag and LastModified (an overwrite with the same bytes still changes the date). */
function sameVersion(a: ManifestObject, b: ManifestObject | undefined): boolean {
  return b !== undefined && a.etag === b.etag && a.lastModified === b.lastModified && a.size === b.size;
}

function failureOf(job: Job, key: string, code: string, message: string): CopyFailure {
  return {
    key,
    code,
    message: `copy s3://${job.source.bucket}/${key} -> s3://${job.target.bucket}/${targetKeyFor(job, key)}: ${message}`,
  };
}

/**
 * Starts the workflow for one object version; a start that fails is the key's failure (its message goes
 * back to the queue, and the next delivery starts it again under the same name).
 */
async function handOverKey(job: Job, object: ManifestObject, deps: EventCopyDeps): Promise<KeyFate> {
  const name = executionName(job.source.bucket, object);
  try {
    const start = await deps.handOver?.starter.start(name, handOverInput(job.source.bucket, object));
    deps.logger.info('Object handed over to the workflow', {
      key: object.key,
      size: object.size,
      execution: start?.execution ?? name,
      alreadyStarted: start?.started === false,
    });
    return { kind: 'handedOver', started: start?.started !== false };
  } catch (error) {
    const code = (error as { name?: string }).name ?? 'Error';
    const why = `too large for one events invocation (${object.size} bytes), and StartExecution of the workflow (execution ${name}) failed: ${errorMessage(error)}; the events role needs states:StartExecution on the deployment's state machine`;
    return { kind: 'failed', failure: failureOf(job, object.key, code, why) };
  }
}

/**
 * One key's copy: HEAD the source, filter, copy (sync rule, pinned to the HEAD's ETag), HEAD again; round
 * again while the source changed under the copy. Never throws for the key's own errors.
 */
async function copyKey(
  job: Job,
  named: NamedKey,
  deps: EventCopyDeps,
  ctx: ReturnType<typeof createCopyContext>,
  counts: { recopied: number },
): Promise<KeyFate | 'filtered'> {
  const filter = createObjectFilter(job);
  const send = <T>(operation: () => Promise<T>) => ctx.retry(operation);
  const head = (candidates: readonly string[]) =>
    headCurrent(deps.sourceS3, job.source.bucket, candidates, send, ctx.budget.requestOptions, sourcePayer(job));
  let copiedBytes: number | undefined;
  // What a later round ends in when an earlier round already copied: the copy stands.
  const settle = (fate: KeyFate): KeyFate =>
    copiedBytes === undefined ? fate : { kind: 'copied', bytes: copiedBytes };
  try {
    let object = await head(named.candidates);
    for (let round = 1; ; round++) {
      if (ctx.budget.exhausted()) return { kind: 'stopped' };
      if (!object) return settle({ kind: 'skipped', reason: 'vanished' });
      if (!filter(object)) return copiedBytes === undefined ? 'filtered' : { kind: 'copied', bytes: copiedBytes };
      if (targetKeyFor(job, object.key) === '') return settle({ kind: 'skipped', reason: 'prefixMarker' });
      if (isArchived(object)) return settle({ kind: 'skipped', reason: 'archived' });
      if (deps.handOver && handsOver(object.size, ctx.budget.spareMs(), deps.handOver.thresholdBytes)) {
        // The sync rule first, as for every other object: a duplicate or late event for a large object the
        // target already holds costs a HEAD, not an execution that would copy it again.
        const targetKey = targetKeyFor(job, object.key);
        const target = await findTarget(ctx, targetKey);
        if (await targetIsCurrent(ctx, targetMatches, object, target, targetKey)) {
          return settle({ kind: 'skipped', reason: 'unchanged' });
        }
        return await handOverKey(job, object, deps);
      }
      const outcome: Outcome = await copyObject(ctx, targetMatches, object);
      if (outcome.kind !== 'copied') return outcome.kind === 'skipped' ? settle(outcome) : outcome;
      copiedBytes = outcome.bytes;
      const now = await head([object.key]);
      if (sameVersion(object, now)) return settle(outcome);
      if (round >= (deps.maxRounds ?? DEFAULT_MAX_ROUNDS)) {
        const why = `the source changed during each of ${round} copies; the event goes back to the queue and is copied again later`;
        return { kind: 'failed', failure: failureOf(job, object.key, 'SourceKeepsChanging', why) };
      }
      counts.recopied++;
      object = now;
    }
  } catch (error) {
    if (error instanceof OutOfTime || ctx.budget.isOut) return { kind: 'stopped' };
    const code = (error as { name?: string }).name ?? 'Error';
    const key = named.candidates[0] ?? '';
    return {
      kind: 'failed',
      failure: failureOf(job, key, code, `HeadObject of the source failed: ${errorMessage(error)}`),
    };
  }
}

/**
 * Copies the objects a batch of event messages names. The job must be the deployment's resolved job;
 * the event path always applies the sync rule (that is what makes a duplicate event harmless) and never
 * deletes. Returns the ledger, the failures, and the messages to hand back to the queue.
 */
export async function copyEventBatch(
  job: Job,
  messages: readonly EventMessage[],
  deps: EventCopyDeps,
): Promise<EventCopyResult> {
  const eventJob: Job = { ...job, options: { ...job.options, mode: 'sync', delete: false, dryRun: false } };
  const { keys, ignored, duplicates } = keysOfMessages(eventJob, messages);
  const ledger: EventLedger = {
    messages: messages.length,
    ignored,
    duplicates,
    listed: keys.size,
    selected: 0,
    copied: 0,
    skipped: 0,
    skippedByReason: {},
    failed: 0,
    notAttempted: 0,
    bytesCopied: 0,
    recopied: 0,
    handedOver: 0,
    alreadyHandedOver: 0,
  };
  const failures: CopyFailure[] = [];
  const failureMessageIds: string[][] = [];
  const retry = new Set<string>();
  const notAttempted: EventCopyResult['notAttempted'] = [];
  const ctx = createCopyContext(eventJob, { ...deps, jobId: EVENTS_JOB_ID });
  const limit = pLimit(eventJob.options.concurrency);
  try {
    const named = [...keys.values()];
    const fates = await Promise.all(named.map((key) => limit(() => copyKey(eventJob, key, deps, ctx, ledger))));
    for (const [index, fate] of fates.entries()) {
      if (fate === 'filtered') continue;
      ledger.selected++;
      const key = named[index] as NamedKey;
      if (fate.kind === 'copied') {
        ledger.copied++;
        ledger.bytesCopied += fate.bytes;
      } else if (fate.kind === 'handedOver') {
        ledger.handedOver++;
        if (!fate.started) ledger.alreadyHandedOver++;
      } else if (fate.kind === 'skipped') {
        ledger.skipped++;
        ledger.skippedByReason[fate.reason] = (ledger.skippedByReason[fate.reason] ?? 0) + 1;
      } else {
        if (fate.kind === 'failed') {
          ledger.failed++;
          failures.push(fate.failure);
          failureMessageIds.push(key.messageIds);
        } else {
          ledger.notAttempted++;
          notAttempted.push({ key: key.candidates[0] ?? '', messageIds: key.messageIds });
        }
        for (const id of key.messageIds) retry.add(id);
      }
    }
  } finally {
    ctx.budget.dispose();
  }
  return { ledger, failures, failureMessageIds, retryMessageIds: [...retry], notAttempted };
}
