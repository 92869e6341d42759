/**
 * The servers of the compatibility matrix and how the suite reaches them. moto and Ceph RGW are started
 * by global-setup.ts through scripts/servers/*.sh, which records here (a JSON file) what it got; the
 * embedded server is started in each test file, in-process, as the CLI's default is.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * `unpatched-s3rver` is @20minutes/s3rver without the server-side fixes of cli/embedded-s3.ts: a server
 * nobody here wrote, whose delimited listings contradict AWS. It runs the listing scenarios only (listing.ts).
 */
export type ServerName = 'embedded' | 'moto' | 'ceph' | 'unpatched-s3rver';

export const ROOT = path.join(__dirname, '..', '..');
/**
 * Where global-setup records the servers; S3XCOPY_COMPAT_STATE moves it, so two runs on one machine
 * (each with its own S3XCOPY_CEPH_DIR and ports) do not read each other's servers.
 */
export const STATE_FILE = process.env.S3XCOPY_COMPAT_STATE || path.join(tmpdir(), 's3xcopy-compat-servers.json');

/** What global-setup found for one external server. */
export interface ServerState {
  available: boolean;
  /** Why it is not available (printed as the skip reason; fatal in CI). */
  reason?: string;
  /** Set when global-setup started it, so teardown stops only what it started. */
  startedHere?: boolean;
  env: Record<string, string>;
  /** Seconds spent installing and starting it. */
  setupSeconds?: number;
}

export type ServerStates = Partial<Record<ServerName, ServerState>>;

/** Runs scripts/servers/NAME.sh COMMAND; returns its exit code, stdout and stderr. */
export function serverScript(
  name: 'moto' | 'ceph',
  command: string,
  ...args: string[]
): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('bash', [path.join(ROOT, 'scripts', 'servers', `${name}.sh`), command, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 900_000,
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failed = error as { status?: number; stdout?: string; stderr?: string };
    return { code: failed.status ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** KEY=VALUE lines, as the scripts print them. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) env[match[1]] = match[2] ?? '';
  }
  return env;
}

/** What global-setup recorded (read synchronously: test files decide at load time what they define). */
export function readServerStates(): ServerStates {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as ServerStates;
  } catch {
    return {};
  }
}

/** True on CI, where no server may be skipped. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
