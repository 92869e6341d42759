/**
 * The three Lambda functions of a local run: the real list, copy and notify handlers with the deployed
 * memory and timeout, wired to the run's clients, and observed as they return. What they return is what
 * the runner reports (the last List output, the mirror deletes, what Notify sent) and what the progress
 * display shows.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createCopyHandler } from '../../functions/copy/handler';
import type { ListOutput } from '../../functions/list/contract';
import { createListHandler } from '../../functions/list/handler';
import type { DeletesOutput } from '../../functions/list/mirror-deletes';
import { createNotifyHandler, type NotifyOutput } from '../../functions/notify/handler';
import type { NotificationPublisher } from '../../functions/notify/publisher';
import type { DeploymentConfig } from '../../functions/shared/config';
import { splitBatchResult } from '../../functions/shared/errors';
import { FUNCTION_SIZING } from '../../functions/shared/function-sizing';
import type { Batch, CopyResult } from '../../functions/shared/job';
import type { Observability } from '../../functions/shared/observability';
import type { TargetClients } from '../../functions/shared/target-role';
import type { LocalFunction, LocalHandler } from './lambda';
import type { ProgressEvent } from './progress-event';
import { SliceHeapGuard } from './slice-heap';
import type { RunStats } from './stats';

/** Lambda settings the local run mimics: the deployed ones (the cost model prices the same memory). */
export const LOCAL_FUNCTIONS = FUNCTION_SIZING;
export type FunctionName = keyof typeof LOCAL_FUNCTIONS;

/** What the functions returned that the run's report needs; filled in as the execution goes. */
export interface RunObservations {
  lastList?: ListOutput;
  mirrorDeletes?: DeletesOutput;
  notification?: NotifyOutput;
}

export interface LocalFunctionDeps {
  config: DeploymentConfig;
  /** The Map's MaxConcurrency: the List step plans whole rounds of it, as the deployed one reads it from S3XCOPY_MAP_MAX_CONCURRENCY. */
  mapMaxConcurrency: number;
  sourceS3: S3Client;
  stateS3: S3Client;
  stateBucket: string;
  targetClients: TargetClients;
  publisher: NotificationPublisher;
  observability: (name: string) => Observability;
  stats: RunStats;
  /** The copy function's timeout in seconds, when shorter than the deployed one. */
  copyTimeoutSeconds?: number;
  onProgress?: (event: ProgressEvent) => void;
}

/** The list, copy and notify functions, and the observations they fill in. */
export function createLocalFunctions(deps: LocalFunctionDeps): {
  functions: Record<FunctionName, LocalFunction>;
  observed: RunObservations;
} {
  const observed: RunObservations = {};
  const functions: Record<FunctionName, LocalFunction> = {
    list: listFunction(deps, observed),
    copy: copyFunction(deps),
    notify: {
      name: 's3xcopy-notify',
      ...LOCAL_FUNCTIONS.notify,
      stats: deps.stats.lambda.notify,
      handler: createNotifyHandler({
        config: deps.config,
        publisher: deps.publisher,
        stateS3: deps.stateS3,
        observability: deps.observability('notify'),
      }) as LocalHandler,
      onResult: (result) => {
        observed.notification = result as NotifyOutput;
      },
    },
  };
  return { functions, observed };
}

function listFunction(deps: LocalFunctionDeps, observed: RunObservations): LocalFunction {
  // The list step runs between two Map Runs: the right moment to drop the last slice's garbage.
  const heapGuard = new SliceHeapGuard();
  return {
    name: 's3xcopy-list',
    ...LOCAL_FUNCTIONS.list,
    stats: deps.stats.lambda.list,
    handler: createListHandler({
      config: { ...deps.config, mapMaxConcurrency: deps.mapMaxConcurrency },
      sourceS3: deps.sourceS3,
      stateS3: deps.stateS3,
      targetClients: deps.targetClients,
      observability: deps.observability('list'),
    }) as LocalHandler,
    onResult: (result) => {
      // The final MirrorDeletes step runs in the list function too.
      if ((result as { kind?: string }).kind === 'mirrorDeletes') {
        observed.mirrorDeletes = result as DeletesOutput;
        return;
      }
      const output = result as ListOutput;
      observed.lastList = output;
      heapGuard.sliceEnded();
      deps.onProgress?.({
        type: 'slice',
        ...output.slice,
        totals: output.totals,
        dryRun: output.dryRun,
        more: output.continuation !== null,
        plan: output.plan,
      });
    },
  };
}

function copyFunction(deps: LocalFunctionDeps): LocalFunction {
  return {
    name: 's3xcopy-copy',
    ...LOCAL_FUNCTIONS.copy,
    ...(deps.copyTimeoutSeconds ? { timeoutSeconds: deps.copyTimeoutSeconds } : {}),
    stats: deps.stats.lambda.copy,
    handler: createCopyHandler({
      targetClients: deps.targetClients,
      state: { s3: deps.stateS3, bucket: deps.stateBucket },
      observability: deps.observability('copy'),
    }) as LocalHandler,
    onResult: (result, event) => {
      const batch = (event as { batch: Batch }).batch;
      deps.onProgress?.({
        type: 'batch',
        batchId: batch.id,
        objects: batch.objects.length,
        bytes: batch.bytes,
        result: result as CopyResult,
      });
    },
    onError: (error, event) => {
      const batch = (event as { batch?: Batch }).batch;
      if (!batch) return;
      const name = error instanceof Error ? error.name : 'Error';
      // The human part only: the batch result record (errors.ts) is for the ledger, not for people.
      const message = splitBatchResult(error instanceof Error ? error.message : String(error)).text;
      deps.onProgress?.({ type: 'batch-error', batchId: batch.id, error: name, message });
    },
  };
}
