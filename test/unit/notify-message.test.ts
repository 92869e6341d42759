import fc from 'fast-check';
import {
  consoleUrl,
  formatNotification,
  MAX_SUBJECT_LENGTH,
  type NotifyInput,
  summarize,
  toSubject,
} from '../../functions/notify/message';
import { type AggregatedResults, decodeCause, parseCopyBatchMessage } from '../../functions/notify/results';
import { CopyBatchError } from '../../functions/shared/errors';

const failureInput: NotifyInput = {
  status: 'FAILED',
  execution: {
    id: 'arn:aws:states:us-east-1:111111111111:execution:s3xcopy:run-1',
    name: 'run-1',
    startTime: '2026-11-28T10:00:00.000Z',
  },
  state: {
    job: { source: { bucket: 'src', prefix: 'data/' }, target: { bucket: 'dst', prefix: 'mirror/' } },
    jobId: 'run-1',
    totals: { listed: 1300, selected: 1200, skipped: 0, bytes: 5000 },
    error: {
      Error: 'States.ExceedToleratedFailureThreshold',
      Cause: 'The specified tolerated failure threshold was exceeded',
    },
  },
};

function results(failures: number): AggregatedResults {
  return {
    mapRuns: 1,
    batches: { succeeded: 1, failed: 1, pending: 0 },
    objects: { copied: 1197, skipped: 0, failed: failures, notAttempted: 0 },
    skippedByReason: {},
    failedByCode: { AccessDenied: failures },
    failuresUnnamed: Math.max(0, failures - 20),
    bytesCopied: 4000,
    failures: Array.from({ length: Math.min(failures, 20) }, (_, i) => ({
      key: `data/k${i}`,
      code: 'AccessDenied',
      message: 'denied',
    })),
    batchErrors: [{ batchId: 's0-b1', error: 'CopyBatchError', message: '3 of 1000 objects in batch s0-b1 failed' }],
  };
}

describe('decodeCause', () => {
  it('reads errorType and errorMessage out of a Lambda error document', () => {
    // Prepare
    const cause = JSON.stringify({ errorType: 'AssumeRoleError', errorMessage: 'Cannot assume role', trace: ['at x'] });

    // Act / Assess
    expect(decodeCause(cause)).toEqual({ errorType: 'AssumeRoleError', message: 'Cannot assume role' });
  });

  it('keeps a plain-text cause as it is, even one starting with a brace', () => {
    // Act / Assess
    expect(decodeCause('States.Timeout')).toEqual({ message: 'States.Timeout' });
    expect(decodeCause('{not json')).toEqual({ message: '{not json' });
  });
});

describe('parseCopyBatchMessage', () => {
  it('reads the failed keys and codes from a CopyBatchError message', () => {
    // Prepare
    const error = new CopyBatchError('s0-b7', 40, [
      { key: 'a/with space, and comma.txt', code: 'AccessDenied', message: 'x' },
      { key: 'b (draft).txt', code: 'NoSuchKey', message: 'y' },
      { key: 'c.txt', code: 'InternalError', message: 'z' },
    ]);

    // Act
    const parsed = parseCopyBatchMessage(error.message);

    // Assess
    expect(parsed).toEqual({
      failed: 3,
      total: 40,
      batchId: 's0-b7',
      failures: [
        { key: 'a/with space, and comma.txt', code: 'AccessDenied' },
        { key: 'b (draft).txt', code: 'NoSuchKey' },
        { key: 'c.txt', code: 'InternalError' },
      ],
    });
  });

  it('counts every failure when the message lists only the first five', () => {
    // Prepare
    const failures = Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, code: 'SlowDown', message: '' }));

    // Act
    const parsed = parseCopyBatchMessage(new CopyBatchError('b', 100, failures).message);

    // Assess
    expect(parsed?.failed).toBe(8);
    expect(parsed?.failures.map((f) => f.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });

  it('returns undefined for any other message', () => {
    // Act / Assess
    expect(parseCopyBatchMessage('Cannot assume target role')).toBeUndefined();
  });
});

describe('toSubject', () => {
  it('always gives a valid SNS subject: printable ASCII, one line, under 100 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        // Act
        const subject = toSubject(text);

        // Assess
        expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
        expect(subject).toMatch(/^[\x20-\x7e]*$/);
      }),
    );
  });
});

