/**
 * The objects to copy come from a manifest instead of a listing of the source prefix,
 * as S3 Batch Operations takes them:
 *
 * - a CSV object, one object a line: `bucket,key[,versionId]`, the key URL-encoded (form encoding: `+` or
 *   `%20` is a space, a literal `+` is `%2B`), fields optionally in double quotes; if one row names a
 *   version every row must (Batch Operations' rule: a manifest with a VersionId column has it throughout);
 * - an S3 Inventory report: its `manifest.json` names gzip CSV data files (in the inventory's destination
 *   bucket) and `fileSchema` their columns; `Bucket` and `Key` are required, `VersionId` and
 *   `IsDeleteMarker` used when present (delete markers are not objects and are passed over).
 *
 * Every row must name the job's source bucket and a key under its prefix: the target key is the source key
 * with the source prefix replaced, and the list and copy roles may read nothing else. A row that breaks a
 * rule fails the job with its line number BEFORE any copy: the first slices of a manifest job only validate
 * (the whole manifest, in bounded slices that write no manifest part), and only then are the rows read
 * again, HEADed (size, ETag, storage class: what the listing gives elsewhere) and planned into batches. Why
 * not validate as we go: the state machine copies each slice's batches before listing the next, so a bad
 * line in the second slice would fail a job that had already copied the first; reading a manifest twice
 * costs one more GET of it, while a half-done job costs a clean-up.
 *
 * Positions: a CSV is read from a byte offset (a ranged GET, pinned to the ETag the first slice saw, so a
 * manifest replaced mid-job fails the job instead of shifting every position); a gzip data file cannot be
 * entered in the middle, so its position is a line count that the next slice skips again.
 */
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { awsErrorCode, BucketAccessError, errorMessage, httpStatusOf } from '../shared/errors';
import { type Job, type ManifestObject, type ManifestRef, manifestFormatOf, targetKeyFor } from '../shared/job';
import { mapLimited } from '../shared/map-limited';
import { sourcePayer } from '../shared/request-payer';
import { syncEntryOfOneKey } from './identity-lookup';
import { findByListing, toManifestObject } from './s3-listing';
import { decodeFormUrl } from './s3-url-encoding';

/** A manifest that cannot be used: a malformed row (with its line), a missing file, a replaced manifest. Never retried. */
export class InvalidManifestError extends Error {
  constructor(detail: string) {
    super(`Invalid manifest: ${detail}`);
    this.name = 'InvalidManifestError';
  }
}

/** Where the next slice resumes in a manifest (part of the list step's continuation). */
export const ManifestPositionSchema = z
  .object({
    /** 'validate': the first pass, which copies nothing; 'read': the rows are being planned into batches. */
    phase: z.enum(['validate', 'read']),
    /** Index of the data file (0 for a CSV manifest). */
    file: z.number().int().nonnegative(),
    /** Lines of that file consumed so far. */
    line: z.number().int().nonnegative(),
    /** Bytes of that file consumed so far (CSV: the next ranged GET starts here). */
    offset: z.number().int().nonnegative(),
    /** Rows validated so far (in 'read': all of them). */
    rows: z.number().int().nonnegative(),
    /** The CSV manifest's ETag when the job started: later reads are pinned to it. */
    etag: z.string().optional(),
  })
  .strict();
export type ManifestPosition = z.infer<typeof ManifestPositionSchema>;

/** One object a manifest names, with the line that names it (1-based, of its file). */
export interface ManifestRow {
  line: number;
  key: string;
  versionId?: string;
}

/** A data file of the manifest and how to read its rows. */
export interface ManifestFile {
  bucket: string;
  key: string;
  gzip: boolean;
  /** Column indexes; versionId/deleteMarker/size absent when the file has no such column. */
  columns: {
    bucket: number;
    key: number;
    versionId?: number;
    deleteMarker?: number;
    /** An Inventory of all versions: rows of noncurrent versions are passed over (IsLatest false). */
    isLatest?: number;
    size?: number;
  };
  /** CSV only: every row must have a version if any has (checked in the validate pass). */
  uniformVersions: boolean;
}

/**
 * Splits one CSV line into fields: commas separate, a field may be quoted ("a,b"), and a quote inside a
 * quoted field is doubled (""). Returns undefined for an unterminated quote.
 */
