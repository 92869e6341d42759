/** Number formats shared by notifications and the CLI, so a report and an email show the same figures. */

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

/** Formats a count with thousands separators: 1,200. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}
