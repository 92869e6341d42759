import { renderGoals, runSection, summarizeLoad } from '../../bench/all';
import { markdownTable, median, renderBarChartSvg } from '../../bench/harness';
import { childrenCpuSeconds } from '../../bench/peers.bench';

describe('median', () => {
  it('returns the middle value of an odd count and the mean of the two middle values of an even count', () => {
    expect([median([5, 1, 3]), median([4, 1, 3, 2])]).toEqual([3, 2.5]);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow(/no values/);
  });
});

describe('markdownTable', () => {
  it('right-aligns numeric columns and escapes pipes in cells', () => {
    const table = markdownTable([
      { method: 'a|b', 'objects/s': 12 },
      { method: 'c', 'objects/s': 3.5 },
    ]);
    expect(table.split('\n')).toEqual([
      '| method | objects/s |',
      '| --- | ---: |',
      '| a\\|b | 12 |',
      '| c | 3.5 |',
      '',
    ]);
  });
});

describe('renderBarChartSvg', () => {
  it('draws one bar per value, scaled to the largest in its panel, and escapes labels', () => {
    const svg = renderBarChartSvg('t', [
      {
        title: 'rates',
        unit: 'objects/s',
        bars: [
          { label: 'a & b', value: 50 },
          { label: 'c', value: 100 },
        ],
      },
    ]);
    const widths = [...svg.matchAll(/<rect x="300" y="\d+" width="([\d.]+)"/g)].map((match) => Number(match[1]));
    expect(widths).toEqual([235, 470]);
    expect(svg).toContain('a &amp; b');
  });
});

describe('runSection', () => {
  const entry = { id: 'x', module: './x.bench', title: 'X section' };

  it('records a section that throws as failed, with its error, instead of stopping the run', async () => {
    const outcome = await runSection(entry, {}, async () => ({
      run: async () => {
        throw new Error('server would not start');
      },
    }));
    expect(outcome.failed).toBe(true);
    expect(outcome.section.title).toBe('X section');
    expect(outcome.section.notes).toEqual(['Failed: Error: server would not start']);
  });

  it('records a missing section file as not run', async () => {
    const outcome = await runSection(entry, {}, async () => {
      throw Object.assign(new Error("Cannot find module './x.bench'"), { code: 'MODULE_NOT_FOUND' });
    });
    expect(outcome.failed).toBe(true);
    expect(outcome.section.notes[0]).toMatch(/^Not run: bench\/x\.bench\.ts is missing/);
  });

  it('passes the options to the section and returns its table when it succeeds', async () => {
    const outcome = await runSection(entry, { quick: true }, async () => ({
      run: async (options) => ({ title: 'X', rows: [{ quick: String(options?.quick) }], notes: [] }),
    }));
    expect(outcome).toMatchObject({ failed: false, section: { rows: [{ quick: 'true' }] } });
  });
});

describe('renderGoals', () => {
  const outcome = (title: string, goals: Parameters<typeof renderGoals>[0][number]['section']['goals']) => ({
    id: title,
    seconds: 1,
    failed: false,
    section: { title, rows: [], notes: [], goals },
  });

  it("gathers every section's goals into one table and explains only the missed ones", () => {
    const lines = renderGoals([
      outcome('Peers', [
        { goal: '3. No-op sync', target: '>= 1x', before: '0.35x', measured: '1.1x', met: true, holdsBack: 'unused' },
        { goal: '3. Copy vs aws', target: '>= 1.5x', before: '0.66x', measured: '0.8x', met: false, holdsBack: 'moto' },
      ]),
      outcome('Startup', undefined),
      outcome('Growth', [{ goal: '3. RSS', target: '<= 1.2x', before: 'n/a', measured: '0.9x', met: false }]),
    ]);
    const text = lines.join('\n');
    expect(text).toContain('| 3. No-op sync | >= 1x | 0.35x | 1.1x | met | Peers |');
    expect(text).toContain('| 3. Copy vs aws | >= 1.5x | 0.66x | 0.8x | not met | Peers |');
    expect(text).toContain('- **3. Copy vs aws** (0.8x): moto');
    expect(text).toContain('- **3. RSS** (0.9x): not explained by its section.');
    expect(text).not.toContain('unused');
  });

  it('writes nothing when no section measured a goal', () => {
    expect(renderGoals([outcome('Startup', undefined)])).toEqual([]);
  });
});

describe('summarizeLoad', () => {
  it('gives the range and mean of the samples, and refuses none', () => {
    expect(summarizeLoad([2, 8, 5])).toEqual({ min: 2, max: 8, mean: 5 });
    expect(() => summarizeLoad([])).toThrow(/no samples/);
  });
});

describe('childrenCpuSeconds (peers bench)', () => {
  it("adds the children's user and system time from bash's times output", () => {
    expect(childrenCpuSeconds('some warning\n0m0.010s 0m0.002s\n1m8.100s 0m0.400s\n')).toBeCloseTo(68.5, 6);
  });

  it('refuses output without the times lines instead of counting zero', () => {
    expect(() => childrenCpuSeconds('upload failed')).toThrow(/cannot read CPU times/);
  });
});
