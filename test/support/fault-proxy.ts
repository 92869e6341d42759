/**
 * A fault-injecting HTTP proxy for S3 servers, loopback only: the CLI talks to the proxy (--endpoint),
 * the proxy forwards to the real server and, at the rates given, answers instead with what real S3 and
 * real networks do: 503 SlowDown, 500 InternalError (before or after the server acted), a reset
 * connection, a slow response, a truncated body. `setDown(true)` plays a crashed server: every request
 * is refused until it comes back. The Host header is forwarded unchanged, so SigV4 signatures still match.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const FAULT_KINDS = ['slowDown', 'internalError', 'lostResponse', 'reset', 'slow', 'truncated'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultProxyOptions {
  /** The real server, e.g. http://127.0.0.1:7480. */
  upstream: string;
  /** Probability (0..1) of each fault per request; a request gets at most one. */
  rates?: Partial<Record<FaultKind, number>>;
  /** How long a `slow` response is held back (default 1.5 s). */
  slowMs?: number;
  /** Deterministic randomness for reproducible runs (default Math.random). */
  random?: () => number;
}

export interface FaultProxy {
  url: string;
  /** Requests seen and faults injected, by kind. */
  counts(): {
    requests: number;
    /** ListObjectsV2 requests (GET on a bucket with list-type=2), whatever their answer. */
    lists: number;
    forwarded: number;
    refusedWhileDown: number;
    faults: Record<FaultKind, number>;
  };
  setRates(rates: Partial<Record<FaultKind, number>>): void;
  /** A crashed server: refuse (reset) every request while down. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;

/** A small deterministic generator (mulberry32) for reproducible fault sequences. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  if (upstream.hostname !== '127.0.0.1' && upstream.hostname !== 'localhost') {
    throw new Error(`fault proxy: upstream ${options.upstream} is not on loopback; it only fronts local test servers`);
  }
  let rates: Partial<Record<FaultKind, number>> = { ...options.rates };
  const random = options.random ?? Math.random;
  const slowMs = options.slowMs ?? 1_500;
  let down = false;
  const faults = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  let requests = 0;
  let forwarded = 0;
  let refusedWhileDown = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const sockets = new Set<Socket>();

  const pick = (): FaultKind | undefined => {
    let roll = random();
    for (const kind of FAULT_KINDS) {
      const rate = rates[kind] ?? 0;
      if (roll < rate) return kind;
      roll -= rate;
    }
    return undefined;
  };

  const answer = (response: ServerResponse, status: number, code: string, message: string) => {
    const body = errorXml(code, message);
    response.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };

  const forward = (request: IncomingMessage, body: Buffer, response: ServerResponse, fault: FaultKind | undefined) => {
    forwarded++;
    const outgoing = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      (upstreamResponse) => {
        const chunks: Buffer[] = [];
        upstreamResponse.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstreamResponse.on('error', () => response.destroy());
        upstreamResponse.on('end', () => {
          const data = Buffer.concat(chunks);
          if (fault === 'lostResponse') {
            // The server acted; its answer never arrives: the client sees a 500 for a request that was done.
            answer(response, 500, 'InternalError', 'fault proxy: answer lost after the server acted');
            return;
          }
          if (fault === 'truncated' && data.length > 1) {
            response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
            response.write(data.subarray(0, Math.floor(data.length / 2)));
            // Cut mid-body: the client got fewer bytes than Content-Length said.
            setImmediate(() => response.socket?.destroy());
            return;
          }
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          response.end(data);
        });
      },
    );
    outgoing.on('error', () => response.destroy());
    outgoing.end(body);
  };

  let lists = 0;
  const server = http.createServer((request, response) => {
    requests++;
    if (request.method === 'GET' && /[?&]list-type=2(&|$)/.test(request.url ?? '')) lists++;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      if (down) {
        refusedWhileDown++;
        request.socket.destroy();
        return;
      }
      const fault = pick();
      if (fault) faults[fault]++;
      switch (fault) {
        case 'slowDown':
          return answer(response, 503, 'SlowDown', 'Please reduce your request rate. (fault proxy)');
        case 'internalError':
          return answer(response, 500, 'InternalError', 'We encountered an internal error. (fault proxy)');
        case 'reset':
          request.socket.destroy();
          return;
        case 'slow':
          setTimeout(() => forward(request, body, response, undefined), slowMs);
          return;
        default:
          forward(request, body, response, fault);
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ requests, lists, forwarded, refusedWhileDown, faults: { ...faults } }),
    setRates(next) {
      rates = { ...next };
    },
    setDown(value) {
      down = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
