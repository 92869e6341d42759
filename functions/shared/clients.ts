import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Where and how S3 is reached. Without `endpoint`, the AWS S3 endpoint of `region`. */
export interface S3Endpoint {
  region?: string;
  /** Any S3-compatible server: requests go path-style, checksums only where S3 requires them. */
  endpoint?: string;
  /** Credentials for this endpoint when none are given (the embedded server's fixed pair); else the default chain. */
  credentials?: Credentials;
  /** Applied to every client made for this endpoint (the embedded server's fixes use it). */
  configure?: (client: S3Client) => void;
}

export type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/** Makes an S3 client for some credentials (undefined = the default chain); one per role, never per object. */
export type S3ClientFactory = (credentials?: Credentials) => S3Client;

/**
 * Creates an S3 client with keep-alive sockets sized to the work's concurrency, so parallel copies
 * reuse connections instead of queueing behind Node's default agent.
 */
export function createS3Client(endpoint: S3Endpoint, options: { credentials?: Credentials; maxSockets?: number } = {}) {
  const maxSockets = options.maxSockets ?? 64;
  const client = new S3Client({
    region: endpoint.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(endpoint.endpoint
      ? {
          endpoint: endpoint.endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
    ...(options.credentials || endpoint.credentials
      ? { credentials: options.credentials ?? endpoint.credentials }
      : {}),
    // The SDK's own retries cover one request; the copy engine adds its own backoff for whole operations.
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      connectionTimeout: 5_000,
      // A server-side CopyObject near the 5 GiB limit answers only when the copy is done: minutes, not seconds.
      requestTimeout: 600_000,
    }),
  });
  endpoint.configure?.(client);
  return client;
}

/** A factory bound to one endpoint and socket budget. */
export function s3ClientFactory(endpoint: S3Endpoint, maxSockets?: number): S3ClientFactory {
  return (credentials) =>
    createS3Client(endpoint, { ...(credentials ? { credentials } : {}), ...(maxSockets ? { maxSockets } : {}) });
}

/**
 * The STS client used to assume the target role; regional endpoint of the function's own region, or
 * `endpoint` (an S3-compatible server's STS). Without `endpoint` the SDK still honours the standard
 * AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL variables.
 */
export function createStsClient(region?: string, endpoint?: string): STSClient {
  return new STSClient({ region: region ?? process.env.AWS_REGION ?? 'us-east-1', ...(endpoint ? { endpoint } : {}) });
}
