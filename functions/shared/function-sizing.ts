/**
 * Memory and timeout of each function, in one place: infra deploys these, the local runner gives its
 * fake Lambda contexts the same deadlines, and the cost model prices the same memory.
 */
export type FunctionKind = 'list' | 'copy' | 'notify';

export const FUNCTION_SIZING: Record<FunctionKind, { memoryMB: number; timeoutSeconds: number; description: string }> =
  {
    // Listing is I/O bound; the handler stops a slice well before the timeout and hands back a continuation.
    list: { memoryMB: 1024, timeoutSeconds: 900, description: 's3xcopy: lists one slice of the source' },
    // Server-side copies need network, not bytes in memory; 1 GiB buys enough CPU for 32 parallel copies.
    // 15 minutes is Lambda's limit: the batch planner sizes batches to finish well inside it.
    copy: { memoryMB: 1024, timeoutSeconds: 900, description: 's3xcopy: copies one batch server-side' },
    // Notify reads every ResultWriter file of the job (a Map Run per slice) to count and name the failures:
    // a long job's results are many files. 1 GiB buys the CPU to parse them; 5 minutes covers the reads.
    notify: { memoryMB: 1024, timeoutSeconds: 300, description: 's3xcopy: publishes the job summary' },
  };

/**
 * The direct event path's function (functions/events/handler.ts). It is billed per event when events
 * trickle in one at a time, so it gets little memory: its work is a few S3 requests per object, which
 * wait on the network, not on the CPU. 15 minutes lets a large object's multipart copy finish in one
 * invocation; an object the copy-rate model says would not finish in the time left goes to the workflow,
 * which resumes across invocations (functions/events/hand-over.ts).
 */
export const EVENTS_FUNCTION_SIZING = {
  memoryMB: 256,
  timeoutSeconds: 900,
  description: 's3xcopy: copies the objects a batch of S3 events names, without an execution',
} as const;
