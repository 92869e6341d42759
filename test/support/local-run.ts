/** The local runner (cli/runner) as the state machine tests drive it against the embedded server. */
import { Writable } from 'node:stream';
import { type LocalRunOptions, runLocal } from '../../cli/runner/runner';
import type { TestS3 } from './s3';

/** Runs a job on the test server with no waits between retries and the handlers' logs dropped. */
export function runOnTestS3(s3: TestS3, stateBucket: string, input: unknown, extra: Partial<LocalRunOptions> = {}) {
  return runLocal({
    input,
    endpoint: s3.server.endpoint,
    stateBucket,
    retryIntervalMs: 0,
    logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
    ...extra,
  });
}
