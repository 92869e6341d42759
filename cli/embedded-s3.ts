/**
 * The embedded S3-compatible server (@20minutes/s3rver, in-process) that `npm start`, `s3xcopy run`
 * without --endpoint, the tests and the benchmarks use, with the fixes for its known defects
 * (shared/NOTES.md). Every workaround for that server lives in this one module; product code keeps
 * the AWS-correct behaviour.
 */
import crypto from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { S3Endpoint } from '../functions/shared/clients';

// biome-ignore lint/suspicious/noExplicitAny: s3rver ships no types.
type S3rverInstance = any;

/** The fixed credentials the embedded server accepts (it does check SigV4 signatures with them). */
export const EMBEDDED_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface EmbeddedS3 {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The endpoint settings for createS3Client, with the client-side fix and credentials. */
  endpoint: S3Endpoint;
  /** Where the server keeps its objects. */
  directory: string;
  stop(): Promise<void>;
}

let serverPatched = false;

/**
 * Defect 2: list continuation tokens use the DES cipher, which OpenSSL 3 refuses (500 on page 2).
 * Map it to triple-DES with the 8-byte key repeated, which keeps the 8-byte block and IV.
 * Defect 3: the server decodes x-amz-copy-source with decodeURI, so %2F %2B %26 ... stay encoded and
 * copies of such keys 404. Re-encode the header so that decodeURI yields the real key. This runs after
 * the server checked the request's signature, so signatures are still verified on what the SDK sent.
 */
function patchServerOnce(): void {
  if (serverPatched) return;
  serverPatched = true;
  const cryptoModule = crypto as unknown as {
    createCipheriv: (...args: unknown[]) => unknown;
    createDecipheriv: (...args: unknown[]) => unknown;
  };
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = cryptoModule[name];
    cryptoModule[name] = (algorithm: unknown, key: unknown, ...rest: unknown[]) =>
      algorithm === 'des' && Buffer.isBuffer(key) && key.length === 8
        ? original('des-ede3-cbc', Buffer.concat([key, key, key]), ...rest)
        : original(algorithm, key, ...rest);
  }
  const objectController = require('@20minutes/s3rver/lib/controllers/object') as Record<
    string,
    (ctx: { headers: Record<string, string> }) => unknown
  >;
  for (const name of ['putObjectCopy', 'uploadPartCopy']) {
    const original = objectController[name];
    if (!original) throw new Error(`embedded S3 server: controller ${name} not found; its fix needs updating`);
    objectController[name] = (ctx) => {
      const header = ctx.headers['x-amz-copy-source'];
      if (header) {
        const [source = '', query] = header.split('?');
        const exact = decodeURIComponent(source);
        ctx.headers['x-amz-copy-source'] = encodeURI(exact) + (query === undefined ? '' : `?${query}`);
      }
      return original(ctx);
    };
  }
  honourIfMatch(objectController);
  addMultipartUploadRoutes();
  listInS3Order();
  pageDelimiterListings();
}

/** The parts of the s3rver store the conditional-request fix reads. */
interface ConditionalContext {
  headers: Record<string, string | undefined>;
  params: { bucket: string; key?: string };
  store: { getMetadata(bucket: string, key: string): Promise<{ etag?: string }> };
}

const unquoteEtag = (etag: string) => etag.trim().replace(/^W\//, '').replace(/"/g, '');

/**
 * Defect 6: the server ignores If-Match on GET/HEAD and x-amz-copy-source-if-match on CopyObject and
 * UploadPartCopy, so a source overwritten since it was listed is copied silently where S3 answers
 * 412 PreconditionFailed. Check the stored ETag first, as S3 does (a missing object keeps its 404).
 * It wraps the copy-source fix above, so it sees the header as sent (each key segment percent-encoded).
 */
function honourIfMatch(objectController: Record<string, (ctx: never) => unknown>): void {
  const check = async (ctx: ConditionalContext, header: string, bucket: string, key: string) => {
    const wanted = ctx.headers[header];
    if (wanted === undefined) return;
    const metadata = await ctx.store.getMetadata(bucket, key).catch(() => undefined);
    if (metadata === undefined) return;
    const matches = wanted
      .split(',')
      .some((etag) => etag.trim() === '*' || unquoteEtag(etag) === unquoteEtag(metadata.etag ?? ''));
    if (!matches) {
      throw s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: header === 'if-match' ? 'If-Match' : 'x-amz-copy-source-If-Match',
      });
    }
  };
  const wrap = (name: string, conditions: (ctx: ConditionalContext) => Promise<void>) => {
    const original = objectController[name] as ((ctx: ConditionalContext) => unknown) | undefined;
    if (!original) throw new Error(`embedded S3 server: controller ${name} not found; its fix needs updating`);
    objectController[name] = (async (ctx: ConditionalContext) => {
      await conditions(ctx);
      return original(ctx);
    }) as never;
  };
  wrap('getObject', (ctx) => check(ctx, 'if-match', ctx.params.bucket, ctx.params.key ?? ''));
  const copySourceCheck = async (ctx: ConditionalContext) => {
    const header = ctx.headers['x-amz-copy-source'];
    if (header === undefined) return;
    const [bucket = '', ...key] = header.split('?')[0]?.replace(/^\//, '').split('/') ?? [];
    await check(ctx, 'x-amz-copy-source-if-match', decodeURIComponent(bucket), decodeURIComponent(key.join('/')));
  };
  wrap('putObjectCopy', copySourceCheck);
  wrap('uploadPartCopy', copySourceCheck);
}

