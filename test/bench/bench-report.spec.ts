import { describe, expect, it } from 'vitest';
import {
  checkTargets,
  parseServerList,
  ratiosTable,
  resultsTable,
  type RunResult,
  type ServerName,
} from './bench-report.js';

/** A run with round numbers: only what the tables read. */
function run(scenario: string, server: ServerName, over: Partial<RunResult> = {}): RunResult {
  return {
    scenario,
    server,
    notes: [],
    clientsRequested: 100,
    clientsRun: 100,
    connected: 100,
    clientsMeasured: 100,
    connectFailures: 0,
    failureReasons: {},
    connectSeconds: 1,
    measureSeconds: 10,
    intervalMs: 250,
    subscriptions: 1_000,
    quotes: 40_000,
    deliveredPerSec: 4_000,
    framesPerSec: 400,
    framesPerClientPerSec: 4,
    bytesPerSec: 1e6,
    offeredPerSec: 4_000,
    staleness: { count: 40_000, p50: 100, p99: 200, p999: 250, max: 260, mean: 110 },
    feedTarget: 500,
    feedMeasured: 500,
    serverCpuPercent: 20,
    idleCpuPercent: 5,
    cpuSecondsPerMillion: 2,
    rssIdleBytes: 100 * 1048576,
    rssLoadedBytes: 110 * 1048576,
    rssMaxBytes: 110 * 1048576,
    rssPerConnBytes: 10 * 1024,
    loopDelay: { p50: 10, p99: 20, max: 30 },
    seqRegressions: 0,
    seqDuplicates: 0,
    seqSkipped: 0,
    missedWindows: 0,
    unexpected: 0,
    drops: 0,
    loadgenCpuPercent: [10],
    loadgenLoopP99Ms: [10],
    otherCpuPercent: 0,
    interruptCpuPercent: 1,
    stealCpuPercent: 0,
    rssAfterRampBytes: 105 * 1048576,
    heapIdleBytes: NaN,
    heapAfterRampBytes: NaN,
    heapLoadedBytes: NaN,
    rssTimelineMb: [],
    memoryIdle: undefined,
    memoryLoaded: undefined,
    ...over,
  };
}

describe(parseServerList.name, () => {
  it('keeps `ours` as an alias of ours-sio and returns servers in report order', () => {
    expect(parseServerList('ours')).toEqual(['ours-sio']);
    expect(parseServerList('naive,ours-ws,ours,limit')).toEqual([
      'limit',
      'ours-sio',
      'ours-ws',
      'naive',
    ]);
    expect(parseServerList('ours,ours-sio')).toEqual(['ours-sio']);
  });

  it('names what it does not know', () => {
    expect(() => parseServerList('ours-ws,oops')).toThrow(/oops/);
    expect(() => parseServerList(',')).toThrow(/unknown/);
  });
});

describe('report tables', () => {
  const results = [
    run('S4', 'limit'),
    run('S4', 'ours-sio', { cpuSecondsPerMillion: 4, framesPerClientPerSec: 20 }),
    run('S4', 'ours-ws', { cpuSecondsPerMillion: 3, framesPerClientPerSec: 20 }),
  ];

  it('shows frames per client per second next to the window rate', () => {
    expect(resultsTable(results)).toContain('| 20.00 (4) |');
  });

  it('has a ratio line for each variant against each reference, and ws against sio', () => {
    const table = ratiosTable(results);
    expect(table).toMatch(/\| S4 \| ours-sio \/ limit \| 1\.00× \| 2\.00× \|/);
    expect(table).toMatch(/\| S4 \| ours-ws \/ limit \| 1\.00× \| 1\.50× \|/);
    expect(table).toMatch(/\| S4 \| ours-ws \/ ours-sio \| 1\.00× \| 0\.75× \|/);
    expect(table).not.toContain('naive');
  });

  it('checks S4 staleness against window + 50 ms for both variants and reports frames per client', () => {
    const staleWs = { ...results[2], staleness: { ...results[2].staleness, p99: 301 } };
    const checks = checkTargets([results[0], results[1], staleWs]);
    expect(checks.map((c) => [c.server, c.target, c.met])).toEqual([
      ['ours-sio', 'frames per client per second (window rate 4/s)', undefined],
      ['ours-sio', 'staleness p99 ≤ 300 ms', true],
      ['ours-ws', 'frames per client per second (window rate 4/s)', undefined],
      ['ours-ws', 'staleness p99 ≤ 300 ms', false],
    ]);
    expect(checks[0].measured).toBe('20.00/s = 5.00× the window rate (limit: 4.00/s)');
  });
});
