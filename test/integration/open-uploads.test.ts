import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { jobOpenUploads, type OpenUpload, openUploadsFile, settleOpenUploads } from '../../cli/runner/open-uploads';
import { uploadRecordKey } from '../../functions/copy/progress-record';
import { createS3Client } from '../../functions/shared/clients';
import { startTestS3, type TestS3 } from '../support/s3';

let s3: TestS3;
let base: string;

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket('uploads-dst');
  await s3.createBucket('uploads-state');
});

afterAll(async () => {
  await s3.stop();
});

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 's3xcopy-open-uploads-'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function openUpload(key: string, jobId: string): Promise<OpenUpload> {
  const created = await s3.s3.send(new CreateMultipartUploadCommand({ Bucket: 'uploads-dst', Key: key }));
  return { bucket: 'uploads-dst', key, uploadId: created.UploadId as string, jobId };
}

/** A client for a closed port: every request fails as a server that crashed would make it fail. */
const unreachable = () =>
  createS3Client({
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });

describe('open multipart uploads a local run leaves behind', () => {
  it('keeps an upload it could not abort for the next run, which aborts it', async () => {
    // Arrange
    const file = openUploadsFile(s3.server.url, 'uploads-dst', base);
    const upload = await openUpload('big.bin', 'job-1');

    // Act: the crashed run cannot reach the server; the re-run can.
    const afterCrash = await settleOpenUploads(file, [upload], async () => unreachable());
    const afterRerun = await settleOpenUploads(file, [], async () => s3.s3);

    // Assert
    expect(afterCrash.map((u) => u.uploadId)).toEqual([upload.uploadId]);
    expect(afterCrash[0]?.lastError).toMatch(/ECONNREFUSED|connect/);
    expect(afterRerun).toEqual([]);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual([]);
    expect(await s3.openUploads('uploads-dst')).toBe(0);
  });

  it('counts an upload that is already gone as settled', async () => {
    // Arrange
    const file = openUploadsFile(s3.server.url, 'uploads-dst', base);
    const gone: OpenUpload = { bucket: 'uploads-dst', key: 'x.bin', uploadId: 'no-such-upload', jobId: 'job-2' };

    // Act
    const stillOpen = await settleOpenUploads(file, [gone], async () => s3.s3);

    // Assert
    expect(stillOpen).toEqual([]);
  });

  it("names only the job's uploads its progress records leave open", async () => {
    // Arrange: one record still uploading, one completed, one of another job.
    const record = (jobId: string, key: string, state: string, uploadId: string) =>
      s3.s3.send(
        new PutObjectCommand({
          Bucket: 'uploads-state',
          Key: uploadRecordKey(jobId, key),
          Body: JSON.stringify({ jobId, state, uploadId, target: { bucket: 'uploads-dst', key: `t/${key}` } }),
        }),
      );
    await record('job-3', 'a', 'uploading', 'u-a');
    await record('job-3', 'b', 'completed', 'u-b');
    await record('job-4', 'c', 'uploading', 'u-c');

    // Act
    const open = await jobOpenUploads(s3.s3, 'uploads-state', 'job-3');

    // Assert
    expect(open).toEqual([{ bucket: 'uploads-dst', key: 't/a', uploadId: 'u-a', jobId: 'job-3' }]);
  });

  it('keeps the uploads, with the reason, when no client for the target can be had', async () => {
    // Arrange
    const file = openUploadsFile(s3.server.url, 'uploads-dst', base);
    const upload = await openUpload('denied.bin', 'job-5');
    const denied = Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AssumeRoleError' });

    // Act
    const stillOpen = await settleOpenUploads(file, [upload], async () => Promise.reject(denied));
    const never = await settleOpenUploads(openUploadsFile('http://other', 'uploads-dst', base), [], async () => {
      throw new Error('a run with nothing to abort must not ask for a client');
    });

    // Assert
    expect(stillOpen).toMatchObject([{ uploadId: upload.uploadId, lastError: expect.stringMatching(/AssumeRole/) }]);
    expect(never).toEqual([]);
    await settleOpenUploads(file, [], async () => s3.s3);
  });

  it('keeps one file per endpoint and target bucket', () => {
    expect(openUploadsFile('http://a', 'b1', base)).not.toBe(openUploadsFile('http://a', 'b2', base));
    expect(openUploadsFile('http://a', 'b1', base)).not.toBe(openUploadsFile('http://c', 'b1', base));
    expect(openUploadsFile('http://a', 'b1', base)).toBe(openUploadsFile('http://a', 'b1', base));
  });
});
