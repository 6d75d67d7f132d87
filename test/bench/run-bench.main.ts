/**
 * `npm run bench [-- options]`: runs every scenario against ours (over
 * Socket.IO and over /ws) and the two reference servers, one server process
 * and one or more load-generator processes at a time, all on 127.0.0.x, each
 * run bounded in time.
 *
 * Options:
 *   --quick                 one ~10 s smoke run per server; fails if a server delivers nothing
 *   --scenario S1,S4        scenarios to run (default: all)
 *   --server ours-ws,limit  servers to run (default: limit, ours-sio, ours-ws, naive; `ours` = ours-sio)
 *   --loadgen-procs N       load-generator processes (default: as few as file limits allow)
 *   --measure-s N           override the measurement duration (naive stays capped by its own)
 *   --clients N             override the client count of every scenario (for exploring)
 *   --cpu-prof              run each server under `node --cpu-prof` and print its top self-time functions
 *   --seed N                feed and client-choice seed (default 42)
 *   --nice N                scheduling priority of the server and load generators (default -10 for full
 *                           runs, 0 for --quick): on a shared 2-core machine, other work otherwise
 *                           steals the benchmark's CPU. 0 turns it off.
 *   --no-wait-quiet         start each run at once, even if other processes keep the machine busy
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, setPriority, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MARKET_NAMESPACE } from '../../src/shared/protocol.js';
import { WS_PATH } from '../../src/shared/ws-protocol.js';
import {
  OURS,
  type RunResult,
  SERVER_NAMES,
  type ServerName,
  checkTargets,
  offeredPerSec,
  parseServerList,
  ratiosTable,
  resultsTable,
  targetsTable,
} from './bench-report.js';
import { freePort } from '../support/free-port.js';
import { benchUniverse, clientSymbols } from './bench-universe.js';
import { profileReport } from './cpu-profile-summary.js';
import type {
  FromProbe,
  FromWorker,
  LoadgenConfig,
  MeasureReport,
  RampReport,
  ToProbe,
  ToWorker,
} from './ipc-messages.js';
import { mergeSummaries } from './latency-stats.js';
import {
  cpuSeconds,
  machineBusySeconds,
  machineCpu,
  machineDescription,
  openFilesHardLimit,
  rssBytes,
} from './proc-stats.js';
import { feedRateFromSpans, mergeSpans } from './quote-tracker.js';
import { type Scenario, UNIVERSE_SIZE, scenarios } from './scenarios.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root: this file runs from dist-bench/test/bench/. */
const root = resolve(here, '../../..');
const resultsDir = join(root, 'test/bench/results');
/**
 * V8 hands the pages a full GC freed back to the OS from a background thread,
 * after `gc()` has returned: RSS sampled at once still counts them (seen: 498 MB
 * right after a forced GC, 280 MB 200 ms later, heap total 212 MB throughout).
 */
const GC_SETTLE_MS = 1000;
const HOST = '127.0.0.1';
/** Source addresses for clients, so 20 000+ connections never run out of ephemeral ports. */
const SOURCE_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
/** A server above this RSS is stopped: the naive one can queue without bound. */
const RSS_GUARD_BYTES = 6 * 1024 ** 3;
/** Other processes' CPU (% of one core) under which the machine counts as quiet. */
const QUIET_BUSY_PERCENT = 25;
/** File descriptors a server or load generator needs besides its sockets. */
const FD_RESERVE = 100;

