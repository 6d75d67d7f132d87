import type { LatencySummary } from './latency-stats.js';

/**
 * The servers under test. `ours-sio` and `ours-ws` are the same process
 * (tickstream itself); the load generator speaks Socket.IO (`/market`) to the
 * first and the plain JSON protocol at `/ws` to the second.
 */
export type ServerName = 'limit' | 'ours-sio' | 'ours-ws' | 'naive';
export const SERVER_NAMES: readonly ServerName[] = ['limit', 'ours-sio', 'ours-ws', 'naive'];
/** Our server's variants, in report order. */
export const OURS: readonly ServerName[] = ['ours-sio', 'ours-ws'];
/** Names `--server` also accepts: `ours` is what the Socket.IO variant was called before /ws. */
export const SERVER_ALIASES: Readonly<Record<string, ServerName>> = { ours: 'ours-sio' };

/**
 * Resolves a `--server` list (names or aliases, comma-separated) to servers in
 * report order; throws naming the unknown ones.
 */
export function parseServerList(list: string): ServerName[] {
  const wanted = new Set<ServerName>();
  const bad: string[] = [];
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    const server = SERVER_ALIASES[name] ?? SERVER_NAMES.find((n) => n === name);
    if (server) wanted.add(server);
    else bad.push(name);
  }
  if (bad.length > 0 || wanted.size === 0) {
    throw new Error(
      `unknown server(s) ${bad.join(', ') || '(none given)'}: use ${[...SERVER_NAMES, ...Object.keys(SERVER_ALIASES)].join(', ')}`,
    );
  }
  return SERVER_NAMES.filter((n) => wanted.has(n));
}

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
  /** Clients subscribed when measuring began (what per-client rates divide by). */
  clientsMeasured: number;
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
  /** framesPerSec / clientsMeasured: one frame per window would be 1000 / intervalMs. */
  framesPerClientPerSec: number;
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
 * - **ours-sio, ours-ws, limit** (conflating): one update per subscribed symbol per window
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
    'frames per client/s (window rate)',
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
      `${fmt(r.framesPerClientPerSec, 2)} (${fmt(1000 / r.intervalMs, 0)})`,
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

/**
 * Each of our variants against limit and naive, and ours-ws against ours-sio,
 * per scenario: below 1 is better for cost, above 1 for throughput.
 */
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
  const pairs: [ServerName, ServerName][] = [
    ['ours-sio', 'limit'],
    ['ours-ws', 'limit'],
    ['ours-sio', 'naive'],
    ['ours-ws', 'naive'],
    ['ours-ws', 'ours-sio'],
  ];
  const rows: string[][] = [];
  for (const scenario of [...new Set(results.map((r) => r.scenario))]) {
    const of = (server: ServerName): RunResult | undefined =>
      results.find((r) => r.scenario === scenario && r.server === server);
    for (const [a, b] of pairs) {
      const x = of(a);
      const y = of(b);
      if (!x || !y) continue;
      rows.push([
        scenario,
        `${a} / ${b}`,
        ratio(x.deliveredPerSec, y.deliveredPerSec),
        ratio(x.cpuSecondsPerMillion, y.cpuSecondsPerMillion),
        ratio(x.serverCpuPercent, y.serverCpuPercent),
        ratio(x.rssPerConnBytes, y.rssPerConnBytes),
        ratio(x.staleness.p99, y.staleness.p99),
      ]);
    }
  }
  return markdownTable(head, rows);
}

export interface TargetCheck {
  scenario: string;
  server: ServerName;
  target: string;
  measured: string;
  /** `partly`: met for the clients this machine could run; undefined: reported, not a target. */
  met: boolean | 'partly' | undefined;
}

/** The targets of issue #9 §6 that differ between our two variants. */
export interface VariantTargets {
  /** S1: CPU-s per million quotes at most this many times limit's, same run. */
  s1CpuVsLimit: number;
  /** S2: RSS per connection at most this many KB. */
  s2RssPerConnKb: number;
}