export function splitCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote < 0) return undefined;
        value += line.slice(i, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') return undefined;
      i++;
    } else {
      const comma = line.indexOf(',', i);
      if (comma < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

/**
 * Parses one manifest line into a row of the job's source, or says what is wrong with it.
 * @returns the row, `null` for a line that names no object (empty, or an Inventory delete marker), or a
 *   problem (a sentence without the line number)
 */
export function parseManifestLine(
  text: string,
  line: number,
  file: Pick<ManifestFile, 'columns' | 'gzip'>,
  job: Pick<Job, 'source'>,
): ManifestRow | null | { problem: string } {
  if (text.trim() === '') return null;
  const fields = splitCsvLine(text);
  if (!fields) return { problem: 'has an unterminated quoted field' };
  const { columns } = file;
  const bucket = fields[columns.bucket];
  const encodedKey = fields[columns.key];
  if (bucket === undefined || encodedKey === undefined) {
    return { problem: `has ${fields.length} field(s); expected bucket,key[,versionId]` };
  }
  if (!file.gzip && fields.length > 3) {
    return { problem: `has ${fields.length} fields; expected bucket,key[,versionId] (a comma in a key is %2C)` };
  }
  if (namesNoObject(fields, columns)) return null;
  if (bucket !== job.source.bucket) {
    return {
      problem: `names bucket "${bucket.slice(0, 80)}", not the job's source bucket ${job.source.bucket}: a job copies from one bucket; split the manifest or set --source s3://${bucket.slice(0, 63)}/`,
    };
  }
  let key: string;
  try {
    key = decodeFormUrl(encodedKey);
  } catch {
    return {
      problem: `has the key "${encodedKey.slice(0, 80)}", which is not URL-encoded correctly (a "%" must start %XX of UTF-8; write a literal % as %25)`,
    };
  }
  if (key === '') return { problem: 'has an empty key' };
  if (!key.startsWith(job.source.prefix)) {
    return {
      problem: `names the key "${key.slice(0, 80)}", outside the source prefix "${job.source.prefix}": the target key replaces that prefix; widen --source or drop the row`,
    };
  }
  const versionId = columns.versionId === undefined ? undefined : fields[columns.versionId];
  return { line, key, ...(versionId ? { versionId } : {}) };
}

/** The body of a GET as a stream of bytes. */
type ByteStream = AsyncIterable<Uint8Array>;

/** Splits a byte stream into lines, each with the byte offset just after it (its "\n"); a final line may lack one. */
export async function* linesOf(stream: ByteStream, startOffset = 0): AsyncGenerator<{ text: string; end: number }> {
  let pending: Buffer[] = [];
  let offset = startOffset;
  for await (const chunk of stream) {
    let buffer = Buffer.from(chunk);
    for (;;) {
      const newline = buffer.indexOf(0x0a);
      if (newline < 0) break;
      const bytes = Buffer.concat([...pending, buffer.subarray(0, newline)]);
      pending = [];
      offset += bytes.length + 1;
      yield { text: stripCr(bytes.toString('utf8')), end: offset };
      buffer = buffer.subarray(newline + 1);
    }
    if (buffer.length > 0) pending.push(buffer);
  }
  if (pending.length > 0) {
    const bytes = Buffer.concat(pending);
    offset += bytes.length;
    yield { text: stripCr(bytes.toString('utf8')), end: offset };
  }
}

const stripCr = (text: string) => (text.endsWith('\r') ? text.slice(0, -1) : text);

/** What a manifest job reads with: the client that may read the manifest, and the source's. */
export interface ManifestClients {
  /** Reads the manifest object(s) (the list role; s3:GetObject on the configured manifest location). */
  manifest: S3Client;
  /** HEADs the source objects. */
  source: S3Client;
  /** Lists the target in sync mode. */
  target: () => Promise<S3Client>;
  /** The state bucket: identity records, where a sync cannot decide from the target's ETag alone. */
  state?: { s3: S3Client; bucket: string };
}

/**
 * Whether reads of this bucket carry RequestPayer: a manifest kept in a Requester Pays source bucket is
 * refused without it like any other object there.
 */
function paysFor(job: Pick<Job, 'source' | 'options'>, bucket: string): boolean {
  return job.options.requestPayer === true && bucket === job.source.bucket;
}

/** The manifest's data files: the CSV itself, or the files an Inventory manifest.json names. */
export async function manifestFiles(s3: S3Client, manifest: ManifestRef, payer: boolean): Promise<ManifestFile[]> {
  if (manifestFormatOf(manifest) === 'csv') {
    return [
      {
        bucket: manifest.bucket,
        key: manifest.key,
        gzip: false,
        columns: { bucket: 0, key: 1, versionId: 2 },
        uniformVersions: true,
      },
    ];
  }
  const text = await (await getObject(s3, manifest.bucket, manifest.key, payer)).text();
  return parseInventoryManifest(text, manifest);
}

const InventoryManifestSchema = z.object({
  sourceBucket: z.string().min(1),
  destinationBucket: z.string().min(1),
  fileFormat: z.string(),
  fileSchema: z.string().min(1),
  files: z.array(z.object({ key: z.string().min(1) })).min(1),
});

/**
 * Reads an S3 Inventory manifest.json: its data files live in the destination bucket (given as an ARN),
 * and fileSchema names their columns in order.
 * @throws InvalidManifestError when it is not a CSV inventory or lacks the Bucket and Key columns
 */
export function parseInventoryManifest(text: string, manifest: ManifestRef): ManifestFile[] {
  const where = `s3://${manifest.bucket}/${manifest.key}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidManifestError(`${where} is not JSON (${errorMessage(error)}): an S3 Inventory manifest.json is`);
  }
  const parsed = InventoryManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidManifestError(
      `${where} is not an S3 Inventory manifest.json (needs sourceBucket, destinationBucket, fileFormat, fileSchema, files): ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`,
    );
  }
  const inventory = parsed.data;
  if (inventory.fileFormat.toUpperCase() !== 'CSV') {
    throw new InvalidManifestError(
      `${where} describes a ${inventory.fileFormat} inventory; s3xcopy reads CSV inventories only: configure the inventory with the CSV format`,
    );
  }
  const names = inventory.fileSchema.split(',').map((name) => name.trim());
  const bucketColumn = names.indexOf('Bucket');
  const keyColumn = names.indexOf('Key');
  if (bucketColumn < 0 || keyColumn < 0) {
    throw new InvalidManifestError(`${where}: fileSchema "${inventory.fileSchema}" has no Bucket and Key columns`);
  }
  const versionColumn = names.indexOf('VersionId');
  const deleteMarkerColumn = names.indexOf('IsDeleteMarker');
  const isLatestColumn = names.indexOf('IsLatest');
  const sizeColumn = names.indexOf('Size');
  const destination = inventory.destinationBucket.replace(/^arn:aws[a-z-]*:s3:::/, '');
  return inventory.files.map((file) => ({
    bucket: destination,
    key: file.key,
    gzip: true,
    columns: {
      bucket: bucketColumn,
      key: keyColumn,
      ...(versionColumn >= 0 ? { versionId: versionColumn } : {}),
      ...(deleteMarkerColumn >= 0 ? { deleteMarker: deleteMarkerColumn } : {}),
      ...(isLatestColumn >= 0 ? { isLatest: isLatestColumn } : {}),
      ...(sizeColumn >= 0 ? { size: sizeColumn } : {}),
    },
    uniformVersions: false,
  }));
}

interface GotObject {
  stream: ByteStream;
  etag: string | undefined;
  text(): Promise<string>;
}

/** GETs a manifest object (a range of it from `offset`, pinned to `etag` when given). */
async function getObject(
  s3: S3Client,
  bucket: string,
  key: string,
  payer: boolean,
  offset = 0,
  etag?: string,
): Promise<GotObject> {
  try {
    const response = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(payer ? { RequestPayer: 'requester' } : {}),
        ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
        ...(etag ? { IfMatch: etag } : {}),
      }),
    );
    const body = response.Body as (ByteStream & { transformToString(): Promise<string> }) | undefined;
    if (!body) throw new InvalidManifestError(`GetObject on s3://${bucket}/${key} returned no body`);
    return { stream: body, etag: response.ETag, text: () => body.transformToString() };
  } catch (error) {
    if (error instanceof InvalidManifestError) throw error;
    const code = awsErrorCode(error);
    const status = httpStatusOf(error);
    if (code === 'PreconditionFailed' || status === 412) {
      throw new InvalidManifestError(
        `s3://${bucket}/${key} was replaced while the job read it: its positions no longer hold; start a new job`,
      );
    }
    // A range that starts at the end of the object: nothing left to read.
    if (code === 'InvalidRange' || status === 416) {
      return { stream: (async function* () {})(), etag, text: async () => '' };
    }
    if (code === 'NoSuchKey' || code === 'NoSuchBucket' || status === 404) {
      throw new InvalidManifestError(
        `s3://${bucket}/${key} does not exist (${code}): check the manifest's bucket and key (--manifest)`,
      );
    }
    if (code === 'AccessDenied' || status === 403) {
      throw new BucketAccessError(
        bucket,
        'source',
        code,
        `reading the manifest s3://${bucket}/${key} was refused: the list role needs s3:GetObject on it (deployment config "manifests": { "bucket", "prefix" })`,
      );
    }
    throw error;
  }
}

/** The rows of one data file from a position on, each with the position after it. */
async function* rowsOf(
  s3: S3Client,
  payer: boolean,
  file: ManifestFile,
  from: { line: number; offset: number; etag?: string },
): AsyncGenerator<{ text: string; line: number; offset: number; etag: string | undefined }> {
  if (file.gzip) {
    const got = await getObject(s3, file.bucket, file.key, payer);
    const gunzip = createGunzip();
    // pipeline destroys the gunzip stream when the GET fails, so the loop below throws instead of waiting.
    pipeline(Readable.from(got.stream), gunzip, () => undefined);
    let line = 0;
    try {
      for await (const { text } of linesOf(gunzip)) {
        line++;
        if (line <= from.line) continue;
        yield { text, line, offset: 0, etag: undefined };
      }
    } catch (error) {
      if (error instanceof InvalidManifestError) throw error;
      throw new InvalidManifestError(
        `s3://${file.bucket}/${file.key} is not a readable gzip file (${errorMessage(error)}): Inventory data files are CSV gzip`,
      );
    } finally {
      gunzip.destroy();
    }
    return;
  }
  const got = await getObject(s3, file.bucket, file.key, payer, from.offset, from.etag);
  let line = from.line;
  for await (const { text, end } of linesOf(got.stream, from.offset)) {
    line++;
    yield { text, line, offset: end, etag: got.etag ?? from.etag };
  }
}

/** A slice's worth of a manifest job, in the shape list-slice.ts plans from. */
export interface ManifestSelection {
  selected: ManifestObject[];
  counts: {
    listed: number;
    selected: number;
    skipped: number;
    selectedBytes: number;
    skippedByReason: Record<string, number>;
  };
  /** Archived objects among the selected (list-slice.ts settles them as it does listed ones). */
  archived: ManifestObject[];
  /** Null when the manifest is done. */
  position: ManifestPosition | null;
  /** The manifest's row count, once the validate pass has finished. */
  rows?: number;
}

export interface ManifestSliceParams {
  job: Job;
  position: ManifestPosition | undefined;
  clients: ManifestClients;
  outOfTime: () => boolean;
  filter: (object: ManifestObject) => boolean;
  isArchived: (object: ManifestObject) => boolean;
}

/** HEADs in flight at once while reading a manifest. */
const HEAD_CONCURRENCY = 16;
/** Check the time every this many rows while validating. */
const VALIDATE_CHECK_EVERY = 1000;

/**
 * One slice of a manifest job: validates (first pass) and then reads, HEADs, filters and selects rows, up
 * to `sliceMaxObjects` objects or the time margin (checked between chunks of rows, so each slice moves on).
 * @throws InvalidManifestError naming the file and line of the first bad row, before anything is copied
 */
export async function selectFromManifest(params: ManifestSliceParams): Promise<ManifestSelection> {
  const { job } = params;
  const manifest = job.source.manifest;
  if (!manifest) throw new Error('selectFromManifest needs job.source.manifest');
  const files = await manifestFiles(params.clients.manifest, manifest, paysFor(job, manifest.bucket));
  let position: ManifestPosition = params.position ?? { phase: 'validate', file: 0, line: 0, offset: 0, rows: 0 };
  const counts: ManifestSelection['counts'] = {
    listed: 0,
    selected: 0,
    skipped: 0,
    selectedBytes: 0,
    skippedByReason: {},
  };
  const empty = (next: ManifestPosition | null): ManifestSelection => ({
    selected: [],
    counts,
    archived: [],
    position: next,
  });

  if (position.phase === 'validate') {
    const validated = await validateManifest(params, files, position);
    if (validated.phase === 'validate') return empty(validated);
    position = validated;
    if (params.outOfTime()) return empty(position);
  }
  return { ...(await readRows(params, files, position, counts)), rows: position.rows };
}

/**
 * Versioned rows whose keys the validate pass remembers to find a key named twice (about 100 bytes each):
 * a larger manifest is checked on its first rows only (README, "Manifests instead of listing").
 */
export const VERSIONED_KEYS_CHECKED = 200_000;

/** The validate pass, from `position` to the end or the time margin; returns where it stopped. */
async function validateManifest(
  params: ManifestSliceParams,
  files: ManifestFile[],
  start: ManifestPosition,
): Promise<ManifestPosition> {
  const { job } = params;
  let { file: fileIndex, line, offset, rows } = start;
  let etag = start.etag;
  let sinceCheck = 0;
  // Keys of versioned rows met in this pass, with their line: two versions of one key would both be copied
  // to the same target key, the last to finish winning. Bounded memory: checked up to VERSIONED_KEYS_CHECKED.
  const versionedKeys = new Map<string, { line: number; versionId: string }>();
  for (; fileIndex < files.length; fileIndex++, line = 0, offset = 0) {
    const file = files[fileIndex] as ManifestFile;
    let versioned: boolean | undefined;
    for await (const read of rowsOf(params.clients.manifest, paysFor(job, file.bucket), file, {
      line,
      offset,
      ...(etag ? { etag } : {}),
    })) {
      etag = file.gzip ? etag : read.etag;
      const row = parseManifestLine(read.text, read.line, file, job);
      if (row !== null && 'problem' in row) {
        throw new InvalidManifestError(
          `s3://${file.bucket}/${file.key} line ${read.line} ${row.problem}. Nothing was copied; fix the line and start the job again`,
        );
      }
      if (row !== null) {
        if (file.uniformVersions) {
          const has = row.versionId !== undefined;
          versioned ??= has;
          if (has !== versioned) {
            throw new InvalidManifestError(
              `s3://${file.bucket}/${file.key} line ${read.line} ${has ? 'names' : 'lacks'} a versionId while earlier rows ${has ? 'do not' : 'do'}: in a Batch Operations manifest either every row names a version or none does. Nothing was copied`,
            );
          }
        }
        if (row.versionId !== undefined && versionedKeys.size < VERSIONED_KEYS_CHECKED) {
          const earlier = versionedKeys.get(row.key);
          if (earlier !== undefined && earlier.versionId !== row.versionId) {
            throw new InvalidManifestError(
              `s3://${file.bucket}/${file.key} line ${read.line} names another version of ${row.key.slice(0, 200)} (line ${earlier.line} names ${earlier.versionId.slice(0, 100)}): every version would be copied to the same target key and the last copy to finish would win. Keep one row per key. Nothing was copied`,
            );
          }
          if (earlier === undefined) versionedKeys.set(row.key, { line: read.line, versionId: row.versionId });
        }
        rows++;
      }
      line = read.line;
      offset = read.offset;
      if (++sinceCheck >= VALIDATE_CHECK_EVERY) {
        sinceCheck = 0;
        if (params.outOfTime()) {
          return { phase: 'validate', file: fileIndex, line, offset, rows, ...(etag ? { etag } : {}) };
        }
      }
    }
  }
  return { phase: 'read', file: 0, line: 0, offset: 0, rows, ...(etag ? { etag } : {}) };
}

/** The read pass: rows from `start`, HEADed in chunks, until the slice is full, time is short or the end. */
async function readRows(
  params: ManifestSliceParams,
  files: ManifestFile[],
  start: ManifestPosition,
  counts: ManifestSelection['counts'],
): Promise<ManifestSelection> {
  const { job } = params;
  const cap = job.options.sliceMaxObjects;
  const target = job.options.mode === 'sync' ? await params.clients.target() : undefined;
  const selected: ManifestObject[] = [];
  const archived: ManifestObject[] = [];
  // Rows this slice took already: a manifest naming one version twice must not copy or count it twice.
  const seen = new Set<string>();
  let position: ManifestPosition = { ...start };
  let chunk: { row: ManifestRow; after: ManifestPosition }[] = [];

  const settleChunk = async () => {
    const outcomes = await mapLimited(chunk, HEAD_CONCURRENCY, ({ row }) => examine(params, row, target));
    for (let i = 0; i < chunk.length; i++) {
      const outcome = outcomes[i] as Examined;
      position = (chunk[i] as (typeof chunk)[number]).after;
      const row = (chunk[i] as (typeof chunk)[number]).row;
      const identity = `${row.key}\u0000${row.versionId ?? ''}`;
      if (seen.has(identity)) continue;
      seen.add(identity);
      counts.listed++;
      if (outcome.kind === 'filtered') continue;
      counts.selected++;
      if (outcome.kind === 'vanished') {
        countSkip(counts, 'vanished');
        continue;
      }
      counts.selectedBytes += outcome.object.size;
      if (targetKeyFor(job, outcome.object.key) === '') {
        countSkip(counts, 'prefixMarker');
        continue;
      }
      if (outcome.kind === 'current') {
        countSkip(counts, 'unchanged');
        continue;
      }
      if (params.isArchived(outcome.object)) archived.push(outcome.object);
      else selected.push(outcome.object);
    }
    chunk = [];
  };

  let fileIndex = start.file;
  for (; fileIndex < files.length; fileIndex++) {
    const file = files[fileIndex] as ManifestFile;
    const from = fileIndex === start.file ? { line: start.line, offset: start.offset } : { line: 0, offset: 0 };
    for await (const read of rowsOf(params.clients.manifest, paysFor(job, file.bucket), file, {
      ...from,
      ...(start.etag ? { etag: start.etag } : {}),
    })) {
      const row = parseManifestLine(read.text, read.line, file, job);
      const after: ManifestPosition = { ...start, file: fileIndex, line: read.line, offset: read.offset };
      if (row !== null && 'problem' in row) {
        // The validate pass read this line as good: the file changed since (Inventory files are not pinned).
        throw new InvalidManifestError(
          `s3://${file.bucket}/${file.key} line ${read.line} ${row.problem}; it changed after the job validated it. Start the job again`,
        );
      }
      if (row === null) {
        if (chunk.length === 0) position = after;
        else (chunk.at(-1) as (typeof chunk)[number]).after = after;
        continue;
      }
      chunk.push({ row, after });
      const room = cap - selected.length - archived.length;
      if (chunk.length >= Math.min(HEAD_CONCURRENCY * 4, room)) {
        await settleChunk();
        if (selected.length + archived.length >= cap || params.outOfTime()) {
          return { selected, counts, archived, position };
        }
      }
    }
    await settleChunk();
    // The next file starts at its beginning.
    position = { ...start, file: fileIndex + 1, line: 0, offset: 0 };
    if (fileIndex + 1 < files.length && (selected.length + archived.length >= cap || params.outOfTime())) {
      return { selected, counts, archived, position };
    }
  }
  return { selected, counts, archived, position: null };
}

function countSkip(counts: ManifestSelection['counts'], reason: string): void {
  counts.skipped++;
  counts.skippedByReason[reason] = (counts.skippedByReason[reason] ?? 0) + 1;
}

type Examined =
  | { kind: 'vanished' }
  | { kind: 'filtered' }
  | { kind: 'current'; object: ManifestObject }
  | { kind: 'copy'; object: ManifestObject };

/** HEADs a row's object (its version, when it names one), filters it and in sync mode checks the target. */
async function examine(params: ManifestSliceParams, row: ManifestRow, target: S3Client | undefined): Promise<Examined> {
  const { job } = params;
  const object = await headRow(params.clients.source, job, row);
  if (!object) return { kind: 'vanished' };
  if (!params.filter(object)) return { kind: 'filtered' };
  if (target) {
    const existing = await findByListing(target, job.target.bucket, targetKeyFor(job, object.key), 'target');
    const entry = existing ? await syncEntryOfOneKey(params.clients.state, job, object, existing) : object;
    if (!entry) return { kind: 'current', object };
    return { kind: 'copy', object: entry };
  }
  return { kind: 'copy', object };
}

/**
 * HEADs the object (or version) a row names: undefined when it does not exist (deleted since the manifest
 * was written). A version that does not exist is answered 404 (or 400 for a malformed id).
 */
async function headRow(s3: S3Client, job: Job, row: ManifestRow): Promise<ManifestObject | undefined> {
  const bucket = job.source.bucket;
  try {
    const head = await s3.send(
      new HeadObjectCommand({
        Bucket: bucket,
        Key: row.key,
        ...(row.versionId ? { VersionId: row.versionId } : {}),
        ...sourcePayer(job),
      }),
    );
    return {
      ...toManifestObject({
        Key: row.key,
        Size: head.ContentLength ?? 0,
        ...(head.ETag ? { ETag: head.ETag } : {}),
        ...(head.LastModified ? { LastModified: head.LastModified } : {}),
        ...(head.StorageClass ? { StorageClass: head.StorageClass } : {}),
      }),
      ...(row.versionId ? { versionId: row.versionId } : {}),
    };
  } catch (error) {
    const code = awsErrorCode(error);
    const status = httpStatusOf(error);
    if (code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchVersion' || status === 404) return undefined;
    if (code === 'Forbidden' || code === 'AccessDenied' || status === 403) {
      throw new BucketAccessError(
        bucket,
        'source',
        code,
        `HeadObject on ${row.key}${row.versionId ? ` version ${row.versionId}` : ''} (manifest line ${row.line}) was refused: the list role needs s3:GetObject${row.versionId ? ' and s3:GetObjectVersion' : ''} on the source prefix for manifest jobs${job.options.requestPayer ? '' : '; for a Requester Pays bucket add --request-payer'}`,
      );
    }
    if (status === 400 && row.versionId) {
      throw new InvalidManifestError(
        `line ${row.line} names version "${row.versionId}" of ${row.key}, which S3 refuses (${code}): is it a version id of this bucket?`,
      );
    }
    throw error;
  }
}

/** What `s3xcopy estimate --manifest` learns from a manifest: its rows, and their bytes when it has sizes. */
export interface ManifestCount {
  rows: number;
  /** The sum of the Size column (an Inventory report with Size); undefined for a CSV, which has no sizes. */
  bytes?: number;
  files: number;
}

/**
 * Whether an Inventory row names no object to copy: a delete marker, or a noncurrent version (every
 * version of a key would be copied to the same target key, the last to finish winning: an Inventory of
 * all versions copies each key's current version only).
 */
function namesNoObject(fields: string[], columns: { deleteMarker?: number; isLatest?: number }): boolean {
  const is = (column: number | undefined, value: string) =>
    column !== undefined && fields[column]?.toLowerCase() === value;
  return is(columns.deleteMarker, 'true') || is(columns.isLatest, 'false');
}

/**
 * Counts the objects a manifest names (delete markers, noncurrent versions and empty lines are not objects) without checking
 * them against a job: what the estimate needs, for one read of the manifest.
 * @throws InvalidManifestError when the manifest cannot be read or a line does not parse
 */
export async function countManifest(s3: S3Client, manifest: ManifestRef, payer = false): Promise<ManifestCount> {
  const files = await manifestFiles(s3, manifest, payer);
  let rows = 0;
  let bytes: number | undefined = files.every((file) => file.columns.size !== undefined) ? 0 : undefined;
  for (const file of files) {
    for await (const read of rowsOf(s3, payer, file, { line: 0, offset: 0 })) {
      if (read.text.trim() === '') continue;
      const fields = splitCsvLine(read.text);
      if (!fields || fields[file.columns.key] === undefined) {
        throw new InvalidManifestError(
          `s3://${file.bucket}/${file.key} line ${read.line} is not bucket,key[,versionId]`,
        );
      }
      if (namesNoObject(fields, file.columns)) continue;
      rows++;
      if (bytes !== undefined && file.columns.size !== undefined) bytes += Number(fields[file.columns.size] ?? 0) || 0;
    }
  }
  return { rows, files: files.length, ...(bytes === undefined ? {} : { bytes }) };
}