interface Options {
  quick: boolean;
  scenarios: string[] | undefined;
  servers: ServerName[];
  loadgenProcs: number | undefined;
  measureMs: number | undefined;
  clients: number | undefined;
  cpuProf: boolean;
  seed: number;
  waitQuiet: boolean;
  nice: number | undefined;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    quick: false,
    scenarios: undefined,
    servers: [...SERVER_NAMES],
    loadgenProcs: undefined,
    measureMs: undefined,
    clients: undefined,
    cpuProf: false,
    seed: 42,
    waitQuiet: true,
    nice: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--quick':
        opts.quick = true;
        break;
      case '--scenario':
        opts.scenarios = value().toUpperCase().split(',');
        break;
      case '--server':
        opts.servers = parseServerList(value());
        break;
      case '--loadgen-procs':
        opts.loadgenProcs = Math.max(1, Math.min(8, Number(value()) | 0));
        break;
      case '--measure-s':
        opts.measureMs = Math.max(1, Math.min(600, Number(value()))) * 1000;
        break;
      case '--clients':
        opts.clients = Math.max(1, Math.min(100_000, Number(value()) | 0));
        break;
      case '--cpu-prof':
        opts.cpuProf = true;
        break;
      case '--nice':
        opts.nice = Math.max(-20, Math.min(19, Number(value()) | 0));
        break;
      case '--no-wait-quiet':
        opts.waitQuiet = false;
        break;
      case '--seed':
        opts.seed = Number(value()) >>> 0;
        break;
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  return opts;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function waitForPort(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('server exited before listening');
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, HOST, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`server did not listen on ${port} within ${timeoutMs} ms`);
}

/** Machine CPU busy over `ms`, in % of one core. */
async function machineBusyPercent(ms: number): Promise<number> {
  const b0 = machineBusySeconds();
  await sleep(ms);
  return ((machineBusySeconds() - b0) * 100_000) / ms;
}

/**
 * Waits (bounded) until the rest of the machine is nearly idle: on two cores,
 * someone else's build during a run halves what the server and load generator get.
 */
async function waitForQuiet(maxWaitMs: number): Promise<string | undefined> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await machineBusyPercent(2000);
  while (busy > QUIET_BUSY_PERCENT && Date.now() < deadline) {
    log(`machine busy (${busy.toFixed(0)} % of a core used by other processes): waiting`);
    busy = await machineBusyPercent(5000);
  }
  return busy > QUIET_BUSY_PERCENT
    ? `started with the machine ${busy.toFixed(0)} % busy (other processes)`
    : undefined;
}

/** Raises a child's scheduling priority; says why not if it cannot. */
function prioritise(pid: number, nice: number | undefined): string | undefined {
  if (!nice) return undefined;
  try {
    setPriority(pid, nice);
    return undefined;
  } catch (err) {
    return `could not set nice ${nice}: ${(err as Error).message}`;
  }
}

/** A server under test: its process and the probe preloaded into it. */
class ServerProcess {
  readonly child: ChildProcess;
  private exited = false;

  constructor(
    readonly name: ServerName,
    script: string,
    env: NodeJS.ProcessEnv,
    logFile: string,
    profileDir: string | undefined,
  ) {
    const probe = pathToFileURL(join(here, 'server-probe.preload.js')).href;
    const args = ['--expose-gc', '--import', probe];
    if (profileDir) args.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
    args.push(script);
    this.child = spawn(process.execPath, args, {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const out = createWriteStream(logFile);
    this.child.stdout?.pipe(out);
    this.child.stderr?.pipe(out);
    this.child.on('exit', () => (this.exited = true));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Sends a probe request and waits for the matching reply; undefined if the server is too busy to answer. */
  ask<K extends FromProbe['probe']>(
    msg: ToProbe,
    reply: K,
    timeoutMs: number,
  ): Promise<Extract<FromProbe, { probe: K }> | undefined> {
    return new Promise((done) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const onMessage = (raw: unknown): void => {
        const m = raw as FromProbe;
        if (m && m.probe === reply) finish(m as Extract<FromProbe, { probe: K }>);
      };
      const finish = (value: Extract<FromProbe, { probe: K }> | undefined): void => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        done(value);
      };
      this.child.on('message', onMessage);
      if (this.alive && this.child.connected) this.child.send(msg);
    });
  }

  /** Asks the server to exit (so --cpu-prof writes its profile), then kills it. */
  async stop(graceMs: number): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.send({ probe: 'exit' } satisfies ToProbe);
    await Promise.race([exited, sleep(graceMs)]);
    if (this.alive) {
      this.child.kill('SIGKILL');
      await exited;
    }
  }
}

