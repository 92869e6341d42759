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

/** Formats bytes for people: 1.5 GiB, 12.0 MiB, 512 B. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
