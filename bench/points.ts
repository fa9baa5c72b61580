/** The measured points a bench run's Lambda sizing is derived from (bench/sizing.ts), one per measured size. */
import { FUNCTION_DEFAULTS } from '../infra/config.ts';
import { median, type BenchReport, type SizeResult } from './report.ts';
import { deriveSizing, type ScalingPoint } from './sizing.ts';

/** The measured sizes the transform sizing is derived from: those with a full and a memory-limited run. */
export function transformScalingPoints(results: readonly SizeResult[]): ScalingPoint[] {
  return results.flatMap((r) => {
    const limited = r.memoryLimited;
    if (!r.full || !limited?.summary) return [];
    return [
      {
        rows: r.rows,
        customers: r.customers,
        storedBytes: r.full.lakeBytes.curated + r.full.lakeBytes.marts + r.full.lakeBytes.state,
        ...(r.incremental ? { incrementalSeconds: r.incremental.transformSeconds } : {}),
        unlimitedSeconds: r.full.transformSeconds,
        limited: {
          memoryLimitBytes: limited.memoryLimitBytes,
          seconds: limited.summary.transformSeconds,
          maxRssBytes: limited.summary.transformMaxRssBytes,
          // The transform's own spill: the ingest process spills separately and sizes the ingest function.
          peakSpillBytes: median(limited.runs.map((run) => run.transform.peakSpillBytes)),
        },
      },
    ];
  });
}

/** The measured sizes the ingest sizing is derived from: the ingest of each memory-limited run, one file. */
export function ingestScalingPoints(results: readonly SizeResult[]): ScalingPoint[] {
  return results.flatMap((r) => {
    const limited = r.memoryLimited;
    if (!limited?.summary) return [];
    return [
      {
        rows: r.rows,
        customers: r.customers,
        // On Lambda the file is downloaded into the work folder, beside the files the ingest writes there.
        storedBytes: r.fileBytes + median(limited.runs.map((run) => run.ingest.peakWorkDirBytes)),
        ...(r.full ? { unlimitedSeconds: r.full.ingestSeconds } : {}),
        limited: {
          memoryLimitBytes: limited.memoryLimitBytes,
          seconds: limited.summary.ingestSeconds,
          maxRssBytes: limited.summary.ingestMaxRssBytes,
          peakSpillBytes: median(limited.runs.map((run) => run.ingest.peakSpillBytes)),
        },
      },
    ];
  });
}

/** Both functions' sizing, derived from the measured results. */
export function sizingOf(results: readonly SizeResult[]): Pick<BenchReport, 'sizing' | 'ingestSizing'> {
  return {
    sizing: deriveSizing(transformScalingPoints(results), FUNCTION_DEFAULTS.transform),
    ingestSizing: deriveSizing(ingestScalingPoints(results), FUNCTION_DEFAULTS.ingest),
  };
}
