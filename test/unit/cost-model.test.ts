import fc from 'fast-check';
import { formatUsd, priceUsage, s3RequestTypeOfCommand } from '../../cli/cost/model';
import { buildScenario, buildScenarios, DEFAULT_ASSUMPTIONS, DESIGNS } from '../../cli/cost/scenarios';

// Prices used below (cli/cost/prices.ts, us-east-1): PUT/COPY/POST/LIST $0.005 per 1,000 = $0.000005 each;
// GET/HEAD $0.0004 per 1,000 = $0.0000004 each; Standard transition $0.000025; Lambda $0.0000002 a request,
// arm64 $0.0000133334 and x86 $0.0000166667 per GB-s; Express $0.000001 a request + $0.00001667 per GB-s;
// SNS publish $0.0000005; STS free; Batch Operations $0.25 a job + $0.000001 an object.
const GiB = 2 ** 30;
const MiB = 2 ** 20;

describe('priceUsage', () => {
  it('prices S3 requests at the PUT tier for LIST/COPY and at the GET tier for HEAD', () => {
    // Arrange: 1000 COPY, 2 LIST, 1000 HEAD.
    // COPY 1000 x 0.000005 = 0.005; LIST 2 x 0.000005 = 0.00001; HEAD 1000 x 0.0000004 = 0.0004.
    // Act
    const cost = priceUsage({ objects: 1000, s3Requests: { COPY: 1000, LIST: 2, HEAD: 1000 } });
    // Assert
    expect(cost.s3Requests.byType.COPY).toBeCloseTo(0.005, 12);
    expect(cost.s3Requests.byType.LIST).toBeCloseTo(0.00001, 12);
    expect(cost.s3Requests.byType.HEAD).toBeCloseTo(0.0004, 12);
    expect(cost.s3Requests.total).toBeCloseTo(0.00541, 12);
    expect(cost.orchestration.total).toBe(0);
  });

  it('bills multipart copy requests at the PUT tier and AbortMultipartUpload as free', () => {
    // 16 UploadPartCopy + 1 Create + 1 Complete = 18 x 0.000005 = 0.00009; 1 GetObjectTagging = 0.0000004.
    const cost = priceUsage({
      objects: 1,
      s3Requests: {
        UploadPartCopy: 16,
        CreateMultipartUpload: 1,
        CompleteMultipartUpload: 1,
        GetObjectTagging: 1,
        AbortMultipartUpload: 5,
      },
    });
    expect(cost.s3Requests.total).toBeCloseTo(0.0000904, 12);
    expect(cost.s3Requests.byType.AbortMultipartUpload).toBe(0);
  });

  it('sums Standard state transitions over every state', () => {
    // 1000 + 3000 = 4000 transitions x 0.000025 = $0.10.
    const cost = priceUsage({ objects: 1, stateTransitions: { Copy: 1000, MapChildStart: 3000 } });
    expect(cost.orchestration.stepFunctionsStandard).toBeCloseTo(0.1, 12);
  });

  it('prices Lambda by requests and GB-seconds of configured memory, per architecture', () => {
    // 10 invocations, 20,000 ms at 1024 MB = 20 GB-s. arm64: 20 x 0.0000133334 = 0.000266668.
    // x86: 20 GB-s x 0.0000166667 = 0.000333334. Requests: 20 x 0.0000002 = 0.000004.
    const cost = priceUsage({
      objects: 1,
      lambda: [
        { name: 'copy', invocations: 10, totalDurationMs: 20_000, memoryMb: 1024 },
        { name: 'legacy', invocations: 10, totalDurationMs: 20_000, memoryMb: 1024, architecture: 'x86_64' },
      ],
    });
    expect(cost.orchestration.lambdaDuration).toBeCloseTo(0.000266668 + 0.000333334, 12);
    expect(cost.orchestration.lambdaRequests).toBeCloseTo(0.000004, 12);
  });

  it('rounds Express durations up to 100 ms and memory up to 64 MB chunks', () => {
    // 1000 executions of 250 ms (billed 300 ms) using 50 MB (billed 64 MB):
    // 0.3 s x 64/1024 GB = 0.01875 GB-s each, 18.75 GB-s in all x 0.00001667 = 0.0003125625;
    // requests 1000 x 0.000001 = 0.001. Total 0.0013125625.
    const cost = priceUsage({
      objects: 1,
      expressExecutions: { executions: 1000, averageDurationMs: 250, memoryMb: 50 },
    });
    expect(cost.orchestration.stepFunctionsExpress).toBeCloseTo(0.0013125625, 12);
  });

  it('charges S3 Batch Operations per job and per object, and nothing for STS', () => {
    // 1 job x 0.25 + 1,000,000 objects x 0.000001 = 1.25; STS 100 calls x 0 = 0; SNS 2 x 0.0000005 = 0.000001.
    const cost = priceUsage({
      objects: 1_000_000,
      batchOperations: { jobs: 1, objects: 1_000_000 },
      stsCalls: 100,
      snsPublishes: 2,
    });
    expect(cost.orchestration.batchOperations).toBeCloseTo(1.25, 12);
    expect(cost.orchestration.sts).toBe(0);
    expect(cost.orchestration.sns).toBeCloseTo(0.000001, 12);
    expect(cost.orchestration.total).toBeCloseTo(1.250001, 12);
  });

  it('scales the cost to one million objects', () => {
    // 2000 COPY = 0.01 for 2000 objects -> 0.01 / 2000 x 1,000,000 = 5.00 per million.
    const cost = priceUsage({ objects: 2000, s3Requests: { COPY: 2000 } });
    expect(cost.perMillionObjects.s3Requests).toBeCloseTo(5, 9);
    expect(cost.perMillionObjects.total).toBeCloseTo(5, 9);
  });

  it('rejects a negative count, naming it', () => {
    expect(() => priceUsage({ objects: 1, s3Requests: { COPY: -1 } })).toThrow(/s3Requests\.COPY/);
  });
});

