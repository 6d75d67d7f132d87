import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Instrument, Tick } from '../shared/market.js';
import { nextSessionChange, nyseSession } from './calendar/nyse-calendar.js';
import { DEFAULT_INSTRUMENTS } from './instruments.js';
import {
  buildAliasTable,
  MarketSimulator,
  type MarketSimulatorOptions,
} from './market-simulator.js';

/** Runs the virtual clock up to `timeMs` (inclusive), then stops there. */
function advanceTo(scheduler: VirtualTimeScheduler, timeMs: number): void {
  scheduler.schedule(() => undefined, Math.max(0, timeMs - scheduler.frame));
  scheduler.maxFrames = timeMs;
  scheduler.flush();
}

/** A virtual clock whose reading can jump ahead of its timers, like an event loop that stalled. */
class StallingScheduler extends VirtualTimeScheduler {
  stalledMs = 0;
  constructor() {
    super();
    this.now = () => this.frame + this.stalledMs;
  }
}

function simulator(overrides: Partial<MarketSimulatorOptions> = {}) {
  const scheduler = new VirtualTimeScheduler();
  const sim = new MarketSimulator({
    instruments: DEFAULT_INSTRUMENTS,
    seed: 42,
    ticksPerSecond: 1000,
    scheduler,
    ...overrides,
  });
  const ticks: Tick[] = [];
  sim.ticks$.subscribe((tick) => ticks.push(tick));
  return { sim, scheduler, ticks };
}

