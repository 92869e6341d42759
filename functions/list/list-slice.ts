import { HeadObjectCommand, type HeadObjectCommandOutput, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { MeasuredRates } from '../shared/copy-rates';
import { awsErrorCode, BucketAccessError, errorMessage, httpStatusOf } from '../shared/errors';
import { DEFAULT_LIST_CONCURRENCY, type Job, type ManifestObject, type SkipReason, targetKeyFor } from '../shared/job';
import { mapLimited } from '../shared/map-limited';
import { ArchivedObjects, archiveReportKey, isArchived, writeArchiveReport } from './archived-objects';
import {
  type Continuation,
  type ListOutput,
  type ListTotals,
  type ManifestLocation,
  manifestKey,
  ZERO_TOTALS,
} from './contract';
import { IdentityRecordLookup, syncEntryOfOneKey } from './identity-lookup';
import { compareKeys } from './key-order';
import { type ManifestPosition, selectFromManifest } from './manifest';
import { isDeleteCandidate, recordDeletes } from './mirror-deletes';
import { createObjectFilter } from './object-filter';
import { listPagesChecked, listPagesOrdered } from './ordered-listing';
import { planBatches } from './planner';
import { planForRates } from './rate-plan';
import type { ObjectRef } from './s3-events';
import { findByListing, toManifestObject } from './s3-listing';
import { needsIdentityRecord, syncEntry, TargetCursor } from './sync-merge';

/** Leave this much of the Lambda's time for planning, writing the manifest and returning. */
export const DEFAULT_TIME_MARGIN_MS = 60_000;
/** HEAD requests in flight at once in keys mode. */
const HEAD_CONCURRENCY = 16;

export interface SliceClients {
  /** Lists (and in keys mode HEADs) the source bucket. */
  source: S3Client;
  /** Lists the target bucket, acting as the target role; only called in sync mode. */
  target: () => Promise<S3Client>;
  /** Writes manifests to the state bucket. */
  state: S3Client;
  /** Reads a source manifest (default: the source client). */
  manifest?: S3Client;
}

export interface ListSliceParams {
  job: Job;
  jobId: string;
  continuation?: Continuation | null;
  /** Keys mode: the objects named by S3 events. Undefined: list the source prefix. */
  refs?: readonly ObjectRef[];
  clients: SliceClients;
  stateBucket: string;
  /** The invocation's remaining time (Lambda context); default: no limit. */
  timeLeftMs?: () => number;
  /** Stop taking more objects once the remaining time falls below this (default 60 s). */
  marginMs?: number;
  /**
   * What the job's copies measured up to the previous slice (the handler combines the continuation's
   * rates with the previous Map Run's); default: the continuation's. Absent: planned by the model.
   */
  rates?: MeasuredRates;
  /**
   * The Distributed Map's MaxConcurrency (the deployment's S3XCOPY_MAP_MAX_CONCURRENCY): batches are
   * planned in whole rounds of it (planBatches, parallelism). Absent: the fewest batches the limits allow.
   */
  mapMaxConcurrency?: number;
}

/** What a slice took from the source, before planning. */
interface SliceSelection {
  selected: ManifestObject[];
  counts: Omit<ListTotals, 'bytes'>;
  /** The last key taken; the next slice starts after it. */
  lastTaken: string | undefined;
  /** Nothing is left after lastTaken. */
  exhausted: boolean;
  /** Sync mode: the slice stopped in the middle of the merge, after this target key (see Continuation). */
  targetStartAfter?: string;
  /** Archived objects the slice skipped. */
  archived?: ArchivedObjects;
  /** With options.delete: the target-only keys the merge found, and the target objects it walked. */
  deletes?: { keys: string[]; targetListed: number };
  /** A manifest job: where the next slice resumes in the manifest, and its row count once validated. */
  manifestPosition?: ManifestPosition;
  manifestRows?: number;
}

/**
 * A slice of a manifest job (functions/list/manifest.ts), its archived rows settled
 * as listed ones are.
 */
async function selectFromManifestSlice(
  params: ListSliceParams,
  continuation: Continuation | null,
  outOfTime: () => boolean,
): Promise<SliceSelection> {
  const { job } = params;
  const result = await selectFromManifest({
    job,
    position: continuation?.manifest,
    clients: {
      manifest: params.clients.manifest ?? params.clients.source,
      source: params.clients.source,
      target: params.clients.target,
      state: { s3: params.clients.state, bucket: params.stateBucket },
    },
    outOfTime,
    filter: createObjectFilter(job),
    isArchived,
  });
  const counts = { ...result.counts, skippedByReason: { ...result.counts.skippedByReason } };
  const archived = new ArchivedObjects(params.clients.source, job);
  for (const object of result.archived) archived.add(object);
  const selected = [...result.selected, ...(await archived.drain((reason) => skip(counts, reason)))];
  return {
    selected,
    counts,
    lastTaken: undefined,
    exhausted: result.position === null,
    archived,
    ...(result.position ? { manifestPosition: result.position } : {}),
    ...(result.rows !== undefined ? { manifestRows: result.rows } : {}),
  };
}

/**
 * Lists one bounded slice of the job's source (or of the event batch's keys), selects objects with the
 * job's filter, drops those the target already has in sync mode, plans balanced batches, writes the
 * slice's manifest to the state bucket and returns the list function's output.
 *
 * A slice ends when `sliceMaxObjects` objects are in its manifest or the remaining time falls below the
 * margin (checked before each source page and, in sync mode, each target page; at least one page of
 * each is always taken, so every slice makes progress). The continuation names the last key taken (and,
 * when the slice stopped in the middle of the merge, the last target key passed over), so the next slice
 * starts exactly after it: no key is lost or listed twice, whatever the page boundaries. A retried slice
 * rewrites the same manifest part.
 */
export async function listSlice(params: ListSliceParams): Promise<ListOutput> {
  const { job, jobId, stateBucket } = params;
  const continuation = params.continuation ?? null;
  const sliceNumber = continuation?.slice ?? 0;
  const before = continuation?.totals ?? ZERO_TOTALS;
  const timeLeftMs = params.timeLeftMs ?? (() => Number.POSITIVE_INFINITY);
  const marginMs = params.marginMs ?? DEFAULT_TIME_MARGIN_MS;
  const outOfTime = () => timeLeftMs() < marginMs;

  // A job with source.manifest reads its objects from it (functions/list/manifest.ts).
  const selection = params.refs
    ? await selectFromKeys(params, params.refs, continuation?.startAfter, outOfTime)
    : job.source.manifest
      ? await selectFromManifestSlice(params, continuation, outOfTime)
      : await selectFromListing(params, continuation, outOfTime);

  const rates = params.rates ?? continuation?.rates;
  const plan = planForRates(
    { maxObjectsPerBatch: job.options.maxObjectsPerBatch, maxBytesPerBatch: job.options.maxBytesPerBatch },
    rates,
  );
  const batches = planBatches(
    selection.selected,
    {
      maxObjectsPerBatch: plan.maxObjectsPerBatch,
      maxBytesPerBatch: plan.maxBytesPerBatch,
      ...(params.mapMaxConcurrency ? { parallelism: params.mapMaxConcurrency } : {}),
    },
    `s${sliceNumber}-b`,
  );
  const bytes = batches.reduce((sum, batch) => sum + batch.bytes, 0);
  let manifest: ManifestLocation | null = null;
  if (batches.length > 0) {
    manifest = { bucket: stateBucket, key: manifestKey(jobId, sliceNumber) };
    await writeManifest(params.clients.state, manifest, JSON.stringify(batches));
  }
  if (selection.deletes && selection.deletes.keys.length > 0) {
    await recordDeletes(params.clients.state, stateBucket, jobId, sliceNumber, selection.deletes.keys);
  }
  const archivedEntries = selection.archived?.entries ?? [];
  if (archivedEntries.length > 0) {
    await writeArchiveReport(params.clients.state, stateBucket, archiveReportKey(jobId, sliceNumber), archivedEntries);
  }

  const skippedByReason = { ...before.skippedByReason };
  for (const [reason, count] of Object.entries(selection.counts.skippedByReason)) {
    skippedByReason[reason] = (skippedByReason[reason] ?? 0) + count;
  }
  const totals: ListTotals = {
    listed: before.listed + selection.counts.listed,
    selected: before.selected + selection.counts.selected,
    skipped: before.skipped + selection.counts.skipped,
    bytes: before.bytes + bytes,
    selectedBytes: before.selectedBytes + selection.counts.selectedBytes,
    skippedByReason,
    ...(selection.manifestRows !== undefined ? { manifestRows: selection.manifestRows } : {}),
    ...(before.provenByRecord || selection.counts.provenByRecord
      ? { provenByRecord: (before.provenByRecord ?? 0) + (selection.counts.provenByRecord ?? 0) }
      : {}),
    ...(selection.deletes
      ? {
          toDelete: (before.toDelete ?? 0) + selection.deletes.keys.length,
          targetListed: (before.targetListed ?? 0) + selection.deletes.targetListed,
        }
      : {}),
  };
  const startAfter = selection.lastTaken ?? continuation?.startAfter;
  const manifestPosition = selection.manifestPosition;
  // A target position still applies while no source key has been taken since it was recorded.
  const targetStartAfter =
    selection.targetStartAfter ?? (selection.lastTaken === undefined ? continuation?.targetStartAfter : undefined);
  return {
    job,
    jobId,
    manifest,
    slice: { number: sliceNumber, objects: selection.selected.length, bytes, batches: batches.length },
    totals,
    continuation: selection.exhausted
      ? null
      : {
          ...(startAfter === undefined ? {} : { startAfter }),
          ...(targetStartAfter === undefined ? {} : { targetStartAfter }),
          ...(manifestPosition ? { manifest: manifestPosition } : {}),
          slice: sliceNumber + 1,
          totals,
          ...(rates ? { rates } : {}),
        },
    dryRun: job.options.dryRun,
    plan,
    mapRun: null,
  };
}

async function writeManifest(state: S3Client, location: ManifestLocation, body: string): Promise<void> {
  try {
    await state.send(
      new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: body, ContentType: 'application/json' }),
    );
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === 'NoSuchBucket' || code === 'AccessDenied') {
      throw new BucketAccessError(
        location.bucket,
        'state',
        code,
        `writing the manifest ${location.key} failed: ${errorMessage(error)}`,
      );
    }
    throw error;
  }
}

