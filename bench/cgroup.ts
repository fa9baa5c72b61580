/**
 * A Linux control group that gives a process what a Lambda function of a given size has: that much
 * memory (page cache included, no swap: the function's microVM has nothing else) and its share of
 * CPU (one vCPU per 1,769 MB). Needs root and the memory and cpu controllers, either as cgroup v1
 * hierarchies (/sys/fs/cgroup/memory and /sys/fs/cgroup/cpu) or in the cgroup v2 unified hierarchy
 * mounted at /sys/fs/cgroup. A hybrid machine (v1 controllers, an empty v2 tree at
 * /sys/fs/cgroup/unified) uses v1, where its controllers are.
 */
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { MB_PER_VCPU } from './sizing.ts';

export const CGROUP_ROOT = '/sys/fs/cgroup';
const CPU_PERIOD_MICROSECONDS = 100_000;
const MIB = 2 ** 20;
const CONTROLLERS = ['memory', 'cpu'] as const;

/** The CPU share a function of `memoryMb` gets, in cores, at most what this machine has. */
export function functionCpuShare(memoryMb: number, machineCores: number): number {
  return Math.min(memoryMb / MB_PER_VCPU, machineCores);
}

/** The group settings for a function of `memoryMb`: bytes of memory and the CPU quota per period. */
export function functionLimits(memoryMb: number, machineCores: number) {
  return {
    memoryBytes: memoryMb * MIB,
    cpuQuotaMicroseconds: Math.round(functionCpuShare(memoryMb, machineCores) * CPU_PERIOD_MICROSECONDS),
    cpuPeriodMicroseconds: CPU_PERIOD_MICROSECONDS,
  };
}

type Limits = ReturnType<typeof functionLimits>;

export interface FunctionCgroup {
  /** A shell command line prefix that moves itself into the group, then runs the rest (`exec "$@"`). */
  readonly enter: readonly string[];
  /** Processes in the group the kernel's OOM killer has killed since it was made. */
  oomKills(): Promise<number>;
  /** The group's peak memory use (processes and their page cache), in bytes. */
  peakBytes(): Promise<number>;
  remove(): Promise<void>;
}

const exists = (path: string) => access(path).then(() => true, () => false);

