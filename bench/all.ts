/**
 * `npm run bench`: runs every benchmark section in one process, one after another (they share 2 cores, so
 * never in parallel), and writes docs/BENCHMARKS.md (tables) and docs/benchmarks.svg (one chart).
 *
 * A section that is missing or throws does not stop the others: its error goes into the document.
 * `npm run bench -- --quick` (or BENCH_QUICK=1) runs smaller inputs, for a smoke test; its figures are
 * not for publishing. `npm run bench -- --only large,cost` runs some sections only. Both write to a
 * temporary directory instead of docs/ (so a partial run never replaces the published figures), unless
 * `--out DIR` says where.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import {
  type BenchOptions,
  type BenchRun,
  type BenchSection,
  type ChartGroup,
  type GoalRow,
  markdownTable,
  renderBarChartSvg,
  renderSection,
} from './harness';

/** Sections in the order the document shows them; `module` is resolved relative to bench/. */
const SECTIONS: Array<{ id: string; module: string; title: string }> = [
  { id: 'copy', module: './copy.bench', title: 'Copy worker: small objects' },
  { id: 'large', module: './large.bench', title: 'Large object' },
  { id: 'resume', module: './resume.bench', title: 'Large object across invocations' },
  { id: 'list', module: './list.bench', title: 'List step' },
  { id: 'local', module: './local.bench', title: 'Orchestration overhead: s3xcopy run vs the worker' },
  { id: 'rclone', module: './rclone.bench', title: 'Outside peer: rclone copy' },
  { id: 'cost', module: './cost.bench', title: 'Cost per million objects' },
  { id: 'startup', module: './startup.bench', title: 'CLI start-up' },
  { id: 'aws-scale', module: './aws-scale.bench', title: 'AWS scale, simulated' },
  { id: 'peers', module: './peers.bench', title: 'Peers: aws s3 sync and rclone' },
  { id: 'noop-sync', module: './noop-sync-peers.bench', title: 'No-op sync beside aws s3 sync and rclone' },
  { id: 'growth', module: './growth.bench', title: 'Flat costs: s3xcopy run from 2,000 to 100,000 objects' },
  { id: 'partitioned-list', module: './partitioned-list.bench', title: 'Listing that scales' },
];

const DOCS = path.join(__dirname, '..', 'docs');

interface SectionOutcome {
  id: string;
  section: BenchSection;
  seconds: number;
  failed: boolean;
  /** The 1-minute load average sampled while the section ran (other sessions share these cores). */
  load?: LoadSummary;
}

export interface LoadSummary {
  min: number;
  max: number;
  mean: number;
}

/**
 * Samples the 1-minute load average every `intervalMs` until stopped. Wall-clock figures depend on it
 * (2 shared cores), so the document says what it was section by section instead of a hand-written note.
 */
export function startLoadSampler(intervalMs = 15_000, read: () => number = () => loadavg()[0] ?? 0) {
  const samples = [read()];
  const timer = setInterval(() => samples.push(read()), intervalMs);
  timer.unref();
  return {
    stop(): LoadSummary {
      clearInterval(timer);
      samples.push(read());
      return summarizeLoad(samples);
    },
  };
}

export function summarizeLoad(samples: readonly number[]): LoadSummary {
  if (samples.length === 0) throw new Error('summarizeLoad: no samples');
  const sum = samples.reduce((total, value) => total + value, 0);
  return { min: Math.min(...samples), max: Math.max(...samples), mean: sum / samples.length };
}

function loadText(load: LoadSummary | undefined): string {
  return load ? `${load.min.toFixed(1)}-${load.max.toFixed(1)} (mean ${load.mean.toFixed(1)})` : 'not sampled';
}

/**
 * The goals every section measured (issue 14), in one table, and for each missed one what its section says
 * holds it back. Written from this run's figures only: nothing here is edited by hand afterwards.
 */
