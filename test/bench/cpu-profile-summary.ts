import { readFileSync } from 'node:fs';
import { markdownTable } from './bench-report.js';

/** The parts of a V8 `.cpuprofile` this summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    hitCount?: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  selfMs: number;
  percent: number;
}

/** Where a script lives, shortened: `socket.io/dist/socket.js`, `src/gateway/…`, `node:internal/…`. */
export function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0 && url.startsWith('file://')) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/** Self time per function (summed over call sites), largest first. */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const samples =
    profile.samples?.length ?? profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const usPerSample = samples > 0 ? (profile.endTime - profile.startTime) / samples : 0;
  const totals = new Map<string, SelfTime>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = totals.get(key) ?? { name, where, selfMs: 0, percent: 0 };
    entry.selfMs += (hits * usPerSample) / 1000;
    totals.set(key, entry);
  }
  const total = [...totals.values()].reduce((a, e) => a + e.selfMs, 0);
  return [...totals.values()]
    .map((e) => ({ ...e, percent: total > 0 ? (100 * e.selfMs) / total : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

/** Self time grouped by package (or `src`, `node:` internals, V8 pseudo-frames). */
export function selfTimeByPackage(
  times: readonly SelfTime[],
): { group: string; percent: number }[] {
  const groups = new Map<string, number>();
  for (const t of times) {
    let group = t.where.split(':')[0];
    if (t.where === '')
      group = t.name; // (garbage collector), (program), (idle)
    else if (group.startsWith('node') && t.where.startsWith('node:')) group = 'node: core';
    else if (!t.where.startsWith('/') && group.includes('/')) {
      group = group.startsWith('@') ? group.split('/').slice(0, 2).join('/') : group.split('/')[0];
    }
    groups.set(group, (groups.get(group) ?? 0) + t.percent);
  }
  return [...groups.entries()]
    .map(([group, percent]) => ({ group, percent }))
    .sort((a, b) => b.percent - a.percent);
}

export function profileReport(path: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const times = selfTimes(profile);
  const busy = times.filter((t) => t.name !== '(idle)');
  const busyTotal = busy.reduce((a, t) => a + t.selfMs, 0);
  const rows = busy
    .slice(0, top)
    .map((t) => [t.name, t.where, t.selfMs.toFixed(0), ((100 * t.selfMs) / busyTotal).toFixed(1)]);
  const byPackage = selfTimeByPackage(
    busy.map((t) => ({ ...t, percent: (100 * t.selfMs) / busyTotal })),
  )
    .slice(0, 12)
    .map((g) => [g.group, g.percent.toFixed(1)]);
  return [
    `Profile ${path}: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, busy ${(busyTotal / 1000).toFixed(1)} s`,
    '',
    markdownTable(['function', 'where', 'self ms', '% of busy'], rows),
    '',
    markdownTable(['package', '% of busy'], byPackage),
  ].join('\n');
}

// `node cpu-profile-summary.js file.cpuprofile [top]` prints the summary.
if (process.argv[1]?.endsWith('cpu-profile-summary.js') && process.argv[2]) {
  process.stdout.write(`${profileReport(process.argv[2], Number(process.argv[3] ?? 25))}\n`);
}
