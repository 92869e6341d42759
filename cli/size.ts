import { UsageError } from './errors';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Parses a size: plain bytes (`5242880`) or a number with a unit (`8MiB`, `5GiB`, `1.5GB`, `64 KiB`).
 * Decimal units (KB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) powers of 1024.
 * @param option the flag being parsed, named in the error
 * @throws UsageError naming the option and the accepted forms
 */
export function parseSize(text: string, option = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = match ? UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new UsageError(
      `${option}: "${text}" is not a size. Use bytes (5242880) or a number with a unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (e.g. 8MiB).`,
    );
  }
  const bytes = Number(match[1]) * factor;
  if (!Number.isSafeInteger(Math.round(bytes))) {
    throw new UsageError(`${option}: "${text}" is too large.`);
  }
  return Math.round(bytes);
}

export { formatBytes } from '../functions/shared/format';

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 0.001, s: 1, m: 60, min: 60 };

/**
 * Parses a duration in seconds: plain seconds (`20`) or a number with a unit (`20s`, `1.5m`, `500ms`).
 * @param option the flag being parsed, named in the error
 * @throws UsageError naming the option and the accepted forms
 */
export function parseDuration(text: string, option = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = match ? DURATION_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new UsageError(`${option}: "${text}" is not a duration. Use seconds (20) or a unit: ms, s, m (e.g. 20s).`);
  }
  return Number(match[1]) * factor;
}