/**
 * The folder marker of the source prefix itself ("data/" under prefix "data/") maps onto the empty key
 * when the target has no prefix: S3 has no such object (the request would address the bucket). It is
 * skipped with the reason 'prefixMarker'; with a target prefix it maps onto that prefix's own marker.
 */
function mapsToNoKey(job: Job, key: string): boolean {
  return targetKeyFor(job, key) === '';
}

function newCounts(): SliceSelection['counts'] {
  return { listed: 0, selected: 0, skipped: 0, selectedBytes: 0, skippedByReason: {} };
}

function skip(counts: SliceSelection['counts'], reason: SkipReason): void {
  counts.skipped++;
  counts.skippedByReason[reason] = (counts.skippedByReason[reason] ?? 0) + 1;
}

/**
 * Bucket mode: the source prefix's listing, merged with the target's in sync mode. The time is checked
 * before each source page but the first, and in sync mode before each target page but the first: a
 * run of target-only keys can hold any number of pages between two source keys. A slice stopped there
 * ends before the source key being looked up and records the last target key passed over.
 */
async function selectFromListing(
  params: ListSliceParams,
  continuation: Continuation | null,
  outOfTime: () => boolean,
): Promise<SliceSelection> {
  const { job } = params;
  const cap = job.options.sliceMaxObjects;
  const filter = createObjectFilter(job);
  const startAfter = continuation?.startAfter;
  const deleteKeys: string[] = [];
  const deletes = job.options.delete && job.options.mode === 'sync';
  const cursor =
    job.options.mode === 'sync'
      ? await openTargetCursor(params, continuation, outOfTime, deletes ? { filter, deleteKeys } : undefined)
      : undefined;
  const records = cursor ? new IdentityRecordLookup(params.clients.state, params.stateBucket, job) : undefined;
  const selected: ManifestObject[] = [];
  const counts = newCounts();
  const archived = new ArchivedObjects(params.clients.source, job);
  // The same pages in the same order, several partitions of the prefix listed at once.
  const pages = listPagesOrdered(
    params.clients.source,
    {
      bucket: job.source.bucket,
      prefix: job.source.prefix,
      ...(startAfter === undefined ? {} : { startAfter }),
      role: 'source',
      ...(job.options.requestPayer ? { requestPayer: true } : {}),
    },
    {
      concurrency: job.options.listConcurrency ?? DEFAULT_LIST_CONCURRENCY,
      // Each key taken selects at most one object, so the slice takes at least this many more keys
      // (more when keys are filtered out or found current): read-ahead past them would be dropped.
      keysWanted: () => cap - selected.length - archived.pending,
    },
  );

  const settleArchived = async () => {
    selected.push(...(await archived.drain((reason) => skip(counts, reason))));
  };
  let lastTaken: string | undefined;
  let pagesTaken = 0;
  const end = async (selection: SliceSelection): Promise<SliceSelection> => {
    await pages.return(undefined);
    // Mirror deletes: the source is done, so every target key left is target-only.
    if (deletes && selection.exhausted) await cursor?.drain();
    await cursor?.close();
    await records?.close();
    if (records?.proven) counts.provenByRecord = records.proven;
    await settleArchived();
    return {
      ...selection,
      archived,
      ...(deletes ? { deletes: { keys: deleteKeys, targetListed: cursor?.seen ?? 0 } } : {}),
    };
  };
  for (;;) {
    if (pagesTaken > 0 && outOfTime()) return end({ selected, counts, lastTaken, exhausted: false });
    const next = await pages.next();
    if (next.done) return end({ selected, counts, lastTaken, exhausted: true });
    pagesTaken++;
    const { objects, more } = next.value;
    for (let i = 0; i < objects.length; i++) {
      const object = objects[i] as ManifestObject;
      const wanted = filter(object);
      let target: ManifestObject | undefined;
      // Mirror deletes look up every source key, so a target object whose source is filtered out is not
      // mistaken for a target-only one.
      if ((wanted || deletes) && cursor) {
        const lookup = await cursor.find(targetKeyFor(job, object.key));
        if (lookup.kind === 'paused') {
          return end({ selected, counts, lastTaken, exhausted: false, targetStartAfter: lookup.after });
        }
        target = lookup.kind === 'found' ? lookup.object : undefined;
      }
      counts.listed++;
      const previous = lastTaken ?? startAfter;
      lastTaken = object.key;
      if (!wanted) continue;
      counts.selected++;
      counts.selectedBytes += object.size;
      if (mapsToNoKey(job, object.key)) {
        skip(counts, 'prefixMarker');
        continue;
      }
      const entry = target ? await syncWithRecords(job, object, target, records, previous) : object;
      if (!entry) {
        skip(counts, 'unchanged');
        continue;
      }
      if (isArchived(entry)) archived.add(entry);
      else selected.push(entry);
      if (selected.length + archived.pending >= cap) {
        return end({ selected, counts, lastTaken, exhausted: i === objects.length - 1 && !more });
      }
    }
    await settleArchived();
    if (!more) return end({ selected, counts, lastTaken, exhausted: true });
  }
}

