import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/s3xcopy.js ...args` with node_modules/.bin first on PATH, so Node 24 runs it as npm would.
 * JEST_WORKER_ID is dropped: the child is a plain CLI process, and cli/runner/esm-interop.ts skips its
 * resolve hook when it sees that variable.
 */
function runCli(args: string[]): Promise<CliResult> {
  const { JEST_WORKER_ID: _jestWorker, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      'node',
      ['bin/s3xcopy.js', ...args],
      {
        cwd: root,
        env: { ...env, PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${env.PATH ?? ''}` },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('s3xcopy estimate', () => {
  it('prints one line per design with costs when the job is valid', async () => {
    // Act
    const result = await runCli(['estimate', '--objects', '1000000', '--avg-size', '256KiB']);
    // Assert
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const title of [
      's3xcopy (Standard parent, Standard children)',
      'S3 Batch Operations',
      'original sequential Lambda',
    ]) {
      expect(result.stdout).toContain(title);
    }
    // 1,000,000 COPY requests alone are $5.00: every design's S3 column starts at $5.
    expect(result.stdout).toMatch(/S3 Batch Operations\s+\$5\.01\s+\$1\.25\s+\$6\.26/);
  });

  it('prints one JSON object with every design priced per million objects when --json is given', async () => {
    // Act
    const result = await runCli(['estimate', '--objects', '2000', '--avg-size', '8MiB', '--mode', 'sync', '--json']);
    // Assert
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as {
      job: { objects: number; averageSizeBytes: number; mode: string };
      prices: { region: string; asOf: string };
      designs: Array<{
        design: string;
        feasible: boolean;
        cost: { s3Requests: number; orchestration: number; total: number };
        perMillionObjects: { total: number };
      }>;
    };
    expect(output.job).toEqual({ objects: 2000, averageSizeBytes: 8 * 2 ** 20, mode: 'sync' });
    expect(output.prices.region).toBe('us-east-1');
    expect(output.designs.map((design) => design.design)).toEqual([
      's3xcopy-standard',
      's3xcopy-express',
      'per-object-executions',
      'sequential-lambda',
      's3-batch-operations',
    ]);
    const batchOperations = output.designs.find((design) => design.design === 's3-batch-operations');
    // $0.25 a job + 2000 x $0.000001 = $0.252 of orchestration.
    expect(batchOperations?.cost.orchestration).toBeCloseTo(0.252, 9);
    for (const design of output.designs) {
      expect(design.cost.total).toBeCloseTo(design.cost.s3Requests + design.cost.orchestration, 12);
      expect(design.perMillionObjects.total).toBeCloseTo((design.cost.total / 2000) * 1e6, 6);
    }
  });

  it('prices the partitioned listing beyond a page per 1,000 keys, and one chain with --list-concurrency 1', async () => {
    // Act: a no-op sync of a million objects
    const noop = ['estimate', '--objects', '1000000', '--avg-size', '1MiB', '--mode', 'sync', '--changed', '0%'];
    const [partitioned, chain] = await Promise.all([
      runCli([...noop, '--json']),
      runCli([...noop, '--list-concurrency', '1', '--json']),
    ]);
    // Assert: 1,000 pages a side; the default adds 0.2 a source page and 2 a slice (10 slices)
    const lists = (result: CliResult) =>
      (
        JSON.parse(result.stdout) as { designs: Array<{ design: string; counts: { s3Requests: { LIST: number } } }> }
      ).designs.find((design) => design.design === 's3xcopy-standard')?.counts.s3Requests.LIST;
    expect([partitioned.code, chain.code]).toEqual([0, 0]);
    expect(lists(partitioned)).toBe(2000 + 200 + 20);
    expect(lists(chain)).toBe(2000);
  });

  it('exits 2 naming --list-concurrency when it is not a whole number from 1 to 256', async () => {
    // Act
    const result = await runCli(['estimate', '--objects', '10', '--avg-size', '1KiB', '--list-concurrency', '300']);
    // Assert
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--list-concurrency: 300 is above the maximum of 256/);
  });

  it('prices one HEAD of the source key per mirror delete, the proof each delete acts on', async () => {
    // Act: a million deletes are a million HEADs at $0.0004 per 1,000 (DeleteObject itself is free)
    const result = await runCli(['estimate', '--objects', '1000', '--avg-size', '1MiB', '--deletes', '1000000']);
    // Assert
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'Deletes:  1000000 target objects (--delete): $0.4 (one HEAD of the source key per delete, the proof it acts on: $0.4;',
    );
  });

  it('exits 2 naming --objects when the job has zero objects', async () => {
    const result = await runCli(['estimate', '--objects', '0', '--avg-size', '1MiB']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--objects: "0" is not a whole number >= 1/);
    expect(result.stdout).toBe('');
  });

  it('exits 2 naming --objects when the count is negative', async () => {
    const result = await runCli(['estimate', '--objects=-5', '--avg-size', '1MiB']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--objects: "-5"/);
  });

  it('exits 2 naming --avg-size and the accepted units when the size is not a size', async () => {
    const result = await runCli(['estimate', '--objects', '10', '--avg-size', '12parsecs']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--avg-size: "12parsecs" is not a size.*MiB/);
  });

  it('exits 2 when --avg-size is missing', async () => {
    const result = await runCli(['estimate', '--objects', '10']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--avg-size/);
  });

  it('exits 2 when --changed is given without --mode sync', async () => {
    const result = await runCli(['estimate', '--objects', '10', '--avg-size', '1KiB', '--changed', '10%']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--changed applies to --mode sync only/);
  });
});
