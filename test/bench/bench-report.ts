import type { LatencySummary } from './latency-stats.js';

export type ServerName = 'ours' | 'limit' | 'naive';
export const SERVER_NAMES: readonly ServerName[] = ['limit', 'ours', 'naive'];

/** Everything measured in one (scenario, server) run. */
export interface RunResult {
  scenario: string;
  server: ServerName;
  /** Why the run stopped early or produced no numbers, if it did. */
  aborted?: string;
  notes: string[];
  clientsRequested: number;
  clientsRun: number;
  connected: number;
  connectFailures: number;
  failureReasons: Record<string, number>;
  /** From the first connect attempt to the last subscribe ack, s. */
  connectSeconds: number;
  measureSeconds: number;
  intervalMs: number;
  subscriptions: number;
  quotes: number;
  deliveredPerSec: number;
  framesPerSec: number;
  bytesPerSec: number;
  /** See {@link offeredPerSec} for the definition per server. */
  offeredPerSec: number;
  staleness: LatencySummary;
  feedTarget: number;
  feedMeasured: number;
  serverCpuPercent: number;
  /** Server CPU with the feed running and no client connected: the cost of ingest alone. */
  idleCpuPercent: number;
  cpuSecondsPerMillion: number;
  rssIdleBytes: number;
  rssLoadedBytes: number;
  rssMaxBytes: number;
  rssPerConnBytes: number;
  loopDelay: { p50: number; p99: number; max: number } | undefined;
  seqRegressions: number;
  seqDuplicates: number;
  seqSkipped: number;
  missedWindows: number;
  unexpected: number;
  drops: number;
  loadgenCpuPercent: number[];
  loadgenLoopP99Ms: number[];
  /** Machine CPU (irq included) used by neither the server nor the load generators while measuring (100 % = one core). */
  otherCpuPercent: number;
  /** irq + softirq time while measuring: mostly the loopback TCP traffic of the benchmark itself. */
  interruptCpuPercent: number;
  /** Time the hypervisor gave the machine's vCPUs to someone else. */
  stealCpuPercent: number;
  /** RSS after a GC right after the ramp: connections held, before any backlog can build up. */
  rssAfterRampBytes: number;
  /** V8 heap used after a GC, idle and right after the ramp: how much of RSS per connection is JS objects. */
  heapIdleBytes: number;
  heapAfterRampBytes: number;
  heapLoadedBytes: number;
  /** Server RSS once a second while measuring, MB: growth here is a leak or an unbounded queue. */
  rssTimelineMb: number[];
  /** V8 heap reserved and memory outside it (Buffers), after GC: where RSS beyond the used heap goes. */
  memoryIdle: { heapTotalBytes: number; externalBytes: number } | undefined;
  memoryLoaded: { heapTotalBytes: number; externalBytes: number } | undefined;
}

/**
 * Quotes/s the server owes the clients that were subscribed when measuring began.
 *
 * - **ours, limit** (conflating): one update per subscribed symbol per window
 *   in which that symbol traded. With the uniform bench universe each symbol
 *   trades at feed/size ticks/s (Poisson), so a window of I ms is non-empty
 *   with probability 1 − e^(−rate·I): subscriptions × (1000 / I) × that.
 * - **naive** (every tick): subscriptions × feed / size, at the feed's *set*
 *   rate, so a server whose own feed slows under load is not excused for it.
 */
export function offeredPerSec(
  server: ServerName,
  subscriptions: number,
  intervalMs: number,
  feedTicksPerSecond: number,
  universeSize: number,
): number {
  const perSymbol = feedTicksPerSecond / universeSize;
  if (server === 'naive') return subscriptions * perSymbol;
  const pActive = 1 - Math.exp((-perSymbol * intervalMs) / 1000);
  return subscriptions * (1000 / intervalMs) * pActive;
}

const fmt = (value: number, digits = 0): string => {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
};
const ms = (value: number): string =>
  Number.isFinite(value) ? fmt(value, value < 10 ? 1 : 0) : '–';