/**
 * The sync rule on one source object and its target (syncEntry), with the target key's identity record
 * where only a record can tell (same size, different ETags): read from the records' listing, started
 * after the previous source key of the slice the first time a slice needs one.
 */
async function syncWithRecords(
  job: Job,
  object: ManifestObject,
  target: ManifestObject,
  records: IdentityRecordLookup | undefined,
  previous: string | undefined,
): Promise<ManifestObject | undefined> {
  if (!records || !needsIdentityRecord(object, target)) return syncEntry(object, target);
  const after = previous === undefined ? undefined : targetKeyFor(job, previous);
  const recordEtag = await records.recordEtag(targetKeyFor(job, object.key), after);
  const entry = syncEntry(object, target, recordEtag);
  // Counted when skipped; one sent for a settings check is counted by the copy worker's outcome.
  if (entry === undefined) records.proven++;
  return entry;
}

/**
 * Sync mode: the target's listing, from where the previous slice stopped in it (or from the target key
 * of the last source key taken). With mirror deletes, every target-only key the filter would have
 * selected is collected into deleteKeys as the cursor passes over it.
 */
async function openTargetCursor(
  params: ListSliceParams,
  continuation: Continuation | null,
  outOfTime: () => boolean,
  deletes: { filter: ReturnType<typeof createObjectFilter>; deleteKeys: string[] } | undefined,
): Promise<TargetCursor> {
  const { job } = params;
  const startAfter = continuation?.startAfter;
  const targetStartAfter =
    continuation?.targetStartAfter ?? (startAfter === undefined ? undefined : targetKeyFor(job, startAfter));
  return new TargetCursor(
    listPagesChecked(await params.clients.target(), {
      bucket: job.target.bucket,
      prefix: job.target.prefix,
      ...(targetStartAfter === undefined ? {} : { startAfter: targetStartAfter }),
      role: 'target',
    }),
    {
      shouldPause: outOfTime,
      ...(deletes
        ? {
            onTargetOnly: (object: ManifestObject) => {
              if (isDeleteCandidate(job, deletes.filter, object)) deletes.deleteKeys.push(object.key);
            },
          }
        : {}),
    },
  );
}