interface RouterLayer {
  path: string;
  methods: string[];
}
interface KoaContext {
  params: { bucket: string; key?: string };
  query: Record<string, string | undefined>;
  store: {
    getBucket(name: string): Promise<unknown>;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  };
  status: number;
  body: unknown;
}
type Middleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;
interface Router {
  stack: RouterLayer[];
  get(path: string, middleware: Middleware): Router;
  delete(path: string, middleware: Middleware): Router;
}

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;

/**
 * The server's error class, required when a patched route first throws: loading it loads the server's
 * models (lodash, an XML parser), which `s3xcopy run` against any other endpoint never needs.
 */
function s3Error(code: string, message: string, detail?: Record<string, string>): Error {
  const S3Error = require('@20minutes/s3rver/lib/models/error') as S3ErrorClass;
  return new S3Error(code, message, detail);
}

/**
 * Defect 4: the server answers ListMultipartUploads with NotImplemented and AbortMultipartUpload with
 * MethodNotAllowed, so a failed multipart copy could not be cleaned up nor checked. Add both routes to
 * its router, after its signature check and in front of the layers that refuse them.
 */
function addMultipartUploadRoutes(): void {
  const router = require('@20minutes/s3rver/lib/routes') as Router;

  const uploadsDir = (ctx: KoaContext) => ctx.store.getResourcePath(ctx.params.bucket, undefined, 'uploads');

  router.get('/:bucket', async (ctx, next) => {
    if (!('uploads' in ctx.query)) return next();
    if (!(await ctx.store.getBucket(ctx.params.bucket))) {
      throw s3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: ctx.params.bucket });
    }
    const dir = uploadsDir(ctx);
    const ids = await readdir(dir).catch(() => [] as string[]);
    const uploads = await Promise.all(
      ids.map(async (id) => ({
        Key: (await readFile(path.join(dir, id, 'key'))).toString(),
        UploadId: id,
        Initiated: (await stat(path.join(dir, id))).birthtime.toISOString(),
        StorageClass: 'STANDARD',
      })),
    );
    ctx.body = {
      ListMultipartUploadsResult: {
        Bucket: ctx.params.bucket,
        KeyMarker: '',
        UploadIdMarker: '',
        MaxUploads: 1000,
        IsTruncated: false,
        Upload: uploads,
      },
    };
  });
  router.delete('/:bucket/*key', async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (uploadId === undefined) return next();
    const dir = path.join(uploadsDir(ctx), path.basename(uploadId));
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (!exists) {
      throw s3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    }
    await rm(dir, { recursive: true, force: true });
    ctx.status = 204;
  });

  // Move the two new layers in front of the existing route layers for the same paths (which refuse).
  const added = router.stack.splice(-2, 2);
  for (const layer of added) {
    const method = layer.methods.includes('DELETE') ? 'DELETE' : 'GET';
    const index = router.stack.findIndex(
      (existing) => existing.path === layer.path && existing.methods.includes(method),
    );
    if (index < 0) throw new Error(`embedded S3 server: no ${method} ${layer.path} route to put the fix before`);
    router.stack.splice(index, 0, layer);
  }
}

/**
 * Defect 1: SDK v3 signs bucket-level paths as `/bucket/`; the server verifies `/bucket`. Drop the
 * trailing slash before signing (build step), only for bucket-level requests.
 */
