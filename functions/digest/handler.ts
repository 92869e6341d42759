/**
 * The events digest function: an EventBridge Scheduler schedule invokes it once a period (a day by
 * default); it sums the events function's metrics over the period, writes reports/events/<day>.json to
 * the state bucket and publishes one summary (events-digest.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import { loadConfig } from '../shared/config';
import { createObservability, type Observability } from '../shared/observability';
import { type DigestDeps, digestPeriod, type EventsDigest, runEventsDigest } from './events-digest';
import { DIGEST_HOURS_ENV } from './handler-env';

export interface DigestHandlerDeps extends DigestDeps {
  hours: number;
  now?: () => Date;
  observability?: Observability;
}

/** Builds the digest handler: one digest of the period before the invocation. */
export function createDigestHandler(deps: DigestHandlerDeps) {
  const { logger } = deps.observability ?? createObservability('s3xcopy-digest');
  const digest = async (): Promise<EventsDigest> => {
    // Checked here, not at module load, so tests can import the module without a deployment environment.
    if (!deps.state.bucket) throw new Error('S3XCOPY_STATE_BUCKET is not set: the digest is written there');
    const period = digestPeriod((deps.now ?? (() => new Date()))(), deps.hours);
    const result = await runEventsDigest(deps, period);
    logger.info('Events digest', { ...result });
    return result;
  };
  return middy(digest).use(injectLambdaContext(logger, { resetKeys: true }));
}

/** Deployed entry point: clients built once per cold start; a bad setting fails the cold start. */
function defaultDeps(): DigestHandlerDeps {
  const config = loadConfig();
  const hours = Number(process.env[DIGEST_HOURS_ENV] ?? '24');
  if (!Number.isSafeInteger(hours) || hours < 1) {
    throw new Error(`${DIGEST_HOURS_ENV} must be a whole number of hours >= 1 (s3Events.digestHours)`);
  }
  const sns = new SNSClient({});
  const { source = {}, target = {} } = config.defaults;
  return {
    hours,
    metrics: new CloudWatchClient({}),
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 's3xcopy',
    state: { s3: new S3Client({}), bucket: config.stateBucket ?? '' },
    ...(config.topicArn ? { sns: { client: sns, topicArn: config.topicArn } } : {}),
    job: {
      source: `s3://${source.bucket ?? ''}/${source.prefix ?? ''}`,
      target: `s3://${target.bucket ?? ''}/${target.prefix ?? ''}`,
    },
  };
}

export const handler = createDigestHandler(defaultDeps());