/** Which cgroup interface holds the memory and cpu controllers under `root`. */
export async function cgroupVersion(root = CGROUP_ROOT): Promise<1 | 2> {
  if ((await exists(join(root, 'memory', 'memory.limit_in_bytes'))) && (await exists(join(root, 'cpu', 'cpu.cfs_quota_us')))) {
    return 1;
  }
  const available = (await readFile(join(root, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
  if (CONTROLLERS.every((controller) => available.includes(controller))) return 2;
  throw new Error(
    `emulating Lambda needs the memory and cpu controllers, as cgroup v1 hierarchies (${join(root, 'memory')}, ` +
      `${join(root, 'cpu')}) or in the cgroup v2 hierarchy at ${root}: neither found`,
  );
}

/** The `enter` prefix: a shell that writes its own pid into each group's cgroup.procs, then execs the command. */
function enterCommand(procsFiles: readonly string[]): readonly string[] {
  const moves = procsFiles.map((file) => `echo $$ > '${file}'`).join(' && ');
  return ['/bin/sh', '-c', `${moves} && exec "$@"`, 'sh'];
}

const oomKillCount = (text: string) => Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);

async function v1Group(root: string, name: string, limits: Limits): Promise<FunctionCgroup> {
  const memoryDir = join(root, 'memory', name);
  const cpuDir = join(root, 'cpu', name);
  await mkdir(memoryDir, { recursive: true });
  await mkdir(cpuDir, { recursive: true });
  // Lowering a limit below the swap limit fails, so the combined limit is raised first, then both set.
  const swapLimit = join(memoryDir, 'memory.memsw.limit_in_bytes');
  const hasSwapAccounting = await exists(swapLimit);
  if (hasSwapAccounting) await writeFile(swapLimit, '-1');
  await writeFile(join(memoryDir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
  if (hasSwapAccounting) await writeFile(swapLimit, String(limits.memoryBytes));
  await writeFile(join(memoryDir, 'memory.max_usage_in_bytes'), '0');
  await writeFile(join(cpuDir, 'cpu.cfs_period_us'), String(limits.cpuPeriodMicroseconds));
  await writeFile(join(cpuDir, 'cpu.cfs_quota_us'), String(limits.cpuQuotaMicroseconds));
  // A v1 group kept from an earlier run keeps its count, so kills are counted from here.
  const readOomKills = async () => oomKillCount(await readFile(join(memoryDir, 'memory.oom_control'), 'utf8'));
  const oomKillsBefore = await readOomKills();
  return {
    enter: enterCommand([join(memoryDir, 'cgroup.procs'), join(cpuDir, 'cgroup.procs')]),
    oomKills: async () => (await readOomKills()) - oomKillsBefore,
    peakBytes: async () => Number(await readFile(join(memoryDir, 'memory.max_usage_in_bytes'), 'utf8')),
    remove: async () => {
      await rmdir(memoryDir).catch(() => undefined);
      await rmdir(cpuDir).catch(() => undefined);
    },
  };
}

/** Whether a kernel `release` (os.release()) has v2's memory.peak, which came in Linux 5.19. */
export function hasMemoryPeak(release: string): boolean {
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number);
  return major > 5 || (major === 5 && minor >= 19);
}

async function v2Group(root: string, name: string, limits: Limits): Promise<FunctionCgroup> {
  const dir = join(root, name);
  // A child group gets a controller only once its parent enables it for its children.
  const subtreeControl = join(root, 'cgroup.subtree_control');
  const enabled = (await readFile(subtreeControl, 'utf8')).split(/\s+/);
  const missing = CONTROLLERS.filter((controller) => !enabled.includes(controller));
  if (missing.length > 0) await writeFile(subtreeControl, missing.map((controller) => `+${controller}`).join(' '));
  // v2 cannot reset a group's peak or kill count: a group left by an interrupted check is made anew.
  await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await mkdir(dir);
  await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
  // Without swap accounting the kernel has no memory.swap.max, and kernfs refuses to create it (EACCES).
  await writeFile(join(dir, 'memory.swap.max'), '0').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT' && error.code !== 'EACCES') throw error;
  });
  await writeFile(join(dir, 'cpu.max'), `${limits.cpuQuotaMicroseconds} ${limits.cpuPeriodMicroseconds}`);
  return {
    enter: enterCommand([join(dir, 'cgroup.procs')]),
    oomKills: async () => oomKillCount(await readFile(join(dir, 'memory.events'), 'utf8')),
    peakBytes: async () => Number(await readFile(join(dir, 'memory.peak'), 'utf8')),
    remove: async () => {
      await rmdir(dir).catch(() => undefined);
    },
  };
}

/**
 * Makes (or resets) the group `name` for a function of `memoryMb` on a machine of `machineCores`,
 * under `root` (the cgroup mount point; another folder only in tests).
 */
export async function functionCgroup(name: string, memoryMb: number, machineCores: number, root = CGROUP_ROOT): Promise<FunctionCgroup> {
  const version = await cgroupVersion(root);
  if (version === 2 && !hasMemoryPeak(os.release())) {
    throw new Error(`cgroup v2 on Linux ${os.release()} has no memory.peak for a group's peak memory (5.19 or later)`);
  }
  const limits = functionLimits(memoryMb, machineCores);
  try {
    return await (version === 1 ? v1Group : v2Group)(root, name, limits);
  } catch (error) {
    throw new Error(
      `cannot set up cgroup v${version} group ${name} (root needed; in a container the cgroup tree must be ` +
        `writable and, on v2, its controllers delegated): ${(error as Error).message}`,
    );
  }
}