/** The load-generator processes of one run. */
class Loadgen {
  readonly workers: ChildProcess[] = [];
  private readonly waiting = new Map<string, ((msg: FromWorker) => void)[]>();

  constructor(count: number) {
    const script = join(here, 'loadgen.worker.js');
    for (let i = 0; i < count; i++) {
      // BENCH_LOADGEN_PROFILE_DIR=dir profiles the load generators themselves (are they the bottleneck?).
      const profileDir = process.env.BENCH_LOADGEN_PROFILE_DIR;
      const execArgv = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
      const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
      child.on('message', (raw: unknown) => {
        const msg = raw as FromWorker;
        if (msg.kind === 'fatal') log(`load generator ${i} failed: ${msg.message}`);
        const queue = this.waiting.get(msg.kind);
        queue?.shift()?.(msg);
      });
      this.workers.push(child);
    }
  }

  /** Collects one message of `kind` from every worker, or what arrived by the timeout. */
  collect<K extends FromWorker['kind']>(
    kind: K,
    timeoutMs: number,
  ): Promise<Extract<FromWorker, { kind: K }>[]> {
    return new Promise((done) => {
      const got: Extract<FromWorker, { kind: K }>[] = [];
      const queue = this.waiting.get(kind) ?? [];
      this.waiting.set(kind, queue);
      const timer = setTimeout(() => {
        queue.length = 0;
        done(got);
      }, timeoutMs);
      for (let i = 0; i < this.workers.length; i++) {
        queue.push((msg) => {
          got.push(msg as Extract<FromWorker, { kind: K }>);
          if (got.length === this.workers.length) {
            clearTimeout(timer);
            done(got);
          }
        });
      }
    });
  }

  broadcast(msg: ToWorker): void {
    for (const w of this.workers) if (w.connected) w.send(msg);
  }

  send(i: number, msg: ToWorker): void {
    this.workers[i].send(msg);
  }

  pids(): number[] {
    return this.workers.map((w) => w.pid!);
  }

  async stop(): Promise<void> {
    this.broadcast({ kind: 'shutdown' });
    await Promise.race([
      Promise.all(
        this.workers.map(
          (w) => new Promise<void>((r) => (w.exitCode !== null ? r() : w.once('exit', () => r()))),
        ),
      ),
      sleep(5000),
    ]);
    for (const w of this.workers)
      if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  }
}

function serverScript(name: ServerName): string {
  // Ours is compiled with the bench (same tsc, same options as `nest build`) into dist-bench/,
  // so a parallel `nest build`, which empties dist/, cannot pull files from under a run.
  // ours-sio and ours-ws are the same process: only the load generator's protocol differs.
  if (OURS.includes(name)) return join(root, 'dist-bench/src/main.js');
  return join(here, `${name}-server.main.js`);
}

/** How the load generator reaches a server: the plain /ws JSON protocol or Socket.IO. */
function clientTransport(name: ServerName): Pick<LoadgenConfig, 'transport' | 'nsp' | 'path'> {
  if (name === 'ours-ws') return { transport: 'ws', nsp: MARKET_NAMESPACE, path: WS_PATH };
  return {
    transport: 'socket.io',
    nsp: MARKET_NAMESPACE,
    path: '/socket.io/?EIO=4&transport=websocket',
  };
}

