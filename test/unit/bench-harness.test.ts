import { runSection } from '../../bench/all';
import { markdownTable, median, renderBarChartSvg } from '../../bench/harness';

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
