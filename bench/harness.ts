/**
 * Shared benchmark harness: the section contract every bench/*.bench.ts file follows, medians,
 * throughput, peak RSS sampling, markdown tables and a hand-written SVG bar chart.
 *
 * Every bench file exports `run(options?: BenchOptions): Promise<BenchSection>` and prints its own
 * table when run directly (`if (require.main === module) printSection(await run())`). bench/all.ts
 * runs every section in one process and writes docs/BENCHMARKS.md and docs/benchmarks.svg.
 */

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { ManifestObject } from '../functions/shared/job';

/** Options bench/all.ts passes to every section. */
export interface BenchOptions {
  /** Fewer objects and runs: for a smoke run (BENCH_QUICK=1), not for published figures. */
  quick?: boolean;
}

/** One section of docs/BENCHMARKS.md: a title, a table (one record per row, same keys), notes. */
export interface BenchSection {
  title: string;
  rows: Array<Record<string, string | number>>;
  notes: string[];
  /**
   * Optional bars for docs/benchmarks.svg: one value per label, same unit within a section
   * (for example objects/s). Sections without it are not charted.
   */
  chart?: { unit: string; bars: Array<{ label: string; value: number }> };
  /** Optional one-sentence result for the Headlines list at the top of docs/BENCHMARKS.md. */
  headline?: string;
  /** Issue 14's goals this section measures: bench/all.ts gathers them into one table at the top. */
  goals?: GoalRow[];
}

/** One goal measured in this run, next to the figure the issue quoted before the work. */
export interface GoalRow {
  /** Which goal, numbered as in the issue ("3. No-op sync vs aws s3 sync, 2,000 objects on moto"). */
  goal: string;
  /** The target, for example ">= 1x". */
  target: string;
  /** The figure the issue quoted, or the same run's row without the change. */
  before: string;
  /** This run's figure. */
  measured: string;
  met: boolean;
  /** What holds the goal back, printed only when it is missed in this run. */
  holdsBack?: string;
}

/** The function every bench file exports. */
export type BenchRun = (options?: BenchOptions) => Promise<BenchSection>;

/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median: no values (a benchmark ran zero times)');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  // biome-ignore lint/style/noNonNullAssertion: indexes are within a non-empty array.
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Result of {@link measure}: every run's wall time, their median, and the peak RSS seen. */
export interface Measurement {
  runsMs: number[];
  medianMs: number;
  /** Highest resident set size sampled during the runs (whole process, includes the embedded server). */
  peakRssBytes: number;
}

/**
 * Samples the process RSS every `intervalMs` until stopped; returns the peak. The whole process is
 * measured (the embedded S3 server runs in-process), so compare peaks only within one section.
 */
export function startRssSampler(intervalMs = 25): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/**
 * Runs `body` `runs` times and returns the median wall time. `prepare` runs before every timed run and
 * is not timed (reset buckets, create fresh prefixes), so each run does the same work.
 */
