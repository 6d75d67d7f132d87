import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Tick } from '../shared/market.js';
import { HaltMonitor } from './halt-monitor.js';
import { DEFAULT_INSTRUMENTS } from './instruments.js';
import { MarketSimulator } from './market-simulator.js';

const RULES = { bandPct: 10, windowMs: 300_000, durationMs: 300_000 };

describe(HaltMonitor.name, () => {
  it('halts a symbol that moves beyond the band within the window, and resumes it after the halt', () => {
    const monitor = new HaltMonitor(['AAPL', 'MSFT'], RULES);
    const seen: (readonly string[])[] = [];
    monitor.halted$.subscribe((halted) => seen.push(halted));
    expect(monitor.observe(0, 0, 100)).toBe(false);
    expect(monitor.observe(0, 60_000, 109)).toBe(false);
    expect(monitor.observe(1, 60_000, 50)).toBe(false);
    expect(monitor.observe(0, 120_000, 110.5)).toBe(true); // 10.5 % above the window's low
    expect(monitor.isHalted(0, 120_001)).toBe(true);
    expect(monitor.isHalted(1, 120_001)).toBe(false);
    expect(monitor.nextResumeMs).toBe(420_000);
    monitor.resumeDue(419_999);
    expect(monitor.halted).toEqual(['AAPL']);
    monitor.resumeDue(420_000);
    expect(monitor.isHalted(0, 420_000)).toBe(false);
    expect(seen).toEqual([[], ['AAPL'], []]);
    // It reopens with a fresh window: the reopening price is the new reference.
    expect(monitor.observe(0, 420_000, 121)).toBe(false);
    expect(monitor.haltsTotal).toBe(1);
  });

  it('halts on a fall from the window high, but not on a move spread over more than the window', () => {
    const monitor = new HaltMonitor(['AAPL'], RULES);
    monitor.observe(0, 0, 100);
    expect(monitor.observe(0, 290_000, 91)).toBe(false); // 9 % down
    // 400 s later the 100 has left the window: 91 → 84 is 7.7 %.
    expect(monitor.observe(0, 400_000, 84)).toBe(false);
    expect(monitor.observe(0, 410_000, 75)).toBe(true); // 17.6 % below the window high, 91
  });

  it('clears every halt and window at a new session', () => {
    const monitor = new HaltMonitor(['AAPL'], RULES);
    monitor.observe(0, 0, 100);
    monitor.observe(0, 1000, 120);
    expect(monitor.halted).toEqual(['AAPL']);
    monitor.clear();
    expect(monitor.halted).toEqual([]);
    expect(monitor.isHalted(0, 2000)).toBe(false);
    expect(monitor.observe(0, 2000, 80)).toBe(false);
  });
});

describe(`${MarketSimulator.name} with halts`, () => {
  it('never trades a halted symbol, and halts only after a move beyond the band', () => {
    const scheduler = new VirtualTimeScheduler();
    const rules = { bandPct: 0.5, windowMs: 60_000, durationMs: 30_000 };
    const sim = new MarketSimulator({
      instruments: DEFAULT_INSTRUMENTS.slice(0, 5),
      seed: 11,
      ticksPerSecond: 50,
      scheduler,
      stepMs: 100,
      model: { timeScale: 600 },
      halts: rules,
    });
    const ticks: Tick[] = [];
    sim.ticks$.subscribe((tick) => ticks.push(tick));
    const changes: { at: number; halted: readonly string[] }[] = [];
    sim.halted$.subscribe((halted) => changes.push({ at: scheduler.now(), halted }));
    sim.start();
    scheduler.maxFrames = 20 * 60_000;
    scheduler.schedule(() => undefined, 20 * 60_000);
    scheduler.flush();
    sim.stop();

    const starts = changes.flatMap((c, k) =>
      c.halted
        .filter((s) => !(changes[k - 1]?.halted ?? []).includes(s))
        .map((s) => ({ s, at: c.at })),
    );
    expect(starts.length).toBeGreaterThan(3);
    for (const { s, at } of starts) {
      const last = ticks.filter((t) => t.symbol === s && t.ts <= at).at(-1)!;
      const window = ticks.filter(
        (t) => t.symbol === s && t.ts > last.ts - 60_000 && t.ts <= last.ts,
      );
      const low = Math.min(...window.map((t) => t.price));
      const high = Math.max(...window.map((t) => t.price));
      expect(last.price > low * 1.005 || last.price < high * 0.995, `${s} at ${at}`).toBe(true);
      // Nothing of it trades during the 30 s halt.
      expect(ticks.some((t) => t.symbol === s && t.ts > last.ts && t.ts < last.ts + 30_000)).toBe(
        false,
      );
    }
    // seq stays gapless through the halts.
    for (const { symbol } of DEFAULT_INSTRUMENTS.slice(0, 5)) {
      const seqs = ticks.filter((t) => t.symbol === symbol).map((t) => t.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });
});