/** Per-variant targets (issue #9 §6): /ws is held to the tighter bound. */
export const VARIANT_TARGETS: Readonly<Partial<Record<ServerName, VariantTargets>>> = {
  'ours-sio': { s1CpuVsLimit: 1.25, s2RssPerConnKb: 12 },
  'ours-ws': { s1CpuVsLimit: 1.1, s2RssPerConnKb: 9 },
};

/** Targets shared by both variants (issue #9 §6). */
export const SHARED_TARGETS = {
  /** S1 and S2: staleness p50 at most limit's p50 plus this many ms, same run. */
  stalenessP50OverLimitMs: 20,
  /** S4: CPU-s per million quotes at most this many times limit's, same run. */
  s4CpuVsLimit: 1.5,
  /** S4: frames per client per second at most this many times the window rate 1000 / I. */
  s4FramesVsWindowRate: 2,
  /** S1, S4: staleness p99 at most the window plus this many ms. */
  stalenessP99OverWindowMs: 50,
} as const;

/**
 * The targets of issue #9 §6 (plus the earlier delivery, ordering, S2 connect
 * and S3 checks), checked against each of our variants' runs. Every ratio is
 * against limit's row of the same scenario in the same results; when that row
 * is missing (or has no quotes) the ratio check is skipped, not failed.
 */
