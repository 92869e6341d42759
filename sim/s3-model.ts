/**
 * An in-memory model of S3 that stores no object bytes, usable as a real `S3Client`.
 *
 * `model.client()` returns an ordinary S3Client with one middleware added at the `initialize` step: it
 * answers each command from the model (by `context.commandName`) and never calls the next handler, so
 * unmodified product code doing `s3.send(new CopyObjectCommand(...))` runs against it with no network.
 * Objects hold a content descriptor (sim/content.ts) instead of bytes, so a million-object bucket fits
 * in memory and a test can still prove that a copy, or a multipart copy composed of part copies, holds
 * exactly its source's bytes. Small bodies written with PutObject (the state bucket's manifests and
 * records) are kept as bytes and GetObject returns them.
 *
 * What it enforces, as S3 documents it: CopyObject up to 5 GiB; UploadPartCopy parts numbered
 * 1..10,000 and 5 MiB..5 GiB except the last (checked at Complete, as S3 does), CopySourceIfMatch and
 * IfMatch (412), CompleteMultipartUpload's part order and ETags, multipart ETags "<md5>-N", listing in
 * UTF-8 byte order with Prefix, StartAfter, ContinuationToken, Delimiter, MaxKeys and EncodingType=url.
 * Errors are S3ServiceException instances shaped like the SDK's (name = the S3 code, $fault,
 * $metadata.httpStatusCode, $retryable for SlowDown).
 *
 * Hooks for simulations: fault injection per operation, request counters, per-partition rate limits
 * (503 SlowDown above them), a latency model and a clock (real, or sim/clock.ts's virtual one).
 *
 * Versions: every write keeps the object it replaces as a noncurrent version, and
 * HeadObject, GetObject, GetObjectTagging, CopyObject and UploadPartCopy (`?versionId=` in the copy source)
 * read the version a request names (NoSuchVersion, 404, for an unknown one). Delete markers and
 * ListObjectVersions are not modelled. Requester Pays (setRequesterPays): requests reading such a bucket,
 * including copies from it, are refused (403 AccessDenied) unless they carry RequestPayer=requester.
 *
 * Checksums (S3's "Checking object integrity"): an object holds at most one algorithm with a type.
 * PutObject and CopyObject store a FULL_OBJECT checksum of the algorithm asked for (CopyObject: the
 * source's when none is asked for); CreateMultipartUpload takes ChecksumAlgorithm and ChecksumType
 * (CRC64NVME only FULL_OBJECT, SHA1/SHA256 only COMPOSITE, CRC32/CRC32C either, COMPOSITE by default);
 * UploadPartCopy returns the part's checksum; CompleteMultipartUpload of a COMPOSITE upload needs every
 * part's checksum (InvalidRequest, S3's message) and refuses a wrong one, and a FULL_OBJECT whole-object
 * value that does not match the assembled bytes is a BadDigest. HEAD returns the checksum only with
 * ChecksumMode ENABLED; listings carry ChecksumAlgorithm and ChecksumType. Values are stand-ins derived
 * from the content descriptor (equal bytes, equal full-object value; composite "value-N" from the
 * parts'), not real CRCs. An object written without an algorithm has none (S3 now adds CRC64NVME:
 * seed `checksumAlgorithm` for that).
 *
 * SSE-KMS: an object written with SSE-KMS (the request's ServerSideEncryption `aws:kms` or SSEKMSKeyId,
 * the bucket's default set with `setDefaultEncryption`, or a seed's `kmsKeyId`) gets an ETag that is not
 * its MD5 and differs with every write, as on S3 (a multipart one keeps its `-N`); derived from the model's
 * `kmsSeed` and the write's version id, so a run repeats. A copy of such an object to a bucket without
 * SSE-KMS gets the bytes' MD5.
 *
 * Not modelled: ACL and policy evaluation, request abort signals (HttpHandlerOptions do not reach an
 * initialize-step middleware).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3Client, S3ServiceException, type Tag } from '@aws-sdk/client-s3';
import { THROTTLING_CODES } from '../functions/copy/error-kinds';
import { compareKeys } from '../functions/list/key-order';
import { type Clock, realClock } from './clock';
import {
  bytesOrigin,
  type Content,
  concatContent,
  contentDigest,
  contentSize,
  sliceContent,
  wholeOrigin,
} from './content';
import { type LatencyModel, PartitionRateLimiter, type RateLimitOptions, type RequestClass } from './limits';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** S3's documented limits the model enforces. */
export const MODEL_LIMITS = {
  maxCopyObjectBytes: 5 * GiB,
  minPartBytes: 5 * MiB,
  maxPartBytes: 5 * GiB,
  maxParts: 10_000,
  maxKeysPerPage: 1000,
} as const;

/** The operations the model answers (SDK command names without "Command"). */
export const MODEL_OPERATIONS = [
  'CreateBucket',
  'HeadBucket',
  'PutObject',
  'GetObject',
  'HeadObject',
  'DeleteObject',
  'GetObjectTagging',
  'PutObjectTagging',
  'CopyObject',
  'CreateMultipartUpload',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
  'ListMultipartUploads',
  'ListObjectsV2',
  'RestoreObject',
] as const;
export type ModelOperation = (typeof MODEL_OPERATIONS)[number];

/** One stored object. Immutable once stored: a copy may share its content, metadata and tags. */
export interface StoredObject {
  key: string;
  size: number;
  content: Content;
  /** Quoted, as S3 returns it. */
  etag: string;
  /** Epoch ms, whole seconds (S3's Last-Modified has second precision). */
  lastModified: number;
  versionId: string;
  metadata: Readonly<Record<string, string>>;
  headers: Readonly<ContentHeaders>;
  tags: readonly Tag[];
  storageClass?: string;
  serverSideEncryption?: string;
  kmsKeyId?: string;
  /** Part sizes when a multipart upload made the object. */
  parts?: readonly number[];
  /** Its additional checksum (see the module comment), if it has one. */
  checksum?: ModelChecksum;
  /** Archived objects (GLACIER, DEEP_ARCHIVE): a restore requested (ongoing) or done (readable copy). */
  restore?: { ongoing: boolean; days: number; tier: string };
  /** The bytes, for bodies written with PutObject. */
  body?: Uint8Array;
}

export interface ContentHeaders {
  ContentType?: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  Expires?: Date;
}

const HEADER_NAMES = [
  'ContentType',
  'CacheControl',
  'ContentDisposition',
  'ContentEncoding',
  'ContentLanguage',
  'Expires',
] as const;

/** An object's checksum: one algorithm, its type, and the (stand-in) value. */
export interface ModelChecksum {
  algorithm: string;
  type: 'FULL_OBJECT' | 'COMPOSITE';
  value: string;
}

interface UploadPart {
  etag: string;
  size: number;
  content: Content;
  lastModified: number;
  /** The part's checksum, when the upload has an algorithm. */
  checksum?: string;
}

interface Upload {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  metadata: Readonly<Record<string, string>>;
  headers: Readonly<ContentHeaders>;
  tags: readonly Tag[];
  storageClass?: string;
  serverSideEncryption?: string;
  kmsKeyId?: string;
  /** The checksum algorithm and type the upload was created with. */
  checksum?: { algorithm: string; type: 'FULL_OBJECT' | 'COMPOSITE' };
  parts: Map<number, UploadPart>;
}

/** What a test or simulation seeds directly (no request, no counters, no latency). */
export interface SeedObject {
  key: string;
  size: number;
  /** The origin id the content comes from: objects seeded with one origin and size hold equal bytes. */
  origin?: string;
  metadata?: Record<string, string>;
  contentType?: string;
  tags?: Tag[];
  /** GLACIER and DEEP_ARCHIVE objects cannot be read (or copied) until restored (RestoreObject). */
  storageClass?: string;
  /** A FULL_OBJECT checksum of this algorithm, as a single-part upload with it would have. */
  checksumAlgorithm?: string;
  /** Part sizes (adding up to `size`): the object is stored as a multipart upload would leave it. */
  parts?: readonly number[];
  /** Stored with SSE-KMS under this key: its ETag is not its MD5 (see the module comment). */
  kmsKeyId?: string;
}

