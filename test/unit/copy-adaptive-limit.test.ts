import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { AdaptiveLimit, applyAdaptiveLimit, isThrottling } from '../../functions/copy/adaptive-limit';
import { createS3Client } from '../../functions/shared/clients';
import { VirtualClock } from '../../sim/clock';
import { S3Model, s3Error } from '../../sim/s3-model';

const options = { initial: 4, min: 1, max: 64, decrease: 0.5 };

describe('AdaptiveLimit', () => {
  it('doubles its window every round trip until the first throttle (slow start), then grows by one', async () => {
    const limit = new AdaptiveLimit(options);
    const round = async (throttled: boolean) => {
      const tickets = await Promise.all(Array.from({ length: limit.current }, () => limit.acquire()));
      for (const ticket of tickets) limit.release(ticket, throttled);
    };
    await round(false);
    expect(limit.current).toBe(8);
    await round(false);
    expect(limit.current).toBe(16);
    // One round of throttles halves the window once, not once per throttled request.
    await round(true);
    expect(limit.current).toBe(8);
    expect(limit.stats.decreases).toBe(1);
    await round(false);
    expect(limit.current).toBe(8); // 8 + 8 x 1/8: one more only after a full window of successes
    await round(false);
    expect(limit.current).toBe(9);
  });

  it('starts no request beyond its window, and never leaves its bounds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }), async (answers) => {
        const limit = new AdaptiveLimit(options);
        let running = 0;
        // A shrinking window leaves the requests already running; only starts are held to it, so the
        // requests running never exceed the largest window so far.
        let violations = 0;
        await Promise.all(
          answers.map((throttled) =>
            limit
              .run(async () => {
                running++;
                if (running > Math.floor(limit.stats.peakWindow)) violations++;
                await Promise.resolve();
                running--;
                if (throttled) throw s3Error('SlowDown', 'slow down');
                return { $metadata: { attempts: 1 } };
              })
              .catch(() => undefined),
          ),
        );
        expect(violations).toBe(0);
        expect(limit.current).toBeGreaterThanOrEqual(options.min);
        expect(limit.current).toBeLessThanOrEqual(options.max);
        expect(limit.stats.throttled).toBe(answers.filter(Boolean).length);
      }),
    );
  });

  it('runs one request at a time at a window of one', async () => {
    const limit = new AdaptiveLimit({ initial: 1, min: 1, max: 1, decrease: 0.5 });
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limit.run(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setImmediate(resolve));
          running--;
          return {};
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('tells throttling answers from other errors', () => {
    expect(isThrottling(s3Error('SlowDown', 'x'))).toBe(true);
    expect(isThrottling(s3Error('ServiceUnavailable', 'x'))).toBe(true);
    expect(isThrottling(s3Error('InternalError', 'x'))).toBe(false);
    expect(isThrottling(s3Error('NoSuchKey', 'x'))).toBe(false);
  });

  it('refuses options that cannot work', () => {
    expect(() => new AdaptiveLimit({ ...options, decrease: 1 })).toThrow(/0 < decrease < 1/);
    expect(() => new AdaptiveLimit({ ...options, min: 0 })).toThrow(RangeError);
  });
});

describe('applyAdaptiveLimit on an S3 client', () => {
  it('takes a slot per HTTP attempt, inside the SDK retries, on a client of a real endpoint', async () => {
    // Prepare: a server that answers every request 503 SlowDown; the project's client (3 attempts).
    let requests = 0;
    const server = createServer((request, response) => {
      requests++;
      request.resume();
      response.writeHead(503, { 'content-type': 'application/xml' });
      response.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s3 = createS3Client({ endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const limit = applyAdaptiveLimit(s3, options);
    try {
      // Act
      const error = await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })).catch((e: unknown) => e);

      // Assess: every attempt was seen (and counted once) by the limit.
      expect(isThrottling(error)).toBe(true);
      expect(requests).toBe(3);
      expect(limit.stats.throttled).toBe(3);
    } finally {
      s3.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('takes a slot per attempt on a model client, inside its SDK retry emulation', async () => {
    const clock = new VirtualClock();
    const model = new S3Model({
      clock,
      faults: {
        HeadObject: () => {
          throw s3Error('SlowDown', 'Please reduce your request rate.');
        },
      },
    });
    model.createBucket('b');
    const s3 = model.client({ sdkRetries: { maxAttempts: 3 } });
    const limit = applyAdaptiveLimit(s3, options);
    const error = await clock.run(() =>
      s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })).catch((e: unknown) => e),
    );
    expect(isThrottling(error)).toBe(true);
    expect(model.stats.requests.HeadObject).toBe(3);
    expect(limit.stats.throttled).toBe(3);
  });

  it('holds a burst of requests back to what a throttling partition takes', async () => {
    // Prepare: reads limited to 100 a second (10 at once), each taking 10 ms; 300 HEADs started at once,
    // each retried 50 ms after a SlowDown until it succeeds.
    const burst = async (limited: boolean) => {
      const clock = new VirtualClock();
      const model = new S3Model({
        clock,
        latency: () => 10,
        rateLimits: { writePerSecond: 100, readPerSecond: 100, burstSeconds: 0.1, partitionOf: () => '' },
      });
      model.createBucket('b');
      model.seed('b', [{ key: 'k', size: 1 }]);
      const s3 = model.client();
      const limit = limited ? applyAdaptiveLimit(s3, { initial: 64, min: 1, max: 256, decrease: 0.5 }) : undefined;
      await clock.run(() =>
        Promise.all(
          Array.from({ length: 300 }, async () => {
            for (;;) {
              try {
                return await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }));
              } catch (error) {
                if (!isThrottling(error)) throw error;
                await clock.sleep(50);
              }
            }
          }),
        ),
      );
      if (limit) expect(applyAdaptiveLimit(s3)).toBe(limit);
      return { slowDowns: model.stats.slowDowns, limit };
    };

    // Act
    const unlimited = await burst(false);
    const limited = await burst(true);

    // Assess: the window came down to the partition's one or two requests per round trip, and the
    // server refused a small fraction of what it refused without the limit.
    expect(limited.limit?.stats.decreases).toBeGreaterThan(3);
    expect(limited.limit?.current).toBeLessThan(16);
    expect(limited.slowDowns * 10).toBeLessThan(unlimited.slowDowns);
  });
});
