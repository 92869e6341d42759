/** Stops the servers global-setup started (a server that was already running is left running). */
import { readServerStates, serverScript } from './servers';

export default async function globalTeardown(): Promise<void> {
  const states = readServerStates();
  for (const name of ['moto', 'ceph'] as const) {
    if (states[name]?.startedHere) {
      const stop = serverScript(name, 'stop');
      process.stderr.write(stop.stderr);
    }
  }
}