async function runOne(
  scenario: Scenario,
  server: ServerName,
  opts: Options,
  universeFile: string,
  universe: string[],
  stamp: string,
): Promise<RunResult> {
  const notes: string[] = [];
  const fdLimit = openFilesHardLimit();
  const clientsWanted = opts.clients ?? scenario.clients;
  const clientsRun = Math.min(clientsWanted, fdLimit - FD_RESERVE);
  if (clientsRun < clientsWanted) {
    notes.push(
      `${clientsRun} of ${clientsWanted} clients: the hard open-files limit here is ${fdLimit} per process and the server holds one descriptor per connection`,
    );
  }
  const perProcMax = Math.min(12_000, fdLimit - FD_RESERVE);
  const procs = Math.max(opts.loadgenProcs ?? 1, Math.ceil(clientsRun / perProcMax));
  const measureMs =
    server === 'naive'
      ? Math.min(scenario.naiveMeasureMs, opts.measureMs ?? Infinity)
      : (opts.measureMs ?? scenario.measureMs);

  if (opts.waitQuiet) {
    // With raised priority other work matters less: wait briefly only.
    const busy = await waitForQuiet(opts.nice !== undefined && opts.nice < 0 ? 20_000 : 180_000);
    if (busy) notes.push(busy);
  }
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST,
    SEED: String(opts.seed),
    FEED_TICKS_PER_SECOND: String(scenario.feedTicksPerSecond),
    MAX_SYMBOLS_PER_CLIENT: String(UNIVERSE_SIZE),
    // The load generator is thousands of clients from 8 addresses: lift the per-IP abuse cap.
    MAX_CONNECTIONS_PER_IP: '0',
    SYMBOLS_FILE: universeFile,
    LOG_LEVEL: 'warn',
    SERVE_DASHBOARD: 'false',
    NODE_ENV: 'production',
  };
  const tag = `${stamp}-${scenario.id}-${server}`;
  const profileDir = opts.cpuProf ? join(resultsDir, 'profiles', tag) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  log(
    `${scenario.id} ${server}: starting server on ${HOST}:${port} (${clientsRun} clients, ${procs} load-generator process(es))`,
  );
  const srv = new ServerProcess(
    server,
    serverScript(server),
    env,
    join(resultsDir, `${tag}.log`),
    profileDir,
  );
  const niceProblem = prioritise(srv.pid, opts.nice);
  if (niceProblem) notes.push(niceProblem);

  const result: RunResult = {
    scenario: scenario.id,
    server,
    notes,
    clientsRequested: scenario.clients,
    clientsRun,
    connected: 0,
    clientsMeasured: 0,
    connectFailures: 0,
    failureReasons: {},
    connectSeconds: NaN,
    measureSeconds: 0,
    intervalMs: scenario.intervalMs,
    subscriptions: 0,
    quotes: 0,
    deliveredPerSec: 0,
    framesPerSec: 0,
    framesPerClientPerSec: NaN,
    bytesPerSec: 0,
    offeredPerSec: NaN,
    staleness: { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN },
    feedTarget: scenario.feedTicksPerSecond,
    feedMeasured: NaN,
    serverCpuPercent: NaN,
    idleCpuPercent: NaN,
    cpuSecondsPerMillion: NaN,
    rssIdleBytes: NaN,
    rssLoadedBytes: NaN,
    rssMaxBytes: NaN,
    rssPerConnBytes: NaN,
    loopDelay: undefined,
    seqRegressions: 0,
    seqDuplicates: 0,
    seqSkipped: 0,
    missedWindows: 0,
    unexpected: 0,
    drops: 0,
    loadgenCpuPercent: [],
    loadgenLoopP99Ms: [],
    otherCpuPercent: NaN,
    interruptCpuPercent: NaN,
    stealCpuPercent: NaN,
    rssAfterRampBytes: NaN,
    heapIdleBytes: NaN,
    heapAfterRampBytes: NaN,
    heapLoadedBytes: NaN,
    rssTimelineMb: [],
    memoryIdle: undefined,
    memoryLoaded: undefined,
  };

  let loadgen: Loadgen | undefined;
  try {
    await waitForPort(port, 30_000, () => srv.alive);

    // Idle: the feed runs with no client. Half to warm up, half measured.
    await sleep(scenario.idleMs / 2);
    const idleCpu0 = cpuSeconds(srv.pid);
    const idleT0 = Date.now();
    await sleep(scenario.idleMs / 2);
    result.idleCpuPercent = ((cpuSeconds(srv.pid) - idleCpu0) * 100_000) / (Date.now() - idleT0);
    const idle = await srv.ask({ probe: 'gc' }, 'gc-done', 10_000);
    await sleep(GC_SETTLE_MS);
    result.rssIdleBytes = rssBytes(srv.pid);
    result.heapIdleBytes = idle?.heapUsedBytes ?? NaN;
    result.memoryIdle = idle
      ? { heapTotalBytes: idle.heapTotalBytes, externalBytes: idle.externalBytes }
      : undefined;

    // Ramp.
    loadgen = new Loadgen(procs);
    for (const pid of loadgen.pids()) prioritise(pid, opts.nice);
    const all = Array.from({ length: clientsRun }, (_, id) => ({
      id,
      symbols: clientSymbols(universe, scenario.symbolsPerClient, opts.seed, id),
    }));
    for (let w = 0; w < procs; w++) {
      const config: LoadgenConfig = {
        worker: w,
        host: HOST,
        port,
        ...clientTransport(server),
        universe,
        clients: all.filter((c) => c.id % procs === w),
        intervalMs: scenario.intervalMs,
        sourceAddresses: SOURCE_ADDRESSES,
        rampPerSecond: scenario.rampPerSecond / procs,
        maxInFlight: 250,
        connectTimeoutMs: 30_000,
        rampTimeoutMs: scenario.rampTimeoutMs,
      };
      loadgen.send(w, { kind: 'start', config });
    }
    const ramped = (await loadgen.collect('ramped', scenario.rampTimeoutMs + 15_000)).map(
      (m) => m.report,
    );
    if (ramped.length < procs)
      notes.push(`${procs - ramped.length} load generator(s) did not finish the ramp in time`);
    summariseRamp(result, ramped);
    log(
      `${scenario.id} ${server}: ${result.connected} subscribed, ${result.connectFailures} failed in ${result.connectSeconds.toFixed(1)} s`,
    );
    if (result.connected === 0) throw new Error('no client could subscribe');
    const afterRamp = await srv.ask({ probe: 'gc' }, 'gc-done', 10_000);
    await sleep(GC_SETTLE_MS);
    result.rssAfterRampBytes = rssBytes(srv.pid);
    result.heapAfterRampBytes = afterRamp?.heapUsedBytes ?? NaN;

    await sleep(scenario.settleMs);

    // Measure.
    const measured = loadgen.collect('measured', measureMs + 60_000);
    loadgen.broadcast({ kind: 'measure-start' });
    await srv.ask({ probe: 'reset' }, 'reset-done', 5_000);
    const cpu0 = cpuSeconds(srv.pid);
    const machine0 = machineCpu();
    const loadgenCpu0 = loadgen.pids().map(cpuSeconds);
    const t0 = Date.now();
    let rssMax = rssBytes(srv.pid);
    while (Date.now() - t0 < measureMs) {
      await sleep(Math.min(1000, measureMs - (Date.now() - t0)));
      if (!srv.alive) throw new Error('server exited while measuring');
      const rss = rssBytes(srv.pid);
      rssMax = Math.max(rssMax, rss);
      result.rssTimelineMb.push(Math.round(rss / 1048576));
      if (rss > RSS_GUARD_BYTES) {
        result.aborted = `stopped at ${((Date.now() - t0) / 1000).toFixed(0)} s: RSS over ${RSS_GUARD_BYTES / 1024 ** 3} GiB`;
        break;
      }
    }
    const cpu1 = cpuSeconds(srv.pid);
    const machine1 = machineCpu();
    const loadgenCpu = loadgen
      .pids()
      .reduce((a, pid, i) => a + cpuSeconds(pid) - loadgenCpu0[i], 0);
    const t1 = Date.now();
    loadgen.broadcast({ kind: 'measure-stop' });
    const loop = await srv.ask({ probe: 'read' }, 'stats', 10_000);
    const reports = (await measured).map((m) => m.report);
    const gc = await srv.ask({ probe: 'gc' }, 'gc-done', 10_000);
    if (!gc) notes.push('server too busy to run a GC before the loaded RSS sample');
    await sleep(GC_SETTLE_MS);
    result.rssLoadedBytes = rssBytes(srv.pid);
    result.heapLoadedBytes = gc?.heapUsedBytes ?? NaN;
    result.memoryLoaded = gc
      ? { heapTotalBytes: gc.heapTotalBytes, externalBytes: gc.externalBytes }
      : undefined;
    result.rssMaxBytes = Math.max(rssMax, result.rssLoadedBytes);
    result.loopDelay = loop?.loop;
    if (!loop) notes.push('server too busy to report its event-loop delay');

    const cpuUsed = cpu1 - cpu0;
    result.serverCpuPercent = (cpuUsed * 100_000) / (t1 - t0);
    // Everything else the machine ran meanwhile: other people's builds skew a 2-core benchmark.
    const wall = t1 - t0;
    // irq/softirq is counted in: the kernel charges some of it to the task it interrupted.
    const machineUsed =
      machine1.tasks +
      machine1.interrupts +
      machine1.steal -
      (machine0.tasks + machine0.interrupts + machine0.steal);
    result.otherCpuPercent = Math.max(0, ((machineUsed - cpuUsed - loadgenCpu) * 100_000) / wall);
    result.interruptCpuPercent = ((machine1.interrupts - machine0.interrupts) * 100_000) / wall;
    result.stealCpuPercent = ((machine1.steal - machine0.steal) * 100_000) / wall;
    if (result.otherCpuPercent > QUIET_BUSY_PERCENT) {
      notes.push(
        `other processes used ${result.otherCpuPercent.toFixed(0)} % of a core while measuring: latency and delivery are skewed`,
      );
    }
    summariseMeasure(result, reports, scenario, server);
    result.cpuSecondsPerMillion = result.quotes > 0 ? (cpuUsed * 1e6) / result.quotes : NaN;
    result.rssPerConnBytes =
      (result.rssLoadedBytes - result.rssIdleBytes) / Math.max(1, result.connected);
    log(
      `${scenario.id} ${server}: ${Math.round(result.deliveredPerSec)} quotes/s, CPU ${result.serverCpuPercent.toFixed(0)} %, p99 ${result.staleness.p99} ms`,
    );
  } catch (err) {
    result.aborted = err instanceof Error ? err.message : String(err);
    log(`${scenario.id} ${server}: ${result.aborted}`);
  } finally {
    // Server first: its side then holds the TIME_WAIT sockets, not the clients' source ports.
    await srv.stop(profileDir ? 30_000 : 5_000);
    await loadgen?.stop();
  }
  if (profileDir) {
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length > 0) {
      const report = profileReport(join(profileDir, files[0]), 30);
      writeFileSync(join(resultsDir, `${tag}-profile.md`), `${report}\n`);
      process.stdout.write(`\n### CPU profile: ${scenario.id} ${server}\n\n${report}\n`);
    } else {
      notes.push('no CPU profile was written');
    }
  }
  return result;
}

