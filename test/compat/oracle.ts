/**
 * The oracle: checks a copy by reading back what the servers hold, with a plain SDK client made here (not
 * the product's client factory), so a bug in our code cannot hide itself. Every target object is compared
 * with its source: bytes (SHA-256), content headers, user metadata, tags; the target holds exactly the
 * expected keys; no multipart upload is left open.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

/** A plain client for one server and one identity. */
export function oracleClient(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }) {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** What the oracle compares of one object. */
export interface ObjectImage {
  sha256: string;
  size: number;
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  /** The raw Expires header: a date or any other text (S3 stores it as given). */
  expires?: string;
  metadata: Record<string, string>;
  tags: Array<[string, string]>;
}

export async function readObject(s3: S3Client, bucket: string, key: string): Promise<ObjectImage> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(
    await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  const image: ObjectImage = {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    metadata: Object.fromEntries(Object.entries(object.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    tags: (tagging.TagSet ?? []).map((tag): [string, string] => [tag.Key ?? '', tag.Value ?? '']).sort(),
  };
  // Servers default the content type differently when none was set; compare only what the source has.
  if (object.ContentType) image.contentType = object.ContentType;
  if (object.CacheControl) image.cacheControl = object.CacheControl;
  if (object.ContentDisposition) image.contentDisposition = object.ContentDisposition;
  if (object.ContentEncoding) image.contentEncoding = object.ContentEncoding;
  if (object.ContentLanguage) image.contentLanguage = object.ContentLanguage;
  const expires = object.ExpiresString ?? (object.Expires ? object.Expires.toUTCString() : undefined);
  if (expires) image.expires = normaliseExpires(expires);
  return image;
}

/** Dates compare as instants (servers format them differently); anything else as text. */
function normaliseExpires(value: string): string {
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString();
}

export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const item of page.Contents ?? []) if (item.Key !== undefined) keys.push(item.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

export async function openUploads(s3: S3Client, bucket: string): Promise<string[]> {
  const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (page.Uploads ?? []).map((upload) => upload.Key ?? '');
}

/** One pair to compare: a source object and the target key it must have been copied to. */
export interface ExpectedCopy {
  sourceKey: string;
  targetKey: string;
}

/**
 * Compares every expected target object with its source and lists every difference (empty when the
 * copy is faithful). `ignore` names fields a server is known not to keep (documented per server).
 */
export async function compareCopies(options: {
  source: { s3: S3Client; bucket: string };
  target: { s3: S3Client; bucket: string; prefix: string };
  expected: ExpectedCopy[];
  ignore?: ReadonlyArray<keyof ObjectImage>;
}): Promise<string[]> {
  const { source, target, expected } = options;
  const problems: string[] = [];
  const present = new Set(await listKeys(target.s3, target.bucket, target.prefix));
  const wanted = new Set(expected.map((e) => e.targetKey));
  for (const key of present) if (!wanted.has(key)) problems.push(`unexpected target object ${JSON.stringify(key)}`);
  for (const { sourceKey, targetKey } of expected) {
    if (!present.has(targetKey)) {
      problems.push(`missing target object ${JSON.stringify(targetKey)}`);
      continue;
    }
    const [want, got] = await Promise.all([
      readObject(source.s3, source.bucket, sourceKey),
      readObject(target.s3, target.bucket, targetKey),
    ]);
    for (const field of Object.keys({ ...want, ...got }) as Array<keyof ObjectImage>) {
      if (options.ignore?.includes(field)) continue;
      const a = JSON.stringify(want[field]);
      const b = JSON.stringify(got[field]);
      if (a !== b) problems.push(`${JSON.stringify(targetKey)}: ${field} is ${b}, source has ${a}`);
    }
  }
  const open = await openUploads(target.s3, target.bucket);
  if (open.length > 0) problems.push(`multipart uploads left open: ${open.join(', ')}`);
  return problems;
}
