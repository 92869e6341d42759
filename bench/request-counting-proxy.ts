/**
 * A counting HTTP proxy in front of a loopback S3 server, for benchmarks that compare tools by the requests
 * they make: every tool talks to the proxy (its endpoint), the proxy streams each request to the server
 * unchanged (Host included, so SigV4 signatures still match) and counts it by S3 operation. Writes that
 * create an object (PutObject, CopyObject, CompleteMultipartUpload) are also kept by bucket and key, so a
 * bench can say which objects a run wrote, whatever the tool reports about itself.
 *
 * Path-style requests only (`/bucket/key`): every tool in the benches is configured that way.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the proxy understood it. */
export interface ClassifiedRequest {
  operation: string;
  bucket: string;
  key: string;
  /** True when the request creates or replaces an object (the object is then `bucket`/`key`). */
  createsObject: boolean;
}

const OBJECT_WRITES = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload']);

/** Names the S3 operation of a path-style request from its method, path, query and copy-source header. */
export function classifyRequest(method: string, url: string, headers: IncomingHttpHeaders): ClassifiedRequest {
  const parsed = new URL(url, 'http://proxy.invalid');
  const [bucketPart = '', ...keyParts] = parsed.pathname.slice(1).split('/');
  const bucket = decodeURIComponent(bucketPart);
  const key = decodeURIComponent(keyParts.join('/'));
  const has = (name: string) => parsed.searchParams.has(name);
  const copy = headers['x-amz-copy-source'] !== undefined;
  const operation = key
    ? objectOperation(method, has, copy)
    : bucket
      ? bucketOperation(method, has, parsed.searchParams)
      : `${method} /`;
  return { operation, bucket, key, createsObject: OBJECT_WRITES.has(operation) };
}

function objectOperation(method: string, has: (name: string) => boolean, copy: boolean): string {
  switch (method) {
    case 'GET':
      if (has('tagging')) return 'GetObjectTagging';
      if (has('uploadId')) return 'ListParts';
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (has('tagging')) return 'PutObjectTagging';
      if (has('partNumber') && has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (has('uploads')) return 'CreateMultipartUpload';
      if (has('uploadId')) return 'CompleteMultipartUpload';
      return 'POST object';
    case 'DELETE':
      return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return `${method} object`;
  }
}

function bucketOperation(method: string, has: (name: string) => boolean, query: URLSearchParams): string {
  const subresource = [...query.keys()].find((name) => !['prefix', 'delimiter', 'max-keys', 'marker'].includes(name));
  switch (method) {
    case 'GET':
      if (has('list-type')) return 'ListObjectsV2';
      if (has('versions')) return 'ListObjectVersions';
      if (has('uploads')) return 'ListMultipartUploads';
      // A plain GET on a bucket (only listing parameters) is the first version of ListObjects.
      return subresource ? `GetBucket?${subresource}` : 'ListObjects';
    case 'HEAD':
      return 'HeadBucket';
    case 'PUT':
      return subresource ? `PutBucket?${subresource}` : 'CreateBucket';
    case 'POST':
      return has('delete') ? 'DeleteObjects' : `POST bucket?${subresource ?? ''}`;
    case 'DELETE':
      return subresource ? `DeleteBucket?${subresource}` : 'DeleteBucket';
    default:
      return `${method} bucket`;
  }
}

/** What the proxy saw since the last reset. */
export interface RequestCounts {
  total: number;
  byOperation: Record<string, number>;
  /** Object writes by bucket: the distinct keys written and the number of write requests. */
  writes: Map<string, { keys: Set<string>; requests: number }>;
}

export interface CountingProxy {
  url: string;
  counts(): RequestCounts;
  reset(): void;
  close(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1:`port` (0: any free port) in front of `upstream` (a loopback URL). */
export async function startCountingProxy(upstream: string, port = 0): Promise<CountingProxy> {
  const target = new URL(upstream);
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') {
    throw new Error(`counting proxy: upstream ${upstream} is not on loopback; it only fronts local servers`);
  }
  let counts: RequestCounts = { total: 0, byOperation: {}, writes: new Map() };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    const seen = classifyRequest(request.method ?? 'GET', request.url ?? '/', request.headers);
    counts.total++;
    counts.byOperation[seen.operation] = (counts.byOperation[seen.operation] ?? 0) + 1;
    if (seen.createsObject) {
      const bucket = counts.writes.get(seen.bucket) ?? { keys: new Set<string>(), requests: 0 };
      bucket.keys.add(seen.key);
      bucket.requests++;
      counts.writes.set(seen.bucket, bucket);
    }
    const outgoing = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    // A dropped connection on either side ends the other: the tool sees an error and retries, as it would.
    outgoing.on('error', () => response.destroy());
    request.on('error', () => outgoing.destroy());
    request.pipe(outgoing);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    counts: () => counts,
    reset() {
      counts = { total: 0, byOperation: {}, writes: new Map() };
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
