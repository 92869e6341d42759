import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LocalRunOptions } from '../../cli/runner/runner';
import { runOnTestS3 } from '../support/local-run';
import { startTestS3, type TestS3 } from '../support/s3';

const STATE = 'stray-state';
const MiB = 1024 * 1024;
let s3: TestS3;
let runs = 0;

async function buckets() {
  runs++;
  const source = `stray-src-${runs}`;
  const target = `stray-dst-${runs}`;
  await s3.createBucket(source);
  await s3.createBucket(target);
  return { source, target };
}

function body(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) % 251;
  return data;
}

const lostAnswer = () =>
  Object.assign(new Error('We encountered an internal error (the answer was lost after the server acted)'), {
    name: 'InternalError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED (the server crashed)'), { name: 'Error', code: 'ECONNREFUSED' });

/**
 * Lets the first `lose` CreateMultipartUpload requests reach the server and loses their answers; with
 * `crash`, every later target request fails as if the server had gone away.
 */
function loseCreateAnswers(lose: number, crash = false): Pick<LocalRunOptions, 'configureS3'> {
  let lost = 0;
  return {
    configureS3: (client: S3Client, role) => {
      if (role !== 'target') return;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (crash && lost >= lose) throw refused();
          const result = await next(args);
          if (context.commandName === 'CreateMultipartUploadCommand' && lost < lose) {
            lost++;
            throw crash ? refused() : lostAnswer();
          }
          return result;
        },
        // Inside the SDK's retry loop, after signing: the request really reaches the server.
        { step: 'deserialize', name: 'testLostAnswer' },
      );
    },
  };
}

function run(input: unknown, extra: Partial<LocalRunOptions> = {}) {
  return runOnTestS3(s3, STATE, input, extra);
}

const job = (source: string, target: string) => ({
  source: { bucket: source, prefix: 'in/' },
  target: { bucket: target, prefix: 'out/' },
  options: { multipartThreshold: 5 * MiB, partSize: 5 * MiB },
});

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket(STATE);
});

afterAll(async () => {
  await s3?.stop();
});

describe('uploads whose CreateMultipartUpload answer was lost', () => {
  it('leaves the upload a retried create left behind open and names it, as nothing proves it ours', async () => {
    // Arrange: the local run copies with the caller's credentials, no session of its own
    const { source, target } = await buckets();
    const data = body(11 * MiB + 5);
    await s3.put(source, 'in/big.bin', data);

    // Act
    const result = await run(job(source, target), loseCreateAnswers(2));

    // Assert: copied once; the two strays stay open and are reported by id
    expect(result.status).toBe('SUCCEEDED');
    expect(result.objects).toMatchObject({ selected: 1, copied: 1, failed: 0 });
    expect((await s3.getBody(target, 'out/big.bin')).equals(data)).toBe(true);
    expect(await s3.openUploads(target)).toBe(2);
    expect(result.strayUploads?.map((upload) => upload.key)).toEqual(['out/big.bin', 'out/big.bin']);
    expect(result.notification?.strayUploads ?? []).toHaveLength(2);
  });

  it("never aborts another writer's upload of the same key started just before the lost create", async () => {
    // Arrange: another writer started an upload of out/big.bin a moment before the job's create
    const { source, target } = await buckets();
    await s3.put(source, 'in/big.bin', body(11 * MiB + 7));
    const writer = await s3.s3.send(new CreateMultipartUploadCommand({ Bucket: target, Key: 'out/big.bin' }));

    // Act
    const result = await run(job(source, target), loseCreateAnswers(1));

    // Assert: the writer's upload is still open, and named among the uploads left alone
    const open = await s3.s3.send(new ListMultipartUploadsCommand({ Bucket: target }));
    expect(open.Uploads?.map((upload) => upload.UploadId)).toContain(writer.UploadId);
    expect(result.strayUploads?.map((upload) => upload.uploadId)).toContain(writer.UploadId);
    expect(result.status).toBe('SUCCEEDED');
  });

  it('after a crash mid-create, the re-run that finds the server back names the stray and leaves it alone', async () => {
    // Arrange
    const { source, target } = await buckets();
    const data = body(11 * MiB + 9);
    await s3.put(source, 'in/big.bin', data);

    // Act: the server takes the create and crashes before answering; a later run finds it back.
    const crashed = await run(job(source, target), loseCreateAnswers(1, true));
    const openAfterCrash = await s3.openUploads(target);
    const rerun = await run(job(source, target));

    // Assert
    expect(crashed.objects).toMatchObject({ selected: 1, copied: 0, failed: 1 });
    expect(crashed.openUploads?.open).toBeGreaterThan(0);
    expect(openAfterCrash).toBe(1);
    expect(rerun.status).toBe('SUCCEEDED');
    expect(rerun.objects).toMatchObject({ selected: 1, copied: 1, failed: 0 });
    expect((await s3.getBody(target, 'out/big.bin')).equals(data)).toBe(true);
    expect(await s3.openUploads(target)).toBe(1);
    expect(rerun.strayUploads).toHaveLength(1);
    expect(rerun.openUploads?.open ?? 0).toBe(0);
  });
});