export function renderGoals(outcomes: SectionOutcome[]): string[] {
  const goals: Array<GoalRow & { section: string }> = outcomes.flatMap((outcome) =>
    (outcome.section.goals ?? []).map((goal) => ({ ...goal, section: outcome.section.title })),
  );
  if (goals.length === 0) return [];
  const missed = goals.filter((goal) => !goal.met);
  return [
    '## Issue 14 goals in this run',
    '',
    '"Before" is the figure the issue quoted (moto_server, 2 cores, the week it was filed) or, where it gave',
    'none, the row measured without the change in this same run. Every "this run" figure comes from the',
    'section named in the last column.',
    '',
    markdownTable(
      goals.map((goal) => ({
        'goal (issue 14)': goal.goal,
        target: goal.target,
        before: goal.before,
        'this run': goal.measured,
        result: goal.met ? 'met' : 'not met',
        section: goal.section,
      })),
    ),
    '',
    ...(missed.length > 0
      ? [
          'What holds the missed ones back:',
          ...missed.map(
            (goal) => `- **${goal.goal}** (${goal.measured}): ${goal.holdsBack ?? 'not explained by its section.'}`,
          ),
          '',
        ]
      : []),
  ];
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Loads and runs one section; a missing module or a thrown error becomes a section that says so. */
export async function runSection(
  entry: { id: string; module: string; title: string },
  options: BenchOptions,
  load: (module: string) => Promise<{ run?: BenchRun }> = (module) => import(module),
): Promise<SectionOutcome> {
  const started = Date.now();
  try {
    const loaded = await load(entry.module);
    if (typeof loaded.run !== 'function') {
      throw new Error(`bench/${entry.module.slice(2)}.ts does not export run(options): Promise<BenchSection>`);
    }
    const section = await loaded.run(options);
    return { id: entry.id, section, seconds: (Date.now() - started) / 1000, failed: false };
  } catch (error) {
    const missing =
      (error as { code?: string }).code === 'MODULE_NOT_FOUND' || /Cannot find module/.test(String(error));
    return {
      id: entry.id,
      section: {
        title: entry.title,
        rows: [],
        notes: [
          missing
            ? `Not run: bench/${entry.module.slice(2)}.ts is missing from this checkout.`
            : `Failed: ${describeError(error)}`,
        ],
      },
      seconds: (Date.now() - started) / 1000,
      failed: true,
    };
  }
}

function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `Node ${process.versions.node}, ${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${process.platform}/${process.arch}`;
}

/** Builds docs/BENCHMARKS.md from the outcomes. */
export function renderDocument(outcomes: SectionOutcome[], options: BenchOptions, totalSeconds: number): string {
  const headlines = outcomes.flatMap((outcome) => (outcome.section.headline ? [`- ${outcome.section.headline}`] : []));
  const timing = outcomes.map(
    (outcome) =>
      `| ${outcome.section.title} | ${outcome.failed ? 'not run / failed' : 'ok'} | ${outcome.seconds.toFixed(1)} | ${loadText(outcome.load)} |`,
  );
  const sampled = outcomes.filter((outcome) => outcome.load !== undefined);
  const sampledSeconds = sampled.reduce((total, outcome) => total + outcome.seconds, 0);
  const overall: LoadSummary | undefined =
    sampled.length > 0
      ? {
          min: Math.min(...sampled.map((outcome) => outcome.load?.min ?? 0)),
          max: Math.max(...sampled.map((outcome) => outcome.load?.max ?? 0)),
          // Weighted by each section's length: a long section under load weighs more than a short one.
          mean:
            sampled.reduce((total, outcome) => total + (outcome.load?.mean ?? 0) * outcome.seconds, 0) /
            Math.max(sampledSeconds, Number.EPSILON),
        }
      : undefined;
  return [
    '# s3xcopy benchmarks',
    '',
    `Generated by \`npm run bench\`${options.quick ? ' **in quick mode (smaller inputs; not for publishing)**' : ''} on ${new Date().toISOString().slice(0, 10)}, in ${Math.round(totalSeconds)} s.`,
    `Machine: ${machineLine()}.`,
    '',
    'Every figure is a median of several runs, and every ratio compares methods measured side by side in',
    'this one run, on the same embedded S3 server (@20minutes/s3rver, in-process, on local disk). That server',
    'is not S3: it has no network round trip and copies bytes on this disk, so read absolute rates as this',
    "machine's, and the ratios as the comparison. Costs use the list prices in cli/cost/prices.ts; see",
    '[cost.md](cost.md) for the model and its assumptions.',
    '',
    `Load: the 1-minute load average (sampled every 15 s) was ${loadText(overall)} over the run on ${cpus().length} cores,`,
    "which other jobs on this machine may share; each section's range is in the last table. Wall-clock figures",
    'slow down with it; ratios measured side by side in one section are what to compare. Simulated sections',
    '(resume, AWS scale, partitioned listing) run in virtual time and do not depend on it.',
    '',
    ...(headlines.length > 0 ? ['## Headlines', '', ...headlines, ''] : []),
    ...renderGoals(outcomes),
    '![Benchmark chart](benchmarks.svg)',
    '',
    ...outcomes.map((outcome) => renderSection(outcome.section)),
    '## Sections and their run time',
    '',
    '| section | status | seconds | load average |',
    '| --- | --- | ---: | --- |',
    ...timing,
    '',
    'Run one section alone with `npx tsx bench/<name>.bench.ts` (each prints its own table).',
    '',
  ].join('\n');
}

