import fc from 'fast-check';
import { SimulationStalledError, VirtualClock } from '../../sim/clock';
import { concatContent, contentDigest, contentSize, sameContent, sliceContent, wholeOrigin } from '../../sim/content';
import { awsLatency, PartitionRateLimiter, seededRandom } from '../../sim/limits';

describe('VirtualClock', () => {
  it('wakes sleepers in time order and moves time only as far as the last timer', async () => {
    const clock = new VirtualClock(1_000);
    const woke: Array<[string, number]> = [];
    const sleeper = async (name: string, ms: number) => {
      await clock.sleep(ms);
      woke.push([name, clock.now()]);
    };
    await clock.run(() =>
      Promise.all([
        sleeper('late', 300),
        sleeper('early', 100),
        sleeper('chain', 50).then(() => sleeper('chained', 100)),
      ]),
    );
    expect(woke).toEqual([
      ['chain', 1_050],
      ['early', 1_100],
      ['chained', 1_150],
      ['late', 1_300],
    ]);
    expect(clock.now()).toBe(1_300);
  });

  it('simulates an hour of sleeps quickly and returns what the work returns', async () => {
    const clock = new VirtualClock(0);
    const result = await clock.run(async () => {
      for (let i = 0; i < 3_600; i++) await clock.sleep(1_000);
      return 'done';
    });
    expect(result).toBe('done');
    expect(clock.now()).toBe(3_600_000);
  });

  it('rethrows the work error', async () => {
    const clock = new VirtualClock(0);
    await expect(
      clock.run(async () => {
        await clock.sleep(5);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });

  it('gives up with a clear error when the work waits on nothing it can advance', async () => {
    const clock = new VirtualClock(0, 0, 50);
    await expect(clock.run(() => new Promise<void>(() => undefined))).rejects.toBeInstanceOf(SimulationStalledError);
  });
});

describe('content descriptors', () => {
  it('reassembles any split of an origin into the whole, and not a reordering', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10_000 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 9_999 }), { maxLength: 20 }),
        (size, cuts) => {
          const whole = wholeOrigin('o', size);
          const bounds = [0, ...cuts.filter((c) => c < size).sort((a, b) => a - b), size];
          const pieces = bounds.slice(1).map((end, i) => sliceContent(whole, bounds[i] as number, end));
          expect(sameContent(concatContent(pieces), whole)).toBe(true);
          expect(contentDigest(concatContent(pieces))).toBe(contentDigest(whole));
          if (pieces.length > 1) expect(sameContent(concatContent([...pieces].reverse()), whole)).toBe(false);
        },
      ),
    );
  });

  it('slices content made of several origins', () => {
    const mixed = concatContent([wholeOrigin('a', 10), wholeOrigin('b', 10)]);
    expect(sliceContent(mixed, 5, 15)).toEqual([
      { origin: 'a', start: 5, end: 10 },
      { origin: 'b', start: 0, end: 5 },
    ]);
    expect(contentSize(mixed)).toBe(20);
    expect(() => sliceContent(mixed, 0, 21)).toThrow(/outside content of 20 bytes/);
  });

  it('gives different origins different digests', () => {
    expect(contentDigest(wholeOrigin('a', 10))).not.toBe(contentDigest(wholeOrigin('b', 10)));
    expect(contentDigest(wholeOrigin('a', 10))).not.toBe(contentDigest(wholeOrigin('a', 11)));
  });
});

describe('limits', () => {
  it('refills a partition token bucket at its rate, separately per partition and class', () => {
    const limiter = new PartitionRateLimiter({
      writePerSecond: 100,
      readPerSecond: 200,
      burstSeconds: 0.1,
      partitionOf: (key) => key.slice(0, 2),
    });
    const take = (key: string, kind: 'read' | 'write', at: number, n: number) =>
      Array.from({ length: n }, () => limiter.tryTake('b', key, kind, at)).filter(Boolean).length;
    expect(take('p1', 'write', 0, 50)).toBe(10);
    expect(take('p2', 'write', 0, 50)).toBe(10);
    expect(take('p1', 'read', 0, 50)).toBe(20);
    // One second later a full burst is back, no more.
    expect(take('p1', 'write', 1_000, 50)).toBe(10);
  });

  it('draws latency around the medians, longer for bigger copies, short for errors', () => {
    const latency = awsLatency({ random: seededRandom(7) });
    const samples = Array.from({ length: 2_001 }, () =>
      latency({ operation: 'CopyObject', bytes: 0, error: false }),
    ).sort((a, b) => a - b);
    const median = samples[1_000] as number;
    expect(median).toBeGreaterThan(25);
    expect(median).toBeLessThan(35);
    expect(latency({ operation: 'CopyObject', bytes: 1_000_000_000, error: false })).toBeGreaterThan(10_000);
    expect(latency({ operation: 'CopyObject', bytes: 0, error: true })).toBeLessThan(5);
  });
});
