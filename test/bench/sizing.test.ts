import { describe, expect, it } from 'vitest';
import { deriveSizing, deriveSizingByCustomers, scale, type Profile, type ScalingPoint } from '../../bench/sizing.ts';
import { FUNCTION_DEFAULTS } from '../../infra/config.ts';
import { customerHeavyAt10M, spilledAt10M } from '../support/scaling-points.ts';

const TRANSFORM = FUNCTION_DEFAULTS.transform;
const INGEST = FUNCTION_DEFAULTS.ingest;

describe('scale', () => {
  it('runs through zero from a single point, linearly between points and along the last segment beyond', () => {
    expect(scale([{ rows: 10, y: 4 }], 25)).toBe(10);
    const points = [
      { rows: 30, y: 9 },
      { rows: 10, y: 5 },
    ];
    expect(scale(points, 20)).toBe(7);
    expect(scale(points, 50)).toBe(13);
    expect(scale(points, 10)).toBe(5);
  });
});

describe('deriveSizing', () => {
  it('sizes a measured point by hand: DuckDB at its limit plus the memory outside it, /tmp for lake and spill', () => {
    const [row] = deriveSizing([spilledAt10M], TRANSFORM, [10e6]);
    // Outside DuckDB 1.5 − 1 = 0.5 GB; the process needs 1.5 GB within 85 %: 1.7647e9 B = 1,682.9 MiB → 1,792.
    expect(row?.basis).toBe('measured');
    expect(row?.memoryMb).toBe(1792);
    // 70 % of 1,792 MiB is 1,315,333,734 B and 85 % less the 0.5 GB outside DuckDB 1,097,190,963 B, both
    // above the 1 GB the run was measured at, which DuckDB gets at the smallest size.
    expect(row?.duckdbMemoryLimit).toBe('1.0GB');
    // DuckDB wants 1 + 1 = 2 GB: 1 GB spill; 1.5 × (0.5e9 + 1e9) = 2,145.8 MiB → 2,560 in 512 steps.
    expect(row?.ephemeralStorageMb).toBe(2560);
    // 1,792 MB is 1,792 / 1,769 vCPUs: times scale by 2 / 1.0130 = 1.9743.
    expect(row?.seconds).toBeCloseTo((20 * 2 * 1769) / 1792, 9);
    expect(row?.incrementalSeconds).toBeCloseTo((5 * 2 * 1769) / 1792, 9);
    // The default 10,240 MB function: 0.5 + 2 GB of RSS, no spill, 1.5 × 0.5 GB of /tmp.
    expect(row?.fitsDefaultFunction).toBe(true);
    expect(row?.note).toBeUndefined();
    // There DuckDB gets 7.5 GB, more than the 2 GB it wants, so the unlimited run's times hold, on at
    // least 2 vCPUs: unscaled.
    expect(row?.defaultFunctionSeconds).toBe(12);
    expect(row?.defaultFunctionIncrementalSeconds).toBe(5);
  });

  it('grows the function while /tmp would not hold the spill, giving DuckDB more than the limit measured', () => {
    const spillHeavy: ScalingPoint = { ...spilledAt10M, storedBytes: 3e9, limited: { ...spilledAt10M.limited, peakSpillBytes: 6e9 } };
    const [row] = deriveSizing([spillHeavy], TRANSFORM, [10e6]);
    // At 1,792 MB with DuckDB at the measured 1 GB: 1.5 × (3 + 6 GB) = 12,874 MiB of /tmp, over 10,240. Larger,
    // DuckDB gets 70 % (from 3,179 MiB up; 85 % less the 0.5 GB outside it below): at 3,840 MB that is
    // 2,818,572,288 B, leaving 1.5 × (3e9 + 7e9 − it) = 10,273.1 MiB; at 4,096 MB 3,006,477,107 B, leaving
    // 10,004.3 MiB → 10,240 MB.
    expect(row).toMatchObject({ memoryMb: 4096, ephemeralStorageMb: 10240 });
    // 70 % is the function's default share: no limit to set.
    expect(row?.duckdbMemoryLimit).toBeUndefined();
  });

  it('derives up to twice the largest size measured and nothing beyond', () => {
    const rows = deriveSizing([spilledAt10M], TRANSFORM, [20e6, 25e6]);
    expect(rows[0]?.basis).toBe('extrapolated');
    // Through zero: 1 GB outside DuckDB, 4 GB wanted by it; the process needs 1 + 1 GB within 85 %:
    // 2,244.0 MiB → 2,304 in 256 MB steps, where /tmp (1.5 × (1 GB + 2.95 GB of spill)) still fits.
    expect(rows[0]?.memoryMb).toBe(2304);
    expect(rows[0]?.seconds).toBeCloseTo(40 * (2 * 1769) / 2304, 9);
    expect(rows[1]).toEqual({
      transactions: 25e6,
      basis: 'not derived',
      note: 'over 2× the largest size measured: run the bench with --sizes up to at least 12.5m',
    });
  });

  it('sizes a lake below the smallest size measured as that size, an upper bound', () => {
    const at1M: ScalingPoint = {
      rows: 1e6,
      storedBytes: 0.05e9,
      incrementalSeconds: 1,
      unlimitedSeconds: 1.5,
      limited: { memoryLimitBytes: 1e9, seconds: 2, maxRssBytes: 1.2e9, peakSpillBytes: 0.1e9 },
    };
    // Drawn down from 10M through 1M, the line would give 0.0 s and no /tmp at 70k transactions.
    const [tiny, measured] = deriveSizing([at1M, spilledAt10M], TRANSFORM, [70_000, 1e6]);
    expect(tiny).toEqual({ ...measured, transactions: 70_000, basis: 'extrapolated' });
  });

  it('says no Lambda holds a size whose memory would pass 10,240 MB', () => {
    const heavy: ScalingPoint = {
      ...spilledAt10M,
      limited: { ...spilledAt10M.limited, maxRssBytes: 11e9 },
    };
    const [row] = deriveSizing([heavy], TRANSFORM, [10e6]);
    expect(row?.memoryMb).toBeUndefined();
    expect(row?.seconds).toBeUndefined();
    expect(row?.incrementalSeconds).toBeUndefined();
    expect(row?.fitsDefaultFunction).toBe(false);
    expect(row?.defaultFunctionSeconds).toBeUndefined();
    expect(row?.defaultFunctionIncrementalSeconds).toBeUndefined();
    expect(row?.note).toBe('no Lambda size holds it: memory or /tmp above 10,240 MB');
  });

  it("sizes the ingest function per file against the ingest function's default size", () => {
    const ingestOf = (rows: number, storedBytes: number, seconds: number, spill: number, unlimitedSeconds: number): ScalingPoint => ({
      rows,
      storedBytes,
      unlimitedSeconds,
      limited: { memoryLimitBytes: 1e9, seconds, maxRssBytes: 1.33e9, peakSpillBytes: spill },
    });
    const [tenMillion, twentyFiveMillion, fiftyMillion] = deriveSizing(
      [ingestOf(10e6, 0.615e9, 6.4, 0.125e9, 6.2), ingestOf(50e6, 3.1e9, 36.7, 3.78e9, 33.6)],
      INGEST,
      [10e6, 25e6, 50e6],
    );
    // Both: 0.33 GB outside DuckDB; 1.33 GB within 85 % is 1,492.2 MiB → 1,536 MB, where 85 % less 0.33 GB
    // (1,039,020,826 B) and 70 % (1,127,428,915 B) are above the 1 GB measured: DuckDB gets 1 GB.
    expect(tenMillion).toMatchObject({ memoryMb: 1536, duckdbMemoryLimit: '1.0GB' });
    expect(fiftyMillion).toMatchObject({ memoryMb: 1536, duckdbMemoryLimit: '1.0GB' });
    // 10M: DuckDB wants 1.125 GB, spills 0.125 GB; 1.5 × (0.615 + 0.125 GB) = 1,058.6 MiB → 1,536 MB.
    expect(tenMillion?.ephemeralStorageMb).toBe(1536);
    expect(tenMillion?.seconds).toBeCloseTo((6.4 * 2 * 1769) / 1536, 9);
    // In the default 3,008 MB function DuckDB gets 2.21 GB: no spill, 1,024 MB of /tmp within 4,096.
    expect(tenMillion?.fitsDefaultFunction).toBe(true);
    expect(tenMillion?.note).toBeUndefined();
    // So the unlimited ingest's time holds there, on 3,008 / 1,769 vCPUs: scaled by 2 × 1,769 / 3,008.
    expect(tenMillion?.defaultFunctionSeconds).toBeCloseTo((6.2 * 2 * 1769) / 3008, 9);
    expect(tenMillion?.defaultFunctionIncrementalSeconds).toBeUndefined();
    // 25M (k = 0.375 along 10M → 50M): DuckDB wants 1.125 + 3.655k = 2.4956 GB, more than the default's
    // 2.208 GB, so it spills there: the memory-limited time, 6.4 + 30.3k = 17.7625 s, bounds it.
    expect(twentyFiveMillion?.fitsDefaultFunction).toBe(true);
    expect(twentyFiveMillion?.defaultFunctionSeconds).toBeCloseTo((17.7625 * 2 * 1769) / 3008, 9);
    // 50M: DuckDB wants 4.78 GB, spills 3.78 GB at 1 GB; 1.5 × (3.1 + 3.78 GB) = 9,841.9 MiB → 10,240 MB.
    expect(fiftyMillion?.ephemeralStorageMb).toBe(10240);
    // The default function spills 2.57 GB: 1.5 × (3.1 + 2.57 GB) = 8,113.9 MiB of /tmp, over its 4,096 MB.
    expect(fiftyMillion?.fitsDefaultFunction).toBe(false);
    expect(fiftyMillion?.defaultFunctionSeconds).toBeUndefined();
    // Where the default's /tmp runs out, along the line from 10M to 50M (k = (rows − 10M) / 40M): it
    // spills once 1.125 + 3.655k GB passes 2.208 GB (k > 0.2963), and then 1.5 × (0.615 + 2.485k + spill)
    // GB stays within 4,096 MiB up to k = 3.3312 / 6.14 = 0.5425, 31.7M rows: "about 31M".
    expect(fiftyMillion?.note).toBe('set the memory and storage of this row; the default size holds up to about 31M transactions');
  });
});