/** Runs the sections and writes the document and chart into `outDir`; returns the outcomes. */
export async function runAll(options: BenchOptions, only?: string[], outDir = DOCS): Promise<SectionOutcome[]> {
  const started = Date.now();
  const outcomes: SectionOutcome[] = [];
  for (const entry of SECTIONS) {
    if (only && !only.includes(entry.id)) continue;
    process.stderr.write(`bench: ${entry.id} ...\n`);
    const sampler = startLoadSampler();
    const outcome = { ...(await runSection(entry, options)), load: sampler.stop() };
    process.stderr.write(
      `bench: ${entry.id} ${outcome.failed ? 'FAILED' : 'done'} in ${outcome.seconds.toFixed(1)} s\n`,
    );
    if (outcome.failed) process.stderr.write(`  ${outcome.section.notes.join('\n  ')}\n`);
    outcomes.push(outcome);
  }
  const totalSeconds = (Date.now() - started) / 1000;
  const groups: ChartGroup[] = outcomes.flatMap((outcome) =>
    outcome.section.chart && outcome.section.chart.bars.length > 0
      ? [{ title: outcome.section.title, unit: outcome.section.chart.unit, bars: outcome.section.chart.bars }]
      : [],
  );
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'BENCHMARKS.md'), renderDocument(outcomes, options, totalSeconds));
  await writeFile(
    path.join(outDir, 'benchmarks.svg'),
    renderBarChartSvg('s3xcopy benchmarks (one run, one machine; bars compare within a panel)', groups),
  );
  process.stderr.write(
    `bench: wrote ${path.join(outDir, 'BENCHMARKS.md')} and benchmarks.svg; the sections took ${Math.round(totalSeconds)} s\n`,
  );
  return outcomes;
}

if (require.main === module) {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const onlyIndex = process.argv.indexOf('--only');
  const only = onlyIndex >= 0 ? (process.argv[onlyIndex + 1] ?? '').split(',').filter(Boolean) : undefined;
  const outIndex = process.argv.indexOf('--out');
  const outDir =
    outIndex >= 0
      ? path.resolve(process.argv[outIndex + 1] ?? '.')
      : quick || only
        ? path.join(tmpdir(), 's3xcopy-bench')
        : DOCS;
  runAll({ quick }, only, outDir).then(
    // The servers' sockets may linger; the document is written, so end the process.
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench: ${describeError(error)}\n`);
      process.exit(1);
    },
  );
}
