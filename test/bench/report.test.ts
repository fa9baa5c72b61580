import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSavedReport, renderMarkdown, type PipelineRun, type SizeResult } from '../../bench/report.ts';
import { repoRoot } from '../support/pipeline.ts';

describe('renderMarkdown', () => {
  it("shows each process's spill under the memory limit, as the median of the runs", async () => {
    // A saved run supplies the fields the tables need; only the spill figures are set here. (The other
    // test reads an older run, saved before the SQL models and the CLV fit ran side by side.)
    const saved = await readSavedReport(join(repoRoot, 'bench', 'results', '2026-11-23.json'));
    const template = saved.results.find((r) => r.memoryLimited?.summary)!;
    const spills: [number, number][] = [
      [3e9, 5e8],
      [1e9, 7e8],
      [2e9, 6e8],
    ];
    const runs: PipelineRun[] = spills.map(([ingest, transform]) => {
      const run = template.memoryLimited!.runs[0]!;
      return { ingest: { ...run.ingest, peakSpillBytes: ingest }, transform: { ...run.transform, peakSpillBytes: transform } };
    });
    const result: SizeResult = { ...template, memoryLimited: { ...template.memoryLimited!, runs } };
    const markdown = renderMarkdown({ ...saved, results: [result] });

    const section = markdown.slice(markdown.indexOf('## Memory limit'));
    const [header, , row] = section.split('\n').filter((line) => line.startsWith('|'));
    const cells = (line: string) => line.split('|').map((cell) => cell.trim());
    const column = (name: string) => cells(row!)[cells(header!).indexOf(name)];
    expect(column('peak spill ingest')).toBe('2.00 GB');
    expect(column('peak spill transform')).toBe('600 MB');
  });

  it('adds the ingest sizing table when the report has one, a row per file size', async () => {
    const saved = await readSavedReport(join(repoRoot, 'bench', 'results', '2026-11-22.json'));
    const markdown = renderMarkdown({
      ...saved,
      ingestSizing: [
        {
          transactions: 10e6,
          basis: 'measured',
          memoryMb: 1536,
          duckdbMemoryLimit: '1.1GB',
          ephemeralStorageMb: 1024,
          seconds: 14.7,
          fitsDefaultFunction: true,
          defaultFunctionSeconds: 7.3,
        },
        { transactions: 50e6, basis: 'measured', memoryMb: 1536, ephemeralStorageMb: 9728, seconds: 84, fitsDefaultFunction: false },
      ],
    });
    const section = markdown.slice(markdown.indexOf('## Lambda sizing for the ingest function'));
    const [header, , held, notHeld] = section.split('\n').filter((line) => line.startsWith('|'));
    expect(header).toBe(
      '| transactions in the file | basis | memory MB | DuckDB memory limit | ephemeral storage MB | ingest s | default function holds it | default function: ingest s | note |',
    );
    expect(held).toBe('| 10,000,000 | measured | 1,536 | 1.1GB | 1,024 | 15 | yes | 7 |  |');
    expect(notHeld).toBe('| 50,000,000 | measured | 1,536 | default (70 %) | 9,728 | 84 | no | — |  |');
    expect(section).toContain('the ingest Lambda as deployed (3,008 MB, /tmp 4,096 MB, 900 s, 70 % to DuckDB)');
    expect(section).toContain('unless `lambda.ingest.duckdbMemoryLimit` is set');
    expect(renderMarkdown({ ...saved, ingestSizing: [] })).not.toContain('## Lambda sizing for the ingest function');
  });

  it("states the samples' months and transactions per customer, in the text and the transform sizing heading", async () => {
    const saved = await readSavedReport(join(repoRoot, 'bench', 'results', '2026-11-23.json'));
    const [small, large] = saved.results;
    // (10,000 + 36,000) transactions of (4,000 + 10,000) customers: 3.29 per customer.
    const results = [
      { ...small!, rows: 10_000, customers: 4_000 },
      { ...large!, rows: 36_000, customers: 10_000 },
    ];
    const markdown = renderMarkdown({ ...saved, seed: 7, months: 3, results });
    expect(markdown).toContain('Data: `lifecycle-lake generate`, seed 7, 3 months, ~3.3 transactions per customer.');
    expect(markdown).toContain('## Lambda sizing for the transform function (derived, ~3.3 transactions per customer)');
    // This run was saved before --months existed: the generator's 24.
    expect(saved.months).toBeUndefined();
    expect(renderMarkdown(saved)).toMatch(/seed 1, 24 months, ~10\.\d transactions per customer/);
  });
});
