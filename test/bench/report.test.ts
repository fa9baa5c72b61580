import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMarkdown, type BenchReport, type PipelineRun, type SizeResult } from '../../bench/report.ts';
import { repoRoot } from '../support/pipeline.ts';

describe('renderMarkdown', () => {
  it("shows each process's spill under the memory limit, as the median of the runs", async () => {
    // A saved run supplies the fields the tables need; only the spill figures are set here.
    const saved = JSON.parse(await readFile(join(repoRoot, 'bench', 'results', '2026-11-23.json'), 'utf8')) as BenchReport;
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
});
