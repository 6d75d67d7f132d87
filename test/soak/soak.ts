/**
 * Soak test: `npm run soak -- --minutes N`.
 *
 * Starts the built server as a child process (127.0.0.1, free port), holds
 * steady clients plus per-second churn against it for N minutes, samples
 * heap-after-GC, RSS, open fds, active handles and client counts every
 * `--sample-sec` seconds, and at the end disconnects everyone and checks that
 * fds and handles return to where they started. Prints a table and the
 * least-squares growth per 10 minutes (after a warm-up), writes JSON to
 * test/soak/results/, and exits 1 when a bound is broken. Stops by itself.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SymbolInfo } from '../../src/shared/market.js';
import { closeAllRawSockets } from '../support/raw-socket.js';
import { type CandleCount, countCandles, measureCandleBytes } from './soak-history.js';
import { type LoadCounters, SoakLoad, seededRandom } from './soak-load.js';
import {
  ensureServerBuilt,
  findRoot,
  getJson,
  getText,
  type HeapReport,
  parseGauges,
  procSample,
  type ServerProcess,
  startServer,
} from './soak-server.js';
import { formatTable, leastSquares, per10Minutes, type Point } from './soak-stats.js';

const MB = 2 ** 20;

interface Sample {
  /** Seconds since the load started (negative: before). */
  t: number;
  phase: 'baseline' | 'load' | 'drained';
  heapMb: number;
  rssMb: number;
  fds: number;
  handles: number;
  serverClients: number;
  subscriptions: number;
  pipelines: number;
  loopLagMs: number;
  steady: number;
  churn: number;
  quotesPerSec: number;
  staleP50Ms: number;
  staleP99Ms: number;
}

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    clients: { type: 'string', default: '200' },
    churn: { type: 'string', default: '5' },
    'sample-sec': { type: 'string', default: '10' },
    'warmup-min': { type: 'string' },
    ticks: { type: 'string', default: '500' },
    seed: { type: 'string', default: '1' },
    'max-heap-slope': { type: 'string', default: '2' },
    'max-rss-slope': { type: 'string', default: '10' },
    'fd-tolerance': { type: 'string', default: '2' },
  },
  strict: true,
});

function num(name: keyof typeof args, min: number, max: number): number {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(
      `soak: --${name} must be a number from ${min} to ${max} (got ${String(args[name])})`,
    );
    process.exit(2);
  }
  return value;
}

const minutes = num('minutes', 0.5, 24 * 60);
const steadyClients = num('clients', 0, 5000);
const churnPerSec = num('churn', 0, 200);
const sampleSec = num('sample-sec', 1, 600);
const warmupMin =
  args['warmup-min'] === undefined ? Math.min(2, minutes / 3) : num('warmup-min', 0, minutes);
const ticksPerSec = num('ticks', 1, 200_000);
const seed = num('seed', 0, 2 ** 32 - 1);
const maxHeapSlope = num('max-heap-slope', 0, 1e6);
const maxRssSlope = num('max-rss-slope', 0, 1e6);
const fdTolerance = num('fd-tolerance', 0, 1000);

