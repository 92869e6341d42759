import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { installCallRecorder, isAssumedRoleCredentials } from './call-recorder';

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

/**
 * Makes an S3 client for some credentials (undefined = the default chain) and region (undefined = the
 * endpoint's); one per role and region, never per object.
 */
export type S3ClientFactory = (credentials?: Credentials, region?: string) => S3Client;

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
  installCallRecorder(client, 's3', isAssumedRoleCredentials(options.credentials) ? 'target' : undefined);
  return client;
}

/** A factory bound to one endpoint and socket budget. */
export function s3ClientFactory(endpoint: S3Endpoint, maxSockets?: number): S3ClientFactory {
  return (credentials, region) =>
    createS3Client(region ? { ...endpoint, region } : endpoint, {
      ...(credentials ? { credentials } : {}),
      ...(maxSockets ? { maxSockets } : {}),
    });
}

/**
 * The region S3 names for a bucket in a response or an error: the `x-amz-bucket-region` header, which S3
 * sends with HeadBucket's 200, and with the 301 PermanentRedirect and 403 a request to the wrong region
 * or without ListBucket gets. undefined when there is none.
 */
export function bucketRegionOf(responseOrError: unknown): string | undefined {
  const value = responseOrError as {
    BucketRegion?: unknown;
    $response?: { headers?: Record<string, string | undefined> };
  };
  if (typeof value?.BucketRegion === 'string' && value.BucketRegion !== '') return value.BucketRegion;
  const header = value?.$response?.headers?.['x-amz-bucket-region'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

/**
 * Which region each bucket lives in. The SDK does not follow S3's region redirects, so a client for the
 * wrong region fails every request with 301: configured regions are used as given; any other bucket is
 * discovered once (HeadBucket, or the region header of its error) and cached for the life of the function.
 */
export class BucketRegions {
  private readonly known = new Map<string, Promise<string>>();

  constructor(
    configured: Record<string, string> = {},
    /** Where a bucket is assumed to be when S3 names no region (a missing bucket fails there, clearly). */
    private readonly fallbackRegion: string = process.env.AWS_REGION ?? 'us-east-1',
  ) {
    for (const [bucket, region] of Object.entries(configured)) this.known.set(bucket, Promise.resolve(region));
  }

  /** The region of `bucket`; `probe` (any client that can reach S3) asks S3 once when it is not known. */
  regionOf(bucket: string, probe: S3Client): Promise<string> {
    let region = this.known.get(bucket);
    if (!region) {
      region = probe.send(new HeadBucketCommand({ Bucket: bucket })).then(
        (response) => bucketRegionOf(response) ?? this.fallbackRegion,
        (error: unknown) => bucketRegionOf(error) ?? this.fallbackRegion,
      );
      this.known.set(bucket, region);
    }
    return region;
  }
}

/**
 * S3 clients with one set of credentials, one per region, each bucket sent to its own region's client.
 * For endpoints that are not AWS (`S3Endpoint.endpoint`), leave regions out: one server holds every bucket.
 */
export class RegionalS3Clients {
  private readonly byRegion = new Map<string, S3Client>();

  constructor(
    private readonly make: (region: string) => S3Client,
    private readonly regions: BucketRegions,
    private readonly home: S3Client,
  ) {}

  /** The client for `bucket`'s region (the home client when that is its region). */
  async clientFor(bucket: string): Promise<S3Client> {
    const region = await this.regions.regionOf(bucket, this.home);
    if (region === (await this.home.config.region())) return this.home;
    let client = this.byRegion.get(region);
    if (!client) {
      client = this.make(region);
      this.byRegion.set(region, client);
    }
    return client;
  }
}

/**
 * The STS client used to assume the target role; regional endpoint of the function's own region, or
 * `endpoint` (an S3-compatible server's STS). Without `endpoint` the SDK still honours the standard
 * AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL variables.
 */
export function createStsClient(region?: string, endpoint?: string): STSClient {
  const client = new STSClient({
    region: region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
  });
  installCallRecorder(client, 'sts');
  return client;
}
