/**
 * Runs a real Lambda handler in-process the way `arn:aws:states:::lambda:invoke` calls it: a fake Lambda
 * context with a deadline, the `{ Payload }` envelope on success, and on failure an error whose name is
 * the handler's errorType and whose message is Lambda's JSON error document (what AWS puts in Cause).
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { LambdaStats } from './stats';

/** A Lambda handler as middy and plain async functions both expose it. */
export type LocalHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Step Functions refuses state data above 256 KiB (States.DataLimitExceeded); so does the local run. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export interface LocalFunction {
  name: string;
  handler: LocalHandler;
  /** The function's timeout: getRemainingTimeInMillis counts down from it. */
  timeoutSeconds: number;
  memoryMB: number;
  stats?: LambdaStats;
  /** Called with the thrown error after a failed invocation (before it becomes a Task error). */
  onError?: (error: unknown, event: unknown) => void;
  /** Called with the result after a successful invocation. */
  onResult?: (result: unknown, event: unknown) => void;
}

/** A fake Lambda context: what handlers read (remaining time, request id, function name). */
export function fakeContext(fn: LocalFunction, startedAt: number): Context {
  const deadline = startedAt + fn.timeoutSeconds * 1000;
  const arn = `arn:aws:lambda:local:111111111111:function:${fn.name}`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: arn,
    memoryLimitInMB: String(fn.memoryMB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `local/${randomUUID()}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A handler still running this long after its timeout is stopped (Lambda's own timer is not exact either). */
const TIMEOUT_GRACE_MS = 100;

/**
 * What Lambda reports when a function runs past its timeout. In-process the handler cannot be killed:
 * its promise is abandoned (as the sandbox is), which is why handlers stop themselves before the deadline.
 */
export class FunctionTimeoutError extends Error {
  constructor(functionName: string, timeoutSeconds: number) {
    super(`${functionName}: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
    this.name = 'Sandbox.Timedout';
  }
}

/** The error a lambda:invoke Task sees: Error = errorType, Cause = Lambda's JSON error document. */
export class LambdaTaskError extends Error {
  /** The error the handler threw, for the local runner's own report. */
  readonly original: unknown;
  constructor(errorType: string, cause: string, original: unknown) {
    super(cause);
    this.name = errorType;
    this.original = original;
  }
}

/** Lambda's error document for a thrown value (the Node.js runtime's shape). */
export function lambdaErrorDocument(error: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (error instanceof Error) {
    return { errorType: error.name || 'Error', errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

/** Invokes a handler with Lambda's envelope and error shape; records its duration. */
export async function invokeLocal(fn: LocalFunction, payload: unknown): Promise<{ Payload: unknown; StatusCode: 200 }> {
  // Lambda hands the function a fresh copy of the JSON, never the caller's objects.
  const event = JSON.parse(JSON.stringify(payload ?? null)) as unknown;
  const startedAt = Date.now();
  let result: unknown;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    // Lambda stops a function at its timeout wherever it is: the Task then fails with Sandbox.Timedout.
    const timedOut = new Promise<never>((_, reject) => {
      deadline = setTimeout(
        () => reject(new FunctionTimeoutError(fn.name, fn.timeoutSeconds)),
        fn.timeoutSeconds * 1000 + TIMEOUT_GRACE_MS,
      );
      deadline.unref?.();
    });
    result = await Promise.race([fn.handler(event, fakeContext(fn, startedAt)), timedOut]);
  } catch (error) {
    record(fn, startedAt, true);
    fn.onError?.(error, event);
    const document = lambdaErrorDocument(error);
    throw new LambdaTaskError(document.errorType, JSON.stringify(document), error);
  } finally {
    clearTimeout(deadline);
  }
  record(fn, startedAt, false);
  const text = JSON.stringify(result ?? null);
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
    throw new LambdaTaskError(
      'States.DataLimitExceeded',
      `The output of ${fn.name} is ${Buffer.byteLength(text)} bytes, above Step Functions' 256 KiB limit`,
      undefined,
    );
  }
  const copy = JSON.parse(text) as unknown;
  fn.onResult?.(copy, event);
  return { Payload: copy, StatusCode: 200 };
}

function record(fn: LocalFunction, startedAt: number, failed: boolean): void {
  if (!fn.stats) return;
  const duration = Date.now() - startedAt;
  fn.stats.invocations++;
  if (failed) fn.stats.errors++;
  fn.stats.durationsMs.push(duration);
  fn.stats.totalMs += duration;
}
