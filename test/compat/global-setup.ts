/**
 * Installs (where root and apt allow) and starts moto and Ceph RGW for the suite, and records what it got
 * in STATE_FILE. A server that cannot be had is recorded with the reason; on CI that fails the run here.
 * S3XCOPY_COMPAT_SERVERS=embedded,moto limits the run to some servers (for development only).
 */
import { writeFileSync } from 'node:fs';
import { IN_CI, parseEnv, type ServerState, type ServerStates, STATE_FILE, serverScript } from './servers';

function startServer(name: 'moto' | 'ceph'): ServerState {
  const started = Date.now();
  const wasRunning = serverScript(name, 'status').code === 0;
  const install = serverScript(name, 'install');
  process.stderr.write(install.stderr);
  if (install.code !== 0) {
    return { available: false, reason: lastLine(install.stderr) || `install exited ${install.code}`, env: {} };
  }
  const start = serverScript(name, 'start');
  process.stderr.write(start.stderr);
  if (start.code !== 0) {
    return { available: false, reason: lastLine(start.stderr) || `start exited ${start.code}`, env: {} };
  }
  return {
    available: true,
    startedHere: !wasRunning,
    env: parseEnv(start.stdout),
    setupSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

export default async function globalSetup(): Promise<void> {
  const wanted = (process.env.S3XCOPY_COMPAT_SERVERS ?? 'embedded,moto,ceph,unpatched-s3rver').split(',');
  const states: ServerStates = {};
  for (const name of ['moto', 'ceph'] as const) {
    if (!wanted.includes(name)) {
      states[name] = { available: false, reason: `not in S3XCOPY_COMPAT_SERVERS=${wanted.join(',')}`, env: {} };
      continue;
    }
    process.stderr.write(`\n[compat] setting up ${name}...\n`);
    states[name] = startServer(name);
    const state = states[name];
    process.stderr.write(
      state?.available
        ? `[compat] ${name} ready in ${state.setupSeconds} s\n`
        : `[compat] ${name} SKIPPED: ${state?.reason}\n`,
    );
  }
  // Started in each test file (connect.ts): in-process, or as a child process for the unpatched one.
  for (const name of ['embedded', 'unpatched-s3rver'] as const) {
    states[name] = wanted.includes(name)
      ? { available: true, env: {} }
      : { available: false, reason: `not in S3XCOPY_COMPAT_SERVERS=${wanted.join(',')}`, env: {} };
  }
  writeFileSync(STATE_FILE, JSON.stringify(states, null, 2));
  const missing = Object.entries(states).filter(([, state]) => !state.available);
  if (IN_CI && missing.length > 0) {
    throw new Error(
      `CI must run every server of the compatibility matrix; missing: ${missing
        .map(([name, state]) => `${name} (${state.reason})`)
        .join('; ')}`,
    );
  }
}
