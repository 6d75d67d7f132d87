import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
function clockTicksPerSecond(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

const CLK_TCK = clockTicksPerSecond();

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  return parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'), CLK_TCK);
}

/** Parses utime + stime (fields 14 and 15) of a /proc/<pid>/stat line; the command name may hold spaces. */
export function parseCpuSeconds(stat: string, ticksPerSecond: number): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Resident set size in bytes, from VmRSS of /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  return parseRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

export function parseRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : NaN;
}

/** Hard limit of open files for this process (and its children): bounds connections per process. */
export function openFilesHardLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+\d+\s+(\d+|unlimited)/m.exec(limits);
    if (match) return match[1] === 'unlimited' ? Infinity : Number(match[1]);
  } catch {
    /* not Linux: no bound known */
  }
  return Infinity;
}

/** A one-line description of the machine for the report. */
export function machineDescription(): string {
  let cpu = 'unknown CPU';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
  } catch {
    /* keep unknown */
  }
  return cpu;
}

/** CPU seconds of the whole machine (all cores), from the first line of /proc/stat. */
export interface MachineCpu {
  /** user + nice + system: what processes' utime/stime add up to. */
  tasks: number;
  /**
   * irq + softirq: not charged to any process. On loopback most of it is the
   * receive half of the benchmark's own TCP traffic.
   */
  interrupts: number;
  steal: number;
}

export function machineCpu(): MachineCpu {
  try {
    return parseMachineCpu(readFileSync('/proc/stat', 'utf8'), CLK_TCK);
  } catch {
    return { tasks: NaN, interrupts: NaN, steal: NaN };
  }
}

export function parseMachineCpu(stat: string, ticksPerSecond: number): MachineCpu {
  const line = /^cpu\s+(.+)$/m.exec(stat)?.[1];
  if (!line) return { tasks: NaN, interrupts: NaN, steal: NaN };
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return {
    tasks: (user + nice + system) / ticksPerSecond,
    interrupts: (irq + softirq) / ticksPerSecond,
    steal: (steal || 0) / ticksPerSecond,
  };
}

/** Busy CPU seconds of the whole machine: tasks, interrupts and steal. */
export function machineBusySeconds(): number {
  const m = machineCpu();
  return m.tasks + m.interrupts + m.steal;
}