describe('s3RequestTypeOfCommand', () => {
  it('maps SDK command names to the request types S3 bills', () => {
    expect(s3RequestTypeOfCommand('CopyObjectCommand')).toBe('COPY');
    expect(s3RequestTypeOfCommand('ListObjectsV2Command')).toBe('LIST');
    expect(s3RequestTypeOfCommand('UploadPartCopy')).toBe('UploadPartCopy');
    expect(s3RequestTypeOfCommand('CreateBucketCommand')).toBeUndefined();
  });
});

describe('formatUsd', () => {
  it('shows cents from a dollar up and three significant digits below', () => {
    expect([formatUsd(5.005154), formatUsd(0.05136), formatUsd(0)]).toEqual(['$5.01', '$0.0514', '$0']);
  });
});

describe('buildScenario', () => {
  const million = { objects: 1_000_000, averageSizeBytes: 1024, mode: 'copy' as const };

  it('counts s3xcopy requests and transitions for a million small objects', () => {
    // Arrange: 1,000,000 objects of 1 KiB, defaults (1250 per batch, 100,000 per slice, 40 children at once).
    // -> 80 batches a slice, 2 whole rounds of 40, 800 batches, 10 slices, 1000 LIST pages and the
    // partitioned listing's 220 (0.2 a page, 2 a slice), 1,000,000 COPY; state bucket: 10 Map Runs x (PUT manifest
    // + 2 ResultWriter PUTs) + notify's 2 reports + 800 batch records = 832 PUT, 10 x (ItemReader GET + notify's
    // 2 GETs) = 30 GET, notify's 1 LIST.
    // Act
    const scenario = buildScenario('s3xcopy-standard', million);
    // Assert
    expect(scenario.counts.s3Requests).toEqual({ LIST: 1221, COPY: 1_000_000, PUT: 832, GET: 30 });
    // S3: (1221 + 1,000,000 + 832) x 0.000005 + 30 x 0.0000004 = 5.010265 + 0.000012 = 5.010277.
    expect(scenario.cost.s3Requests.total).toBeCloseTo(5.010277, 9);
    // Parent: Init 1 + 10 slices x (List, AnythingToCopy, MoreSlices) + 10 x (PrepareCopy, CopyBatches)
    // + NotifySuccess, Done = 1 + 30 + 20 + 2 = 53; children 800 x (start + Copy) = 1600.
    // 1653 x 0.000025 = 0.041325.
    expect(scenario.cost.orchestration.stepFunctionsStandard).toBeCloseTo(0.041325, 12);
    expect(scenario.counts.lambda?.find((usage) => usage.name === 'copy')?.invocations).toBe(800);
  });

  it('counts the fewest batches when a slice needs no more than one round of the Map', () => {
    // 100,000 objects in batches of 2,500: 40 batches, one round of 40 children.
    const scenario = buildScenario('s3xcopy-standard', { ...million, objects: 100_000, maxObjectsPerBatch: 2500 });
    expect(scenario.counts.lambda?.find((usage) => usage.name === 'copy')?.invocations).toBe(40);
  });

  it('charges one child start and one Copy transition per object without batching', () => {
    // 53 parent + 1,000,000 x 2 = 2,000,053 transitions x 0.000025 = 50.001325.
    const scenario = buildScenario('per-object-executions', million);
    expect(scenario.cost.orchestration.stepFunctionsStandard).toBeCloseTo(50.001325, 9);
    expect(scenario.counts.lambda?.find((usage) => usage.name === 'copy')?.invocations).toBe(1_000_000);
  });

  it('moves the children out of Standard transitions with Express children', () => {
    // 53 parent + 800 child starts = 853 x 0.000025 = 0.021325; 800 Express requests = 0.0008 + duration.
    const scenario = buildScenario('s3xcopy-express', million);
    expect(scenario.cost.orchestration.stepFunctionsStandard).toBeCloseTo(0.021325, 12);
    expect(scenario.counts.expressExecutions?.executions).toBe(800);
    expect(scenario.cost.orchestration.stepFunctionsExpress).toBeGreaterThan(0.001);
  });

  it('prices S3 Batch Operations at $0.25 a job plus $1.00 a million objects over the same COPY requests', () => {
    // Orchestration 0.25 + 1,000,000 x 0.000001 = 1.25; requests: 1000 LIST + 1,000,000 COPY + 2 PUT + 1 GET.
    const scenario = buildScenario('s3-batch-operations', million);
    expect(scenario.cost.orchestration.total).toBeCloseTo(1.25, 12);
    expect(scenario.counts.s3Requests).toEqual({ LIST: 1000, COPY: 1_000_000, PUT: 2, GET: 1 });
  });

  it('copies a 1 GiB object in 16 parts of 64 MiB with HEADs, tagging, create and complete', () => {
    // 1 GiB / 64 MiB = 16 UploadPartCopy; plus HEAD source and one HEAD per part (its layout, replayed),
    // GetObjectTagging, Create, Complete (the check after the copy is left out here:
    // test/unit/verify-cost.test.ts counts it).
    const scenario = buildScenario('s3xcopy-standard', {
      objects: 1,
      averageSizeBytes: GiB,
      mode: 'copy',
      verify: 'none',
    });
    expect(scenario.counts.s3Requests).toMatchObject({
      HEAD: 17,
      GetObjectTagging: 1,
      CreateMultipartUpload: 1,
      UploadPartCopy: 16,
      CompleteMultipartUpload: 1,
    });
    expect(scenario.counts.s3Requests?.COPY).toBeUndefined();
  });

  it('batches large objects by bytes: 32 GiB a batch holds 32 objects of 1 GiB', () => {
    // 100 objects / 32 per batch = 4 batches (32 + 32 + 32 + 4).
    const scenario = buildScenario('s3xcopy-standard', { objects: 100, averageSizeBytes: GiB, mode: 'copy' });
    expect(scenario.counts.stateTransitions?.MapChildStart).toBe(4);
  });

  it('lists both sides and HEADs the target of each changed object in sync mode', () => {
    // 10,000 objects, 10% changed: 1000 copied. LIST 10 source + 10 target pages + the partitioned
    // listing's 4 (0.2 a source page, 2 a slice) + notify's 1; HEAD 1000
    // targets; COPY 1000; one Map Run: 3 PUT + 3 GET on the state bucket, and notify's 2 report PUTs.
    const scenario = buildScenario('s3xcopy-standard', {
      objects: 10_000,
      averageSizeBytes: MiB,
      mode: 'sync',
      changedFraction: 0.1,
    });
    expect(scenario.counts.s3Requests).toEqual({ LIST: 25, HEAD: 1000, COPY: 1000, PUT: 6, GET: 3 });
  });

  it('counts a sync with nothing changed as the two listings and the reports, as a local run measures', () => {
    // 2,000 unchanged objects: 2 source + 2 target pages, and the partitioned listing's 2 (the first page
    // is full, so the rest of the bucket is looked at: a delimited page and the range it leaves); no Map
    // Run, so no results for notify to list; notify's 2 report PUTs (the List step on the S3 model asks the
    // same 6 LISTs for keys data/000000.bin..data/001999.bin listed from the bucket's root, and
    // test/statemachine/local-run.test.ts measures the state bucket's).
    const scenario = buildScenario('s3xcopy-standard', {
      objects: 2_000,
      averageSizeBytes: 300,
      mode: 'sync',
      changedFraction: 0,
    });
    expect(scenario.counts.s3Requests).toEqual({ LIST: 6, PUT: 2 });
  });

  it('marks designs limited to CopyObject as unable to copy objects over 5 GB', () => {
    const scenarios = buildScenarios({ objects: 10, averageSizeBytes: 6 * GiB, mode: 'copy' });
    const feasible = Object.fromEntries(scenarios.map((scenario) => [scenario.design, scenario.feasible]));
    expect(feasible).toEqual({
      's3xcopy-standard': true,
      's3xcopy-express': true,
      'per-object-executions': true,
      'sequential-lambda': false,
      's3-batch-operations': false,
    });
  });

  it('marks Express children unable to run a batch longer than 5 minutes', () => {
    // At 100 kB/s a 1 MB CopyObject takes 60 ms + 10 s; 1000 objects at concurrency 32 take about 314 s.
    const slow = { ...DEFAULT_ASSUMPTIONS, copyBytesPerSecond: 1e5 };
    const scenario = buildScenario('s3xcopy-express', { objects: 1000, averageSizeBytes: 1e6, mode: 'copy' }, slow);
    expect(scenario.feasible).toBe(false);
    expect(scenario.notes.join(' ')).toMatch(/5 minutes/);
  });

  it('runs the sequential Lambda in 15-minute invocations', () => {
    // 1,000,000 x (60 ms + 1024 B at 100 MB/s = 0.01024 ms) + 1000 pages x 150 ms = 60,160,240 ms;
    // / (900,000 - 100) ms per invocation = 66.85 -> 67 invocations.
    const scenario = buildScenario('sequential-lambda', million);
    expect(scenario.counts.lambda?.[0]?.invocations).toBe(67);
    expect(scenario.counts.stateTransitions).toBeUndefined();
  });

  it('rejects a job of zero objects, naming the field', () => {
    expect(() => buildScenario('s3xcopy-standard', { objects: 0, averageSizeBytes: 1, mode: 'copy' })).toThrow(
      /objects/,
    );
  });

  it('prices every design in the documented order', () => {
    expect(buildScenarios(million).map((scenario) => scenario.design)).toEqual([...DESIGNS]);
  });
});