const mb = (bytes: number): string => fmt(bytes / 1048576, 0);
const kb = (bytes: number): string => fmt(bytes / 1024, 1);
const ratio = (a: number, b: number): string =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${fmt(a / b, 2)}×` : '–';

/** The main table: one row per (scenario, server). */
export function resultsTable(results: readonly RunResult[]): string {
  const head = [
    'scenario',
    'server',
    'clients',
    'delivered/s',
    'offered/s (delivered %)',
    'frames/s',
    'staleness p50 / p99 / p999 ms',
    'server CPU %',
    'CPU-s per M quotes',
    'RSS MB (idle → loaded)',
    'RSS per conn KB (after ramp)',
    'loop delay p99 ms',
    'feed ticks/s (set)',
    'gaps r / d / missed',
    'loadgen CPU %',
    'other / irq CPU %',
  ];
  const rows = results.map((r) => {
    if (r.aborted && r.quotes === 0) {
      return [
        r.scenario,
        r.server,
        fmt(r.clientsRun),
        `aborted: ${r.aborted}`,
        ...head.slice(4).map(() => ''),
      ];
    }
    const missed = r.server === 'naive' ? r.seqSkipped : r.missedWindows;
    return [
      r.scenario,
      r.server + (r.aborted ? ` (${r.aborted})` : ''),
      `${fmt(r.connected)}${r.connectFailures > 0 ? ` (+${fmt(r.connectFailures)} failed)` : ''}`,
      fmt(r.deliveredPerSec),
      `${fmt(r.offeredPerSec)} (${fmt((100 * r.deliveredPerSec) / r.offeredPerSec, 1)} %)`,
      fmt(r.framesPerSec),
      `${ms(r.staleness.p50)} / ${ms(r.staleness.p99)} / ${ms(r.staleness.p999)}`,
      fmt(r.serverCpuPercent, 0),
      fmt(r.cpuSecondsPerMillion, 2),
      `${mb(r.rssIdleBytes)} → ${mb(r.rssLoadedBytes)}`,
      `${kb(r.rssPerConnBytes)} (${kb((r.rssAfterRampBytes - r.rssIdleBytes) / Math.max(1, r.connected))})`,
      r.loopDelay ? ms(r.loopDelay.p99) : '–',
      `${fmt(r.feedMeasured)} (${fmt(r.feedTarget)})`,
      `${fmt(r.seqRegressions)} / ${fmt(r.seqDuplicates)} / ${fmt(missed)}`,
      r.loadgenCpuPercent.map((c) => fmt(c, 0)).join(' + '),
      `${fmt(r.otherCpuPercent, 0)} / ${fmt(r.interruptCpuPercent, 0)}`,
    ];
  });
  return markdownTable(head, rows);
}

/** ours/limit and ours/naive per scenario: below 1 is better for cost, above 1 for throughput. */
export function ratiosTable(results: readonly RunResult[]): string {
  const head = [
    'scenario',
    'ratio',
    'delivered/s',
    'CPU-s per M quotes',
    'server CPU %',
    'RSS per conn',
    'staleness p99',
  ];
  const rows: string[][] = [];
  for (const scenario of [...new Set(results.map((r) => r.scenario))]) {
    const ours = results.find((r) => r.scenario === scenario && r.server === 'ours');
    if (!ours) continue;
    for (const other of ['limit', 'naive'] as const) {
      const ref = results.find((r) => r.scenario === scenario && r.server === other);
      if (!ref) continue;
      rows.push([
        scenario,
        `ours / ${other}`,
        ratio(ours.deliveredPerSec, ref.deliveredPerSec),
        ratio(ours.cpuSecondsPerMillion, ref.cpuSecondsPerMillion),
        ratio(ours.serverCpuPercent, ref.serverCpuPercent),
        ratio(ours.rssPerConnBytes, ref.rssPerConnBytes),
        ratio(ours.staleness.p99, ref.staleness.p99),
      ]);
    }
  }
  return markdownTable(head, rows);
}

export interface TargetCheck {
  scenario: string;
  target: string;
  measured: string;
  met: boolean | undefined;
}

/** The issue's targets, checked against our server's runs. */
export function checkTargets(results: readonly RunResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const get = (scenario: string, server: ServerName): RunResult | undefined =>
    results.find((r) => r.scenario === scenario && r.server === server && r.quotes > 0);
  const s1 = get('S1', 'ours');
  if (s1) {
    const pct = (100 * s1.deliveredPerSec) / s1.offeredPerSec;
    checks.push({
      scenario: 'S1',
      target: '≥ 99 % of offered delivered',
      measured: `${fmt(pct, 2)} %`,
      met: pct >= 99,
    });
    checks.push({
      scenario: 'S1',
      target: 'zero seq regressions (healthy clients)',
      measured: `${s1.seqRegressions} regressions, ${s1.seqDuplicates} duplicates`,
      met: s1.seqRegressions === 0,
    });
    const bound = s1.intervalMs + 50;
    checks.push({
      scenario: 'S1',
      target: `staleness p99 ≤ ${bound} ms`,
      measured: `${ms(s1.staleness.p99)} ms`,
      met: s1.staleness.p99 <= bound,
    });
    const limit = get('S1', 'limit');
    if (limit) {
      const r = s1.cpuSecondsPerMillion / limit.cpuSecondsPerMillion;
      checks.push({
        scenario: 'S1',
        target: 'CPU per M quotes ≤ 1.25 × limit',
        measured: `${fmt(r, 2)}×`,
        met: r <= 1.25,
      });
    }
    const naive = get('S1', 'naive');
    if (naive) {
      const r = naive.cpuSecondsPerMillion / s1.cpuSecondsPerMillion;
      checks.push({
        scenario: 'S1',
        target: 'CPU per M quotes ≥ 3 × better than naive',
        measured: `${fmt(r, 2)}× better`,
        met: r >= 3,
      });
    }
  }
  const s2 = get('S2', 'ours');
  if (s2) {
    const all = s2.connected === s2.clientsRequested;
    checks.push({
      scenario: 'S2',
      target: `all ${fmt(s2.clientsRequested)} connected within 60 s`,
      measured: `${fmt(s2.connected)} of ${fmt(s2.clientsRun)} run in ${fmt(s2.connectSeconds, 1)} s`,
      met:
        s2.connected === s2.clientsRun && s2.connectSeconds <= 60
          ? all
            ? true
            : undefined
          : false,
    });
    checks.push({
      scenario: 'S2',
      target: '≤ 15 KB RSS per connection',
      measured: `${kb(s2.rssPerConnBytes)} KB`,
      met: s2.rssPerConnBytes <= 15 * 1024,
    });
  }
  const s3 = get('S3', 'ours');
  if (s3) {
    const pct = (100 * s3.feedMeasured) / s3.feedTarget;
    checks.push({
      scenario: 'S3',
      target: 'feed ≥ 99 % of its set rate',
      measured: `${fmt(pct, 1)} %`,
      met: pct >= 99,
    });
    const perClient = (100 * s3.deliveredPerSec) / s3.offeredPerSec;
    checks.push({
      scenario: 'S3',
      target: 'per-client delivery at the tier rate',
      measured: `${fmt(perClient, 1)} % of ${fmt(1000 / s3.intervalMs)} updates/s per symbol`,
      met: perClient >= 99,
    });
    checks.push({
      scenario: 'S3',
      target: 'ingest under one core',
      measured: `${fmt(s3.idleCpuPercent, 0)} % with no client, ${fmt(s3.serverCpuPercent, 0)} % loaded`,
      met: s3.idleCpuPercent < 100,
    });
  }
  return checks;
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  return markdownTable(
    ['scenario', 'target', 'measured', 'met'],
    checks.map((c) => [
      c.scenario,
      c.target,
      c.measured,
      c.met === undefined ? 'partly' : c.met ? 'yes' : 'NO',
    ]),
  );
}

export function markdownTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
