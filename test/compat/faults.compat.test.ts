/**
 * Faults as a routine test: the CLI copies a few hundred objects (and a multipart one) through the fault
 * proxy (test/support/fault-proxy.ts) in front of the embedded server: 503 SlowDown, 500s before and
 * after the server acted, reset connections, slow and truncated responses. Midway the server "crashes"
 * (the proxy refuses everything): that run's ledger must still add up and claim no copy the target does
 * not hold; a re-run must finish the job with every object byte-identical and no upload left open.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type FaultProxy, seededRandom, startFaultProxy } from '../support/fault-proxy';
import { type CliRun, cli } from './cli';
import { type CompatServer, connect } from './connect';
import { compareCopies, type ExpectedCopy, listKeys } from './oracle';

const MiB = 1024 * 1024;
const SMALL = 300;

let server: CompatServer;
let proxy: FaultProxy;
const expected: ExpectedCopy[] = [];

beforeAll(async () => {
  server = await connect('embedded');
  await server.s3.send(new CreateBucketCommand({ Bucket: 'faults-src' }));
  await server.s3.send(new CreateBucketCommand({ Bucket: 'faults-dst' }));
  const keys = Array.from({ length: SMALL }, (_, i) => `data/obj ${String(i).padStart(4, '0')}+x.bin`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        await server.s3.send(
          new PutObjectCommand({
            Bucket: 'faults-src',
            Key: key,
            Body: randomBytes(512 + (next % 7) * 300),
            Metadata: { n: String(next) },
          }),
        );
      }
    }),
  );
  await server.s3.send(
    new PutObjectCommand({
      Bucket: 'faults-src',
      Key: 'data/big.bin',
      Body: randomBytes(11 * MiB),
      Metadata: { kind: 'big' },
    }),
  );
  for (const key of [...keys, 'data/big.bin'])
    expected.push({ sourceKey: key, targetKey: key.replace(/^data\//, 'copy/') });
  proxy = await startFaultProxy({
    upstream: server.endpoint,
    rates: { slowDown: 0.03, internalError: 0.02, lostResponse: 0.01, reset: 0.01, slow: 0.01, truncated: 0.01 },
    slowMs: 300,
    random: seededRandom(10),
  });
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

const args = (mode: string) => [
  'run',
  '--source',
  's3://faults-src/data/',
  '--target',
  's3://faults-dst/copy/',
  '--mode',
  mode,
  '--endpoint',
  proxy.url,
  '--multipart-threshold',
  '5MiB',
  '--part-size',
  '5MiB',
  '--concurrency',
  '8',
  '--json',
];

/** selected = copied + skipped + failed + not attempted: every object has exactly one fate. */
function ledgerAddsUp(run: CliRun): boolean {
  const o = run.json?.objects;
  if (!o) return false;
  return o.selected === o.copied + o.skipped + o.failed + (o.notAttempted ?? 0);
}

describe('copying through injected faults and a crash', () => {
  it('reports exactly what a crashed run copied, and a re-run finishes the job faithfully', async () => {
    // Act: crash the "server" once the target holds a third of the objects.
    const first = cli(args('copy'), server.cliEnv);
    for (;;) {
      const held = (await listKeys(server.s3, 'faults-dst', 'copy/')).length;
      if (held >= SMALL / 3) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    proxy.setDown(true);
    const crashed = await first;
    proxy.setDown(false);
    const heldAfterCrash = (await listKeys(server.s3, 'faults-dst', 'copy/')).length;
    const reruns: CliRun[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const rerun = await cli(args('sync'), server.cliEnv);
      reruns.push(rerun);
      if (rerun.code === 0) break;
    }

    // Assess: the crashed run failed loudly, its ledger adds up and claims no more than the target holds.
    expect(crashed.code).toBe(1);
    expect(ledgerAddsUp(crashed)).toBe(true);
    expect(crashed.json?.objects.copied).toBeLessThanOrEqual(heldAfterCrash);
    expect(crashed.json?.objects.copied).toBeGreaterThan(0);
    // Every re-run's ledger adds up; the last one finished with nothing failed.
    for (const rerun of reruns) expect(ledgerAddsUp(rerun)).toBe(true);
    const last = reruns.at(-1);
    expect(last?.code).toBe(0);
    expect(last?.json?.objects.failed).toBe(0);
    const problems = await compareCopies({
      source: { s3: server.s3, bucket: 'faults-src' },
      target: { s3: server.s3, bucket: 'faults-dst', prefix: 'copy/' },
      expected,
    });
    expect(problems).toEqual([]);
    const counts = proxy.counts();
    expect(counts.refusedWhileDown).toBeGreaterThan(0);
    expect(Object.values(counts.faults).every((n) => n > 0)).toBe(true);
  });
});
