/**
 * The direct event path where it meets the bulk path's guarantees: a Requester Pays source, and objects
 * too large for one events invocation, which the events function hands to the workflow (here the local
 * machine: the real ASL and handlers, cli/runner/events-run.ts) instead of failing them into the
 * dead-letter queue. On the in-memory S3 model (sim/s3-model.ts), NOT the embedded server: the embedded
 * server has no Requester Pays, and the model holds a 20 GiB object without its bytes.
 */
import { type EventsRunOptions, runEventsLocal } from '../../cli/runner/events-run';
import type { EventsBatchReport } from '../../functions/events/handler';
import type { JobDefaults } from '../../functions/shared/job';
import { GiB, MiB, S3Model } from '../../sim/s3-model';
import { modelEndpoint, quietRun } from '../support/local-run';

const SRC = 'ev-src';
const DST = 'ev-dst';
const STATE = 'ev-state';

function setup() {
  const model = new S3Model();
  for (const bucket of [SRC, DST, STATE]) model.createBucket(bucket);
  const defaults = (options: Record<string, unknown> = {}): JobDefaults => ({
    source: { bucket: SRC, prefix: 'in/' },
    target: { bucket: DST, prefix: 'out/' },
    options,
  });
  const run = (keys: string[], extra: Partial<EventsRunOptions> = {}) =>
    runEventsLocal({
      endpoint: modelEndpoint(model),
      defaults: defaults(),
      keys,
      eventsPerInvocation: keys.length,
      handOver: quietRun(STATE),
      ...extra,
    });
  return { model, run, defaults };
}

const sum = (reports: EventsBatchReport[], field: 'copied' | 'alreadyHandedOver') =>
  reports.reduce((total, report) => total + report.ledger[field], 0);

describe('direct event path: Requester Pays and objects handed to the workflow', () => {
  it('reads a Requester Pays source only with requestPayer: its HEADs and copies carry it', async () => {
    // Arrange: one small object and one copied in parts (over the 5 MiB threshold below)
    const { model, run, defaults } = setup();
    model.seed(SRC, [
      { key: 'in/small.txt', size: 100 },
      { key: 'in/parts.bin', size: 12 * MiB },
    ]);
    model.setRequesterPays(SRC);
    const options = { multipartThreshold: 5 * MiB, partSize: 5 * MiB };
    const keys = ['in/small.txt', 'in/parts.bin'];

    // Act
    const refused = await run(keys, { defaults: defaults(options) });
    const paid = await run(keys, { defaults: defaults({ ...options, requestPayer: true }) });

    // Assert: without it every read is refused (403), with it both objects are copied
    expect(refused.reports[0]?.ledger).toMatchObject({ selected: 2, copied: 0, failed: 2 });
    expect(refused.reports[0]?.failures.map((failure) => failure.code)).toEqual(['AccessDenied', 'AccessDenied']);
    expect(paid.reports[0]?.ledger).toMatchObject({ selected: 2, copied: 2, failed: 0 });
    expect(model.object(DST, 'out/parts.bin')?.size).toBe(12 * MiB);
    expect(model.object(DST, 'out/small.txt')?.size).toBe(100);
  });

  it('hands an object too large for the time left to the workflow, which copies it, and copies the rest itself', async () => {
    // Arrange: 20 GiB is more than the copy-rate model lets one 15-minute events invocation copy
    const { model, run } = setup();
    model.seed(SRC, [
      { key: 'in/huge.bin', size: 20 * GiB },
      { key: 'in/small.txt', size: 10 },
    ]);

    // Act
    const result = await run(['in/huge.bin', 'in/small.txt']);

    // Assert: the ledger, then the workflow's own run and its copy
    const ledger = result.reports[0]?.ledger;
    expect(ledger).toMatchObject({ selected: 2, copied: 1, handedOver: 1, alreadyHandedOver: 0, failed: 0 });
    expect(ledger?.selected).toBe(
      (ledger?.copied ?? 0) +
        (ledger?.skipped ?? 0) +
        (ledger?.failed ?? 0) +
        (ledger?.notAttempted ?? 0) +
        (ledger?.handedOver ?? 0),
    );
    expect(result.retried).toBe(0);
    const [workflow, ...others] = [...result.workflows.values()];
    expect(others).toEqual([]);
    expect(workflow).toMatchObject({ status: 'SUCCEEDED', objects: { selected: 1, copied: 1, failed: 0 } });
    expect(model.object(DST, 'out/huge.bin')?.size).toBe(20 * GiB);
    expect(model.object(DST, 'out/small.txt')?.size).toBe(10);
  });

  it('starts one execution per object version: a duplicate event is "already handed over", a new version starts another', async () => {
    // Arrange: a key with characters the execution input must carry exactly; over the configured threshold
    const { model, run } = setup();
    const key = 'in/dir/big file+1 é%41.bin';
    model.seed(SRC, [{ key, size: 2 * MiB }]);
    const handOver = { thresholdBytes: 1 * MiB, stateBucket: STATE, retryIntervalMs: 0 };

    // Act: the same event delivered twice (two invocations), then a new version and its event
    const twice = await run([key, key], { eventsPerInvocation: 1, handOver });
    model.seed(SRC, [{ key, size: 3 * MiB }]);
    const newer = await run([key], { handOver });

    // Assert
    expect(twice.reports.map((report) => report.ledger.handedOver)).toEqual([1, 1]);
    expect(sum(twice.reports, 'alreadyHandedOver')).toBe(1);
    expect(sum(twice.reports, 'copied')).toBe(0);
    expect([...twice.workflows.values()].map((run) => run.status)).toEqual(['SUCCEEDED']);
    expect(newer.workflows.size).toBe(1);
    expect([...newer.workflows.keys()]).not.toEqual([...twice.workflows.keys()]);
    expect(model.keys(DST)).toEqual(['out/dir/big file+1 é%41.bin']);
    expect(model.object(DST, 'out/dir/big file+1 é%41.bin')?.size).toBe(3 * MiB);
  });

  it('hands over nothing for a large object the target already holds: the sync rule comes first', async () => {
    // Arrange: the object copied once by the events function itself (threshold above its size)
    const { model, run } = setup();
    model.seed(SRC, [{ key: 'in/held.bin', size: 2 * MiB }]);
    const first = await run(['in/held.bin'], { handOver: { thresholdBytes: 4 * MiB } });

    // Act: a late event for the same version, now over the threshold
    const late = await run(['in/held.bin'], { handOver: { thresholdBytes: 1 * MiB } });

    // Assert
    expect(first.reports[0]?.ledger).toMatchObject({ copied: 1, handedOver: 0 });
    expect(late.reports[0]?.ledger).toMatchObject({ copied: 0, skipped: 1, handedOver: 0 });
    expect(late.workflows.size).toBe(0);
  });

  it('copies an object at the threshold itself', async () => {
    // Arrange
    const { model, run } = setup();
    model.seed(SRC, [{ key: 'in/edge.bin', size: 1 * MiB }]);

    // Act
    const result = await run(['in/edge.bin'], { handOver: { thresholdBytes: 1 * MiB } });

    // Assert
    expect(result.reports[0]?.ledger).toMatchObject({ copied: 1, handedOver: 0 });
    expect(result.workflows.size).toBe(0);
  });
});
