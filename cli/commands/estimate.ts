/**
 * `s3xcopy estimate`: prices a planned job for every design the cost model knows (s3xcopy with Standard
 * or Express children, one execution per object, the original sequential Lambda, S3 Batch Operations),
 * split into S3 requests and orchestration, in total and per million objects. Nothing is listed or
 * copied; the figures come from cli/cost/ and the list prices dated there.
 */
import type { Command } from 'commander';
import type { ManifestCount } from '../../functions/list/manifest';
import { manifestFormatOf, S3_LIMITS } from '../../functions/shared/job';
import { buildEventScenarios, MAX_EVENTS_PER_EXECUTION, type PlannedEvents } from '../cost/event-scenarios';
import { type FeatureEstimateFlags, featureEstimateFromFlags, featureEstimateText } from '../cost/feature-costs';
import { formatUsd } from '../cost/model';
import { PRICES, PRICES_AS_OF, PRICES_REGION } from '../cost/prices';
import { buildScenarios, type PlannedJob, type Scenario } from '../cost/scenarios';
import { UsageError } from '../errors';
import { manifestFormatOption, manifestFromFlags, manifestOption, requestPayerOption } from '../feature-flags';
import type { CliIo } from '../io';
import { formatBytes, parseSize } from '../size';
import { COMMAND_DESCRIPTIONS } from './descriptions';

interface EstimateFlags extends FeatureEstimateFlags {
  objects?: string;
  avgSize?: string;
  manifest?: string;
  manifestFormat?: string;
  requestPayer?: boolean;
  endpoint?: string;
  region?: string;
  mode: string;
  changed?: string;
  batchSize?: string;
  listConcurrency?: string;
  multipartThreshold?: string;
  partSize?: string;
  verify?: string;
  trigger?: string;
  eventsPerExecution?: string;
  json?: boolean;
}

function parseWholeNumber(text: string, option: string, minimum: number): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new UsageError(`${option}: "${text}" is not a whole number >= ${minimum}. Example: ${option} 1000000`);
  }
  return value;
}

/** Turns the flags into a planned job, or throws UsageError naming the flag and the fix. */
export function plannedJobFromFlags(flags: EstimateFlags): PlannedJob {
  if (flags.objects === undefined) {
    throw new UsageError(
      '--objects N (or --manifest s3://BUCKET/KEY to count them) is required. Example: --objects 1000000',
    );
  }
  if (flags.avgSize === undefined) {
    throw new UsageError(
      '--avg-size SIZE is required (a CSV manifest has no sizes; an Inventory report with a Size column gives it). Example: --avg-size 8MiB',
    );
  }
  const objects = parseWholeNumber(flags.objects, '--objects', 1);
  const averageSizeBytes = parseSize(flags.avgSize, '--avg-size');
  if (averageSizeBytes > S3_LIMITS.maxObjectBytes) {
    throw new UsageError(
      `--avg-size: "${flags.avgSize}" is above S3's largest object (${formatBytes(S3_LIMITS.maxObjectBytes)}). Give the average size of the objects to copy.`,
    );
  }
  if (flags.mode !== 'copy' && flags.mode !== 'sync') {
    throw new UsageError(`--mode: "${flags.mode}" is not a mode. Use --mode copy or --mode sync.`);
  }
  const job: PlannedJob = { objects, averageSizeBytes, mode: flags.mode };
  if (flags.changed !== undefined) {
    if (flags.mode !== 'sync') {
      throw new UsageError(
        '--changed applies to --mode sync only (a copy copies every object): drop it or add --mode sync.',
      );
    }
    const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(flags.changed);
    const percent = match ? Number(match[1]) : Number.NaN;
    if (!(percent >= 0 && percent <= 100)) {
      throw new UsageError(`--changed: "${flags.changed}" is not a percentage from 0 to 100. Example: --changed 10%`);
    }
    job.changedFraction = percent / 100;
  }
  if (flags.batchSize !== undefined) {
    job.maxObjectsPerBatch = parseWholeNumber(flags.batchSize, '--batch-size', 1);
    if (job.maxObjectsPerBatch > 10_000) {
      throw new UsageError(`--batch-size: ${job.maxObjectsPerBatch} is above the maximum of 10000 objects a batch.`);
    }
  }
  if (flags.listConcurrency !== undefined) {
    job.listConcurrency = parseWholeNumber(flags.listConcurrency, '--list-concurrency', 1);
    if (job.listConcurrency > 256) {
      throw new UsageError(`--list-concurrency: ${job.listConcurrency} is above the maximum of 256 partitions.`);
    }
  }
  if (flags.multipartThreshold !== undefined) {
    job.multipartThreshold = parseSize(flags.multipartThreshold, '--multipart-threshold');
    if (job.multipartThreshold > 5 * 2 ** 30) {
      throw new UsageError(
        `--multipart-threshold: "${flags.multipartThreshold}" is above 5GiB, the most one CopyObject can copy.`,
      );
    }
  }
  if (flags.verify !== undefined) {
    if (flags.verify !== 'multipart' && flags.verify !== 'all' && flags.verify !== 'none') {
      throw new UsageError(`--verify: "${flags.verify}" is not a scope. Use --verify multipart, all or none.`);
    }
    job.verify = flags.verify;
  }
  if (flags.partSize !== undefined) {
    job.partSize = parseSize(flags.partSize, '--part-size');
    if (job.partSize < 5 * 2 ** 20 || job.partSize > 5 * 2 ** 30) {
      throw new UsageError(`--part-size: "${flags.partSize}" is outside S3's 5MiB..5GiB part sizes.`);
    }
  }
  return job;
}