describe(MarketSimulator.name, () => {
  it('rejects a useless configuration', () => {
    const make = (options: Partial<MarketSimulatorOptions>) => () =>
      new MarketSimulator({
        instruments: DEFAULT_INSTRUMENTS,
        seed: 1,
        ticksPerSecond: 10,
        ...options,
      });
    expect(make({ instruments: [] })).toThrow(/at least one instrument/);
    expect(make({ ticksPerSecond: 0 })).toThrow(/ticksPerSecond/);
    expect(make({ stepMs: 0 })).toThrow(/stepMs/);
  });

  it('emits one opening tick per symbol, seq 1, at the start instant', () => {
    const scheduler = new VirtualTimeScheduler();
    advanceTo(scheduler, 1234);
    const { sim, ticks } = simulator({ scheduler });
    sim.start();
    expect(ticks).toHaveLength(DEFAULT_INSTRUMENTS.length);
    expect(ticks.map((t) => t.symbol)).toEqual(DEFAULT_INSTRUMENTS.map((i) => i.symbol));
    expect(ticks.every((t) => t.seq === 1 && t.ts === 1234)).toBe(true);
    sim.stop();
  });

  it('produces ticksPerSecond trades per second of virtual time, each stamped with its own arrival time', () => {
    const { sim, scheduler, ticks } = simulator({ ticksPerSecond: 1000 });
    sim.start();
    const late: Tick[] = [];
    sim.ticks$.subscribe((tick) => {
      if (tick.ts > scheduler.now()) late.push(tick);
    });
    advanceTo(scheduler, 60_000);
    sim.stop();
    const trades = ticks.length - DEFAULT_INSTRUMENTS.length;
    // Poisson(60 000): sd ≈ 245.
    expect(Math.abs(trades - 60_000)).toBeLessThan(1000);
    expect(late).toEqual([]);
    // Ticks are spread over the 10 ms steps, not bunched on their boundaries.
    const offGrid = ticks.filter((t) => t.ts % 10 !== 0).length;
    expect(offGrid / ticks.length).toBeGreaterThan(0.85);
    expect(sim.ticksEmitted).toBe(ticks.length);
  });

  it('numbers each symbol’s ticks 1, 2, 3… with non-decreasing timestamps', () => {
    const { sim, scheduler, ticks } = simulator({ ticksPerSecond: 5000 });
    sim.start();
    advanceTo(scheduler, 10_000);
    sim.stop();
    const last = new Map<string, Tick>();
    const violations: Tick[] = [];
    for (const tick of ticks) {
      const prev = last.get(tick.symbol);
      const ok = prev ? tick.seq === prev.seq + 1 && tick.ts >= prev.ts : tick.seq === 1;
      if (!ok) violations.push(tick);
      last.set(tick.symbol, tick);
    }
    expect(ticks.length).toBeGreaterThan(45_000);
    expect(violations).toEqual([]);
    expect(last.size).toBe(DEFAULT_INSTRUMENTS.length);
  });

  it('is deterministic: same seed and virtual clock, same ticks', () => {
    const run = (seed: number) => {
      const { sim, scheduler, ticks } = simulator({ seed, ticksPerSecond: 2000 });
      sim.start();
      advanceTo(scheduler, 5_000);
      sim.stop();
      return ticks;
    };
    const a = run(7);
    expect(a.length).toBeGreaterThan(9000);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
  });

  it('produces the same ticks whatever the step period (only the clock matters)', () => {
    const run = (stepMs: number) => {
      const { sim, scheduler, ticks } = simulator({ seed: 7, ticksPerSecond: 2000, stepMs });
      sim.start();
      advanceTo(scheduler, 5_000);
      sim.stop();
      return ticks;
    };
    expect(run(250)).toEqual(run(10));
  });

  it('trades each symbol in proportion to its intensity', () => {
    const instruments: Instrument[] = [1, 2, 5, 10, 0.5].map((tradeIntensity, k) => ({
      symbol: `S${k}`,
      name: `S${k}`,
      sector: 'Technology',
      refPrice: 50,
      volatility: 0.3,
      tradeIntensity,
    }));
    const { sim, scheduler } = simulator({ instruments, ticksPerSecond: 10_000 });
    sim.start();
    const counts = new Map<string, number>();
    const n = sim.generateUntil(scheduler.now() + 20_000, (t) =>
      counts.set(t.symbol, (counts.get(t.symbol) ?? 0) + 1),
    );
    sim.stop();
    const total = instruments.reduce((a, i) => a + i.tradeIntensity, 0);
    for (const inst of instruments) {
      const expected = (n * inst.tradeIntensity) / total;
      // Within 5 binomial standard deviations.
      expect(Math.abs(counts.get(inst.symbol)! - expected)).toBeLessThan(5 * Math.sqrt(expected));
    }
  });

  it('leaves no timer behind after stop, and emits nothing more', () => {
    const { sim, scheduler, ticks } = simulator();
    sim.start();
    advanceTo(scheduler, 1000);
    expect(sim.running).toBe(true);
    sim.stop();
    sim.stop();
    expect(sim.running).toBe(false);
    expect(scheduler.actions).toHaveLength(0);
    const count = ticks.length;
    advanceTo(scheduler, 5000);
    expect(ticks).toHaveLength(count);
  });

  it('ignores a second start while running', () => {
    const { sim, scheduler, ticks } = simulator();
    sim.start();
    const epoch = sim.epoch;
    sim.start();
    expect(sim.epoch).toBe(epoch);
    expect(ticks).toHaveLength(DEFAULT_INSTRUMENTS.length);
    expect(scheduler.actions).toHaveLength(1);
    sim.stop();
  });

  it('keeps its epoch through the first start and changes it on every restart', () => {
    const { sim, scheduler, ticks } = simulator();
    const before = sim.epoch;
    expect(before).toMatch(/^42-\d+-\d+$/);
    sim.start();
    expect(sim.epoch).toBe(before);
    advanceTo(scheduler, 2000);
    sim.stop();
    ticks.length = 0;
    sim.start();
    expect(sim.epoch).not.toBe(before);
    // A restart is a new session: opening ticks with seq 1 again.
    expect(ticks).toHaveLength(DEFAULT_INSTRUMENTS.length);
    expect(ticks.every((t) => t.seq === 1 && t.ts === 2000)).toBe(true);
    sim.stop();
    expect(simulator().sim.epoch).not.toBe(before);
  });

  it('skips ahead after a stalled event loop instead of replaying the backlog', () => {
    const scheduler = new StallingScheduler();
    const { sim, ticks } = simulator({ scheduler, ticksPerSecond: 1000 });
    sim.start();
    scheduler.schedule(() => {
      scheduler.stalledMs = 5000;
    }, 505);
    advanceTo(scheduler, 2000);
    sim.stop();
    // The step at 510 reads 5510 after generating up to 500: 5010 ms skipped.
    expect(sim.skippedMs).toBe(5010);
    expect(ticks.some((t) => t.ts > 500 && t.ts < 5510)).toBe(false);
    // About 2 s of trades, not 7.
    const trades = ticks.length - DEFAULT_INSTRUMENTS.length;
    expect(trades).toBeGreaterThan(1800);
    expect(trades).toBeLessThan(2200);
  });

  it('generates into a custom sink without touching ticks$, and only once per instant', () => {
    const { sim, scheduler, ticks } = simulator();
    expect(() => sim.generateUntil(100)).toThrow(/start\(\) first/);
    sim.start();
    sim.stop();
    const sunk: Tick[] = [];
    const n = sim.generateUntil(scheduler.now() + 1000, (t) => sunk.push(t));
    expect(n).toBe(sunk.length);
    expect(n).toBeGreaterThan(800);
    expect(ticks).toHaveLength(DEFAULT_INSTRUMENTS.length);
    expect(sim.generateUntil(scheduler.now() + 1000, (t) => sunk.push(t))).toBe(0);
  });

  it('keeps up with 50 000 ticks/s with ample headroom', () => {
    const { sim, scheduler } = simulator({ ticksPerSecond: 50_000 });
    sim.start();
    sim.stop();
    let checksum = 0;
    const sink = (t: Tick) => {
      checksum += t.size;
    };
    sim.generateUntil(scheduler.now() + 1_000, sink); // warm-up
    const started = performance.now();
    const n = sim.generateUntil(scheduler.now() + 11_000, sink);
    const elapsedMs = performance.now() - started;
    const perSecond = Math.round((n / elapsedMs) * 1000);
    console.log(
      `MarketSimulator: ${n} ticks in ${elapsedMs.toFixed(0)} ms = ${perSecond.toLocaleString('en-US')} ticks/s`,
    );
    expect(n).toBeGreaterThan(490_000);
    expect(checksum).toBeGreaterThan(0);
    // Deliberately loose so a loaded CI box never flakes; the log line has the real figure.
    expect(perSecond).toBeGreaterThan(100_000);
  });
});