let server: ServerProcess | undefined;
/** Never outlive the run by much, whatever happens. */
const hardStop = setTimeout(
  () => {
    console.error('soak: hard time limit reached, killing the server');
    server?.child.kill('SIGKILL');
    process.exit(2);
  },
  (minutes + 5) * 60_000,
);
hardStop.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server?.child.kill('SIGKILL');
    process.exit(130);
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function sample(
  s: ServerProcess,
  t: number,
  phase: Sample['phase'],
  load: SoakLoad | undefined,
  quotesPerSec: number,
): Promise<Sample> {
  // /proc first, so the probe's own HTTP connections are not counted.
  const proc = procSample(s.pid);
  // Metrics before the GC, and a scrape after it (which resets the loop-delay window),
  // so the probe's forced GC never shows up as event-loop lag.
  const gauges = parseGauges(await getText(`${s.url}/metrics`), [
    'tickstream_connected_clients',
    'tickstream_subscriptions',
    'tickstream_pipelines',
    'tickstream_event_loop_lag_seconds{quantile="0.99"}',
  ]);
  const heap = (await getJson<HeapReport>(`${s.url}/debug/heap`)).body;
  await getText(`${s.url}/metrics`);
  const stale = load?.takeStaleness() ?? [];
  return {
    t: Math.round(t),
    phase,
    heapMb: heap.heapUsedBytes / MB,
    rssMb: proc.rssBytes / MB,
    fds: proc.fds,
    handles: heap.activeHandles,
    serverClients: gauges.tickstream_connected_clients ?? NaN,
    subscriptions: gauges.tickstream_subscriptions ?? NaN,
    pipelines: gauges.tickstream_pipelines ?? NaN,
    loopLagMs: (gauges['tickstream_event_loop_lag_seconds{quantile="0.99"}'] ?? NaN) * 1000,
    steady: load?.steadyConnected ?? 0,
    churn: load?.churnLive ?? 0,
    quotesPerSec,
    staleP50Ms: percentile(stale, 50),
    staleP99Ms: percentile(stale, 99),
  };
}

const HEADER = [
  't(s)',
  'phase',
  'heapMB',
  'rssMB',
  'fds',
  'handles',
  'clients',
  'subs',
  'pipes',
  'lagP99ms',
  'steady',
  'churn',
  'quotes/s',
  'staleP50',
  'staleP99',
];
function row(s: Sample): string[] {
  const f = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : '-');
  return [
    String(s.t),
    s.phase,
    f(s.heapMb),
    f(s.rssMb),
    String(s.fds),
    String(s.handles),
    f(s.serverClients, 0),
    f(s.subscriptions, 0),
    f(s.pipelines, 0),
    f(s.loopLagMs),
    String(s.steady),
    String(s.churn),
    f(s.quotesPerSec, 0),
    f(s.staleP50Ms, 0),
    f(s.staleP99Ms, 0),
  ];
}