describe('buildScenarios (properties)', () => {
  const plannedJobs = fc.record({
    objects: fc.integer({ min: 1, max: 5_000_000 }),
    averageSizeBytes: fc.integer({ min: 0, max: 6 * GiB }),
    mode: fc.constantFrom('copy' as const, 'sync' as const),
    changedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    maxObjectsPerBatch: fc.integer({ min: 1, max: 10_000 }),
  });

  it('splits every total exactly into S3 requests and orchestration, all finite and >= 0', () => {
    fc.assert(
      fc.property(plannedJobs, (job) => {
        for (const scenario of buildScenarios(job)) {
          const { s3Requests, orchestration, total } = scenario.cost;
          expect(Number.isFinite(total) && total >= 0).toBe(true);
          expect(total).toBeCloseTo(s3Requests.total + orchestration.total, 9);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('sends at least one copy request for every object it copies, in every design', () => {
    fc.assert(
      fc.property(plannedJobs, (job) => {
        const toCopy = job.mode === 'sync' ? Math.round(job.objects * job.changedFraction) : job.objects;
        for (const scenario of buildScenarios(job)) {
          const requests = scenario.counts.s3Requests ?? {};
          const copies = (requests.COPY ?? 0) + (requests.CompleteMultipartUpload ?? 0);
          expect(copies).toBe(toCopy);
        }
      }),
      { numRuns: 200 },
    );
  });
});