/**
 * Keys mode: HEAD each event's object (in S3 order of its primary key, after startAfter), filter, and
 * in sync mode check the target. An object's candidate keys (s3-events.ts) are HEADed in order, the
 * next only while the earlier ones are missing.
 */
async function selectFromKeys(
  params: ListSliceParams,
  refs: readonly ObjectRef[],
  startAfter: string | undefined,
  outOfTime: () => boolean,
): Promise<SliceSelection> {
  const { job } = params;
  const cap = job.options.sliceMaxObjects;
  const filter = createObjectFilter(job);
  const candidatesByPrimary = new Map<string, string[]>();
  for (const ref of refs) {
    if (ref.bucket !== job.source.bucket) continue;
    const inPrefix = [ref.key, ...(ref.fallbackKeys ?? [])].filter((key) => key.startsWith(job.source.prefix));
    const [primary] = inPrefix;
    if (primary === undefined) continue;
    const known = candidatesByPrimary.get(primary) ?? [];
    candidatesByPrimary.set(primary, [...new Set([...known, ...inPrefix])]);
  }
  const keys = [...candidatesByPrimary.keys()]
    .sort(compareKeys)
    .filter((key) => startAfter === undefined || compareKeys(key, startAfter) > 0);
  const target = job.options.mode === 'sync' ? await params.clients.target() : undefined;

  type Outcome =
    | { kind: 'vanished' }
    | { kind: 'filtered'; key: string }
    | { kind: 'current'; key: string; size: number }
    | { kind: 'copy'; object: ManifestObject };
  const examine = async (primary: string): Promise<Outcome> => {
    let object: ManifestObject | undefined;
    for (const candidate of candidatesByPrimary.get(primary) ?? [primary]) {
      object = await headSource(params.clients.source, job.source.bucket, candidate, job.options.requestPayer);
      if (object) break;
    }
    if (!object) return { kind: 'vanished' };
    if (!filter(object)) return { kind: 'filtered', key: object.key };
    if (target) {
      const existing = await findByListing(target, job.target.bucket, targetKeyFor(job, object.key), 'target');
      const state = { s3: params.clients.state, bucket: params.stateBucket };
      const entry = existing ? await syncEntryOfOneKey(state, job, object, existing) : object;
      if (!entry) return { kind: 'current', key: object.key, size: object.size };
      return { kind: 'copy', object: entry };
    }
    return { kind: 'copy', object };
  };

  const selected: ManifestObject[] = [];
  const counts = newCounts();
  const archived = new ArchivedObjects(params.clients.source, job);
  const done = async (selection: Omit<SliceSelection, 'archived'>): Promise<SliceSelection> => {
    selected.push(...(await archived.drain((reason) => skip(counts, reason))));
    return { ...selection, archived };
  };
  // Stored keys this slice has examined: two events can resolve to one object ("a+b" falling back to
  // the raw key, "a%2Bb" decoding to it), which must not be copied or counted twice.
  const resolved = new Set<string>();
  let lastTaken: string | undefined;
  const chunkSize = HEAD_CONCURRENCY * 4;
  for (let start = 0; start < keys.length; start += chunkSize) {
    if (start > 0 && outOfTime()) return done({ selected, counts, lastTaken, exhausted: false });
    const chunk = keys.slice(start, start + chunkSize);
    const outcomes = await mapLimited(chunk, HEAD_CONCURRENCY, examine);
    for (let i = 0; i < chunk.length; i++) {
      const outcome = outcomes[i] as Outcome;
      lastTaken = chunk[i];
      const storedKey =
        outcome.kind === 'copy' ? outcome.object.key : outcome.kind === 'vanished' ? undefined : outcome.key;
      if (storedKey !== undefined) {
        if (resolved.has(storedKey)) continue;
        resolved.add(storedKey);
      }
      counts.listed++;
      if (outcome.kind === 'filtered') continue;
      counts.selected++;
      if (outcome.kind === 'vanished') {
        skip(counts, 'vanished');
        continue;
      }
      counts.selectedBytes += outcome.kind === 'copy' ? outcome.object.size : outcome.size;
      if (outcome.kind === 'copy' && mapsToNoKey(job, outcome.object.key)) {
        skip(counts, 'prefixMarker');
        continue;
      }
      if (outcome.kind === 'current') {
        skip(counts, 'unchanged');
        continue;
      }
      if (isArchived(outcome.object)) archived.add(outcome.object);
      else selected.push(outcome.object);
      if (selected.length + archived.pending >= cap) {
        return done({ selected, counts, lastTaken, exhausted: start + i === keys.length - 1 });
      }
    }
  }
  return done({ selected, counts, lastTaken, exhausted: true });
}