/** The JSON `--json` prints: the job, where the prices come from, and one entry per design. */
export function estimateJson(job: PlannedJob | EventsJob, scenarios: Scenario[]) {
  return {
    job,
    prices: { region: PRICES_REGION, asOf: PRICES_AS_OF },
    designs: scenarios.map((scenario) => ({
      design: scenario.design,
      title: scenario.title,
      feasible: scenario.feasible,
      cost: {
        s3Requests: scenario.cost.s3Requests.total,
        orchestration: scenario.cost.orchestration.total,
        total: scenario.cost.total,
      },
      perMillionObjects: scenario.cost.perMillionObjects,
      breakdown: { s3Requests: scenario.cost.s3Requests.byType, orchestration: scenario.cost.orchestration },
      counts: scenario.counts,
      estimatedWallClockSeconds: scenario.estimatedWallClockSeconds,
      notes: scenario.notes,
    })),
  };
}

function formatDuration(seconds: number | null, events: boolean): string {
  if (seconds === null) return events ? 'as they come' : 'set by AWS';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** `--trigger s3-events`: the stream of events to price, as the JSON shows it. */
export interface EventsJob extends PlannedEvents {
  trigger: 's3-events';
}

/**
 * `--trigger s3-events --events-per-execution N`: the event stream from the flags, or UsageError naming the
 * flag. Undefined without --trigger (then --events-per-execution is refused: it means nothing for a bulk job).
 */
export function eventsJobFromFlags(flags: EstimateFlags): EventsJob | undefined {
  if (flags.trigger === undefined) {
    if (flags.eventsPerExecution !== undefined) {
      throw new UsageError(
        '--events-per-execution applies to --trigger s3-events only: add --trigger s3-events or drop it.',
      );
    }
    return undefined;
  }
  if (flags.trigger !== 's3-events') {
    throw new UsageError(
      `--trigger: "${flags.trigger}" is not a trigger. Use --trigger s3-events (or leave it out for a bulk job).`,
    );
  }
  for (const bulkOnly of ['changed', 'batchSize', 'listConcurrency', 'manifest'] as const) {
    if (flags[bulkOnly] !== undefined) {
      const option = `--${bulkOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new UsageError(`${option} prices a bulk job and does not apply to --trigger s3-events: drop it.`);
    }
  }
  const bulk = plannedJobFromFlags({ ...flags, mode: 'copy' });
  const eventsPerExecution = parseWholeNumber(flags.eventsPerExecution ?? '1', '--events-per-execution', 1);
  if (eventsPerExecution > MAX_EVENTS_PER_EXECUTION) {
    throw new UsageError(
      `--events-per-execution: ${eventsPerExecution} is above ${MAX_EVENTS_PER_EXECUTION}, the most events s3xcopy batches (s3Events.batchSize).`,
    );
  }
  return {
    trigger: 's3-events',
    objects: bulk.objects,
    averageSizeBytes: bulk.averageSizeBytes,
    eventsPerExecution,
    ...(bulk.multipartThreshold !== undefined ? { multipartThreshold: bulk.multipartThreshold } : {}),
    ...(bulk.partSize !== undefined ? { partSize: bulk.partSize } : {}),
  };
}

/** The human-readable table: one line per design, then the notes. */
export function estimateText(job: PlannedJob | EventsJob, scenarios: Scenario[]): string {
  const header = ['design', 'S3 requests', 'orchestration', 'total', 'per 1M objects', 'wall clock'];
  const rows = scenarios.map((scenario) => [
    scenario.feasible ? scenario.title : `${scenario.title} (cannot)`,
    formatUsd(scenario.cost.s3Requests.total),
    formatUsd(scenario.cost.orchestration.total),
    formatUsd(scenario.cost.total),
    formatUsd(scenario.cost.perMillionObjects.total),
    formatDuration(scenario.estimatedWallClockSeconds, 'trigger' in job),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ');
  const what =
    'trigger' in job
      ? `created one by one as S3 events announce them, ${job.eventsPerExecution} event(s) per execution`
      : `${job.mode} mode${job.mode === 'sync' ? `, ${Math.round((job.changedFraction ?? 1) * 100)}% changed` : ''}`;
  const notes = scenarios.flatMap((scenario) => scenario.notes.map((note) => `  ${scenario.title}: ${note}`));
  return [
    `Estimate for ${job.objects} objects of ${formatBytes(job.averageSizeBytes)} on average, ${what}`,
    `(list prices, ${PRICES_REGION}, as of ${PRICES_AS_OF}; wall clock is a rough guide; see docs/cost.md)`,
    '',
    line(header),
    ...rows.map(line),
    '',
    'Notes:',
    ...notes,
    '',
  ].join('\n');
}

/**
 * --manifest counts the objects with one read of the manifest (and sums an Inventory
 * report's Size column); a manifest job also HEADs each row and reads the manifest twice, which the note
 * prices. --objects and --avg-size, when given, win over what the manifest says.
 */
async function countFromManifest(flags: EstimateFlags) {
  const manifest = manifestFromFlags(flags);
  if (!manifest) return undefined;
  // Loaded only with --manifest: an estimate without one is arithmetic, and its start-up stays that.
  const { countManifest, InvalidManifestError } =
    require('../../functions/list/manifest') as typeof import('../../functions/list/manifest');
  const { createS3Client } =
    require('../../functions/shared/clients') as typeof import('../../functions/shared/clients');
  const { endpointFromFlags } = require('./run') as typeof import('./run');
  const s3 = createS3Client(endpointFromFlags(flags));
  let count: ManifestCount;
  try {
    count = await countManifest(s3, manifest, flags.requestPayer === true);
  } catch (error) {
    if (error instanceof InvalidManifestError) throw new UsageError(`--manifest: ${error.message}`);
    throw error;
  } finally {
    s3.destroy();
  }
  if (count.rows === 0) throw new UsageError(`--manifest: s3://${manifest.bucket}/${manifest.key} names no object.`);
  const average = count.bytes === undefined ? undefined : Math.max(1, Math.round(count.bytes / count.rows));
  const heads = count.rows * PRICES.s3.getHeadPerRequest;
  const reads = 2 * (count.files + (manifestFormatOf(manifest) === 'inventory' ? 1 : 0));
  return {
    flags: {
      objects: flags.objects ?? String(count.rows),
      ...(flags.avgSize === undefined && average !== undefined ? { avgSize: String(average) } : {}),
    },
    json: {
      rows: count.rows,
      bytes: count.bytes ?? null,
      files: count.files,
      headRequests: count.rows,
      headUsd: heads,
    },
    note:
      `\nManifest s3://${manifest.bucket}/${manifest.key}: ${count.rows} objects` +
      `${count.bytes === undefined ? '' : ` (${formatBytes(count.bytes)})`} in ${count.files} file(s). A manifest job ` +
      `HEADs each row (${count.rows} HEADs, ${formatUsd(heads)}) and reads the manifest twice (${reads} GETs), ` +
      'beyond the figures above, which price a listing.\n',
  };
}

/** Registers `s3xcopy estimate`. */
export function register(program: Command, io: CliIo): void {
  program
    .command('estimate')
    .description(COMMAND_DESCRIPTIONS.estimate)
    .option('--objects <n>', 'number of objects to copy (whole number >= 1)')
    .option('--avg-size <size>', 'average object size: bytes or a unit (256KiB, 8MiB, 1.5GB)')
    // Count the objects (and, from an Inventory report's Size column, their size).
    .addOption(manifestOption())
    .addOption(manifestFormatOption())
    .addOption(requestPayerOption())
    .option('--endpoint <url>', 'S3-compatible endpoint to read the manifest from (default: AWS)')
    .option('--region <region>', 'region of the manifest bucket')
    .option('--mode <mode>', 'copy (every object) or sync (only objects that differ)', 'copy')
    .option('--changed <percent>', 'sync only: share of objects that differ from the target (default 100%)')
    .option('--batch-size <n>', 'objects per copy batch (default 1250)')
    .option(
      '--list-concurrency <n>',
      'source partitions listed at once (default 32); 1 lists one chain, without the extra LISTs of partitions',
    )
    .option('--multipart-threshold <size>', 'copy larger objects with a multipart copy (default 64MiB)')
    .option('--part-size <size>', 'multipart part size (default 64MiB)')
    // Restores and mirror deletes (cli/cost/feature-costs.ts).
    .option('--archived <n>', 'price restoring this many archived objects before the copy (with --restore)')
    .option('--archive-class <class>', 'GLACIER (default) or DEEP_ARCHIVE, for --archived')
    .option('--restore <tier>', 'retrieval tier for --archived: Standard (default), Bulk or Expedited')
    .option('--restore-days <n>', 'days the restored copies are kept (default 1)')
    .option('--deletes <n>', 'price deleting this many target objects (sync --delete)')
    .option('--verify <scope>', 'checks after copying: multipart (default), all or none (adds HEAD/GetObjectTagging)')
    .option(
      '--trigger <trigger>',
      's3-events: price copying objects as S3 events announce them, next to S3 Replication',
    )
    .option(
      '--events-per-execution <n>',
      'with --trigger s3-events: events copied together, 1 (a trickle, default) to 50',
    )
    .option('--json', 'print one JSON object instead of the table')
    .action(async (flags: EstimateFlags) => {
      const events = eventsJobFromFlags(flags);
      if (events) {
        const scenarios = buildEventScenarios(events);
        io.stdout(
          flags.json
            ? `${JSON.stringify(estimateJson(events, scenarios), null, 2)}\n`
            : estimateText(events, scenarios),
        );
        return;
      }
      const counted = await countFromManifest(flags);
      const job = plannedJobFromFlags(counted ? { ...flags, ...counted.flags } : flags);
      const features = featureEstimateFromFlags(flags, job.averageSizeBytes);
      let scenarios: Scenario[];
      try {
        scenarios = buildScenarios(job);
      } catch (error) {
        // The model rejects what S3 cannot hold (an average size above ~48.8 TiB, ...): bad input, exit 2.
        if (error instanceof RangeError) throw new UsageError(`--avg-size/--objects: ${error.message}`);
        throw error;
      }
      io.stdout(
        flags.json
          ? `${JSON.stringify({ ...estimateJson(job, scenarios), ...features, ...(counted ? { manifest: counted.json } : {}) }, null, 2)}\n`
          : estimateText(job, scenarios) + featureEstimateText(features).join('\n') + (counted?.note ?? ''),
      );
    });
}
