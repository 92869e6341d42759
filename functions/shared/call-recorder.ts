/**
 * Records every AWS API call the functions make, with the identity that makes it, when
 * S3XCOPY_RECORD_CALLS names a file: one JSON line per call. Off (no middleware at all) otherwise.
 *
 * Why: IAM proofs that check our policies against our own list of needed actions agree with the code by
 * construction. Recording what the code actually sends, under the identity that sends it, lets a test
 * hold every real call against the synthesized templates (test/infra/recorded-calls.test.ts).
 *
 * The identity is a role of the deployment: the local runner says which function (or the state machine)
 * is running (`actingAs`), and clients made with the target role's credentials say so themselves
 * (`markAssumedRoleCredentials`). A call made outside any of them is the CLI user's own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';

/** The file the calls are appended to; unset = no recording. */
export const RECORD_CALLS_ENV = 'S3XCOPY_RECORD_CALLS';

/** Who makes a call: a function's role, the state machine's role, the assumed target role, or the CLI user. */
export type CallIdentity = 'list' | 'copy' | 'notify' | 'events' | 'stateMachine' | 'target' | 'cli';

/** One recorded call: which identity sent which command with which (scalar) parameters, and how it ended. */
export interface RecordedCall {
  identity: CallIdentity;
  service: string;
  command: string;
  /** The command's scalar parameters (Body and other streams or objects left out). */
  input: Record<string, string | number | boolean>;
  /** 'ok', or the error's name (AccessDenied, NoSuchKey, ...). */
  outcome: string;
}

const running = new AsyncLocalStorage<CallIdentity>();
const assumedRoleProviders = new WeakSet<object>();

/** Runs `work` as `identity`: every call it makes (through recorded clients) is labelled so. */
export function actingAs<T>(identity: CallIdentity, work: () => T): T {
  return running.run(identity, work);
}

/** Marks a credentials provider as the assumed target role's, so its clients' calls are labelled `target`. */
export function markAssumedRoleCredentials<T extends object>(provider: T): T {
  assumedRoleProviders.add(provider);
  return provider;
}

/** True when `credentials` came from markAssumedRoleCredentials. */
export function isAssumedRoleCredentials(credentials: unknown): boolean {
  const isObject = typeof credentials === 'function' || (typeof credentials === 'object' && credentials !== null);
  return isObject && assumedRoleProviders.has(credentials as object);
}

/** The file to record to, or undefined when recording is off. */
export function recordingFile(): string | undefined {
  const file = process.env[RECORD_CALLS_ENV];
  return file ? file : undefined;
}

function scalars(input: unknown): RecordedCall['input'] {
  const out: RecordedCall['input'] = {};
  for (const [key, value] of Object.entries((input ?? {}) as Record<string, unknown>)) {
    // A body is data, not a parameter IAM looks at (and a manifest's can be megabytes).
    if (key === 'Body') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
  }
  return out;
}

/** Appends one call to the recording (a no-op when recording is off). */
export function recordCall(call: RecordedCall): void {
  const file = recordingFile();
  if (file) appendFileSync(file, `${JSON.stringify(call)}\n`);
}

interface ClientWithMiddleware {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: unknown }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string; override: boolean },
    ): void;
  };
}

/**
 * Records every command `client` sends, when recording is on. `fixed` labels all its calls (the target
 * role's clients); otherwise the identity running the call (`actingAs`) does, or `cli`.
 */
export function installCallRecorder(client: unknown, service: string, fixed?: CallIdentity): void {
  if (!recordingFile()) return;
  (client as ClientWithMiddleware).middlewareStack.add(
    (next, context) => async (args) => {
      const identity = fixed ?? running.getStore() ?? 'cli';
      const base = { identity, service, command: context.commandName ?? 'UnknownCommand', input: scalars(args.input) };
      try {
        const result = await next(args);
        recordCall({ ...base, outcome: 'ok' });
        return result;
      } catch (error) {
        recordCall({ ...base, outcome: (error as { name?: string })?.name ?? 'Error' });
        throw error;
      }
    },
    { step: 'initialize', name: 's3xcopyCallRecorder', override: true },
  );
}