export function checkTargets(results: readonly RunResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const get = (scenario: string, server: ServerName): RunResult | undefined =>
    results.find((r) => r.scenario === scenario && r.server === server && r.quotes > 0);
  for (const server of OURS) {
    const targets = VARIANT_TARGETS[server];
    if (!targets) throw new Error(`no targets declared for ${server}`);
    const check = (scenario: string, target: string, measured: string, met: TargetCheck['met']) =>
      checks.push({ scenario, server, target, measured, met });
    const stalenessP99Bound = (r: RunResult): void => {
      const bound = r.intervalMs + SHARED_TARGETS.stalenessP99OverWindowMs;
      check(
        r.scenario,
        `staleness p99 ≤ window + ${SHARED_TARGETS.stalenessP99OverWindowMs} ms (${ms(bound)} ms)`,
        `${ms(r.staleness.p99)} ms`,
        r.staleness.p99 <= bound,
      );
    };
    const stalenessP50VsLimit = (r: RunResult, limit: RunResult | undefined): void => {
      if (!limit) return;
      const bound = limit.staleness.p50 + SHARED_TARGETS.stalenessP50OverLimitMs;
      check(
        r.scenario,
        `staleness p50 ≤ limit p50 + ${SHARED_TARGETS.stalenessP50OverLimitMs} ms (${ms(bound)} ms)`,
        `${ms(r.staleness.p50)} ms (limit ${ms(limit.staleness.p50)} ms)`,
        r.staleness.p50 <= bound,
      );
    };
    const cpuVsLimit = (r: RunResult, limit: RunResult | undefined, max: number): void => {
      if (!limit) return;
      const x = r.cpuSecondsPerMillion / limit.cpuSecondsPerMillion;
      check(
        r.scenario,
        `CPU per M quotes ≤ ${fmt(max, 2)} × limit`,
        `${fmt(x, 2)}× (${fmt(r.cpuSecondsPerMillion, 2)} vs ${fmt(limit.cpuSecondsPerMillion, 2)} CPU-s)`,
        x <= max,
      );
    };
    const s1 = get('S1', server);
    if (s1) {
      const pct = (100 * s1.deliveredPerSec) / s1.offeredPerSec;
      check('S1', '≥ 99 % of offered delivered', `${fmt(pct, 2)} %`, pct >= 99);
      check(
        'S1',
        'zero seq regressions (healthy clients)',
        `${s1.seqRegressions} regressions, ${s1.seqDuplicates} duplicates`,
        s1.seqRegressions === 0,
      );
      stalenessP99Bound(s1);
      const limit = get('S1', 'limit');
      stalenessP50VsLimit(s1, limit);
      cpuVsLimit(s1, limit, targets.s1CpuVsLimit);
      const naive = get('S1', 'naive');
      if (naive) {
        const r = naive.cpuSecondsPerMillion / s1.cpuSecondsPerMillion;
        check('S1', 'CPU per M quotes ≥ 3 × better than naive', `${fmt(r, 2)}× better`, r >= 3);
      }
    }
    const s2 = get('S2', server);
    if (s2) {
      const all = s2.connected === s2.clientsRequested;
      check(
        'S2',
        `all ${fmt(s2.clientsRequested)} connected within 60 s`,
        `${fmt(s2.connected)} of ${fmt(s2.clientsRun)} run in ${fmt(s2.connectSeconds, 1)} s`,
        s2.connected === s2.clientsRun && s2.connectSeconds <= 60 ? (all ? true : 'partly') : false,
      );
      check(
        'S2',
        `RSS per connection ≤ ${fmt(targets.s2RssPerConnKb)} KB`,
        `${kb(s2.rssPerConnBytes)} KB`,
        s2.rssPerConnBytes <= targets.s2RssPerConnKb * 1024,
      );
      stalenessP50VsLimit(s2, get('S2', 'limit'));
    }
    const s3 = get('S3', server);
    if (s3) {
      const pct = (100 * s3.feedMeasured) / s3.feedTarget;
      check('S3', 'feed ≥ 99 % of its set rate', `${fmt(pct, 1)} %`, pct >= 99);
      const perClient = (100 * s3.deliveredPerSec) / s3.offeredPerSec;
      check(
        'S3',
        'per-client delivery at the tier rate',
        `${fmt(perClient, 1)} % of ${fmt(1000 / s3.intervalMs)} updates/s per symbol`,
        perClient >= 99,
      );
      check(
        'S3',
        'ingest under one core',
        `${fmt(s3.idleCpuPercent, 0)} % with no client, ${fmt(s3.serverCpuPercent, 0)} % loaded`,
        s3.idleCpuPercent < 100,
      );
    }
    const s4 = get('S4', server);
    if (s4) {
      const limit = get('S4', 'limit');
      cpuVsLimit(s4, limit, SHARED_TARGETS.s4CpuVsLimit);
      const windowRate = 1000 / s4.intervalMs;
      const maxFrames = SHARED_TARGETS.s4FramesVsWindowRate * windowRate;
      check(
        'S4',
        `frames per client per second ≤ ${SHARED_TARGETS.s4FramesVsWindowRate} × window rate (${fmt(maxFrames, Number.isInteger(maxFrames) ? 0 : 2)}/s)`,
        `${fmt(s4.framesPerClientPerSec, 2)}/s = ${fmt(s4.framesPerClientPerSec / windowRate, 2)}× the window rate` +
          (limit ? ` (limit: ${fmt(limit.framesPerClientPerSec, 2)}/s)` : ''),
        s4.framesPerClientPerSec <= maxFrames,
      );
      stalenessP99Bound(s4);
    }
  }
  // Grouped by scenario, then by variant, as the other tables are.
  const order = [...new Set(results.map((r) => r.scenario))];
  return checks
    .map((c, i) => ({ c, i }))
    .sort((a, b) => order.indexOf(a.c.scenario) - order.indexOf(b.c.scenario) || a.i - b.i)
    .map(({ c }) => c);
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  const met = (m: TargetCheck['met']): string =>
    m === undefined ? '–' : m === 'partly' ? 'partly' : m ? 'yes' : 'NO';
  return markdownTable(
    ['scenario', 'server', 'target', 'measured', 'met'],
    checks.map((c) => [c.scenario, c.server, c.target, c.measured, met(c.met)]),
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