export function applyEmbeddedClientFix(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: string };
      if (typeof request.path === 'string' && /^\/[^/]+\/$/.test(request.path)) {
        request.path = request.path.slice(0, -1);
      }
      return next(args);
    },
    { step: 'build', name: 'embeddedS3BucketPathFix', override: true },
  );
}

/**
 * Starts the embedded S3 server on a free loopback port with a fresh directory.
 * @param options.directory keep objects there (default: a new temp directory, removed on stop)
 */
export async function startEmbeddedS3(options: { directory?: string; port?: number } = {}): Promise<EmbeddedS3> {
  patchServerOnce();
  const S3rver = require('@20minutes/s3rver');
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(scratchBase(), 's3xcopy-s3-')));
  const server: S3rverInstance = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    vhostBuckets: false,
    allowMismatchedSignatures: false,
  });
  const address = (await server.run()) as AddressInfo;
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    directory,
    endpoint: embeddedEndpoint(url),
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Where a throw-away server keeps its files: memory-backed /dev/shm when the machine has it (the server
 * writes three files per object, and creating files on a disk-backed /tmp was measured ~65x slower here),
 * else the OS temp directory.
 */
function scratchBase(): string {
  return process.platform === 'linux' && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/** Endpoint settings for an embedded server already running at `url` (e.g. started by another process). */
export function embeddedEndpoint(url: string): S3Endpoint {
  return { endpoint: url, region: 'us-east-1', credentials: EMBEDDED_CREDENTIALS, configure: applyEmbeddedClientFix };
}

/** Every object key stored under `dir` (the store keeps `<key>._S3rver_object` files in a directory tree). */
function* storedKeys(dir: string, relative: string, prefix: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      // Only descend where a key under the prefix can be.
      if (name.startsWith(prefix) || prefix.startsWith(`${name}/`))
        yield* storedKeys(`${dir}/${entry.name}`, name, prefix);
    } else if (name.endsWith(OBJECT_SUFFIX)) {
      yield name.slice(0, -OBJECT_SUFFIX.length);
    }
  }
}

const OBJECT_SUFFIX = '._S3rver_object';

/**
 * Every listing reads each listed key's metadata files. With listings side by side (the List step lists up to
 * 32 partitions at once, 4 pages ahead) unbounded reads ran out of file descriptors (EMFILE at 50,000 keys in
 * bench:list): at most this many metadata reads run at once across the server.
 */
const metadataReads = pLimit(256);

/** What one store listing found: keys, common prefixes, and the last entry of the page (for the token). */
interface StoreListing {
  objects: unknown[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The page's last entry, a key or a common prefix; undefined on an empty page. */
  last?: { value: string; prefix: boolean };
}

interface StoreListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
  /** A continuation after a common prefix: skip every key under `startAfter`, not only the ones before it. */
  startAfterPrefix?: boolean;
}

/**
 * Defect 5: the store lists keys in directory-walk order (`p/a/b` before `p/a-b` before `p/a`) and
 * compares StartAfter in JavaScript string order, so a listing resumed after a key can skip keys.
 * Defect 7: with a Delimiter it gathered every common prefix into each page without counting them against
 * MaxKeys, and its continuation token names the page's last key, so a paged delimiter listing repeated or
 * lost common prefixes (and failed on a page of prefixes only).
 * Replace its listObjects with one that walks every matching key in UTF-8 byte order, as S3 does: a key
 * and a common prefix each count as one of MaxKeys, and the keys under a common prefix are one entry. The
 * token fix is in pageDelimiterListings.
 */
function listInS3Order(): void {
  const FilesystemStore = require('@20minutes/s3rver/lib/stores/filesystem');
  const S3Object = require('@20minutes/s3rver/lib/models/object');
  FilesystemStore.prototype.listObjects = async function listObjects(
    this: { getBucketPath(bucket: string): string; getMetadata(bucket: string, key: string): Promise<unknown> },
    bucket: string,
    options: StoreListOptions,
  ): Promise<StoreListing> {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Number.POSITIVE_INFINITY } = options;
    const after = Buffer.from(startAfter);
    const sorted = [...storedKeys(this.getBucketPath(bucket), '', prefix)]
      .filter((key) => key.startsWith(prefix))
      .filter((key) => !(options.startAfterPrefix && key.startsWith(startAfter)))
      .map((key) => ({ key, bytes: Buffer.from(key) }))
      .filter(({ bytes }) => Buffer.compare(bytes, after) > 0)
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    const commonPrefixes: string[] = [];
    const keys: string[] = [];
    let last: StoreListing['last'];
    let isTruncated = false;
    for (const { key } of sorted) {
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      const common = cut === -1 ? undefined : key.slice(0, cut + delimiter.length);
      // The keys under one common prefix are contiguous in byte order: the rest of them add nothing.
      if (common !== undefined && last?.prefix && last.value === common) continue;
      if (keys.length + commonPrefixes.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      if (common === undefined) keys.push(key);
      else commonPrefixes.push(common);
      last = { value: common ?? key, prefix: common !== undefined };
    }
    const objects = await Promise.all(
      keys.map((key) =>
        metadataReads(async () => {
          const metadata = await this.getMetadata(bucket, key).catch((error: { code?: string }) => {
            if (error.code === 'ENOENT') return undefined;
            throw error;
          });
          return metadata === undefined ? undefined : new S3Object(bucket, key, null, metadata);
        }),
      ),
    );
    return {
      objects: objects.filter((object) => object !== undefined),
      commonPrefixes,
      isTruncated,
      ...(last ? { last } : {}),
    };
  };
}