describe(buildAliasTable.name, () => {
  it('reproduces the weights exactly', () => {
    const weights = [3, 1, 0.5, 10, 2, 2, 0.01];
    const [prob, alias] = buildAliasTable(weights);
    const n = weights.length;
    const p = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      p[i] += prob[i] / n;
      p[alias[i]] += (1 - prob[i]) / n;
    }
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => expect(p[i]).toBeCloseTo(w / total, 12));
  });
});

describe(`${MarketSimulator.name} with MARKET_CALENDAR=nyse`, () => {
  /** A virtual clock that starts at `base` (ms since the epoch) instead of 0. */
  class ClockAt extends VirtualTimeScheduler {
    constructor(base: number) {
      super();
      this.now = () => this.frame + base;
    }
  }

  it('trades only in sessions, thinly outside regular hours, and rolls each symbol at every open', () => {
    // Monday 2026-11-23 00:00 New York (EST) to Monday 2026-11-30 00:00: Thanksgiving week.
    const base = Date.parse('2026-11-23T05:00:00Z');
    const weekMs = 7 * 24 * 3_600_000;
    const scheduler = new ClockAt(base);
    const instruments = DEFAULT_INSTRUMENTS.slice(0, 4);
    const sim = new MarketSimulator({
      instruments,
      seed: 3,
      ticksPerSecond: 2,
      scheduler,
      stepMs: 60_000,
      maxCatchUpMs: 60_000,
      calendar: { session: nyseSession, nextChange: nextSessionChange },
    });
    const ticks: Tick[] = [];
    sim.ticks$.subscribe((tick) => ticks.push(tick));
    const sessions: string[] = [];
    sim.session$.subscribe((session) => sessions.push(session));
    sim.start();
    advanceTo(scheduler, weekMs);
    sim.stop();
    // Reported as the clock crosses each boundary: 4 trading days of 4 changes, Thanksgiving none.
    expect(sessions.slice(0, 6)).toEqual(['always', 'closed', 'pre', 'regular', 'post', 'closed']);
    expect(sessions).toHaveLength(2 + 4 * 4);

    const bySession = { pre: 0, regular: 0, post: 0, closed: 0, always: 0 };
    const start = ticks.slice(0, instruments.length);
    for (const tick of ticks.slice(instruments.length)) bySession[nyseSession(tick.ts)]++;
    // The opening ticks of start() come at midnight (closed); nothing else trades then.
    expect(start.every((t) => t.ts === base)).toBe(true);
    expect(bySession.closed).toBe(0);
    // Monday to Wednesday 6.5 h of regular trading, Friday 3.5 h (it closes at 13:00), at 2/s.
    const regularS = (3 * 6.5 + 3.5) * 3600;
    expect(bySession.regular / (regularS * 2)).toBeGreaterThan(0.97);
    expect(bySession.regular / (regularS * 2)).toBeLessThan(1.03);
    // Pre-market 5.5 h and after hours 4 h on each of the four days (Friday's 13:00–17:00), at a tenth.
    const thinS = 4 * (5.5 + 4) * 3600;
    const thinRatio = (bySession.pre + bySession.post) / (thinS * 2);
    expect(thinRatio).toBeGreaterThan(0.08);
    expect(thinRatio).toBeLessThan(0.12);

    // Every symbol's session opens at 09:30 on the four trading days, with yesterday's last price.
    const opens = ticks.filter((t) => t.opensSession);
    const openDays = [...new Set(opens.map((t) => new Date(t.ts).toISOString()))];
    expect(openDays).toEqual([
      '2026-11-23T14:30:00.000Z',
      '2026-11-24T14:30:00.000Z',
      '2026-11-25T14:30:00.000Z',
      '2026-11-27T14:30:00.000Z',
    ]);
    expect(opens).toHaveLength(4 * instruments.length);
    for (const open of opens) {
      const before = ticks.filter((t) => t.symbol === open.symbol && t.ts < open.ts).at(-1)!;
      expect(open.prevClose).toBe(before.price);
      expect(open.seq).toBe(before.seq + 1);
    }
    // seq runs 1, 2, 3 … per symbol across the whole week, with no gap.
    for (const { symbol } of instruments) {
      const seqs = ticks.filter((t) => t.symbol === symbol).map((t) => t.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });

  it('is deterministic: the same seed on the same clock gives the same week', () => {
    const run = () => {
      const scheduler = new ClockAt(Date.parse('2026-11-27T13:00:00Z'));
      const sim = new MarketSimulator({
        instruments: DEFAULT_INSTRUMENTS.slice(0, 3),
        seed: 9,
        ticksPerSecond: 5,
        scheduler,
        stepMs: 60_000,
        maxCatchUpMs: 60_000,
        calendar: { session: nyseSession, nextChange: nextSessionChange },
      });
      const ticks: Tick[] = [];
      sim.ticks$.subscribe((tick) => ticks.push(tick));
      sim.start();
      advanceTo(scheduler, 4 * 24 * 3_600_000);
      sim.stop();
      return ticks;
    };
    const a = run();
    expect(a.length).toBeGreaterThan(1000);
    expect(run()).toEqual(a);
  });
});