/** Called before an operation runs: throw (e.g. `s3Error(...)`) to fail it, await to delay it. */
export type FaultHook = (
  input: Record<string, unknown>,
  request: { operation: ModelOperation; count: number },
) => void | Promise<void>;

export interface S3ModelOptions {
  clock?: Clock;
  /** Milliseconds each request takes; none by default. */
  latency?: LatencyModel;
  /** Per-partition request rates; unlimited by default. */
  rateLimits?: RateLimitOptions;
  faults?: Partial<Record<ModelOperation, FaultHook>>;
  /** 0 <= x < 1, for the SDK retry emulation's jitter; seed it so simulations repeat. */
  random?: () => number;
  /**
   * Most keys (and common prefixes) a ListObjectsV2 page holds, below S3's 1,000: lets property tests
   * cross page boundaries with a few dozen keys. Default 1,000.
   */
  maxKeysPerPage?: number;
  /** Listing defects of S3-compatible servers nobody here wrote, to prove a listing survives them. */
  listingQuirks?: ListingQuirks;
  /** What SSE-KMS ETags are derived from (with each write's version id); default "model". */
  kmsSeed?: string;
}

/**
 * ListObjectsV2 answers that contradict AWS, each seen on a real server (docs/compatibility.md). Each one
 * makes a delimited listing say less, or other, than the keys hold; a flat listing (no delimiter, Prefix
 * and StartAfter only) stays right under all of them.
 */
export interface ListingQuirks {
  /** moto 5.2.1: with a Delimiter, the common prefix that holds StartAfter is left out of the page. */
  startAfterOmitsOwnPrefix?: boolean;
  /**
   * The unpatched @20minutes/s3rver: a delimited listing walks one directory level only, so a common
   * prefix is reported only when a key lies directly in it. A prefix whose keys are all deeper is left
   * out, and a delimited listing of `data/deep/` holding only `data/deep/a/b/c.txt` is empty.
   */
  shallowCommonPrefixes?: boolean;
  /** The unpatched s3rver: common prefixes are not counted against MaxKeys (a page holds MaxKeys keys and any prefixes). */
  prefixesOutsideMaxKeys?: boolean;
  /**
   * The unpatched s3rver: NextContinuationToken names the page's last key (the last common prefix when
   * the page has no key), so a delimited page after a common prefix repeats that prefix.
   */
  tokenNamesLastKey?: boolean;
}

/** The SDK's standard retry mode, as a client of the model emulates it. */
export interface SdkRetryOptions {
  /** Tries per request, the first included (the project's clients use 3). */
  maxAttempts: number;
}

/** Counts of what the model answered. */
export interface ModelStats {
  requests: Record<string, number>;
  /** Error answers by S3 code (SlowDown included). */
  errors: Record<string, number>;
  slowDowns: number;
  inFlight: number;
  peakInFlight: number;
  /** Bytes moved by successful CopyObject and UploadPartCopy. */
  bytesCopied: number;
  /** Retries the SDK retry emulation made (each one is also a request above). */
  sdkRetries: number;
  /**
   * Per operation, the sum of its requests' durations in the model's clock (ms): divided by a span of
   * time, the mean number of such requests in flight (how full the callers kept their concurrency).
   */
  busyMs: Record<string, number>;
}

const STATUS_OF: Record<string, number> = {
  AccessDenied: 403,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  EntityTooSmall: 400,
  InvalidArgument: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  MalformedXML: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotFound: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  InvalidObjectState: 403,
  RestoreAlreadyInProgress: 409,
  SlowDown: 503,
  InternalError: 500,
  ServiceUnavailable: 503,
};

/** An error as the SDK raises it for an S3 error response: `name` is the code. */
export function s3Error(code: string, message: string, status = STATUS_OF[code] ?? 400): S3ServiceException {
  const error = new S3ServiceException({
    name: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'MODEL', attempts: 1, totalRetryDelay: 0 },
    message,
  });
  if (code === 'SlowDown') Object.assign(error, { $retryable: { throttling: true } });
  return error;
}

/** Raised when a caller asks for something the model does not do (not an S3 answer). */
export class S3ModelUnsupportedError extends Error {
  constructor(what: string) {
    super(`The S3 model does not support ${what}; add it to sim/s3-model.ts or use a real server`);
    this.name = 'S3ModelUnsupportedError';
  }
}

/**
 * Set on clients the model answers. Their requests end at the initialize step, so middleware meant to run
 * once per attempt (inside the SDK's retries, at the finalizeRequest step on a real client) must be added
 * at the initialize step instead, after the model's retry emulation.
 */
export const ANSWERS_AT_INITIALIZE = Symbol.for('s3xcopy.answersAtInitializeStep');

const EMPTY_TAGS: readonly Tag[] = Object.freeze([]);
const EMPTY_RECORD: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The keys of one bucket in S3's order. Inserts go to a pending list merged on the next listing, so
 * seeding or copying a million keys costs one sort, not a million array inserts.
 */
class KeyIndex {
  readonly objects = new Map<string, StoredObject>();
  private sorted: string[] = [];
  private pending: string[] = [];
  private deletions = false;

  set(object: StoredObject): void {
    if (!this.objects.has(object.key)) this.pending.push(object.key);
    this.objects.set(object.key, object);
  }

  delete(key: string): boolean {
    const had = this.objects.delete(key);
    if (had) this.deletions = true;
    return had;
  }

  keys(): readonly string[] {
    if (this.pending.length === 0 && !this.deletions) return this.sorted;
    const added = this.pending.sort(compareKeys);
    const merged: string[] = [];
    let i = 0;
    let j = 0;
    const push = (key: string) => {
      if (this.objects.has(key) && merged[merged.length - 1] !== key) merged.push(key);
    };
    while (i < this.sorted.length || j < added.length) {
      const a = this.sorted[i];
      const b = added[j];
      if (b === undefined || (a !== undefined && compareKeys(a, b) <= 0)) {
        push(a as string);
        i++;
      } else {
        push(b);
        j++;
      }
    }
    this.sorted = merged;
    this.pending = [];
    this.deletions = false;
    return merged;
  }
}

/** Keys in S3's order, by position: a bucket's sorted keys, or a synthetic bucket's computed ones. */
interface SortedKeys {
  readonly length: number;
  key(index: number): string;
  object(index: number): StoredObject;
}

