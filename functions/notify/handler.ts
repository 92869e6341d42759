/**
 * The notify function: one message per execution outcome. It adds up the Distributed Map's
 * ResultWriter files, formats the message (message.ts) and publishes it (SNS when deployed).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { createS3Client } from '../shared/clients';
import { type DeploymentConfig, ENV, loadConfig } from '../shared/config';
import { awsErrorCode, errorMessage } from '../shared/errors';
import { createObservability, type Observability } from '../shared/observability';
import { resultsPrefix } from '../shared/report-keys';
import { aggregateJobResults } from './batch-records';
import { formatNotification, MAX_FAILED_KEYS, type NotificationSummary, type NotifyInput, summarize } from './message';
import { createSnsClient, type NotificationPublisher, snsPublisher } from './publisher';
import { FailuresFileWriter, failuresKey, ledgerKey, writeLedgerFile } from './report-files';
import { type AggregatedResults, decodeCause, emptyResults, RESULT_READERS } from './results';

export interface NotifyDeps {
  config: DeploymentConfig;
  publisher: NotificationPublisher;
  /** Reads the ResultWriter files in the state bucket. */
  stateS3: S3Client;
  observability?: Observability;
}

/** What Notify returns: the summary it sent, and whether it was published. */
export interface NotifyOutput extends NotificationSummary {
  published: boolean;
  subject: string;
  messageId?: string;
  /** On failure, the error the execution fails with (the ASL's Fail state reads it). */
  rootCause?: { Error: string; Cause: string };
}

/**
 * The error an execution should fail with. A Distributed Map over its tolerated failures reports only
 * States.ExceedToleratedFailureThreshold; the first failed batch's own error (CopyBatchError naming the
 * keys, AssumeRoleError naming the role) says what to fix, so it takes that one's place.
 */
export function rootCause(
  caught: { Error?: string; Cause?: string } | undefined,
  results: AggregatedResults | undefined,
): { Error: string; Cause: string } {
  if (caught?.Error === 'States.ExceedToleratedFailureThreshold' && results?.firstBatchFailure) {
    return results.firstBatchFailure;
  }
  return { Error: caught?.Error ?? 'UnknownError', Cause: caught?.Cause ?? '' };
}

const NotifyInputSchema = z.object({
  status: z.enum(['SUCCEEDED', 'FAILED']),
  execution: z.object({ id: z.string().min(1), name: z.string().min(1), startTime: z.string().optional() }),
  state: z.record(z.string(), z.unknown()),
});

export { resultsPrefix };

/**
 * Whether a succeeded job put no object into a manifest: the totals are the job's (the continuation
 * carries them across slices and executions) and every selected object was skipped, so no Map Run ran
 * and there is no ResultWriter file to list (a no-op sync then costs no LIST here). Anything else, older
 * totals without these fields included, reads the results.
 */
export function nothingPlanned(input: NotifyInput): boolean {
  const { selected, skipped } = input.state.totals ?? {};
  return input.status === 'SUCCEEDED' && selected !== undefined && skipped !== undefined && selected === skipped;
}

/**
 * Why the ResultWriter files cannot be trusted, when the Distributed Map said it could not write them:
 * the ledger then comes from the copy function's batch records (batch-records.ts).
 */
export function resultWriterFailure(input: NotifyInput): { resultWriterFailed?: string } {
  const { error } = input.state;
  if (error?.Error !== 'States.ResultWriterFailed') return {};
  return {
    resultWriterFailed: `the Distributed Map could not write its results (States.ResultWriterFailed: ${decodeCause(error.Cause).message})`,
  };
}

/**
 * Whether the outcome goes to SNS: a failure always; a success unless the job (`options.notifyOnSuccess`)
 * or the deployment (S3XCOPY_NOTIFY_ON_SUCCESS=false) turned success notifications off. The reports are
 * written either way: the state machine runs Notify after every execution for them.
 */
export function shouldPublish(input: NotifyInput, deploymentNotifiesSuccess: boolean): boolean {
  if (input.status === 'FAILED') return true;
  return deploymentNotifiesSuccess && input.state.job?.options?.notifyOnSuccess !== false;
}

/**
 * Creates the notify handler: it writes the ledger and the failures file for every execution, and
 * publishes as shouldPublish says.
 */