describe('formatNotification', () => {
  it('names the route and the failed share in the subject of a failure', () => {
    // Prepare
    const aggregated = results(3);

    // Act
    const notification = formatNotification(summarize(failureInput, aggregated), failureInput, aggregated);

    // Assess
    expect(notification.subject).toBe(
      's3xcopy FAILED: src/data/ -> dst/mirror/, 1,197 copied, 3 failed of 1,200 objects',
    );
    expect(notification.attributes.status).toEqual({ DataType: 'String', StringValue: 'FAILED' });
    expect(notification.attributes.failedObjects).toEqual({ DataType: 'Number', StringValue: '3' });
  });

  it('lists at most 20 failed keys, the error, the console link and where the results are', () => {
    // Prepare
    const aggregated = { ...results(25) };

    // Act
    const summary = summarize(failureInput, aggregated, 's3://state/results/run-1/');
    const { body } = formatNotification(summary, failureInput, aggregated);

    // Assess
    expect(body).toContain('First 20 of 25 failed keys:');
    expect(body).toContain('data/k19  (AccessDenied)');
    expect(body).not.toContain('data/k20');
    expect(body).toContain('Error: States.ExceedToleratedFailureThreshold');
    expect(body).toContain(
      'https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:111111111111:execution:s3xcopy:run-1',
    );
    expect(body).toContain('Full results: s3://state/results/run-1/');
    expect(body).toContain('Copied:    1,197');
  });

  it('says the counts are unavailable, and why, when the Map Run could not write its results', () => {
    // Prepare: the Map caught States.ResultWriterFailed; whatever files exist do not cover every batch.
    const input: NotifyInput = {
      ...failureInput,
      state: {
        ...failureInput.state,
        error: { Error: 'States.ResultWriterFailed', Cause: 'Access Denied writing results/run-1/' },
      },
    };
    const aggregated = results(0);

    // Act
    const summary = summarize(input, aggregated, 's3://state/results/run-1/');
    const notification = formatNotification(summary, input, aggregated);

    // Assess
    expect(summary.objects).toMatchObject({ selected: 1200, copied: null, failed: null, notAttempted: null });
    expect(summary.countsUnavailable).toMatch(/States\.ResultWriterFailed: Access Denied writing results\/run-1\//);
    expect(notification.body).toMatch(/Copied: +counts unavailable: the Distributed Map could not write its results/);
    expect(notification.body).not.toMatch(/1,197/);
    expect(notification.subject).toBe('s3xcopy FAILED: src/data/ -> dst/mirror/, copy counts unavailable');
    expect(notification.attributes.failedObjects).toBeUndefined();
  });

  it('decodes a Lambda error document in the cause of a failed List', () => {
    // Prepare
    const input: NotifyInput = {
      ...failureInput,
      state: {
        error: {
          Error: 'InvalidJobError',
          Cause: JSON.stringify({
            errorType: 'InvalidJobError',
            errorMessage: 'Invalid job: source.bucket is required',
          }),
        },
      },
    };

    // Act
    const summary = summarize(input, undefined, undefined, { target: { bucket: 'dst' } });
    const notification = formatNotification(summary, input, undefined);

    // Assess
    expect(summary.error).toEqual({ error: 'InvalidJobError', cause: 'Invalid job: source.bucket is required' });
    expect(notification.subject).toBe('s3xcopy FAILED: ? -> dst/, InvalidJobError');
    expect(notification.body).toContain('Cause: Invalid job: source.bucket is required');
  });

  it('names the deployment defaults as source and target, and says so, when List failed before resolving the job', () => {
    // Prepare
    const input: NotifyInput = {
      ...failureInput,
      state: { error: { Error: 'NoSuchBucket', Cause: 'The source bucket src-default does not exist' } },
    };
    const defaults = { source: { bucket: 'src-default', prefix: 'in/' }, target: { bucket: 'dst-default' } };

    // Act
    const summary = summarize(input, undefined, undefined, defaults);
    const notification = formatNotification(summary, input, undefined);

    // Assess
    expect(summary).toMatchObject({ source: 'src-default/in/', target: 'dst-default/', jobResolved: false });
    expect(notification.subject).toBe('s3xcopy FAILED: src-default/in/ -> dst-default/, NoSuchBucket');
    expect(notification.body).toMatch(/the deployment defaults: the execution failed before the job was resolved/);
  });

  it('names the failures file as the failure list only when something failed, and as the report otherwise', () => {
    // Prepare
    const file = 's3://state/reports/run-1/failures.jsonl';
    const success: NotifyInput = {
      ...failureInput,
      status: 'SUCCEEDED',
      state: { ...failureInput.state, error: undefined },
    };

    // Act
    const clean = formatNotification({ ...summarize(success, results(0)), failuresFile: file }, success, undefined);
    const failed = formatNotification(
      { ...summarize(failureInput, results(3)), failuresFile: file },
      failureInput,
      undefined,
    );

    // Assess
    expect(clean.body).toContain('Report (ledger.json, failures.jsonl): s3://state/reports/run-1/');
    expect(clean.body).not.toContain('Every failed key');
    expect(failed.body).toContain(`Every failed key with its error code: ${file}`);
  });

  it('names the resolved job, not the deployment defaults, once List resolved it', () => {
    // Act
    const summary = summarize(failureInput, undefined, undefined, { source: { bucket: 'src-default' } });
    const notification = formatNotification(summary, failureInput, undefined);

    // Assess
    expect(summary).toMatchObject({ source: 'src/data/', target: 'dst/mirror/', jobResolved: true });
    expect(notification.body).not.toMatch(/deployment defaults/);
  });
});

describe('consoleUrl', () => {
  it('links an AWS execution and not a local one', () => {
    // Act / Assess
    expect(consoleUrl('arn:aws:states:eu-west-1:111111111111:execution:m:n')).toMatch(
      /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\//,
    );
    expect(consoleUrl('arn:aws:states:local:111111111111:execution:m:n')).toBeUndefined();
  });
});
