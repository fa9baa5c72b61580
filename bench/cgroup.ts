/**
 * A Linux control group that gives a process what a Lambda function of a given size has: that much
 * memory (page cache included, no swap: the function's microVM has nothing else) and its share of
 * CPU (one vCPU per 1,769 MB). Uses the cgroup v1 memory and cpu hierarchies, so it needs root and a
 * machine that mounts them (/sys/fs/cgroup/memory and /sys/fs/cgroup/cpu).
 */
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MB_PER_VCPU } from './sizing.ts';

const V1_ROOT = '/sys/fs/cgroup';
const CPU_PERIOD_MICROSECONDS = 100_000;
const MIB = 2 ** 20;

/** The CPU share a function of `memoryMb` gets, in cores, at most what this machine has. */
export function functionCpuShare(memoryMb: number, machineCores: number): number {
  return Math.min(memoryMb / MB_PER_VCPU, machineCores);
}

/** The cgroup v1 settings for a function of `memoryMb`: bytes of memory and the CPU quota per period. */
export function functionLimits(memoryMb: number, machineCores: number) {
  return {
    memoryBytes: memoryMb * MIB,
    cpuQuotaMicroseconds: Math.round(functionCpuShare(memoryMb, machineCores) * CPU_PERIOD_MICROSECONDS),
    cpuPeriodMicroseconds: CPU_PERIOD_MICROSECONDS,
  };
}

export interface FunctionCgroup {
  /** A shell command line prefix that moves itself into the group, then runs the rest (`exec "$@"`). */
  readonly enter: readonly string[];
  /** Processes in the group the kernel's OOM killer has killed since it was made. */
  oomKills(): Promise<number>;
  /** The group's peak memory use (processes and their page cache), in bytes. */
  peakBytes(): Promise<number>;
  remove(): Promise<void>;
}

/** Makes (or resets) the group `name` for a function of `memoryMb` on a machine of `machineCores`. */
export async function functionCgroup(name: string, memoryMb: number, machineCores: number): Promise<FunctionCgroup> {
  const memoryDir = join(V1_ROOT, 'memory', name);
  const cpuDir = join(V1_ROOT, 'cpu', name);
  try {
    await access(join(V1_ROOT, 'memory', 'memory.limit_in_bytes'));
    await access(join(V1_ROOT, 'cpu', 'cpu.cfs_quota_us'));
  } catch {
    throw new Error(`emulating Lambda needs the cgroup v1 memory and cpu controllers under ${V1_ROOT} (not found)`);
  }
  const limits = functionLimits(memoryMb, machineCores);
  try {
    await mkdir(memoryDir, { recursive: true });
    await mkdir(cpuDir, { recursive: true });
    // Lowering a limit below the swap limit fails, so the combined limit is raised first, then both set.
    const swapLimit = join(memoryDir, 'memory.memsw.limit_in_bytes');
    const hasSwapAccounting = await access(swapLimit).then(() => true, () => false);
    if (hasSwapAccounting) await writeFile(swapLimit, '-1');
    await writeFile(join(memoryDir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    if (hasSwapAccounting) await writeFile(swapLimit, String(limits.memoryBytes));
    await writeFile(join(memoryDir, 'memory.max_usage_in_bytes'), '0');
    await writeFile(join(cpuDir, 'cpu.cfs_period_us'), String(limits.cpuPeriodMicroseconds));
    await writeFile(join(cpuDir, 'cpu.cfs_quota_us'), String(limits.cpuQuotaMicroseconds));
  } catch (error) {
    throw new Error(`cannot set up cgroup ${name} (root needed): ${(error as Error).message}`);
  }
  const readOomKills = async () => {
    const match = /^oom_kill (\d+)$/m.exec(await readFile(join(memoryDir, 'memory.oom_control'), 'utf8'));
    return Number(match?.[1] ?? 0);
  };
  const oomKillsBefore = await readOomKills();
  const procs = [join(memoryDir, 'cgroup.procs'), join(cpuDir, 'cgroup.procs')];
  return {
    enter: ['/bin/sh', '-c', `echo $$ > '${procs[0]}' && echo $$ > '${procs[1]}' && exec "$@"`, 'sh'],
    oomKills: async () => (await readOomKills()) - oomKillsBefore,
    peakBytes: async () => Number(await readFile(join(memoryDir, 'memory.max_usage_in_bytes'), 'utf8')),
    remove: async () => {
      await rmdir(memoryDir).catch(() => undefined);
      await rmdir(cpuDir).catch(() => undefined);
    },
  };
}
