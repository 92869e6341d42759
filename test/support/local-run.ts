/** The local runner (cli/runner) as the tests drive it: against the embedded server or the S3 model. */
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { type LocalRunOptions, runLocal } from '../../cli/runner/runner';
import type { S3Model } from '../../sim/s3-model';
import type { TestS3 } from './s3';

/** No waits between retries, the handlers' logs dropped: what every test run of the runner wants. */
export function quietRun(stateBucket: string) {
  return {
    stateBucket,
    retryIntervalMs: 0,
    logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
  };
}

/** An endpoint whose every S3 client (source, target, state) the in-memory S3 model answers. */
export function modelEndpoint(model: S3Model) {
  return {
    region: 'us-east-1',
    credentials: { accessKeyId: 'MODEL', secretAccessKey: 'MODEL' },
    configure: (client: S3Client) => model.attach(client),
  };
}

/** Runs a job on the test server with no waits between retries and the handlers' logs dropped. */
export function runOnTestS3(s3: TestS3, stateBucket: string, input: unknown, extra: Partial<LocalRunOptions> = {}) {
  return runLocal({ input, endpoint: s3.server.endpoint, ...quietRun(stateBucket), ...extra });
}

/** Runs a job on the S3 model with no waits between retries and the handlers' logs dropped. */
export function runOnModel(model: S3Model, stateBucket: string, input: unknown, extra: Partial<LocalRunOptions> = {}) {
  return runLocal({ input, endpoint: modelEndpoint(model), ...quietRun(stateBucket), ...extra });
}
