import { loadConfig } from '../../functions/shared/config';

describe('loadConfig', () => {
  it('reads the deployment defaults from S3XCOPY_* variables', () => {
    // Act
    const config = loadConfig({
      S3XCOPY_SOURCE_BUCKET: 'src-bucket',
      S3XCOPY_SOURCE_PREFIX: 'data/',
      S3XCOPY_TARGET_BUCKET: 'dst-bucket',
      S3XCOPY_TARGET_ROLE_ARN: 'arn:aws:iam::222222222222:role/s3xcopy-target',
      S3XCOPY_DEFAULT_OPTIONS: '{"concurrency":16,"mode":"sync"}',
      S3XCOPY_STATE_BUCKET: 'state-bucket',
      S3XCOPY_NOTIFY_ON_SUCCESS: 'false',
    });
    // Assert
    expect(config).toEqual({
      defaults: {
        source: { bucket: 'src-bucket', prefix: 'data/' },
        target: { bucket: 'dst-bucket', roleArn: 'arn:aws:iam::222222222222:role/s3xcopy-target' },
        options: { concurrency: 16, mode: 'sync' },
      },
      stateBucket: 'state-bucket',
      notifyOnSuccess: false,
    });
  });

  it('fails with the variable name when the default options are not JSON', () => {
    expect(() => loadConfig({ S3XCOPY_DEFAULT_OPTIONS: '{mode: sync}' })).toThrow(
      /S3XCOPY_DEFAULT_OPTIONS is not valid JSON/,
    );
  });

  it('fails naming the field when a default is invalid', () => {
    expect(() => loadConfig({ S3XCOPY_TARGET_ROLE_ARN: 'role/x' })).toThrow(/target\.roleArn must be an IAM role ARN/);
  });

  it("reads the Map's MaxConcurrency, which the List step plans whole rounds of", () => {
    expect(loadConfig({ S3XCOPY_MAP_MAX_CONCURRENCY: '40' }).mapMaxConcurrency).toBe(40);
    expect(loadConfig({}).mapMaxConcurrency).toBeUndefined();
  });

  it('rejects a MaxConcurrency that is not a whole number from 1, naming the variable', () => {
    for (const value of ['0', 'forty', '2.5']) {
      expect(() => loadConfig({ S3XCOPY_MAP_MAX_CONCURRENCY: value })).toThrow(
        /S3XCOPY_MAP_MAX_CONCURRENCY must be a whole number from 1 to 10,000/,
      );
    }
  });

  it('rejects a notify switch that is not true or false', () => {
    expect(() => loadConfig({ S3XCOPY_NOTIFY_ON_SUCCESS: 'yes' })).toThrow(
      /S3XCOPY_NOTIFY_ON_SUCCESS must be "true" or "false"/,
    );
  });
});