/**
 * HEADs a source object; undefined when it no longer exists (deleted after its event). S3 answers 403
 * instead of 404 for a missing key when the caller's s3:ListBucket does not cover the request (e.g. a
 * prefix-conditioned grant), so a 403 is settled by listing the key, which the role may always do.
 */
async function headSource(
  s3: S3Client,
  bucket: string,
  key: string,
  requestPayer = false,
): Promise<ManifestObject | undefined> {
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, ...(requestPayer ? { RequestPayer: 'requester' } : {}) }),
    );
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === 'NotFound' || code === 'NoSuchKey' || httpStatusOf(error) === 404) return undefined;
    if (code === 'Forbidden' || code === 'AccessDenied' || httpStatusOf(error) === 403) {
      if (!(await findByListing(s3, bucket, key, 'source', requestPayer))) return undefined;
      throw new BucketAccessError(
        bucket,
        'source',
        code,
        `HeadObject on ${key} was refused although the key exists: the list function's role needs s3:GetObject on the source prefix for S3 event batches`,
      );
    }
    throw error;
  }
  return toManifestObject({
    Key: key,
    Size: head.ContentLength ?? 0,
    ...(head.ETag ? { ETag: head.ETag } : {}),
    ...(head.LastModified ? { LastModified: head.LastModified } : {}),
    ...(head.StorageClass ? { StorageClass: head.StorageClass } : {}),
  });
}
