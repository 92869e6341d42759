/**
 * Shows a local run's progress: a bar (objects, bytes, rate, ETA) when stderr is a terminal, plain lines
 * otherwise (CI logs, pipes). Always on stderr, so stdout carries only the summary or the --json document.
 */
import { SingleBar } from 'cli-progress';
import { formatBytes, formatCount } from '../functions/shared/format';
import type { CliIo } from './io';
import type { ProgressEvent } from './runner/runner';

export interface ProgressReporter {
  onProgress(event: ProgressEvent): void;
  /** Stops the bar (call before printing anything else). */
  stop(): void;
}

const count = formatCount;

/** Plain progress lines arrive at most this often, plus one per slice and a last one. */
const LINE_INTERVAL_MS = 2000;

/**
 * Creates the reporter for one run.
 * @param label what the lines start with ("copy", "sync")
 */
export function createProgressReporter(io: CliIo, label: string, now: () => number = Date.now): ProgressReporter {
  let selected = 0;
  let skipped = 0;
  let batchObjects = 0;
  let done = 0;
  let bytesDone = 0;
  let bytesTotal = 0;
  let slices = 0;
  let failedBatches = 0;
  let dryRun = false;
  let bar: SingleBar | undefined;
  let lastLine = 0;
  let stopped = false;
  const startedAt = now();

  const bytesText = () => `${formatBytes(bytesDone)}/${formatBytes(bytesTotal)}`;

  const line = (force: boolean) => {
    if (bar) return;
    if (!force && now() - lastLine < LINE_INTERVAL_MS) return;
    lastLine = now();
    io.stderr(
      `${label}: ${count(done)}/${count(selected)} objects, ${bytesText()}${failedBatches ? `, ${failedBatches} batch errors` : ''}\n`,
    );
  };

  return {
    onProgress(event) {
      if (stopped) return;
      switch (event.type) {
        case 'slice': {
          slices++;
          dryRun = event.dryRun;
          // Skipped objects (sync: the target has them) are done as soon as they are listed.
          selected = event.totals.selected;
          bytesTotal = event.totals.bytes;
          skipped = event.totals.skipped;
          done = skipped + batchObjects;
          if (io.isTTY && !bar && !dryRun) {
            bar = new SingleBar({
              format: `${label} [{bar}] {percentage}% | {value}/{total} objects | {bytes} | {rate} obj/s | ETA {etaText}`,
              stream: process.stderr,
              hideCursor: true,
              etaBuffer: 50,
              fps: 5,
            });
            bar.start(selected, done, { bytes: bytesText(), rate: '0', etaText: '-' });
          }
          if (bar) bar.setTotal(selected);
          else {
            io.stderr(
              `${label}: slice ${event.number}: ${count(event.objects)} objects to ${dryRun ? 'copy (dry run)' : 'copy'} (${formatBytes(event.bytes)}) in ${event.batches} batches; ${count(event.totals.listed)} listed, ${count(event.totals.skipped)} skipped so far${event.more ? ', listing more' : ''}\n`,
            );
          }
          break;
        }
        case 'batch': {
          batchObjects += event.objects;
          done = skipped + batchObjects;
          bytesDone += event.result.bytesCopied;
          line(false);
          break;
        }
        case 'batch-error':
          failedBatches++;
          if (!bar) io.stderr(`${label}: batch ${event.batchId} failed: ${event.error}: ${event.message}\n`);
          break;
        case 'retry':
          break;
      }
      if (bar) {
        const seconds = (now() - startedAt) / 1000;
        const rate = seconds > 0 ? batchObjects / seconds : 0;
        const eta = rate > 0 ? Math.ceil((selected - done) / rate) : undefined;
        bar.update(done, {
          bytes: bytesText(),
          rate: Math.round(rate).toString(),
          etaText: eta === undefined ? '-' : `${eta}s`,
        });
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (bar) {
        bar.update(done, { bytes: bytesText(), etaText: '0s' });
        bar.stop();
        bar = undefined;
      } else if (slices > 0 && !dryRun) {
        line(true);
      }
    },
  };
}