describe('deriveSizingByCustomers', () => {
  const tenPerCustomer: Profile = { label: 'ten.json', points: [spilledAt10M] };
  const threePerCustomer: Profile = { label: 'three.json', points: [customerHeavyAt10M] };
  const both = [threePerCustomer, tenPerCustomer];

  it("gives a profile's own sizing for a lake of its customers per transaction", () => {
    const sizing = deriveSizingByCustomers(both, { transactions: 10e6, customers: 1e6 }, TRANSFORM);
    expect(sizing.profiles.map((p) => p.label)).toEqual(['ten.json']);
    expect(sizing.upperBound).toBe(false);
    expect([sizing.row]).toEqual(deriveSizing(tenPerCustomer.points, TRANSFORM, [10e6]));
  });

  it('blends the two enclosing profiles linearly in customers, sized by hand', () => {
    // 2M customers of 10M transactions: halfway from 1M to 3M.
    const sizing = deriveSizingByCustomers(both, { transactions: 10e6, customers: 2e6 }, TRANSFORM);
    expect(sizing.profiles.map((p) => p.label)).toEqual(['ten.json', 'three.json']);
    expect(sizing.weight).toBeCloseTo(0.5, 12);
    const { row } = sizing;
    // Halfway: 0.8 GB outside DuckDB, DuckDB wants 3 GB, 0.7 GB stored, 30 s limited, 10 s daily, 18 s unlimited.
    // The process needs 1 + 0.8 GB within 85 %: 2,019.6 MiB → 2,048 MB.
    expect(row?.basis).toBe('interpolated');
    expect(row?.memoryMb).toBe(2048);
    // 85 % of 2,048 MiB less 0.8 GB is 1,025,361,100 B, below 70 % (1,503,238,554 B).
    expect(row?.duckdbMemoryLimit).toBe('1.0GB');
    // Spill 3e9 − 1,025,361,100 B; 1.5 × (0.7e9 + spill) = 3,826.1 MiB → 4,096 in 512 MB steps.
    expect(row?.ephemeralStorageMb).toBe(4096);
    expect(row?.seconds).toBeCloseTo((30 * 2 * 1769) / 2048, 9);
    expect(row?.incrementalSeconds).toBeCloseTo((10 * 2 * 1769) / 2048, 9);
    // The default function gives DuckDB 7.5 GB, more than the 3 GB it wants: the unlimited times, unscaled.
    expect(row?.fitsDefaultFunction).toBe(true);
    expect(row?.defaultFunctionSeconds).toBeCloseTo(18, 9);
    expect(row?.defaultFunctionIncrementalSeconds).toBeCloseTo(10, 9);
  });

  it('takes the profile with the fewest customers alone for a lake with fewer, and refuses more than any measured', () => {
    const fewer = deriveSizingByCustomers(both, { transactions: 10e6, customers: 0.2e6 }, TRANSFORM);
    expect(fewer.profiles.map((p) => p.label)).toEqual(['ten.json']);
    expect(fewer.upperBound).toBe(true);
    expect(fewer.row.memoryMb).toBe(1792);
    expect(() => deriveSizingByCustomers(both, { transactions: 10e6, customers: 5e6 }, TRANSFORM)).toThrow(
      /2\.0 transactions per customer is fewer than any bench run measured \(the fewest: ~3\.3, three\.json\).*--months/,
    );
  });

  it('refuses profiles measured at different DuckDB limits', () => {
    const otherLimit: Profile = {
      ...threePerCustomer,
      points: threePerCustomer.points.map((p) => ({ ...p, limited: { ...p.limited, memoryLimitBytes: 2e9 } })),
    };
    expect(() => deriveSizingByCustomers([tenPerCustomer, otherLimit], { transactions: 10e6, customers: 2e6 }, TRANSFORM)).toThrow(
      /different DuckDB memory limits/,
    );
  });

  it('blends only the profiles measured up to at least half the lake, and all of them when none is', () => {
    // A 5-per-customer run measured at 1M only, between the two: it does not reach a 10M lake.
    const small: Profile = { label: 'small.json', points: [{ ...spilledAt10M, rows: 1e6, customers: 0.2e6 }] };
    const sizing = deriveSizingByCustomers([...both, small], { transactions: 10e6, customers: 2e6 }, TRANSFORM);
    expect(sizing.profiles.map((p) => p.label)).toEqual(['ten.json', 'three.json']);
    expect(deriveSizingByCustomers([...both, small], { transactions: 2e6, customers: 0.3e6 }, TRANSFORM).profiles.map((p) => p.label)).toEqual([
      'ten.json',
      'small.json',
    ]);
    const beyond = deriveSizingByCustomers(both, { transactions: 25e6, customers: 5e6 }, TRANSFORM);
    expect(beyond.row.basis).toBe('not derived');
  });
});
