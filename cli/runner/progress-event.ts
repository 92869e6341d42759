import type { ListOutput } from '../../functions/list/contract';
import type { CopyResult } from '../../functions/shared/job';

/** What the local runner reports while it runs (the progress display and the tests listen). */
export type ProgressEvent =
  | {
      type: 'slice';
      number: number;
      objects: number;
      bytes: number;
      batches: number;
      totals: ListOutput['totals'];
      dryRun: boolean;
      more: boolean;
      /** The rates and batch limits the slice was planned with (functions/list/rate-plan.ts). */
      plan: ListOutput['plan'];
    }
  | { type: 'batch'; batchId: string; objects: number; bytes: number; result: CopyResult }
  | { type: 'batch-error'; batchId: string; error: string; message: string }
  | { type: 'retry'; state: string; attempt: number };
