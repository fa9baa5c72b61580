import type { ScalingPoint } from '../../bench/sizing.ts';

/**
 * A 10M-transaction run of 1M customers that spilled 1 GB under a 1 GB DuckDB limit: the transform
 * derives 1,792 MB, 2,560 MB of /tmp and a 1.0GB DuckDB limit for it (worked by hand in sizing.test.ts).
 */
export const spilledAt10M: ScalingPoint = {
  rows: 10e6,
  customers: 1e6,
  storedBytes: 0.5e9,
  incrementalSeconds: 5,
  unlimitedSeconds: 12,
  limited: { memoryLimitBytes: 1e9, seconds: 20, maxRssBytes: 1.5e9, peakSpillBytes: 1e9 },
};

/** The same size with 3M customers (3.3 per customer): more memory outside DuckDB and for it, more /tmp, slower. */
export const customerHeavyAt10M: ScalingPoint = {
  rows: 10e6,
  customers: 3e6,
  storedBytes: 0.9e9,
  incrementalSeconds: 15,
  unlimitedSeconds: 24,
  limited: { memoryLimitBytes: 1e9, seconds: 40, maxRssBytes: 2.1e9, peakSpillBytes: 3e9 },
};