export async function measure(
  runs: number,
  body: (run: number) => Promise<void>,
  prepare?: (run: number) => Promise<void>,
): Promise<Measurement> {
  const runsMs: number[] = [];
  const sampler = startRssSampler();
  let peakRssBytes = 0;
  try {
    for (let run = 0; run < runs; run++) {
      if (prepare) await prepare(run);
      const started = process.hrtime.bigint();
      await body(run);
      runsMs.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  } finally {
    // Stop sampling even when a run throws, so the timer does not outlive a failed section.
    peakRssBytes = sampler.stop();
  }
  return { runsMs, medianMs: median(runsMs), peakRssBytes };
}

/** Items per second for `count` items done in `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

/** Rounds for a table: 3 significant digits below 100, whole numbers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}

/** A ratio for a table, like `2.41x`. */
export function ratio(numerator: number, denominator: number): string {
  return denominator > 0 ? `${round(numerator / denominator)}x` : 'n/a';
}

/** Mebibytes, for tables (RSS, sizes). */
export function mib(bytes: number): number {
  return round(bytes / 2 ** 20);
}

function escapeCell(value: string | number): string {
  return String(value).replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Renders rows as a GitHub markdown table; columns are the union of the rows' keys, in first-seen order. */
export function markdownTable(rows: ReadonlyArray<Record<string, string | number>>): string {
  if (rows.length === 0) return '_(no rows)_\n';
  const columns: string[] = [];
  for (const row of rows) {
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  }
  const numeric = columns.map((column) => rows.every((row) => typeof (row[column] ?? 0) === 'number'));
  const header = `| ${columns.map(escapeCell).join(' | ')} |`;
  const rule = `|${numeric.map((isNumber) => (isNumber ? ' ---: ' : ' --- ')).join('|')}|`;
  const body = rows.map((row) => `| ${columns.map((column) => escapeCell(row[column] ?? '')).join(' | ')} |`);
  return `${[header, rule, ...body].join('\n')}\n`;
}

/** Renders a section as markdown: heading, table, notes as a list. */
export function renderSection(section: BenchSection, headingLevel = 2): string {
  const notes = section.notes.map((note) => `- ${note}`).join('\n');
  return `${'#'.repeat(headingLevel)} ${section.title}\n\n${markdownTable(section.rows)}${notes ? `\n${notes}\n` : ''}`;
}

/** Prints a section to stdout; what a bench file does when run directly. */
export function printSection(section: BenchSection): void {
  process.stdout.write(`${renderSection(section)}\n`);
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** One group of bars in the chart: a section's title, its unit and bars. */
export interface ChartGroup {
  title: string;
  unit: string;
  bars: Array<{ label: string; value: number }>;
}

/**
 * Writes a horizontal bar chart as a standalone SVG (no fonts, scripts or external references), one
 * panel per group, each panel scaled to its own maximum: units differ between groups, so bars compare
 * only within a panel.
 */
export function renderBarChartSvg(title: string, groups: readonly ChartGroup[]): string {
  const width = 900;
  const labelWidth = 300;
  const valueWidth = 110;
  const barArea = width - labelWidth - valueWidth - 20;
  const barHeight = 18;
  const gap = 6;
  const palette = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#718096'];
  const parts: string[] = [];
  let y = 40;
  parts.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
  );
  for (const group of groups) {
    y += 16;
    parts.push(
      `<text x="10" y="${y}" font-size="13" font-weight="bold">${escapeXml(`${group.title} (${group.unit})`)}</text>`,
    );
    y += 8;
    const max = Math.max(...group.bars.map((bar) => bar.value), 0);
    group.bars.forEach((bar, index) => {
      const barWidth = max > 0 ? Math.max(1, (bar.value / max) * barArea) : 0;
      const colour = palette[index % palette.length];
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + barHeight - 5}" font-size="12" text-anchor="end">${escapeXml(fitLabel(bar.label))}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${barWidth.toFixed(1)}" height="${barHeight}" fill="${colour}"/>`,
        `<text x="${(labelWidth + barWidth + 6).toFixed(1)}" y="${y + barHeight - 5}" font-size="12">${escapeXml(formatChartValue(bar.value))}</text>`,
      );
      y += barHeight + gap;
    });
    y += 10;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** About 45 characters of 12 px sans-serif fit the label column; longer labels end in an ellipsis. */
function fitLabel(label: string, max = 45): string {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

function formatChartValue(value: number): string {
  if (value !== 0 && Math.abs(value) < 0.01) return value.toExponential(2);
  return String(round(value));
}

/**
 * Runs one section when its file is executed directly (`tsx bench/<name>.bench.ts [--quick]`, or
 * BENCH_QUICK=1) and prints its table; exits 1 with the error otherwise.
 */
export function runSectionFromCommandLine(name: string, run: (options: BenchOptions) => Promise<BenchSection>): void {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  run({ quick }).then(printSection, (error: unknown) => {
    process.stderr.write(`bench/${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}

/**
 * Puts `count` small JSON objects (200-500 bytes) under `prefix`, 32 at a time, and returns them as
 * manifest entries: the small-object workload the copy benchmarks share.
 */
export async function seedSmallObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  count: number,
): Promise<ManifestObject[]> {
  const limit = pLimit(32);
  const lastModified = new Date().toISOString();
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      limit(async () => {
        const key = `${prefix}${String(i).padStart(5, '0')}.json`;
        const body = JSON.stringify({ i, padding: 'x'.repeat(200 + (i % 300)) });
        const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        return { key, size: Buffer.byteLength(body), etag: put.ETag ?? '', lastModified };
      }),
    ),
  );
}
