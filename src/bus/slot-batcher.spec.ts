import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CandleSeries } from '../market/candle-series.js';
import type { SlotTick } from '../market/market-feed.js';
import type { Tick } from '../shared/market.js';
import type { QuoteWindow } from '../shared/protocol.js';
import { conflate } from '../streaming/conflate.operator.js';
import { SLOT_MS } from './bus-batch.js';
import { SlotBatcher } from './slot-batcher.js';

const SESSION = { open: 1, high: 1, low: 1, volume: 1, prevCloseCents: 100 };
const T0 = 1_796_000_000_000;

/**
 * Trades of one symbol: gaps of 0–60 ms, integer prices and sizes (sums stay
 * exact), each delivered 0–40 ms after its timestamp (a busy event loop).
 */
const trades = fc.array(
  fc.record({
    dt: fc.integer({ min: 0, max: 60 }),
    late: fc.integer({ min: 0, max: 40 }),
    price: fc.integer({ min: 1, max: 100_000 }),
    size: fc.integer({ min: 1, max: 1000 }),
  }),
  { minLength: 1, maxLength: 300, size: 'large' },
);

type Delivered = { at: number; tick: Tick };

/** Ticks with the time each reaches the publisher (in order: never before the one before it). */
function ticksOf(rows: { dt: number; late: number; price: number; size: number }[]): Delivered[] {
  let ts = T0;
  let at = T0;
  return rows.map(({ dt, late, price, size }, i) => {
    ts += dt;
    at = Math.max(at, ts + late);
    return {
      at,
      tick: { symbol: 'AAPL', seq: i + 1, ts, price: price / 100, bid: 0, ask: 0, size },
    };
  });
}

/** The grid time at which the slot a tick delivered at `at` is in gets cut. */
const slotEndOf = (at: number) => (Math.floor(at / SLOT_MS) + 1) * SLOT_MS;

/**
 * The feed's cut, as the publisher makes it: a timer at every slot end takes
 * the ticks delivered before it, one SlotTick per run.
 */
function slotsOf(delivered: Delivered[]): { end: number; tick: SlotTick }[] {
  const batcher = new SlotBatcher();
  const out: { end: number; tick: SlotTick }[] = [];
  let end = slotEndOf(delivered[0].at);
  const cut = () => {
    for (const u of batcher.take(() => SESSION)) {
      out.push({ end, tick: { ...u.tick, win: u.win, session: u.session } });
    }
  };
  for (const { at, tick } of delivered) {
    if (at >= end) {
      cut();
      end = slotEndOf(at);
    }
    batcher.add(tick);
  }
  cut();
  return out;
}

type Emission = { seq: number; win: QuoteWindow };

/** Conflates `items` (each due before grid time `at`) on a clock ticking every window. */
function conflated<T extends Tick>(items: { at: number; tick: T }[], windowMs: number): Emission[] {
  const source = new Subject<Tick>();
  const clock = new Subject<number>();
  const out: Emission[] = [];
  source
    .pipe(conflate(windowMs, clock))
    .subscribe((c) => out.push({ seq: c.last.seq, win: c.win }));
  let i = 0;
  const lastAt = items[items.length - 1].at;
  for (let g = Math.ceil(T0 / windowMs) * windowMs; g <= lastAt + windowMs; g += windowMs) {
    while (i < items.length && items[i].at <= g) source.next(items[i++].tick);
    clock.next(g);
  }
  return out;
}

describe(SlotBatcher.name, () => {
  it('summarises a slot per symbol: first price, extremes, volume, count and the latest tick', () => {
    const batcher = new SlotBatcher();
    const tick = (seq: number, price: number, size: number, symbol = 'AAPL'): Tick => ({
      symbol,
      seq,
      ts: T0 + seq,
      price,
      bid: 0,
      ask: 0,
      size,
    });
    batcher.add(tick(1, 10, 5));
    batcher.add(tick(1, 50, 1, 'MSFT'));
    batcher.add(tick(2, 12, 3));
    batcher.add(tick(3, 9, 2));
    const updates = batcher.take((symbol) => (symbol === 'AAPL' ? SESSION : undefined));
    expect(updates).toEqual([
      { tick: tick(3, 9, 2), win: { o: 10, h: 12, l: 9, v: 10, n: 3 }, session: SESSION },
    ]);
    expect(batcher.size).toBe(0);
    expect(batcher.take(() => SESSION)).toEqual([]);
  });

  it('splits a symbol’s run where its trades change candle bucket (a late tick shares the slot)', () => {
    const batcher = new SlotBatcher();
    const second = 1_796_000_001_000;
    const tick = (seq: number, ts: number, price: number): Tick => ({
      symbol: 'AAPL',
      seq,
      ts,
      price,
      bid: 0,
      ask: 0,
      size: seq,
    });
    // Delivered after the slot [second, second + 25) began, though stamped before it.
    batcher.add(tick(1, second - 2, 10));
    batcher.add(tick(2, second - 1, 11));
    batcher.add(tick(3, second + 3, 9));
    batcher.add(tick(4, second + 9, 12));
    expect(batcher.size).toBe(1);
    expect(batcher.take(() => SESSION)).toEqual([
      { tick: tick(2, second - 1, 11), win: { o: 10, h: 11, l: 10, v: 3, n: 2 }, session: SESSION },
      { tick: tick(4, second + 9, 12), win: { o: 9, h: 12, l: 9, v: 7, n: 2 }, session: SESSION },
    ]);
  });

  it('conflating slots gives the same windows as conflating the ticks themselves (property)', () => {
    fc.assert(
      fc.property(trades, fc.constantFrom(100, 250, 500, 1000, 5000), (rows, windowMs) => {
        const delivered = ticksOf(rows);
        // A tick is due at the end of the slot it was delivered in: windows close on slot boundaries.
        const direct = conflated(
          delivered.map(({ at, tick }) => ({ at: slotEndOf(at), tick })),
          windowMs,
        );
        const slotted = conflated(
          slotsOf(delivered).map(({ end, tick }) => ({ at: end, tick })),
          windowMs,
        );
        expect(slotted).toEqual(direct);
        expect(slotted.reduce((n, e) => n + e.win.n, 0)).toBe(delivered.length);
      }),
    );
  });

  it('building candles from slots gives the candles built tick by tick (property)', () => {
    fc.assert(
      fc.property(trades, fc.constantFrom(1000, 60_000), (rows, widthMs) => {
        const delivered = ticksOf(rows);
        const byTick = new CandleSeries(widthMs, 1000);
        for (const { tick } of delivered) byTick.apply(tick);
        const bySlot = new CandleSeries(widthMs, 1000);
        for (const { tick } of slotsOf(delivered)) bySlot.applyRun(tick.ts, tick.win, tick.price);
        expect(bySlot.recent(1000)).toEqual(byTick.recent(1000));
      }),
    );
  });
});
