/**
 * Test helpers over the embedded S3 server (cli/embedded-s3.ts holds the server and its fixes).
 * One server per test file: start it in beforeAll, stop it in afterAll.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type EmbeddedS3, startEmbeddedS3 } from '../../cli/embedded-s3';
import { createS3Client, type S3ClientFactory, s3ClientFactory } from '../../functions/shared/clients';

export interface TestS3 {
  server: EmbeddedS3;
  /** A client with the server's credentials. */
  s3: S3Client;
  /** Makes more clients for the same server (what handlers and engines take). */
  makeS3: S3ClientFactory;
  createBucket(name: string): Promise<void>;
  put(bucket: string, key: string, body: string | Uint8Array, extra?: Partial<PutObjectCommandInput>): Promise<void>;
  /** Puts many objects with bounded concurrency. */
  putMany(
    bucket: string,
    entries: Array<{ key: string; body: string | Uint8Array }>,
    concurrency?: number,
  ): Promise<void>;
  getBody(bucket: string, key: string): Promise<Buffer>;
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  openUploads(bucket: string): Promise<number>;
  stop(): Promise<void>;
}

/** Starts an embedded S3 server for one test file. */
export async function startTestS3(): Promise<TestS3> {
  const server = await startEmbeddedS3();
  const s3 = createS3Client(server.endpoint);
  const put: TestS3['put'] = async (bucket, key, body, extra = {}) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
  };
  return {
    server,
    s3,
    makeS3: s3ClientFactory(server.endpoint),
    async createBucket(name) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    },
    put,
    async putMany(bucket, entries, concurrency = 16) {
      let next = 0;
      const worker = async () => {
        while (next < entries.length) {
          const entry = entries[next++];
          if (entry) await put(bucket, entry.key, entry.body);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    },
    async getBody(bucket, key) {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(
        await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
    },
    async listKeys(bucket, prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key);
        token = page.NextContinuationToken;
      } while (token);
      return keys;
    },
    async openUploads(bucket) {
      const response = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return response.Uploads?.length ?? 0;
    },
    async stop() {
      s3.destroy();
      await server.stop();
    },
  };
}