/** First index in `keys` whose key is not before `bound` (or, with `exclusive`, is after it). */
function lowerBound(keys: SortedKeys, bound: string, exclusive: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const c = compareKeys(keys.key(mid), bound);
    if (c < 0 || (exclusive && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index after every key starting with `prefix`, searching from `from` (a key with the prefix). */
function afterPrefix(keys: SortedKeys, prefix: string, from: number): number {
  let lo = from;
  let hi = keys.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const key = keys.key(mid);
    if (key.startsWith(prefix) || compareKeys(key, prefix) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when a key among keys[from, to) (all under `common`) lies directly in it, with no delimiter after it. */
function holdsDirectKey(keys: SortedKeys, common: string, delimiter: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (keys.key(i).indexOf(delimiter, common.length) < 0) return true;
  return false;
}

/** What a synthetic bucket holds: `keysPerPrefix` keys under each prefix, none stored. */
export interface SyntheticBucket {
  /** First-level prefixes, none a prefix of another (e.g. "p00042/"). */
  prefixes: readonly string[];
  keysPerPrefix: number;
  size: number;
}

/**
 * The keys of a synthetic bucket, computed from their position: `<prefix>k<index, zero-padded>`. A
 * hundred million keys cost no memory; only listing reads them.
 */
class SyntheticKeys implements SortedKeys {
  readonly length: number;
  private readonly prefixes: string[];
  private readonly width: number;
  private readonly etag: string;
  private readonly lastModified: number;

  constructor(
    private readonly bucketName: string,
    private readonly spec: SyntheticBucket,
    now: number,
  ) {
    this.prefixes = [...spec.prefixes].sort(compareKeys);
    for (const [i, prefix] of this.prefixes.entries()) {
      const next = this.prefixes[i + 1];
      if (next?.startsWith(prefix)) {
        throw new S3ModelUnsupportedError(`synthetic prefixes where one starts another ("${prefix}", "${next}")`);
      }
    }
    this.width = String(Math.max(0, spec.keysPerPrefix - 1)).length;
    this.length = this.prefixes.length * spec.keysPerPrefix;
    this.etag = quote(contentDigest(wholeOrigin(`synthetic:${bucketName}`, spec.size)));
    this.lastModified = wholeSeconds(now);
  }

  key(index: number): string {
    const prefix = this.prefixes[Math.floor(index / this.spec.keysPerPrefix)] as string;
    return `${prefix}k${String(index % this.spec.keysPerPrefix).padStart(this.width, '0')}`;
  }

  object(index: number): StoredObject {
    const key = this.key(index);
    return {
      key,
      size: this.spec.size,
      content: wholeOrigin(`synthetic:${this.bucketName}`, this.spec.size),
      etag: this.etag,
      lastModified: this.lastModified,
      versionId: 'synthetic',
      metadata: EMPTY_RECORD,
      headers: EMPTY_RECORD,
      tags: EMPTY_TAGS,
    };
  }
}

/** S3's form URL encoding of a key in listings with EncodingType=url ("/" kept, space as "+"). */
export function formUrlEncode(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

const quote = (hex: string) => `"${hex}"`;
const unquote = (etag: string) => etag.replace(/^W\//, '').replace(/"/g, '');
const wholeSeconds = (ms: number) => Math.floor(ms / 1000) * 1000;

function parseTagging(tagging: unknown): Tag[] {
  if (typeof tagging !== 'string' || tagging === '') return [];
  return tagging.split('&').map((pair) => {
    const [key = '', value = ''] = pair.split('=');
    return { Key: decodeURIComponent(key.replace(/\+/g, ' ')), Value: decodeURIComponent(value.replace(/\+/g, ' ')) };
  });
}

/** `bucket/key` of x-amz-copy-source, URL-decoded as S3 decodes it (an optional leading "/" and ?versionId). */
function parseCopySource(copySource: unknown): { bucket: string; key: string; versionId?: string } {
  if (typeof copySource !== 'string') throw s3Error('InvalidArgument', 'CopySource is required');
  const version = /\?versionId=(.*)$/.exec(copySource)?.[1];
  const path = copySource.replace(/^\//, '').replace(/\?versionId=.*$/, '');
  const slash = path.indexOf('/');
  if (slash <= 0) throw s3Error('InvalidArgument', `Invalid copy source: ${copySource}`);
  return {
    bucket: decodeURIComponent(path.slice(0, slash)),
    key: decodeURIComponent(path.slice(slash + 1)),
    ...(version === undefined ? {} : { versionId: decodeURIComponent(version) }),
  };
}

function headersFrom(input: Record<string, unknown>): ContentHeaders {
  const headers: ContentHeaders = {};
  for (const name of HEADER_NAMES) {
    const value = input[name];
    if (name === 'Expires') {
      if (value instanceof Date) headers.Expires = value;
    } else if (typeof value === 'string') {
      headers[name] = value;
    }
  }
  return headers;
}

/** A GetObject body: a stream with the SDK's transform helpers. */
function sdkBody(bytes: Uint8Array) {
  return Object.assign(Readable.from([Buffer.from(bytes)]), {
    transformToString: async (encoding: BufferEncoding = 'utf8') => Buffer.from(bytes).toString(encoding),
    transformToByteArray: async () => new Uint8Array(bytes),
  });
}

async function bodyBytes(body: unknown): Promise<Uint8Array | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return body;
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  throw new S3ModelUnsupportedError(`a PutObject Body of type ${typeof body}`);
}

interface Answer {
  output: Record<string, unknown>;
  /** Bytes moved server-side, for the latency model. */
  bytes?: number;
}

/**
 * The model: buckets, objects, uploads, and the hooks. One instance is one "S3"; every client it hands
 * out sees the same state.
 */
export class S3Model {
  readonly clock: Clock;
  readonly stats: ModelStats = {
    requests: {},
    errors: {},
    slowDowns: 0,
    inFlight: 0,
    peakInFlight: 0,
    bytesCopied: 0,
    sdkRetries: 0,
    busyMs: {},
  };
  private readonly buckets = new Map<string, KeyIndex>();
  private readonly synthetic = new Map<string, SyntheticKeys>();
  private readonly uploads = new Map<string, Upload>();
  private readonly limiter: PartitionRateLimiter | undefined;
  private versionCounter = 0;
  /** Noncurrent versions by `bucket NUL key NUL versionId` (only replaced objects: the current one is in its bucket). */
  private readonly noncurrent = new Map<string, StoredObject>();
  private readonly requesterPays = new Set<string>();
  /** Buckets whose default encryption is SSE-KMS: bucket -> key id. */
  private readonly kmsDefaults = new Map<string, string>();

  constructor(private readonly options: S3ModelOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.limiter = options.rateLimits ? new PartitionRateLimiter(options.rateLimits) : undefined;
  }

  /**
   * An S3Client answered by this model. The answering middleware sits at the end of the initialize step
   * (priority low), so middleware a caller adds at that step (a concurrency limiter) wraps it. The SDK's
   * own retry middleware runs at a later step and never sees the model's answers; `sdkRetries` emulates
   * it instead, in the model's clock (see {@link SdkRetryEmulation}).
   */
  client(options: { sdkRetries?: SdkRetryOptions } = {}): S3Client {
    const client = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'MODEL', secretAccessKey: 'MODEL' },
      maxAttempts: 1,
    });
    return this.attach(client, options);
  }

  /**
   * Makes an existing S3Client answered by this model (what `client()` does to a new one): for code that
   * builds its own clients. Idempotent.
   */
  attach(client: S3Client, options: { sdkRetries?: SdkRetryOptions } = {}): S3Client {
    if (options.sdkRetries) {
      const retries = new SdkRetryEmulation(
        options.sdkRetries,
        this.clock,
        this.options.random ?? Math.random,
        this.stats,
      );
      // First at the step, so middleware added later at the same step (a per-attempt limiter) runs inside it.
      client.middlewareStack.add((next) => (args) => retries.send(() => next(args)), {
        step: 'initialize',
        priority: 'high',
        name: 's3ModelSdkRetries',
        override: true,
      });
    }
    client.middlewareStack.add(
      (_next, context) => async (args) => {
        const operation = (context.commandName ?? '').replace(/Command$/, '');
        const output = await this.send(operation, args.input as Record<string, unknown>);
        return { output: output as never, response: { statusCode: 200, headers: {} } };
      },
      { step: 'initialize', priority: 'low', name: 's3ModelMiddleware', override: true },
    );
    // Tells per-attempt middleware (functions/copy/adaptive-limit.ts) that this client's attempts end at
    // the initialize step: the SDK's later steps, its retry middleware among them, never run.
    (client as unknown as Record<symbol, boolean>)[ANSWERS_AT_INITIALIZE] = true;
    return client;
  }

  /** Answers one request as S3 would: counters, faults, rate limit, the operation, latency. */
  async send(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const op = operation as ModelOperation;
    const count = (this.stats.requests[op] ?? 0) + 1;
    this.stats.requests[op] = count;
    this.stats.inFlight++;
    this.stats.peakInFlight = Math.max(this.stats.peakInFlight, this.stats.inFlight);
    const started = this.clock.now();
    try {
      const fault = this.options.faults?.[op];
      if (fault) await fault(input, { operation: op, count });
      this.checkRate(op, input);
      let answer: Answer;
      try {
        answer = await this.execute(op, input);
      } catch (error) {
        await this.wait(op, 0, true);
        throw error;
      }
      await this.wait(op, answer.bytes ?? 0, false);
      return {
        ...answer.output,
        $metadata: { httpStatusCode: 200, requestId: 'MODEL', attempts: 1, totalRetryDelay: 0 },
      };
    } catch (error) {
      const code = (error as { name?: string }).name ?? 'Error';
      this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
      throw error;
    } finally {
      this.stats.inFlight--;
      this.stats.busyMs[op] = (this.stats.busyMs[op] ?? 0) + (this.clock.now() - started);
    }
  }

  private async wait(operation: string, bytes: number, error: boolean): Promise<void> {
    if (!this.options.latency) return;
    const ms = this.options.latency({ operation, bytes, error });
    if (ms > 0) await this.clock.sleep(ms);
  }

  private checkRate(op: ModelOperation, input: Record<string, unknown>): void {
    if (!this.limiter) return;
    const kind = requestClass(op);
    if (!kind) return;
    const bucket = String(input.Bucket ?? '');
    const key = String((op === 'ListObjectsV2' || op === 'ListMultipartUploads' ? input.Prefix : input.Key) ?? '');
    if (this.limiter.tryTake(bucket, key, kind, this.clock.now())) return;
    this.stats.slowDowns++;
    throw s3Error('SlowDown', 'Please reduce your request rate.');
  }

  // ---- direct access for tests and simulations (no request is counted) ----

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new KeyIndex());
  }

  /**
   * A read-only bucket of computed keys (see SyntheticBucket) for listing at any scale: ListObjectsV2 and
   * HeadBucket answer from it; object requests to it raise S3ModelUnsupportedError.
   */
  createSyntheticBucket(name: string, spec: SyntheticBucket): void {
    this.synthetic.set(name, new SyntheticKeys(name, spec, this.clock.now()));
  }

  /** The bucket's default encryption (PutBucketEncryption, not modelled as a request): SSE-KMS with this key. */
  setDefaultEncryption(bucket: string, encryption: { kmsKeyId: string }): void {
    this.bucket(bucket);
    this.kmsDefaults.set(bucket, encryption.kmsKeyId);
  }

  /**
   * The object as S3 stores it under SSE-KMS when the write (or the bucket's default) asks for it: its
   * ETag is another per write (see the module comment). Other objects are returned as they are.
   */
  private encrypted<T extends { etag: string; serverSideEncryption?: string; kmsKeyId?: string }>(
    bucket: string,
    object: T,
    versionId: string,
  ): T {
    const kmsKeyId =
      object.kmsKeyId ?? (object.serverSideEncryption === 'aws:kms' ? 'aws/s3' : this.kmsDefaults.get(bucket));
    if (kmsKeyId === undefined) return object;
    const parts = /-\d+"?$/.exec(object.etag)?.[0]?.replace('"', '') ?? '';
    const digest = createHash('md5')
      .update(`sse-kms ${this.options.kmsSeed ?? 'model'} ${bucket} ${versionId}`)
      .digest('hex');
    return { ...object, serverSideEncryption: 'aws:kms', kmsKeyId, etag: quote(`${digest}${parts}`) };
  }

  /** Stores objects directly, as many as wanted, one sort at the next listing. */
  seed(bucket: string, objects: Iterable<SeedObject>): void {
    const index = this.bucket(bucket);
    const now = wholeSeconds(this.clock.now());
    for (const seed of objects) {
      const versionId = this.nextVersion();
      const content = wholeOrigin(seed.origin ?? `${bucket}/${seed.key}#${versionId}`, seed.size);
      const replaced = index.objects.get(seed.key);
      if (replaced) this.noncurrent.set(`${bucket}\u0000${replaced.key}\u0000${replaced.versionId}`, replaced);
      const plain: StoredObject = {
        key: seed.key,
        size: seed.size,
        content,
        etag: seed.parts ? multipartEtag(content, seed.parts) : quote(contentDigest(content)),
        ...(seed.parts ? { parts: [...seed.parts] } : {}),
        lastModified: now,
        versionId,
        metadata: seed.metadata ?? EMPTY_RECORD,
        headers: seed.contentType ? { ContentType: seed.contentType } : EMPTY_RECORD,
        tags: seed.tags ?? EMPTY_TAGS,
        ...(seed.storageClass ? { storageClass: seed.storageClass } : {}),
        ...(seed.checksumAlgorithm ? { checksum: fullChecksum(seed.checksumAlgorithm, content) } : {}),
        ...(seed.kmsKeyId ? { kmsKeyId: seed.kmsKeyId } : {}),
      };
      index.set(this.encrypted(bucket, plain, versionId));
    }
  }

  /**
   * Finishes every restore in progress (what S3 does hours after RestoreObject): HEAD then answers
   * `x-amz-restore: ongoing-request="false"` and the object can be copied.
   * @returns how many restores finished
   */
  completeRestores(bucket: string): number {
    const index = this.bucket(bucket);
    let finished = 0;
    for (const object of index.objects.values()) {
      if (object.restore?.ongoing) {
        index.set({ ...object, restore: { ...object.restore, ongoing: false } });
        finished++;
      }
    }
    return finished;
  }

  /** The stored object, or undefined. */
  object(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.objects.get(key);
  }

  /** Every key of a bucket in S3's order. */
  keys(bucket: string): readonly string[] {
    return this.bucket(bucket).keys();
  }

  objectCount(bucket: string): number {
    return this.bucket(bucket).objects.size;
  }

  /** Multipart uploads not yet completed or aborted. */
  openUploads(bucket?: string): Array<{ bucket: string; key: string; uploadId: string; parts: number }> {
    return [...this.uploads.values()]
      .filter((upload) => bucket === undefined || upload.bucket === bucket)
      .map((upload) => ({
        bucket: upload.bucket,
        key: upload.key,
        uploadId: upload.uploadId,
        parts: upload.parts.size,
      }));
  }

  // ---- the operations ----

  private nextVersion(): string {
    this.versionCounter++;
    return `v${this.versionCounter}`;
  }

  private bucket(name: string): KeyIndex {
    if (this.synthetic.has(name)) throw new S3ModelUnsupportedError(`object requests to the synthetic bucket ${name}`);
    const index = this.buckets.get(name);
    if (!index) throw s3Error('NoSuchBucket', `The specified bucket does not exist: ${name}`);
    return index;
  }

  /** Makes a bucket Requester Pays: reads of it need RequestPayer=requester (see the module comment). */
  setRequesterPays(bucket: string): void {
    this.bucket(bucket);
    this.requesterPays.add(bucket);
  }

  private checkPayer(bucket: string, input: Record<string, unknown>): void {
    if (this.requesterPays.has(bucket) && input.RequestPayer !== 'requester') {
      throw s3Error('AccessDenied', `Access Denied: ${bucket} is a Requester Pays bucket`, 403);
    }
  }

  private existing(bucket: string, key: unknown, headRequest = false, versionId?: unknown): StoredObject {
    if (versionId !== undefined && versionId !== null) {
      const current = this.bucket(bucket).objects.get(String(key));
      const version =
        current?.versionId === String(versionId)
          ? current
          : this.noncurrent.get(`${bucket}\u0000${String(key)}\u0000${String(versionId)}`);
      if (!version) {
        throw headRequest
          ? s3Error('NotFound', 'Not Found', 404)
          : s3Error('NoSuchVersion', `The specified version does not exist: ${String(versionId)}`, 404);
      }
      return version;
    }
    const object = this.bucket(bucket).objects.get(String(key));
    if (!object) {
      // HEAD has no body: the SDK can only name the status.
      throw headRequest
        ? s3Error('NotFound', 'Not Found')
        : s3Error('NoSuchKey', `The specified key does not exist: ${String(key)}`);
    }
    return object;
  }

  private upload(input: Record<string, unknown>): Upload {
    this.bucket(String(input.Bucket));
    const upload = this.uploads.get(String(input.UploadId));
    if (!upload || upload.bucket !== input.Bucket || upload.key !== input.Key) {
      throw s3Error('NoSuchUpload', `The specified upload does not exist: ${String(input.UploadId)}`);
    }
    return upload;
  }

  private store(bucket: string, object: Omit<StoredObject, 'versionId' | 'lastModified'>): StoredObject {
    const versionId = this.nextVersion();
    const stored: StoredObject = this.encrypted(
      bucket,
      { ...object, versionId, lastModified: wholeSeconds(this.clock.now()) },
      versionId,
    );
    const replaced = this.bucket(bucket).objects.get(object.key);
    if (replaced) this.noncurrent.set(`${bucket}\u0000${replaced.key}\u0000${replaced.versionId}`, replaced);
    this.bucket(bucket).set(stored);
    return stored;
  }

  private async execute(op: ModelOperation, input: Record<string, unknown>): Promise<Answer> {
    const bucket = String(input.Bucket ?? '');
    if (['GetObject', 'HeadObject', 'GetObjectTagging', 'ListObjectsV2', 'RestoreObject'].includes(op)) {
      this.checkPayer(bucket, input);
    }
    if (op === 'CopyObject' || op === 'UploadPartCopy')
      this.checkPayer(parseCopySource(input.CopySource).bucket, input);
    switch (op) {
      case 'CreateBucket':
        if (this.buckets.has(bucket)) {
          throw s3Error('BucketAlreadyOwnedByYou', `Your previous request to create ${bucket} succeeded`);
        }
        this.buckets.set(bucket, new KeyIndex());
        return { output: { Location: `/${bucket}` } };
      case 'HeadBucket':
        if (!this.buckets.has(bucket) && !this.synthetic.has(bucket)) throw s3Error('NotFound', 'Not Found');
        return { output: { BucketRegion: 'us-east-1' } };
      case 'PutObject':
        return this.putObject(bucket, input);
      case 'GetObject':
        return this.getObject(bucket, input);
      case 'HeadObject':
        return this.headObject(bucket, input);
      case 'DeleteObject':
        this.bucket(bucket).delete(String(input.Key));
        return { output: {} };
      case 'GetObjectTagging':
        return {
          output: { TagSet: this.existing(bucket, input.Key, false, input.VersionId).tags.map((tag) => ({ ...tag })) },
        };
      case 'PutObjectTagging': {
        const object = this.existing(bucket, input.Key);
        const tags = ((input.Tagging as { TagSet?: Tag[] } | undefined)?.TagSet ?? []).map((tag) => ({ ...tag }));
        this.bucket(bucket).set({ ...object, tags });
        return { output: { VersionId: object.versionId } };
      }
      case 'CopyObject':
        return this.copyObject(bucket, input);
      case 'CreateMultipartUpload':
        return this.createMultipartUpload(bucket, input);
      case 'UploadPartCopy':
        return this.uploadPartCopy(input);
      case 'CompleteMultipartUpload':
        return this.completeMultipartUpload(input);
      case 'AbortMultipartUpload':
        this.upload(input);
        this.uploads.delete(String(input.UploadId));
        return { output: {} };
      case 'ListParts':
        return this.listParts(input);
      case 'ListMultipartUploads':
        return this.listMultipartUploads(bucket, input);
      case 'ListObjectsV2':
        return this.listObjectsV2(bucket, input);
      case 'RestoreObject':
        return this.restoreObject(bucket, input);
      default:
        throw new S3ModelUnsupportedError(`the operation ${String(op)}`);
    }
  }

  private async putObject(bucket: string, input: Record<string, unknown>): Promise<Answer> {
    this.bucket(bucket);
    const bytes = await bodyBytes(input.Body);
    let content: Content;
    if (bytes) {
      content = wholeOrigin(bytesOrigin(bytes), bytes.length);
    } else {
      const size = Number(input.ContentLength ?? 0);
      content = wholeOrigin(`${bucket}/${String(input.Key)}#put${this.versionCounter + 1}`, size);
    }
    const stored = this.store(bucket, {
      key: String(input.Key),
      size: contentSize(content),
      content,
      etag: quote(contentDigest(content)),
      metadata: (input.Metadata as Record<string, string> | undefined) ?? EMPTY_RECORD,
      headers: headersFrom(input),
      tags: parseTagging(input.Tagging),
      ...optionsFrom(input),
      ...(typeof input.ChecksumAlgorithm === 'string'
        ? { checksum: fullChecksum(input.ChecksumAlgorithm, content) }
        : {}),
      ...(bytes ? { body: new Uint8Array(bytes) } : {}),
    });
    return { output: { ETag: stored.etag, VersionId: stored.versionId } };
  }

  private getObject(bucket: string, input: Record<string, unknown>): Answer {
    const object = this.existing(bucket, input.Key, false, input.VersionId);
    checkReadable(object);
    checkIfMatch(input.IfMatch, object);
    if (!object.body) {
      throw new S3ModelUnsupportedError(
        `GetObject of s3://${bucket}/${object.key}: the model keeps bytes only for bodies written with PutObject`,
      );
    }
    // A `bytes=N-` range (what the manifest reader sends to resume a CSV); other forms are not modelled.
    const range = typeof input.Range === 'string' ? /^bytes=(\d+)-$/.exec(input.Range) : null;
    if (typeof input.Range === 'string' && !range) throw new S3ModelUnsupportedError(`the Range ${input.Range}`);
    const start = range ? Number(range[1]) : 0;
    if (start > 0 && start >= object.body.length)
      throw s3Error('InvalidRange', 'The requested range is not satisfiable', 416);
    const body = start > 0 ? object.body.subarray(start) : object.body;
    return {
      output: {
        Body: sdkBody(body),
        ContentLength: body.length,
        ETag: object.etag,
        LastModified: new Date(object.lastModified),
        Metadata: { ...object.metadata },
        ...object.headers,
      },
    };
  }

  private headObject(bucket: string, input: Record<string, unknown>): Answer {
    const object = this.existing(bucket, input.Key, true, input.VersionId);
    if (input.IfMatch !== undefined && unquote(String(input.IfMatch)) !== unquote(object.etag)) {
      throw s3Error('PreconditionFailed', 'Precondition Failed');
    }
    let length = object.size;
    let partsCount: number | undefined = object.parts?.length;
    if (input.PartNumber !== undefined) {
      const partNumber = Number(input.PartNumber);
      const parts = object.parts ?? [object.size];
      const partSize = parts[partNumber - 1];
      // S3 answers 416 for a part number past the object's parts.
      if (!Number.isInteger(partNumber) || partNumber < 1 || partSize === undefined) {
        throw s3Error('InvalidRange', 'Requested Range Not Satisfiable', 416);
      }
      length = partSize;
      partsCount = object.parts?.length ?? 1;
    }
    return {
      output: {
        ContentLength: length,
        ETag: object.etag,
        LastModified: new Date(object.lastModified),
        VersionId: object.versionId,
        Metadata: { ...object.metadata },
        ...object.headers,
        ...(partsCount !== undefined && (object.parts || input.PartNumber !== undefined)
          ? { PartsCount: partsCount }
          : {}),
        ...(object.storageClass ? { StorageClass: object.storageClass } : {}),
        ...(object.restore ? { Restore: restoreHeader(object.restore, this.clock.now()) } : {}),
        ...(object.serverSideEncryption ? { ServerSideEncryption: object.serverSideEncryption } : {}),
        ...(object.kmsKeyId ? { SSEKMSKeyId: object.kmsKeyId } : {}),
        ...(object.tags.length > 0 ? { TagCount: object.tags.length } : {}),
        ...(object.checksum && input.ChecksumMode === 'ENABLED'
          ? { [`Checksum${object.checksum.algorithm}`]: object.checksum.value, ChecksumType: object.checksum.type }
          : {}),
      },
    };
  }

  private copyObject(bucket: string, input: Record<string, unknown>): Answer {
    this.bucket(bucket);
    const from = parseCopySource(input.CopySource);
    const source = this.existing(from.bucket, from.key, false, from.versionId);
    checkReadable(source);
    checkCopySourceIfMatch(input.CopySourceIfMatch, source);
    if (source.size > MODEL_LIMITS.maxCopyObjectBytes) {
      throw s3Error(
        'InvalidRequest',
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MODEL_LIMITS.maxCopyObjectBytes}`,
      );
    }
    const replaceMetadata = input.MetadataDirective === 'REPLACE';
    const replaceTags = input.TaggingDirective === 'REPLACE';
    const target = String(input.Key);
    const changes =
      replaceMetadata ||
      input.StorageClass !== undefined ||
      input.ServerSideEncryption !== undefined ||
      input.SSEKMSKeyId !== undefined;
    if (from.bucket === bucket && from.key === target && !changes) {
      throw s3Error(
        'InvalidRequest',
        'This copy request is illegal because it is trying to copy an object to itself without changing the ' +
          "object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    // S3 copies the source's algorithm unless the request names one; the copy is single-part: FULL_OBJECT.
    const algorithm =
      typeof input.ChecksumAlgorithm === 'string' ? input.ChecksumAlgorithm : source.checksum?.algorithm;
    const stored = this.store(bucket, {
      key: target,
      size: source.size,
      content: source.content,
      ...(algorithm ? { checksum: fullChecksum(algorithm, source.content) } : {}),
      // A copy is a single-part object: its ETag is its bytes' MD5, even when the source was multipart.
      // So is the copy of an SSE-KMS source: its ETag was no digest (store() gives it one if the target is SSE-KMS).
      etag: source.parts || source.kmsKeyId ? quote(contentDigest(source.content)) : source.etag,
      metadata: replaceMetadata
        ? ((input.Metadata as Record<string, string> | undefined) ?? EMPTY_RECORD)
        : source.metadata,
      headers: replaceMetadata ? headersFrom(input) : source.headers,
      tags: replaceTags ? parseTagging(input.Tagging) : source.tags,
      ...optionsFrom(input),
      ...(source.body ? { body: source.body } : {}),
    });
    this.stats.bytesCopied += source.size;
    return {
      output: {
        CopyObjectResult: {
          ETag: stored.etag,
          LastModified: new Date(stored.lastModified),
          ...(stored.checksum
            ? { [`Checksum${stored.checksum.algorithm}`]: stored.checksum.value, ChecksumType: stored.checksum.type }
            : {}),
        },
      },
      bytes: source.size,
    };
  }

  private createMultipartUpload(bucket: string, input: Record<string, unknown>): Answer {
    this.bucket(bucket);
    const checksum = uploadChecksum(input);
    const uploadId = `upload-${this.nextVersion()}`;
    this.uploads.set(uploadId, {
      uploadId,
      bucket,
      key: String(input.Key),
      initiated: this.clock.now(),
      metadata: (input.Metadata as Record<string, string> | undefined) ?? EMPTY_RECORD,
      headers: headersFrom(input),
      tags: parseTagging(input.Tagging),
      ...optionsFrom(input),
      ...(checksum ? { checksum } : {}),
      parts: new Map(),
    });
    return {
      output: {
        Bucket: bucket,
        Key: input.Key,
        UploadId: uploadId,
        ...(checksum ? { ChecksumAlgorithm: checksum.algorithm, ChecksumType: checksum.type } : {}),
      },
    };
  }

  private uploadPartCopy(input: Record<string, unknown>): Answer {
    const upload = this.upload(input);
    const partNumber = Number(input.PartNumber);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MODEL_LIMITS.maxParts) {
      throw s3Error(
        'InvalidArgument',
        `Part number must be an integer between 1 and ${MODEL_LIMITS.maxParts}, inclusive`,
      );
    }
    const from = parseCopySource(input.CopySource);
    const source = this.existing(from.bucket, from.key, false, from.versionId);
    checkReadable(source);
    checkCopySourceIfMatch(input.CopySourceIfMatch, source);
    let start = 0;
    let end = source.size;
    if (input.CopySourceRange !== undefined) {
      const match = /^bytes=(\d+)-(\d+)$/.exec(String(input.CopySourceRange));
      if (!match)
        throw s3Error('InvalidArgument', `The x-amz-copy-source-range value must be of the form bytes=first-last`);
      start = Number(match[1]);
      end = Number(match[2]) + 1;
      if (start >= end || end > source.size) {
        throw s3Error('InvalidRange', `The requested range ${String(input.CopySourceRange)} is not satisfiable`, 416);
      }
    }
    const size = end - start;
    if (size > MODEL_LIMITS.maxPartBytes) {
      throw s3Error(
        'InvalidRequest',
        `The specified copy range is larger than the maximum allowable size for a part: ${MODEL_LIMITS.maxPartBytes}`,
      );
    }
    const content = sliceContent(source.content, start, end);
    const etag = quote(contentDigest(content));
    const lastModified = wholeSeconds(this.clock.now());
    const checksum = upload.checksum ? fullChecksum(upload.checksum.algorithm, content).value : undefined;
    upload.parts.set(partNumber, { etag, size, content, lastModified, ...(checksum ? { checksum } : {}) });
    this.stats.bytesCopied += size;
    return {
      output: {
        CopyPartResult: {
          ETag: etag,
          LastModified: new Date(lastModified),
          ...(upload.checksum && checksum ? { [`Checksum${upload.checksum.algorithm}`]: checksum } : {}),
        },
      },
      bytes: size,
    };
  }

  private completeMultipartUpload(input: Record<string, unknown>): Answer {
    const upload = this.upload(input);
    const requested = (
      input.MultipartUpload as
        | { Parts?: Array<{ PartNumber?: number; ETag?: string } & Record<string, unknown>> }
        | undefined
    )?.Parts;
    if (!requested || requested.length === 0) {
      throw s3Error(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
      );
    }
    const parts: UploadPart[] = [];
    let previous = 0;
    for (const entry of requested) {
      const number = Number(entry.PartNumber);
      if (!(number > previous)) {
        throw s3Error(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
        );
      }
      previous = number;
      const part = upload.parts.get(number);
      if (!part || unquote(String(entry.ETag ?? '')) !== unquote(part.etag)) {
        throw s3Error(
          'InvalidPart',
          `One or more of the specified parts could not be found or its ETag did not match (part ${number})`,
        );
      }
      if (upload.checksum) {
        const { algorithm, type } = upload.checksum;
        const given = entry[`Checksum${algorithm}`];
        if (given === undefined && type === 'COMPOSITE') {
          throw s3Error(
            'InvalidRequest',
            `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${number} in the request.`,
          );
        }
        if (given !== undefined && given !== part.checksum) {
          throw s3Error(
            'InvalidPart',
            `One or more of the specified parts could not be found or its checksum did not match (part ${number})`,
          );
        }
      }
      parts.push(part);
    }
    // Sizes are checked once every part is known to exist: S3 reports a missing part first.
    for (const [index, part] of parts.entries()) {
      if (index < parts.length - 1 && part.size < MODEL_LIMITS.minPartBytes) {
        throw s3Error(
          'EntityTooSmall',
          `Your proposed upload is smaller than the minimum allowed size (part ${index + 1} of the list)`,
        );
      }
    }
    const digest = createMultipartDigest(parts.map((part) => part.etag));
    const content = concatContent(parts.map((part) => part.content));
    const checksum = upload.checksum ? completedChecksum(upload.checksum, parts, content, input) : undefined;
    const stored = this.store(upload.bucket, {
      key: upload.key,
      size: contentSize(content),
      content,
      etag: quote(`${digest}-${parts.length}`),
      metadata: upload.metadata,
      headers: upload.headers,
      tags: upload.tags,
      ...(upload.storageClass ? { storageClass: upload.storageClass } : {}),
      ...(upload.serverSideEncryption ? { serverSideEncryption: upload.serverSideEncryption } : {}),
      ...(upload.kmsKeyId ? { kmsKeyId: upload.kmsKeyId } : {}),
      ...(checksum ? { checksum } : {}),
      parts: parts.map((part) => part.size),
    });
    this.uploads.delete(upload.uploadId);
    return {
      output: {
        Bucket: upload.bucket,
        Key: upload.key,
        ETag: stored.etag,
        Location: `/${upload.bucket}/${upload.key}`,
      },
    };
  }

  private listParts(input: Record<string, unknown>): Answer {
    const upload = this.upload(input);
    const maxParts = Math.min(Number(input.MaxParts ?? 1000), 1000);
    const marker = Number(input.PartNumberMarker ?? 0);
    const numbers = [...upload.parts.keys()].filter((number) => number > marker).sort((a, b) => a - b);
    const page = numbers.slice(0, maxParts);
    const truncated = numbers.length > page.length;
    return {
      output: {
        Bucket: upload.bucket,
        Key: upload.key,
        UploadId: upload.uploadId,
        ...(page.length > 0
          ? {
              Parts: page.map((number) => {
                const part = upload.parts.get(number) as UploadPart;
                return {
                  PartNumber: number,
                  ETag: part.etag,
                  Size: part.size,
                  LastModified: new Date(part.lastModified),
                };
              }),
            }
          : {}),
        IsTruncated: truncated,
        ...(truncated ? { NextPartNumberMarker: String(page[page.length - 1]) } : {}),
        MaxParts: maxParts,
      },
    };
  }

  private listMultipartUploads(bucket: string, input: Record<string, unknown>): Answer {
    this.bucket(bucket);
    const prefix = String(input.Prefix ?? '');
    const keyMarker = input.KeyMarker === undefined ? undefined : String(input.KeyMarker);
    const uploadIdMarker = input.UploadIdMarker === undefined ? undefined : String(input.UploadIdMarker);
    const maxUploads = Math.min(Number(input.MaxUploads ?? 1000), 1000);
    const all = [...this.uploads.values()]
      .filter((upload) => upload.bucket === bucket && upload.key.startsWith(prefix))
      .sort((a, b) => compareKeys(a.key, b.key) || a.initiated - b.initiated || compareKeys(a.uploadId, b.uploadId));
    const after = all.filter((upload) => {
      if (keyMarker === undefined) return true;
      const c = compareKeys(upload.key, keyMarker);
      if (c !== 0) return c > 0;
      return uploadIdMarker !== undefined && compareKeys(upload.uploadId, uploadIdMarker) > 0;
    });
    const page = after.slice(0, maxUploads);
    const last = page[page.length - 1];
    const truncated = after.length > page.length;
    return {
      output: {
        Bucket: bucket,
        ...(page.length > 0
          ? {
              Uploads: page.map((upload) => ({
                Key: upload.key,
                UploadId: upload.uploadId,
                Initiated: new Date(upload.initiated),
              })),
            }
          : {}),
        IsTruncated: truncated,
        ...(truncated && last ? { NextKeyMarker: last.key, NextUploadIdMarker: last.uploadId } : {}),
      },
    };
  }

  private sortedKeys(bucket: string): SortedKeys {
    const synthetic = this.synthetic.get(bucket);
    if (synthetic) return synthetic;
    const index = this.bucket(bucket);
    const keys = index.keys();
    return {
      length: keys.length,
      key: (i) => keys[i] as string,
      object: (i) => index.objects.get(keys[i] as string) as StoredObject,
    };
  }

  /**
   * RestoreObject as S3 answers it for GLACIER and DEEP_ARCHIVE: 202 starts a restore, 409
   * RestoreAlreadyInProgress while one runs, 200 (expiry extended) once restored, 403 InvalidObjectState
   * for other storage classes; Expedited is refused for DEEP_ARCHIVE. Restores finish only when a test
   * calls completeRestores (S3 takes minutes to hours).
   */
  private restoreObject(bucket: string, input: Record<string, unknown>): Answer {
    const object = this.existing(bucket, input.Key);
    if (!isArchivedClass(object.storageClass)) {
      throw s3Error('InvalidObjectState', "Restore is not allowed for the object's current storage class");
    }
    const request = (input.RestoreRequest ?? {}) as { Days?: number; GlacierJobParameters?: { Tier?: string } };
    const tier = request.GlacierJobParameters?.Tier ?? 'Standard';
    if (tier === 'Expedited' && object.storageClass === 'DEEP_ARCHIVE') {
      throw s3Error('InvalidArgument', 'Expedited retrieval is not supported for the DEEP_ARCHIVE storage class');
    }
    if (object.restore?.ongoing) {
      throw s3Error('RestoreAlreadyInProgress', 'Object restore is already in progress');
    }
    const done = object.restore !== undefined;
    this.bucket(bucket).set({ ...object, restore: { ongoing: !done, days: Number(request.Days ?? 1), tier } });
    return { output: {} };
  }

  private listObjectsV2(bucket: string, input: Record<string, unknown>): Answer {
    const keys = this.sortedKeys(bucket);
    const prefix = String(input.Prefix ?? '');
    const delimiter = input.Delimiter === undefined || input.Delimiter === '' ? undefined : String(input.Delimiter);
    const maxKeys = Math.min(
      Math.max(0, Number(input.MaxKeys ?? MODEL_LIMITS.maxKeysPerPage)),
      this.options.maxKeysPerPage ?? MODEL_LIMITS.maxKeysPerPage,
    );
    const url = input.EncodingType === 'url';
    const encode = (value: string) => (url ? formUrlEncode(value) : value);

    let index = lowerBound(keys, prefix, false);
    const token = input.ContinuationToken === undefined ? undefined : decodeToken(String(input.ContinuationToken));
    if (token?.kind === 'key') index = Math.max(index, lowerBound(keys, token.value, true));
    else if (token?.kind === 'prefix')
      index = Math.max(index, afterPrefix(keys, token.value, lowerBound(keys, token.value, false)));
    else if (input.StartAfter !== undefined && input.StartAfter !== '') {
      index = Math.max(index, lowerBound(keys, String(input.StartAfter), true));
    }

    const contents: Array<Record<string, unknown>> = [];
    const commonPrefixes: string[] = [];
    let last: { kind: 'key' | 'prefix'; value: string } | undefined;
    let truncated = false;
    const quirks = this.options.listingQuirks ?? {};
    const startAfter = token === undefined && input.StartAfter !== undefined ? String(input.StartAfter) : undefined;
    let lastKey: string | undefined;
    while (index < keys.length) {
      const key = keys.key(index);
      if (!key.startsWith(prefix)) break;
      const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
      const common = cut >= 0 && delimiter !== undefined ? key.slice(0, cut + delimiter.length) : undefined;
      const counted = quirks.prefixesOutsideMaxKeys ? contents.length : contents.length + commonPrefixes.length;
      if (counted >= maxKeys && (common === undefined || !quirks.prefixesOutsideMaxKeys)) {
        truncated = true;
        break;
      }
      if (common !== undefined && delimiter !== undefined) {
        const end = afterPrefix(keys, common, index);
        const hidden =
          (quirks.startAfterOmitsOwnPrefix && startAfter?.startsWith(common)) ||
          (quirks.shallowCommonPrefixes && !holdsDirectKey(keys, common, delimiter, index, end));
        if (!hidden) {
          commonPrefixes.push(common);
          last = { kind: 'prefix', value: common };
        }
        index = end;
      } else {
        const object = keys.object(index);
        contents.push({
          Key: encode(key),
          LastModified: new Date(object.lastModified),
          ETag: object.etag,
          Size: object.size,
          StorageClass: object.storageClass ?? 'STANDARD',
          ...(object.checksum
            ? { ChecksumAlgorithm: [object.checksum.algorithm], ChecksumType: object.checksum.type }
            : {}),
        });
        last = { kind: 'key', value: key };
        lastKey = key;
        index++;
      }
    }
    if (quirks.tokenNamesLastKey && last) last = { kind: 'key', value: lastKey ?? last.value };
    return {
      output: {
        Name: bucket,
        Prefix: encode(prefix),
        ...(delimiter !== undefined ? { Delimiter: encode(delimiter) } : {}),
        MaxKeys: maxKeys,
        ...(input.StartAfter !== undefined ? { StartAfter: encode(String(input.StartAfter)) } : {}),
        ...(input.ContinuationToken !== undefined ? { ContinuationToken: input.ContinuationToken } : {}),
        ...(url ? { EncodingType: 'url' } : {}),
        ...(contents.length > 0 ? { Contents: contents } : {}),
        ...(commonPrefixes.length > 0 ? { CommonPrefixes: commonPrefixes.map((p) => ({ Prefix: encode(p) })) } : {}),
        KeyCount: contents.length + commonPrefixes.length,
        IsTruncated: truncated,
        ...(truncated && last ? { NextContinuationToken: encodeToken(last) } : {}),
      },
    };
  }
}

/**
 * The AWS SDK's standard retry mode (smithy StandardRetryStrategy, 2026 constants), run in the model's
 * clock because the SDK's own sleeps on real timers: up to `maxAttempts` tries; a retry waits
 * random() * min(base * 2^retries, 20 s) with base 1,000 ms after throttling and 50 ms otherwise; a client
 * holds a quota of 500 retry tokens, a retry costs 5 after throttling and 14 otherwise, a success gives
 * back its retry's cost (or 1), and no tokens means no retry. Retried: throttling, 5xx and transient codes.
 */
export class SdkRetryEmulation {
  private capacity = 500;

  constructor(
    private readonly options: SdkRetryOptions,
    private readonly clock: Clock,
    private readonly random: () => number,
    private readonly stats: ModelStats,
  ) {}

  async send<T extends { output: unknown }>(attempt: () => Promise<T>): Promise<T> {
    let lastCost: number | undefined;
    let totalDelay = 0;
    for (let retries = 0; ; retries++) {
      try {
        const result = await attempt();
        this.capacity = Math.min(500, this.capacity + (lastCost ?? 1));
        const output = result.output as { $metadata?: object };
        return {
          ...result,
          output: { ...output, $metadata: { ...output.$metadata, attempts: retries + 1, totalRetryDelay: totalDelay } },
        };
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
        const status = e.$metadata?.httpStatusCode ?? 0;
        const throttled = THROTTLING_CODES.has(e.name ?? '') || status === 429;
        const retryable = throttled || status >= 500 || e.name === 'RequestTimeout';
        const cost = throttled ? 5 : 14;
        if (!retryable || retries + 1 >= this.options.maxAttempts || this.capacity < cost) {
          if (e.$metadata) e.$metadata = { ...e.$metadata, attempts: retries + 1 };
          throw error;
        }
        this.capacity -= cost;
        lastCost = cost;
        const base = throttled ? 1_000 : 50;
        const delay = Math.floor(this.random() * Math.min(base * 2 ** retries, 20_000));
        totalDelay += delay;
        this.stats.sdkRetries++;
        await this.clock.sleep(delay);
      }
    }
  }
}

/** Which rate a request counts against; undefined for bucket-level calls the model does not limit. */
function requestClass(op: ModelOperation): RequestClass | undefined {
  switch (op) {
    case 'CreateBucket':
    case 'HeadBucket':
      return undefined;
    case 'GetObject':
    case 'HeadObject':
    case 'GetObjectTagging':
    case 'ListObjectsV2':
    case 'ListParts':
    case 'ListMultipartUploads':
      return 'read';
    default:
      return 'write';
  }
}

function optionsFrom(input: Record<string, unknown>) {
  return {
    ...(typeof input.StorageClass === 'string' ? { storageClass: input.StorageClass } : {}),
    ...(typeof input.ServerSideEncryption === 'string' ? { serverSideEncryption: input.ServerSideEncryption } : {}),
    ...(typeof input.SSEKMSKeyId === 'string' ? { kmsKeyId: input.SSEKMSKeyId } : {}),
  };
}

/** The storage classes whose objects must be restored before they can be read or copied. */
function isArchivedClass(storageClass: string | undefined): boolean {
  return storageClass === 'GLACIER' || storageClass === 'DEEP_ARCHIVE';
}

/** GetObject, CopyObject and UploadPartCopy of an archived object fail until a restore has finished. */
function checkReadable(object: StoredObject): void {
  if (isArchivedClass(object.storageClass) && (!object.restore || object.restore.ongoing)) {
    throw s3Error('InvalidObjectState', "The operation is not valid for the object's storage class");
  }
}

/** HEAD's x-amz-restore, as S3 writes it: ongoing, or done with the restored copy's expiry date. */
function restoreHeader(restore: NonNullable<StoredObject['restore']>, now: number): string {
  if (restore.ongoing) return 'ongoing-request="true"';
  const expiry = new Date(now + restore.days * 86_400_000).toUTCString();
  return `ongoing-request="false", expiry-date="${expiry}"`;
}

function checkIfMatch(ifMatch: unknown, object: StoredObject): void {
  if (ifMatch !== undefined && unquote(String(ifMatch)) !== unquote(object.etag)) {
    throw s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  }
}

function checkCopySourceIfMatch(ifMatch: unknown, source: StoredObject): void {
  if (ifMatch !== undefined && unquote(String(ifMatch)) !== unquote(source.etag)) {
    throw s3Error(
      'PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold (x-amz-copy-source-if-match)',
    );
  }
}

/** S3's multipart ETag body: the MD5 of the parts' binary MD5s concatenated. */
/** A full-object checksum's stand-in value: equal bytes (content descriptors) give equal values. */
function fullChecksum(algorithm: string, content: Content): ModelChecksum {
  const value = createHash('sha256')
    .update(`${algorithm}:${contentDigest(content)}`)
    .digest('base64');
  return { algorithm, type: 'FULL_OBJECT', value };
}

/** The checksum a CreateMultipartUpload asks for, checked against S3's rules for the algorithm. */
function uploadChecksum(input: Record<string, unknown>): Upload['checksum'] {
  const algorithm = input.ChecksumAlgorithm;
  if (typeof algorithm !== 'string') {
    if (input.ChecksumType !== undefined) {
      throw s3Error('InvalidRequest', 'The x-amz-checksum-type header requires x-amz-checksum-algorithm');
    }
    return undefined;
  }
  const asked = input.ChecksumType;
  const type =
    asked === 'FULL_OBJECT' || asked === 'COMPOSITE' ? asked : algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE';
  const allowed =
    algorithm === 'CRC64NVME'
      ? ['FULL_OBJECT']
      : algorithm.startsWith('SHA')
        ? ['COMPOSITE']
        : ['FULL_OBJECT', 'COMPOSITE'];
  if (!allowed.includes(type)) {
    throw s3Error('InvalidRequest', `The ${algorithm} checksum algorithm does not support the ${type} checksum type`);
  }
  return { algorithm, type };
}

/** The completed object's checksum; a FULL_OBJECT value sent with Complete must match the bytes (BadDigest). */
function completedChecksum(
  checksum: NonNullable<Upload['checksum']>,
  parts: readonly UploadPart[],
  content: Content,
  input: Record<string, unknown>,
): ModelChecksum {
  if (input.ChecksumType !== undefined && input.ChecksumType !== checksum.type) {
    throw s3Error(
      'InvalidRequest',
      `The upload was created using the ${checksum.type} checksum mode. The complete request must use the same checksum mode.`,
    );
  }
  if (checksum.type === 'FULL_OBJECT') {
    const full = fullChecksum(checksum.algorithm, content);
    const given = input[`Checksum${checksum.algorithm}`];
    if (given !== undefined && given !== full.value) {
      throw s3Error('BadDigest', `The ${checksum.algorithm} you specified did not match the calculated checksum.`);
    }
    return full;
  }
  const value = createHash('sha256')
    .update(`${checksum.algorithm}:${parts.map((part) => part.checksum ?? '').join(',')}`)
    .digest('base64');
  return { algorithm: checksum.algorithm, type: 'COMPOSITE', value: `${value}-${parts.length}` };
}

/** The ETag S3 gives bytes uploaded in parts of these sizes: `"<md5 of the parts' md5s>-N"`. */
function multipartEtag(content: Content, sizes: readonly number[]): string {
  const partEtags: string[] = [];
  let start = 0;
  for (const size of sizes) {
    partEtags.push(contentDigest(sliceContent(content, start, start + size)));
    start += size;
  }
  return quote(`${createMultipartDigest(partEtags)}-${sizes.length}`);
}

function createMultipartDigest(partEtags: readonly string[]): string {
  const hash = createHash('md5');
  for (const etag of partEtags) hash.update(Buffer.from(unquote(etag), 'hex'));
  return hash.digest('hex');
}

function encodeToken(position: { kind: 'key' | 'prefix'; value: string }): string {
  return Buffer.from(`${position.kind === 'key' ? 'K' : 'P'}${position.value}`, 'utf8').toString('base64');
}

function decodeToken(token: string): { kind: 'key' | 'prefix'; value: string } {
  const text = Buffer.from(token, 'base64').toString('utf8');
  if (text.startsWith('K')) return { kind: 'key', value: text.slice(1) };
  if (text.startsWith('P')) return { kind: 'prefix', value: text.slice(1) };
  throw s3Error('InvalidArgument', 'The continuation token provided is incorrect');
}
