/**
 * The counts a local run records: what a deployed execution would be billed for (state transitions,
 * Lambda invocations and their durations, S3/STS/SNS requests). The cost model (cli/cost/) prices them.
 */

/** One function's invocations in a run. */
export interface LambdaStats {
  invocations: number;
  /** Failed invocations (the handler threw). */
  errors: number;
  /** Wall time of every invocation, in milliseconds, in call order. */
  durationsMs: number[];
  totalMs: number;
  /** The memory size the deployment gives this function (for GB-seconds). */
  memoryMB: number;
}

/** Everything a run counted. Transitions count every state entered plus every retry, as Step Functions bills them. */
export interface RunStats {
  durationMs: number;
  executions: {
    /** Always 1: the parent (Standard) execution. */
    parent: number;
    /** Distributed Map child executions (one per manifest batch, plus none for retries: they retry inside). */
    children: number;
    /** Map Runs (one per slice that had something to copy). */
    mapRuns: number;
  };
  transitions: {
    /** Parent execution, by state name. */
    parent: Record<string, number>;
    /** All child executions together, by state name. */
    children: Record<string, number>;
  };
  /** By function: list, copy, notify. */
  lambda: Record<string, LambdaStats>;
  /** S3 requests by who made them and the SDK command name (e.g. CopyObjectCommand). */
  s3: { source: Record<string, number>; target: Record<string, number>; state: Record<string, number> };
  /** STS requests by command name (AssumeRoleCommand). */
  sts: Record<string, number>;
  /** Notifications published (SNS Publish when deployed). */
  sns: { publish: number };
}

/** A fresh, all-zero RunStats. */
export function emptyStats(memoryMB: Record<string, number>): RunStats {
  const lambda: Record<string, LambdaStats> = {};
  for (const [name, memory] of Object.entries(memoryMB)) {
    lambda[name] = { invocations: 0, errors: 0, durationsMs: [], totalMs: 0, memoryMB: memory };
  }
  return {
    durationMs: 0,
    executions: { parent: 1, children: 0, mapRuns: 0 },
    transitions: { parent: {}, children: {} },
    lambda,
    s3: { source: {}, target: {}, state: {} },
    sts: {},
    sns: { publish: 0 },
  };
}

/** Adds one to a counter in a record. */
export function increment(counts: Record<string, number>, name: string, by = 1): void {
  counts[name] = (counts[name] ?? 0) + by;
}

/** The sum of a record's counters. */
export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, value) => sum + value, 0);
}

interface ClientWithMiddleware {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; override?: boolean },
    ): void;
  };
}

/**
 * Counts every command an SDK v3 client sends (once per command, not per HTTP retry, as AWS bills
 * per request that reaches it; the SDK's own retries of throttled requests are rare locally).
 */
export function countRequests(client: unknown, counts: Record<string, number>): void {
  (client as ClientWithMiddleware).middlewareStack.add(
    (next, context) => async (args) => {
      increment(counts, context.commandName ?? 'UnknownCommand');
      return next(args);
    },
    { step: 'initialize', name: 's3xcopyRequestCounter', override: true },
  );
}