export function createNotifyHandler(deps: NotifyDeps) {
  const observability = deps.observability ?? createObservability('s3xcopy-notify');
  const { logger, metrics } = observability;

  const notify = async (event: unknown, _context: Context): Promise<NotifyOutput> => {
    const parsed = NotifyInputSchema.safeParse(event);
    if (!parsed.success) {
      throw new Error(
        `Notify input is not what the state machine sends: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      );
    }
    const input = parsed.data as NotifyInput;
    const jobId = input.state.jobId ?? input.execution.name;
    const bucket = deps.config.stateBucket;
    let results: AggregatedResults | undefined;
    let countsUnavailable: string | undefined;
    let failuresFile: string | undefined;
    let failuresListed = 0;
    if (!bucket) {
      countsUnavailable = `no state bucket is configured (${ENV.stateBucket}), so the ResultWriter files cannot be read`;
    } else {
      const writer = new FailuresFileWriter(deps.stateS3, bucket, failuresKey(jobId));
      try {
        results = nothingPlanned(input)
          ? emptyResults()
          : await aggregateJobResults(deps.stateS3, bucket, jobId, {
              ...resultWriterFailure(input),
              maxFailures: MAX_FAILED_KEYS,
              readers: RESULT_READERS,
              sink: writer,
            });
      } catch (error) {
        // The message must still go out (a failure alert matters more than its counts); say why counts are missing.
        countsUnavailable = `the copy results of s3://${bucket}/${resultsPrefix(jobId)} could not be read: ${awsErrorCode(error)}: ${errorMessage(error)}`;
        logger.error('Cannot read the ResultWriter files; the notification goes out without copy counts', {
          bucket,
          prefix: resultsPrefix(jobId),
          error,
        });
        await writer.abort().catch((abortError: unknown) => {
          logger.error('Cannot abort the failures file upload', { error: abortError });
        });
      }
      if (results) {
        try {
          await writer.close();
          failuresListed = writer.count;
          failuresFile = `s3://${bucket}/${failuresKey(jobId)}`;
        } catch (error) {
          // The counts are still right; only the full list is missing, and the message says where it is not.
          logger.error('Cannot write the failures file', { bucket, key: failuresKey(jobId), error });
          await writer.abort().catch(() => undefined);
        }
      }
    }
    const resultsUrl = bucket ? `s3://${bucket}/${resultsPrefix(jobId)}` : undefined;
    const summary: NotificationSummary = {
      ...summarize(input, results, resultsUrl, deps.config.defaults, countsUnavailable),
      ...(failuresFile ? { failuresFile } : {}),
    };
    if (bucket && failuresFile) {
      try {
        await writeLedgerFile(deps.stateS3, bucket, jobId, {
          jobId,
          status: input.status,
          dryRun: summary.dryRun,
          objects: summary.objects,
          bytes: summary.bytes,
          failuresFile,
          failuresListed,
          failuresUnnamed: results?.failuresUnnamed ?? 0,
          ...(summary.ledgerSource ? { ledgerSource: summary.ledgerSource } : {}),
        });
      } catch (error) {
        logger.error('Cannot write the ledger file', { bucket, key: ledgerKey(jobId), error });
      }
    }
    const notification = formatNotification(summary, input, results);
    const publish = shouldPublish(input, deps.config.notifyOnSuccess);
    let messageId: string | undefined;
    if (publish) {
      ({ messageId } = await deps.publisher.publish(notification));
      metrics.addMetric('NotificationsPublished', MetricUnit.Count, 1);
    }
    logger.info('Execution outcome', { jobId, status: input.status, published: publish, objects: summary.objects });
    return {
      ...summary,
      published: publish,
      subject: notification.subject,
      ...(messageId ? { messageId } : {}),
      ...(input.status === 'FAILED' ? { rootCause: rootCause(input.state.error, results) } : {}),
    };
  };

  return middy(notify).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}

let defaultHandler: ReturnType<typeof createNotifyHandler> | undefined;

/** The Lambda entry point: SNS topic and state bucket from the environment, clients made once per cold start. */
export const handler = (event: unknown, context: Context) => {
  if (!defaultHandler) {
    const config = loadConfig();
    if (!config.topicArn) {
      throw new Error(`${ENV.topicArn} is not set: the notify function needs the SNS topic ARN to publish to`);
    }
    defaultHandler = createNotifyHandler({
      config,
      publisher: snsPublisher(createSnsClient(), config.topicArn),
      stateS3: createS3Client({}),
    });
  }
  return defaultHandler(event, context);
};
