/**
 * The copy function: validates one Distributed Map item `{ job, jobId, batch }`, gets an S3 client acting
 * as the target role, and copies the batch with the copy engine. Everything else lives in copy-engine.ts.
 *
 * Outside Lambda (the local runner), pass `observability` whose logger and metrics write where you want,
 * or set, before this module is imported: POWERTOOLS_METRICS_DISABLED=true (no EMF lines on stdout) and
 * POWERTOOLS_LOG_LEVEL=WARN or SILENT (Logger writes INFO to stdout, WARN/ERROR to stderr).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { BucketRegions, createStsClient, s3ClientFactory } from '../shared/clients';
import { loadConfig } from '../shared/config';
import {
  attachBatchResult,
  type BatchResultFile,
  type BatchResultRecord,
  CopyBatchError,
  CopyTimeBudgetError,
  errorMessage,
  InvalidJobError,
  splitBatchResult,
  toBatchResultRecord,
} from '../shared/errors';
import { CopyInputSchema, type CopyResult, DEFAULT_OPTIONS, describeIssues } from '../shared/job';
import { COPY_INVOCATION_METRICS } from '../shared/metric-names';
import { createObservability, type Observability } from '../shared/observability';
import { TargetClients } from '../shared/target-role';
import { type CopyEngineDeps, copyBatch } from './copy-engine';
import { S3ProgressStore } from './progress-record';

export interface CopyHandlerDeps {
  /** Hands out the S3 client for a job's target (assumed role, or the function's own credentials). */
  targetClients: TargetClients;
  /**
   * The state bucket and a client with the function's OWN credentials for it (never the target role):
   * progress records live there (progress-record.ts). Without them nothing resumes across invocations.
   */
  state?: { s3: S3Client; bucket: string };
  observability?: Observability;
  /** Engine settings to override (retry policy, safety margin, clock); s3 and logger come from above. */
  engine?: Partial<Omit<CopyEngineDeps, 's3' | 'logger' | 'progress'>>;
}

/** Publishes the batch's counts; called for successful and failed batches alike. */
function recordMetrics(metrics: Observability['metrics'], result: CopyResult): void {
  metrics.addMetric('ObjectsCopied', MetricUnit.Count, result.copied);
  metrics.addMetric('BytesCopied', MetricUnit.Bytes, result.bytesCopied);
  metrics.addMetric('ObjectsSkipped', MetricUnit.Count, result.skipped);
  metrics.addMetric('ObjectsFailed', MetricUnit.Count, result.failed);
}

/**
 * Builds the copy handler: middy with Powertools Logger (jobId, batchId, execution on every line) and
 * Metrics (ObjectsCopied, BytesCopied, ObjectsSkipped, ObjectsFailed, and InvocationsFailed or
 * InvocationsHandedOver when the invocation throws).
 * The handler throws InvalidJobError on a bad event, AssumeRoleError before touching any object when the
 * target role cannot be assumed, and CopyBatchError / CopyTimeBudgetError from the engine.
 */
export function createCopyHandler(deps: CopyHandlerDeps) {
  const { logger, metrics } = deps.observability ?? createObservability('s3xcopy-copy');
  const progress = deps.state ? new S3ProgressStore(deps.state.s3, deps.state.bucket) : undefined;

  const copyOneBatch = async (event: unknown, context: Context): Promise<CopyResult> => {
    const parsed = CopyInputSchema.safeParse(event);
    if (!parsed.success) {
      throw new InvalidJobError(
        `the copy function expects { job, jobId, batch } from the state machine: ${describeIssues(parsed.error)}`,
      );
    }
    const input = parsed.data;
    // jobId is the parent execution's name ($$.Execution.Name); an explicit `execution` wins when sent.
    const execution = (event as { execution?: unknown }).execution;
    logger.appendKeys({
      jobId: input.jobId,
      batchId: input.batch.id,
      execution: typeof execution === 'string' ? execution : input.jobId,
    });
    // Writes go to the target bucket's region, source reads to the source bucket's (either may differ from ours).
    const s3 = await deps.targetClients.forBucket(input.job.target, input.jobId, input.job.target.bucket);
    const sourceS3 = await deps.targetClients.forBucket(input.job.target, input.jobId, input.job.source.bucket);
    const { onSettled, ...engine } = deps.engine ?? {};
    let settled: CopyResult | undefined;
    const total = input.batch.objects.length;
    try {
      const result = await copyBatch(input, {
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        ...engine,
        ...(progress ? { progress } : {}),
        ...(deps.state ? { identity: deps.state } : {}),
        s3,
        sourceS3,
        logger,
        onSettled: (result) => {
          settled = result;
          recordMetrics(metrics, result);
          onSettled?.(result);
        },
      });
      await recordBatchResult(input.jobId, toBatchResultRecord(result, total));
      return result;
    } catch (error) {
      // The ledger counts a failed batch's copied and skipped objects from this record, which Lambda and
      // Step Functions carry in the Cause (docs/state-bucket.md, "The ledger").
      if (settled && (error instanceof CopyBatchError || error instanceof CopyTimeBudgetError)) {
        const record = toBatchResultRecord(settled, total);
        attachBatchResult(error, record);
        await recordBatchResult(input.jobId, record, error);
      }
      throw error;
    }
  };

  /**
   * Writes the attempt's record to the state bucket: the ledger's source when the ResultWriter wrote no
   * result file (docs/state-bucket.md, "Batch records"). A record that cannot be written costs only that
   * fallback, never the batch: it is logged, not thrown.
   */
  const recordBatchResult = async (jobId: string, result: BatchResultRecord, error?: Error): Promise<void> => {
    if (!progress?.writeBatchResult) return;
    const file: BatchResultFile = {
      format: 1,
      jobId,
      batchId: result.batchId,
      ...(error ? { error: { name: error.name, message: splitBatchResult(error.message).text } } : {}),
      result,
    };
    try {
      await progress.writeBatchResult(file);
    } catch (writeError) {
      logger.warn("Could not write the batch's record; a ledger without ResultWriter files counts it not attempted", {
        error: errorMessage(writeError),
        fix: 'give the copy function s3:PutObject on <state bucket>/batch-results/*',
      });
    }
  };

  // Every invocation that throws says whether it handed its batch over (by design) or failed: the alarm
  // watches failures only, so a large object resuming over many invocations emails nobody.
  const copy = async (event: unknown, context: Context): Promise<CopyResult> => {
    try {
      return await copyOneBatch(event, context);
    } catch (error) {
      const outcome =
        error instanceof CopyTimeBudgetError ? COPY_INVOCATION_METRICS.handedOver : COPY_INVOCATION_METRICS.failed;
      metrics.addMetric(outcome, MetricUnit.Count, 1);
      throw error;
    }
  };

  return middy(copy)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

/** Deployed entry point: clients built once per cold start, sockets sized to the default concurrency. */
function defaultDeps(): CopyHandlerDeps {
  const config = loadConfig();
  const concurrency = config.defaults.options?.concurrency ?? DEFAULT_OPTIONS.concurrency;
  // Parts have their own limiter beside objects' (copy-engine.ts), so up to twice the concurrency is in flight.
  const makeS3 = s3ClientFactory({}, Math.max(64, concurrency * 2));
  const regions = new BucketRegions(config.bucketRegions);
  return {
    targetClients: new TargetClients(createStsClient(), makeS3, undefined, undefined, regions),
    ...(config.stateBucket ? { state: { s3: makeS3(), bucket: config.stateBucket } } : {}),
  };
}

export const handler = createCopyHandler(defaultDeps());