async function main(): Promise<number> {
  const root = findRoot();
  ensureServerBuilt();
  const env = {
    LOG_LEVEL: 'warn',
    FEED_TICKS_PER_SECOND: String(ticksPerSec),
    // Every soak client comes from 127.0.0.1.
    MAX_CONNECTIONS_PER_IP: '0',
  };
  server = await startServer(root, env);
  const s = server;
  console.log(
    `soak: server pid ${s.pid} at ${s.url}; ${minutes} min, ${steadyClients} steady clients, ` +
      `${churnPerSec} arrivals/s, sample every ${sampleSec} s, warm-up ${warmupMin.toFixed(1)} min, seed ${seed}`,
  );
  const heapProbe = (await getJson<HeapReport>(`${s.url}/debug/heap`)).body;
  if (!heapProbe.gc)
    console.warn('soak: /debug/heap did not run a GC: heap numbers include garbage');

  const symbols = (await getJson<SymbolInfo[]>(`${s.url}/api/symbols`)).body.map((i) => i.symbol);
  await sleep(2000);
  const samples: Sample[] = [];
  const print = (x: Sample): void => {
    samples.push(x);
    const lines = formatTable(HEADER, [row(x)]).split('\n');
    if (samples.length === 1) console.log(lines[0] + '\n' + lines[1]);
    console.log(lines[2]);
  };
  const baseline = await sample(s, 0, 'baseline', undefined, 0);
  print(baseline);

  const load = new SoakLoad(s.url, symbols, seededRandom(seed));
  const started = Date.now();
  await load.startSteady(steadyClients);
  console.log(
    `soak: ${load.steadyConnected} steady clients connected in ${Date.now() - started} ms`,
  );

  const candleBytes = measureCandleBytes();
  let windowStart: { t: number; candles: CandleCount } | undefined;
  const endAt = started + minutes * 60_000;
  let nextSample = started + sampleSec * 1000;
  let quotesAtLastSample = 0;
  let lastSampleAt = started;
  while (Date.now() < endAt) {
    load.tick(churnPerSec);
    await sleep(1000);
    if (s.child.exitCode !== null)
      throw new Error(`server exited during the run:\n${s.log().join('\n')}`);
    if (Date.now() >= nextSample) {
      const now = Date.now();
      const qps = ((load.counters.quotes - quotesAtLastSample) * 1000) / (now - lastSampleAt);
      quotesAtLastSample = load.counters.quotes;
      lastSampleAt = now;
      const x = await sample(s, (now - started) / 1000, 'load', load, qps);
      print(x);
      if (windowStart === undefined && x.t >= warmupMin * 60) {
        windowStart = { t: x.t, candles: await countCandles(s.url, symbols) };
      }
      nextSample += sampleSec * 1000;
    }
  }
  const lastLoad = samples[samples.length - 1];
  const windowEnd = { t: lastLoad.t, candles: await countCandles(s.url, symbols) };

  // Drain: everybody leaves; the server must give back what they held.
  load.stopAll();
  closeAllRawSockets();
  const drainStart = Date.now();
  let drained: Sample;
  for (;;) {
    await sleep(1000);
    drained = await sample(s, (Date.now() - started) / 1000, 'drained', undefined, 0);
    const settled =
      drained.serverClients === 0 &&
      drained.fds <= baseline.fds + fdTolerance &&
      drained.handles <= baseline.handles + fdTolerance;
    if (settled || Date.now() - drainStart > 30_000) break;
  }
  print(drained);
  const drainMs = Date.now() - drainStart;

  // Graceful shutdown of the soaked process.
  const killAt = Date.now();
  s.child.kill('SIGTERM');
  const exit = await Promise.race([s.exited, sleep(15_000).then(() => undefined)]);
  if (exit === undefined) s.child.kill('SIGKILL');
  const shutdownMs = Date.now() - killAt;

  // Growth after warm-up, per 10 minutes.
  const steadyState = samples.filter((x) => x.phase === 'load' && x.t >= warmupMin * 60);
  const fit = (pick: (x: Sample) => number): ReturnType<typeof leastSquares> =>
    leastSquares(steadyState.map((x): Point => ({ t: x.t, y: pick(x) })));
  const heapFit = fit((x) => x.heapMb);
  const rssFit = fit((x) => x.rssMb);
  const fdFit = fit((x) => x.fds);
  const handleFit = fit((x) => x.handles);
  const slopes = {
    heapMbPer10Min: per10Minutes(heapFit.slope),
    rssMbPer10Min: per10Minutes(rssFit.slope),
    fdsPer10Min: per10Minutes(fdFit.slope),
    handlesPer10Min: per10Minutes(handleFit.slope),
  };
  // The part of the heap slope that is candle history filling its bounded buffers.
  const history =
    windowStart === undefined || windowEnd.t <= windowStart.t
      ? undefined
      : {
          candleBytes,
          candlesAdded:
            windowEnd.candles.s1 +
            windowEnd.candles.m1 -
            windowStart.candles.s1 -
            windowStart.candles.m1,
          mbPer10Min: 0,
          start: windowStart,
          end: windowEnd,
        };
  if (history) {
    history.mbPer10Min = per10Minutes(
      (history.candlesAdded * candleBytes) / MB / (windowEnd.t - windowStart!.t),
    );
  }
  const netHeapSlope = slopes.heapMbPer10Min - (history?.mbPer10Min ?? 0);
  const loadSamples = samples.filter((x) => x.phase === 'load');
  const failures: string[] = [];
  if (steadyState.length < 3)
    failures.push(`only ${steadyState.length} samples after warm-up: run longer`);
  if (!(netHeapSlope <= maxHeapSlope)) {
    failures.push(
      `heap grows ${netHeapSlope.toFixed(2)} MB/10 min net of candle history (bound ${maxHeapSlope})`,
    );
  }
  // RSS carries the same history (plus the heap pages holding it): judged net of it too.
  const netRssSlope = slopes.rssMbPer10Min - (history?.mbPer10Min ?? 0);
  if (!(netRssSlope <= maxRssSlope)) {
    failures.push(
      `RSS grows ${netRssSlope.toFixed(2)} MB/10 min net of candle history (bound ${maxRssSlope})`,
    );
  }
  if (drained.serverClients !== 0)
    failures.push(`${drained.serverClients} clients still connected after drain`);
  if (drained.fds > baseline.fds + fdTolerance) {
    failures.push(`fds ${baseline.fds} -> ${drained.fds} after drain`);
  }
  if (drained.handles > baseline.handles + fdTolerance) {
    failures.push(`active handles ${baseline.handles} -> ${drained.handles} after drain`);
  }
  if (exit?.code !== 0)
    failures.push(`server exit after SIGTERM: ${JSON.stringify(exit ?? 'killed')}`);
  const counters: LoadCounters = load.counters;
  if (counters.serverDisconnects > 0)
    failures.push(`${counters.serverDisconnects} clients were disconnected by the server`);

  const summary = {
    config: { minutes, steadyClients, churnPerSec, sampleSec, warmupMin, ticksPerSec, seed, env },
    machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
    baseline,
    drained,
    drainMs,
    shutdown: { exit, ms: shutdownMs },
    slopes: {
      ...slopes,
      candleHistoryMbPer10Min: history?.mbPer10Min ?? null,
      netHeapMbPer10Min: netHeapSlope,
      netRssMbPer10Min: netRssSlope,
    },
    candleHistory: history ?? null,
    fits: { heap: heapFit, rss: rssFit, fds: fdFit, handles: handleFit },
    peak: {
      heapMb: Math.max(...loadSamples.map((x) => x.heapMb)),
      rssMb: Math.max(...loadSamples.map((x) => x.rssMb)),
      fds: Math.max(...loadSamples.map((x) => x.fds)),
      serverClients: Math.max(...loadSamples.map((x) => x.serverClients)),
      staleP99Ms: Math.max(...loadSamples.map((x) => x.staleP99Ms)),
    },
    counters,
    clientErrors: Object.fromEntries(load.errors),
    serverWarnings: s.warnings(),
    serverLogTail: s.log().slice(-20),
    failures,
    samples,
  };
  const outDir = join(root, 'test/soak/results');
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(outFile, JSON.stringify(summary, null, 2));

  const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');
  console.log('\n' + formatTable(HEADER, samples.map(row)));
  console.log(
    `\nafter ${warmupMin.toFixed(1)} min warm-up (${steadyState.length} samples), growth per 10 min: ` +
      `heap ${f2(slopes.heapMbPer10Min)} MB (r² ${f2(heapFit.r2)}), RSS ${f2(slopes.rssMbPer10Min)} MB, ` +
      `fds ${f2(slopes.fdsPer10Min)}, handles ${f2(slopes.handlesPer10Min)}`,
  );
  if (history) {
    console.log(
      `candle history: +${history.candlesAdded} candles in the fit window at ${f2(candleBytes)} B each = ` +
        `${f2(history.mbPer10Min)} MB/10 min (bounded: 1 s buffers are full after an hour); ` +
        `net of it: heap ${f2(netHeapSlope)}, RSS ${f2(netRssSlope)} MB/10 min`,
    );
  }
  console.log(
    `drain: fds ${baseline.fds} -> ${drained.fds}, handles ${baseline.handles} -> ${drained.handles}, ` +
      `clients ${drained.serverClients}, in ${drainMs} ms; SIGTERM -> exit ${JSON.stringify(exit)} in ${shutdownMs} ms`,
  );
  console.log(`load: ${JSON.stringify(counters)}; server warnings: ${s.warnings()}`);
  if (load.errors.size > 0)
    console.log(`client errors: ${JSON.stringify(Object.fromEntries(load.errors))}`);
  console.log(`results: ${outFile}`);
  if (failures.length > 0) {
    console.log(`\nSOAK FAILED:\n  - ${failures.join('\n  - ')}`);
    return 1;
  }
  console.log('\nSOAK PASSED');
  return 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    console.error('soak: failed:', err instanceof Error ? err.stack : err);
    server?.child.kill('SIGKILL');
    process.exit(2);
  });