/** The continuation token of the fixed listing: where the page ended, and whether that was a common prefix. */
interface ListToken {
  bucket: string;
  after: string;
  prefix: boolean;
}

const encodeListToken = (token: ListToken) => Buffer.from(JSON.stringify(token), 'utf8').toString('base64');

function decodeListToken(token: string, bucket: string): ListToken {
  let decoded: Partial<ListToken> | undefined;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Partial<ListToken>;
  } catch {
    decoded = undefined;
  }
  if (decoded?.bucket !== bucket || typeof decoded.after !== 'string' || typeof decoded.prefix !== 'boolean') {
    throw s3Error('InvalidArgument', 'The continuation token provided is incorrect', {
      ArgumentName: 'continuation-token',
    });
  }
  return decoded as ListToken;
}

interface ListContext {
  params: { bucket: string };
  query: Record<string, string | undefined>;
  store: { listObjects(bucket: string, options: StoreListOptions): Promise<StoreListing> };
  body: unknown;
}

/**
 * Defect 7, the token half: the server's token is the page's last key, so a continuation after a common
 * prefix would list that prefix's keys again. Around its GET Bucket controller: a continuation token of
 * ours becomes StartAfter (plus "skip the prefix" when the page ended on one), the controller lists through
 * a store view that passes that on, and the answer gets S3's IsTruncated, NextContinuationToken (NextMarker
 * in ListObjects v1) and KeyCount (keys and common prefixes). The signature was checked before with the
 * request as sent.
 */
function pageDelimiterListings(): void {
  const bucketController = require('@20minutes/s3rver/lib/controllers/bucket') as Record<
    string,
    (ctx: ListContext) => Promise<unknown>
  >;
  const original = bucketController.getBucket;
  if (!original) throw new Error('embedded S3 server: controller getBucket not found; its fix needs updating');
  bucketController.getBucket = async (ctx) => {
    const bucket = ctx.params.bucket;
    const v2 = ctx.query['list-type'] === '2';
    const tokenIn = v2 ? ctx.query['continuation-token'] : undefined;
    let continued: ListToken | undefined;
    if (tokenIn) {
      continued = decodeListToken(tokenIn, bucket);
      const { 'continuation-token': _token, 'start-after': _startAfter, ...rest } = ctx.query;
      ctx.query = { ...rest, 'start-after': continued.after };
    }
    const store = ctx.store;
    let listing: StoreListing | undefined;
    ctx.store = Object.assign(Object.create(store) as ListContext['store'], {
      async listObjects(name: string, options: StoreListOptions) {
        listing = await store.listObjects(name, {
          ...options,
          ...(continued?.prefix ? { startAfterPrefix: true } : {}),
        });
        // The controller would build its token from the last key: it sees an untruncated page.
        return { ...listing, isTruncated: false };
      },
    });
    await original(ctx);
    const result = (ctx.body as { ListBucketResult?: Record<string, unknown> } | undefined)?.ListBucketResult;
    if (!result || !listing) return;
    const next = listing.isTruncated && listing.last ? listing.last : undefined;
    result.IsTruncated = next !== undefined;
    if (v2) {
      result.KeyCount = listing.objects.length + listing.commonPrefixes.length;
      result.StartAfter = tokenIn ? undefined : ctx.query['start-after'];
      result.ContinuationToken = tokenIn;
      result.NextContinuationToken = next
        ? encodeListToken({ bucket, after: next.value, prefix: next.prefix })
        : undefined;
    } else {
      result.NextMarker = next && ctx.query.delimiter ? next.value : undefined;
    }
  };
}
