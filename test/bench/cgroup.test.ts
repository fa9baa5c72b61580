import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupVersion, functionCgroup, functionLimits, hasMemoryPeak } from '../../bench/cgroup.ts';

// The kernel's cgroup files are stood in for by a folder laid out as /sys/fs/cgroup is: the check
// itself needs root and a real cgroup mount (it ran on cgroup v1 here: bench/README.md "Sizing checked in
// control groups"), so these tests pin what it writes and reads, file by file, as the kernel
// documents them (Documentation/admin-guide/cgroup-v1/memory.rst, cgroup-v2.rst).

describe('functionLimits', () => {
  it("gives a function its memory in bytes and a vCPU per 1,769 MB, at most the machine's cores", () => {
    // 1,536 / 1,769 = 0.868287 cores: 86,829 µs of CPU per 100,000 µs period.
    expect(functionLimits(1536, 2)).toEqual({ memoryBytes: 1_610_612_736, cpuQuotaMicroseconds: 86_829, cpuPeriodMicroseconds: 100_000 });
    // 4,096 MB would be 2.3 vCPUs; a 2-core machine gives it both cores.
    expect(functionLimits(4096, 2).cpuQuotaMicroseconds).toBe(200_000);
  });
});

describe('hasMemoryPeak', () => {
  it('is true from Linux 5.19, when memory.peak came', () => {
    expect(['5.19.0', '6.1.0-13-amd64', '6.18.44-fc-v669', '5.19'].map(hasMemoryPeak)).toEqual([true, true, true, true]);
    expect(['5.15.0-91-generic', '4.19.0', '5.4'].map(hasMemoryPeak)).toEqual([false, false, false]);
  });
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fake-cgroup-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const put = async (path: string, text: string) => {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
};
const read = (...parts: string[]) => readFile(join(root, ...parts), 'utf8');

/** The files a cgroup v1 machine has: the memory and cpu hierarchies and the group the kernel fills in. */
async function v1Machine(group: string, oomKillsSoFar: number): Promise<void> {
  await put(join(root, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
  await put(join(root, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
  await put(join(root, 'memory', group, 'memory.memsw.limit_in_bytes'), '9223372036854771712\n');
  await put(join(root, 'memory', group, 'memory.oom_control'), `oom_kill_disable 0\nunder_oom 0\noom_kill ${oomKillsSoFar}\n`);
}

/** A cgroup v2 root with memory and cpu available, neither enabled for child groups yet. */
async function v2Machine(): Promise<void> {
  await put(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  await put(join(root, 'cgroup.subtree_control'), 'pids\n');
}

describe('cgroupVersion', () => {
  it('finds v1 hierarchies, a v2 root with both controllers, and v1 on a hybrid machine', async () => {
    await v2Machine();
    expect(await cgroupVersion(root)).toBe(2);
    // Hybrid: the controllers live in v1 hierarchies; the v2 tree beside them has none.
    await v1Machine('g', 0);
    expect(await cgroupVersion(root)).toBe(1);
  });

  it('names both layouts when neither has the controllers', async () => {
    await put(join(root, 'cgroup.controllers'), 'cpuset io pids\n');
    await expect(cgroupVersion(root)).rejects.toThrow(/cgroup v1 hierarchies .*memory.*cgroup v2 hierarchy/);
  });
});

describe('functionCgroup on cgroup v1', () => {
  it('sets memory and memory+swap to the function size, the CPU quota, resets the peak, counts kills from now', async () => {
    await v1Machine('check', 2);
    const group = await functionCgroup('check', 1536, 2, root);
    expect(await read('memory', 'check', 'memory.limit_in_bytes')).toBe('1610612736');
    expect(await read('memory', 'check', 'memory.memsw.limit_in_bytes')).toBe('1610612736');
    expect(await read('memory', 'check', 'memory.max_usage_in_bytes')).toBe('0');
    expect(await read('cpu', 'check', 'cpu.cfs_quota_us')).toBe('86829');
    expect(await read('cpu', 'check', 'cpu.cfs_period_us')).toBe('100000');

    // The kernel counts a kill in the group and its high-water mark.
    await writeFile(join(root, 'memory', 'check', 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n');
    await writeFile(join(root, 'memory', 'check', 'memory.max_usage_in_bytes'), '1234567\n');
    expect(await group.oomKills()).toBe(1);
    expect(await group.peakBytes()).toBe(1_234_567);
  });

  it('enters the command into both hierarchies as the process that runs it', async () => {
    await v1Machine('check', 0);
    const group = await functionCgroup('check', 1536, 2, root);
    const [shell, ...args] = group.enter;
    const { stdout } = await promisify(execFile)(shell!, [...args, process.execPath, '-e', 'console.log(process.pid)']);
    const pid = stdout.trim();
    expect(pid).toMatch(/^\d+$/);
    expect((await read('memory', 'check', 'cgroup.procs')).trim()).toBe(pid);
    expect((await read('cpu', 'check', 'cgroup.procs')).trim()).toBe(pid);
  });
});

describe('functionCgroup on cgroup v2', () => {
  it('enables memory and cpu for child groups and sets memory.max, no swap and cpu.max', async () => {
    await v2Machine();
    // A group left by an interrupted check (empty, as the kernel allows removing it) is made anew.
    await mkdir(join(root, 'check'));
    const group = await functionCgroup('check', 1536, 2, root);
    expect(await read('cgroup.subtree_control')).toBe('+memory +cpu');
    expect(await read('check', 'memory.max')).toBe('1610612736');
    expect(await read('check', 'memory.swap.max')).toBe('0');
    expect(await read('check', 'cpu.max')).toBe('86829 100000');

    await writeFile(join(root, 'check', 'memory.events'), 'low 0\nhigh 0\nmax 41\noom 1\noom_kill 1\noom_group_kill 0\n');
    await writeFile(join(root, 'check', 'memory.peak'), '1610612736\n');
    expect(await group.oomKills()).toBe(1);
    expect(await group.peakBytes()).toBe(1_610_612_736);

    const [shell, ...args] = group.enter;
    const { stdout } = await promisify(execFile)(shell!, [...args, process.execPath, '-e', 'console.log(process.pid)']);
    expect((await read('check', 'cgroup.procs')).trim()).toBe(stdout.trim());
  });

  it('leaves controllers already enabled as they are, and stops at a group it cannot make anew', async () => {
    await v2Machine();
    await writeFile(join(root, 'cgroup.subtree_control'), 'cpu memory pids\n');
    await functionCgroup('check', 2048, 2, root);
    expect(await read('cgroup.subtree_control')).toBe('cpu memory pids\n');
    expect(await read('check', 'memory.max')).toBe(String(2048 * 2 ** 20));

    // The kernel refuses to remove a group with processes in it; here a file stands in for them.
    await put(join(root, 'busy', 'cgroup.procs'), '4242\n');
    await expect(functionCgroup('busy', 1536, 2, root)).rejects.toThrow(/cannot set up cgroup v2 group busy .*busy/);
  });
});