function summariseRamp(result: RunResult, ramped: RampReport[]): void {
  result.connected = ramped.reduce((a, r) => a + r.subscribed, 0);
  result.connectFailures =
    ramped.reduce((a, r) => a + r.failed, 0) +
    (result.clientsRun - ramped.reduce((a, r) => a + r.attempted, 0));
  result.connectSeconds = Math.max(0, ...ramped.map((r) => r.rampMs)) / 1000;
  for (const r of ramped) {
    for (const [reason, count] of Object.entries(r.failureReasons)) {
      result.failureReasons[reason] = (result.failureReasons[reason] ?? 0) + count;
    }
  }
}

function summariseMeasure(
  result: RunResult,
  reports: MeasureReport[],
  scenario: Scenario,
  server: ServerName,
): void {
  if (reports.length === 0) throw new Error('no load generator reported');
  const seconds = Math.max(...reports.map((r) => r.endMs - r.startMs)) / 1000;
  const sum = (f: (r: MeasureReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
  result.measureSeconds = seconds;
  result.subscriptions = sum((r) => r.subscriptionsAtStart);
  result.quotes = sum((r) => r.quotes);
  result.deliveredPerSec = result.quotes / seconds;
  result.framesPerSec = sum((r) => r.frames) / seconds;
  result.clientsMeasured = sum((r) => r.clientsAtStart);
  result.framesPerClientPerSec =
    result.clientsMeasured > 0 ? result.framesPerSec / result.clientsMeasured : NaN;
  result.bytesPerSec = sum((r) => r.bytes) / seconds;
  result.offeredPerSec = offeredPerSec(
    server,
    result.subscriptions,
    scenario.intervalMs,
    scenario.feedTicksPerSecond,
    UNIVERSE_SIZE,
  );
  result.staleness = mergeSummaries(reports.map((r) => r.staleness));
  result.feedMeasured = feedRateFromSpans(mergeSpans(reports.map((r) => r.feedSpan)));
  result.seqRegressions = sum((r) => r.seqRegressions);
  result.seqDuplicates = sum((r) => r.seqDuplicates);
  result.seqSkipped = sum((r) => r.seqSkipped);
  result.missedWindows = sum((r) => r.missedWindows);
  result.unexpected = sum((r) => r.unexpected);
  result.drops = sum((r) => r.drops);
  result.loadgenCpuPercent = reports.map((r) => r.cpuPercent);
  result.loadgenLoopP99Ms = reports.map((r) => r.loopDelayP99Ms);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  if (opts.quick) opts.waitQuiet = false;
  opts.nice ??= opts.quick ? 0 : -10;
  const chosen = scenarios(opts.quick).filter(
    (s) => !opts.scenarios || opts.scenarios.includes(s.id),
  );
  if (chosen.length === 0) throw new Error('no scenario selected');
  if (opts.servers.some((s) => OURS.includes(s)) && !existsSync(serverScript('ours-sio'))) {
    throw new Error(
      'dist-bench/src/main.js is missing: run `tsc -p test/bench/tsconfig.json` first (npm run bench does)',
    );
  }

  const instruments = benchUniverse(UNIVERSE_SIZE, opts.seed);
  const universeFile = join(resultsDir, `universe-${UNIVERSE_SIZE}.json`);
  writeFileSync(universeFile, `${JSON.stringify(instruments, null, 1)}\n`);
  const universe = instruments.map((i) => i.symbol);

  const machine = `${machineDescription()}, ${cpus().length} cores, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}, ${process.platform}`;
  log(`machine: ${machine}`);
  const results: RunResult[] = [];
  for (const scenario of chosen) {
    for (const server of opts.servers) {
      results.push(await runOne(scenario, server, opts, universeFile, universe, stamp));
      await sleep(1000);
    }
  }

  const checks = checkTargets(results);
  const notes = results.flatMap((r) => r.notes.map((n) => `- ${r.scenario} ${r.server}: ${n}`));
  const failures = results
    .filter((r) => Object.keys(r.failureReasons).length > 0)
    .map(
      (r) => `- ${r.scenario} ${r.server}: connect failures ${JSON.stringify(r.failureReasons)}`,
    );
  const md = [
    `## Benchmark ${stamp}${opts.quick ? ' (quick)' : ''}`,
    '',
    `Machine: ${machine}. Server and load generator(s) on the same machine, over 127.0.0.x` +
      (opts.nice ? `, both at nice ${opts.nice}.` : '.'),
    '',
    ...chosen.map((s) => `- **${s.id}** ${s.title}`),
    '',
    resultsTable(results),
    '',
    ratiosTable(results),
    '',
    checks.length > 0 ? targetsTable(checks) : '',
    '',
    ...notes,
    ...failures,
  ].join('\n');
  writeFileSync(join(resultsDir, `bench-${stamp}.md`), `${md}\n`);
  writeFileSync(
    join(resultsDir, `bench-${stamp}.json`),
    `${JSON.stringify({ stamp, machine, quick: opts.quick, seed: opts.seed, scenarios: chosen, results, targets: checks }, null, 2)}\n`,
  );
  process.stdout.write(`\n${md}\n\nWritten to ${join(resultsDir, `bench-${stamp}.{md,json}`)}\n`);

  const silent = results.filter((r) => !(r.quotes > 0));
  if (silent.length > 0) {
    process.stderr.write(
      `FAILED: nothing delivered by ${silent.map((r) => `${r.scenario}/${r.server}`).join(', ')}\n`,
    );
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
