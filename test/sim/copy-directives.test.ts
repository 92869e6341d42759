/**
 * CopyObject leaves MetadataDirective and TaggingDirective out when they would only restate S3's default
 * (COPY): the S3 model (sim/s3-model.ts) applies AWS's defaults, so these tests prove the copy still keeps
 * the source's metadata, content type and tags, and that `tags: none` still gives the copy none.
 * The embedded server's side is in test/integration/copy-engine.test.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectTaggingCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { copyBatch } from '../../functions/copy/copy-engine';
import { type CopyInput, DEFAULT_OPTIONS, type JobOptions, parseJob } from '../../functions/shared/job';
import { S3Model } from '../../sim/s3-model';

const logger = new Logger({ serviceName: 'copy-directives-test', logLevel: 'SILENT' });

/** A model with one tagged object with metadata in `src`, and the input that copies it to `dst`. */
function setup(options: Partial<JobOptions> = {}): { model: S3Model; s3: S3Client; input: CopyInput } {
  const model = new S3Model();
  model.createBucket('src');
  model.createBucket('dst');
  model.seed('src', [
    {
      key: 'reports/a.csv',
      size: 300,
      contentType: 'text/csv',
      metadata: { owner: 'team-a' },
      tags: [{ Key: 'team', Value: 'data eng' }],
    },
  ]);
  const stored = model.object('src', 'reports/a.csv');
  if (!stored) throw new Error('seed failed');
  const input: CopyInput = {
    job: parseJob({
      source: { bucket: 'src', prefix: '' },
      target: { bucket: 'dst', prefix: 'copy/' },
      options: { ...DEFAULT_OPTIONS, ...options },
    }),
    jobId: 'job-directives',
    batch: {
      id: 'batch-1',
      objects: [
        {
          key: stored.key,
          size: stored.size,
          etag: stored.etag,
          lastModified: new Date(stored.lastModified).toISOString(),
        },
      ],
      bytes: stored.size,
    },
  };
  return { model, s3: model.client(), input };
}

/** The CopyObject inputs the client sent. */
function recordCopies(client: S3Client): Array<Record<string, unknown>> {
  const sent: Array<Record<string, unknown>> = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'CopyObjectCommand') sent.push({ ...(args.input as Record<string, unknown>) });
      return next(args);
    },
    { step: 'initialize', name: 'recordCopiesForTest', priority: 'high' },
  );
  return sent;
}

describe('CopyObject directives on the S3 model', () => {
  it('keeps metadata, content type and tags without sending either directive when tags are copied', async () => {
    // Arrange
    const { s3, input } = setup();
    const sent = recordCopies(s3);
    // Act
    const result = await copyBatch(input, { s3, logger, remainingTimeMs: () => 900_000 });
    // Assert
    expect(result).toMatchObject({ copied: 1, failed: 0 });
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toHaveProperty('MetadataDirective');
    expect(sent[0]).not.toHaveProperty('TaggingDirective');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'copy/reports/a.csv' }));
    expect(head.ContentType).toBe('text/csv');
    expect(head.Metadata).toEqual({ owner: 'team-a' });
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'dst', Key: 'copy/reports/a.csv' }));
    expect(tags.TagSet).toEqual([{ Key: 'team', Value: 'data eng' }]);
  });

  it('gives the copy no tags but keeps its metadata when tags are none', async () => {
    // Arrange
    const { s3, input } = setup({ tags: 'none' });
    const sent = recordCopies(s3);
    // Act
    await copyBatch(input, { s3, logger, remainingTimeMs: () => 900_000 });
    // Assert
    expect(sent[0]).toMatchObject({ TaggingDirective: 'REPLACE' });
    expect(sent[0]).not.toHaveProperty('MetadataDirective');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: 'copy/reports/a.csv' }));
    expect(head.Metadata).toEqual({ owner: 'team-a' });
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'dst', Key: 'copy/reports/a.csv' }));
    expect(tags.TagSet).toEqual([]);
  });
});
