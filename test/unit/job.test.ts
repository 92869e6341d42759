import { DEFAULT_OPTIONS, MiB, resolveJob, targetKeyFor } from '../../functions/shared/job';

describe('resolveJob', () => {
  const defaults = {
    source: { bucket: 'src-bucket', prefix: 'data' },
    target: { bucket: 'dst-bucket', roleArn: 'arn:aws:iam::222222222222:role/s3xcopy-target' },
    options: { concurrency: 8 },
  };

  it('fills every missing field from the deployment defaults and the option defaults', () => {
    // Act
    const job = resolveJob({}, defaults);
    // Assert
    expect(job.source).toEqual({ bucket: 'src-bucket', prefix: 'data/' });
    expect(job.target).toEqual({
      bucket: 'dst-bucket',
      prefix: '',
      roleArn: 'arn:aws:iam::222222222222:role/s3xcopy-target',
    });
    expect(job.options).toEqual({ ...DEFAULT_OPTIONS, concurrency: 8 });
    expect(job.filter).toEqual({ include: [], exclude: [] });
  });

  it('lets the job override the defaults field by field', () => {
    // Act
    const job = resolveJob({ target: { prefix: 'mirror' }, options: { mode: 'sync', partSize: 8 * MiB } }, defaults);
    // Assert
    expect(job.target.bucket).toBe('dst-bucket');
    expect(job.target.prefix).toBe('mirror/');
    expect(job.options.mode).toBe('sync');
    expect(job.options.partSize).toBe(8 * MiB);
    expect(job.options.concurrency).toBe(8);
  });

  it('names every bad field in one message when several are wrong', () => {
    // Act
    const attempt = () =>
      resolveJob({
        source: { bucket: 'Bad_Bucket' },
        target: { roleArn: 'not-an-arn' },
        options: { partSize: 1, colour: 'red' },
      });
    // Assert
    expect(attempt).toThrow(
      expect.objectContaining({
        name: 'InvalidJobError',
        message: expect.stringMatching(
          /source\.bucket must be an S3 bucket name.*target\.roleArn must be an IAM role ARN.*options: unknown field\(s\) "colour"/s,
        ),
      }),
    );
    expect(attempt).toThrow(/options\.partSize must be at least 5 MiB/);
  });

  it('says a required bucket is missing and where to set it', () => {
    expect(() => resolveJob({ source: { bucket: 'src-bucket' } })).toThrow(
      /target\.bucket is required \(set it in the job or in the deployment defaults\)/,
    );
  });

  it('rejects a target prefix inside the source prefix of the same bucket', () => {
    expect(() =>
      resolveJob({
        source: { bucket: 'same-bucket', prefix: 'data/' },
        target: { bucket: 'same-bucket', prefix: 'data/copy/' },
      }),
    ).toThrow(/target\.prefix must not overlap the source \(s3:\/\/same-bucket\/data\/\)/);
  });

  it('accepts disjoint prefixes in the same bucket', () => {
    const job = resolveJob({
      source: { bucket: 'same-bucket', prefix: 'a/' },
      target: { bucket: 'same-bucket', prefix: 'b/' },
    });
    expect(job.target.prefix).toBe('b/');
  });

  it('rejects an inverted size range and an inverted date range', () => {
    const base = { source: { bucket: 'src-bucket' }, target: { bucket: 'dst-bucket' } };
    expect(() => resolveJob({ ...base, filter: { minSize: 10, maxSize: 5 } })).toThrow(
      /filter\.minSize must not exceed/,
    );
    expect(() =>
      resolveJob({
        ...base,
        filter: { modifiedAfter: '2026-02-01T00:00:00Z', modifiedBefore: '2026-01-01T00:00:00Z' },
      }),
    ).toThrow(/filter\.modifiedAfter must be earlier/);
  });
});

describe('targetKeyFor', () => {
  it('replaces the source prefix with the target prefix, as aws s3 cp --recursive does', () => {
    const job = resolveJob({
      source: { bucket: 'src-bucket', prefix: 'data/2026' },
      target: { bucket: 'dst-bucket', prefix: 'mirror/' },
    });
    expect(targetKeyFor(job, 'data/2026/a/b c.parquet')).toBe('mirror/a/b c.parquet');
  });

  it('keeps the key when both prefixes are empty', () => {
    const job = resolveJob({ source: { bucket: 'src-bucket' }, target: { bucket: 'dst-bucket' } });
    expect(targetKeyFor(job, 'x/y.txt')).toBe('x/y.txt');
  });
});

describe('inputs that get a clear answer', () => {
  const base = { source: { bucket: 'src-bucket' }, target: { bucket: 'dst-bucket' } };

  it('rejects a prefix that starts with "/", naming the field and the fix', () => {
    expect(() => resolveJob({ ...base, source: { bucket: 'src-bucket', prefix: '/data/' } })).toThrow(
      /source\.prefix must not start with "\/"/,
    );
    expect(() => resolveJob({ ...base, target: { bucket: 'dst-bucket', prefix: '/x' } })).toThrow(
      /target\.prefix must not start with "\/"/,
    );
  });

  it('counts the 1,024-byte prefix limit in UTF-8 bytes, not characters', () => {
    // 400 characters of 3 bytes each: 1,200 bytes, under 1,024 characters.
    const long = `${'\u20ac'.repeat(400)}/`;
    expect(() => resolveJob({ ...base, source: { bucket: 'src-bucket', prefix: long } })).toThrow(
      /source\.prefix must be at most 1024 bytes of UTF-8 \(it is 1201\)/,
    );
    const fits = `${'\u20ac'.repeat(341)}/`;
    expect(resolveJob({ ...base, source: { bucket: 'src-bucket', prefix: fits } }).source.prefix).toBe(fits);
  });

  it('compares modifiedAfter and modifiedBefore as instants, not as text', () => {
    // 10:00+02:00 is 08:00Z, before 09:00Z: a valid window although its text sorts after.
    const window = { modifiedAfter: '2026-01-01T10:00:00+02:00', modifiedBefore: '2026-01-01T09:00:00Z' };
    expect(resolveJob({ ...base, filter: window }).filter).toMatchObject(window);
    // 09:00Z is after 10:00+05:00 (05:00Z): an empty window although its text sorts before.
    expect(() =>
      resolveJob({
        ...base,
        filter: { modifiedAfter: '2026-01-01T09:00:00Z', modifiedBefore: '2026-01-01T10:00:00+05:00' },
      }),
    ).toThrow(/filter\.modifiedAfter must be earlier than filter\.modifiedBefore/);
  });

  it('rejects a job too large to travel beside a batch in a copy invocation', () => {
    const include = Array.from({ length: 2000 }, (_, i) => `very/long/pattern/number/${i}/**/*.parquet`);
    expect(() => resolveJob({ ...base, filter: { include } })).toThrow(/the job is \d+ bytes of JSON; at most 32768/);
  });
});
