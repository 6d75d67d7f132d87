import { describe, expect, it } from 'vitest';
import { CandleSeries } from './candle-series.js';
import type { Candle, Quote } from './market-types.js';
import { makeQuote } from './test-quotes.js';

interface Trade {
  ts: number;
  price: number;
  size: number;
}

/** What the server does: every trade into the bucket of its own ts. */
function serverCandles(trades: readonly Trade[], width: number): Candle[] {
  const out: Candle[] = [];
  for (const t of trades) {
    const start = Math.floor(t.ts / width) * width;
    const last = out[out.length - 1];
    if (last && last.t === start) {
      last.h = Math.max(last.h, t.price);
      last.l = Math.min(last.l, t.price);
      last.c = t.price;
      last.v += t.size;
    } else {
      out.push({ t: start, o: t.price, h: t.price, l: t.price, c: t.price, v: t.size });
    }
  }
  return out;
}

/** Conflates trades into quotes over windows [offset + k·windowMs, offset + (k+1)·windowMs). */
function conflate(trades: readonly Trade[], windowMs: number, offset: number): Quote[] {
  const quotes: Quote[] = [];
  let group: Trade[] = [];
  let seq = 0;
  const flush = () => {
    if (group.length === 0) return;
    const last = group[group.length - 1];
    seq += group.length;
    quotes.push(
      makeQuote({
        price: last.price,
        ts: last.ts,
        seq,
        win: {
          o: group[0].price,
          h: Math.max(...group.map((t) => t.price)),
          l: Math.min(...group.map((t) => t.price)),
          v: group.reduce((s, t) => s + t.size, 0),
          n: group.length,
        },
      }),
    );
    group = [];
  };
  let windowEnd = -Infinity;
  for (const t of trades) {
    if (t.ts >= windowEnd) {
      flush();
      windowEnd = Math.floor((t.ts - offset) / windowMs) * windowMs + offset + windowMs;
    }
    group.push(t);
  }
  flush();
  return quotes;
}

/** A deterministic random walk: ~20 trades/s for `seconds` seconds. */
function trades(seconds: number, seed = 1): Trade[] {
  let s = seed;
  const rand = () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const out: Trade[] = [];
  let ts = 1_700_000_000_000;
  let price = 100;
  const end = ts + seconds * 1000;
  while (ts < end) {
    ts += 1 + Math.floor(rand() * 99);
    price = Math.round((price + (rand() - 0.5) * 0.2) * 100) / 100;
    out.push({ ts, price, size: 100 * (1 + Math.floor(rand() * 5)) });
  }
  return out;
}

const asCandles = (series: CandleSeries): Candle[] =>
  series.candles.items.map((c, i) => ({
    t: c.x,
    o: c.o,
    h: c.h,
    l: c.l,
    c: c.c,
    v: series.volumes.items[i].y,
  }));

describe(CandleSeries.name, () => {
  it('builds candles equal to the server’s when windows do not straddle buckets', () => {
    const tape = trades(30);
    for (const windowMs of [100, 250, 500, 1000]) {
      const series = new CandleSeries(1000, 3600);
      for (const q of conflate(tape, windowMs, 0)) series.applyQuote(q);
      expect(asCandles(series)).toEqual(serverCandles(tape, 1000));
    }
  });

  it('builds exact 1 min candles from 2 s and 5 s windows', () => {
    const tape = trades(300);
    for (const windowMs of [2000, 5000]) {
      const series = new CandleSeries(60_000, 1440);
      for (const q of conflate(tape, windowMs, 0)) series.applyQuote(q);
      expect(asCandles(series)).toEqual(serverCandles(tape, 60_000));
    }
  });

  it('keeps total volume exact even when windows straddle buckets', () => {
    const tape = trades(30);
    const series = new CandleSeries(1000, 3600);
    for (const q of conflate(tape, 250, 137)) series.applyQuote(q);
    const total = series.volumes.items.reduce((s, v) => s + v.y, 0);
    expect(total).toBe(tape.reduce((s, t) => s + t.size, 0));
  });

  it('reconciles straddled candles to exactly the server’s and counts the differences', () => {
    const tape = trades(30);
    const series = new CandleSeries(1000, 3600);
    for (const q of conflate(tape, 250, 137)) series.applyQuote(q);
    const server = serverCandles(tape, 1000);
    const corrected = series.reconcile(server);
    expect(corrected).toBeGreaterThan(0);
    expect(series.accuracy).toEqual({ compared: server.length - 1, corrected });
    // Every closed candle now matches; the forming one stays live.
    expect(asCandles(series).slice(0, -1)).toEqual(server.slice(0, -1));
    expect(series.reconcile(server)).toBe(0);
  });

  it('ignores snapshots, which carry no new trade', () => {
    const series = new CandleSeries(1000, 10);
    series.applyQuote(makeQuote({ ts: 5_500, win: { o: 1, h: 1, l: 1, v: 0, n: 0 } }));
    expect(series.candles.length).toBe(0);
  });

  it('continues a backfill without counting the forming candle’s trades twice', () => {
    const tape = trades(20);
    const quotes = conflate(tape, 250, 0);
    // The history was fetched after the 40th quote: it includes every trade up to it.
    const cut = quotes[39];
    const series = new CandleSeries(1000, 3600);
    series.load(
      serverCandles(
        tape.filter((t) => t.ts <= cut.ts),
        1000,
      ),
      cut.ts,
    );
    // Quotes received before the answer are replayed too: those up to the cutoff are skipped.
    for (const q of quotes) series.applyQuote(q);
    expect(asCandles(series)).toEqual(serverCandles(tape, 1000));
  });

  it('stays within its capacity, keeping the newest candles', () => {
    const series = new CandleSeries(1000, 100);
    for (let i = 0; i < 1000; i++) {
      series.applyQuote(
        makeQuote({ ts: i * 1000, seq: i + 1, win: { o: 1, h: 1, l: 1, v: 1, n: 1 } }),
      );
    }
    expect(series.candles.length).toBeLessThanOrEqual(164);
    expect(series.candles.length).toBe(series.volumes.length);
    expect(series.candles.last()?.x).toBe(999_000);
  });

  it('never reconciles further back than the candles it holds', () => {
    const series = new CandleSeries(1000, 10);
    series.load(
      [
        { t: 5000, o: 1, h: 1, l: 1, c: 1, v: 1 },
        { t: 6000, o: 1, h: 1, l: 1, c: 1, v: 1 },
      ],
      6500,
    );
    const history = [1000, 2000, 3000, 4000, 5000, 6000, 7000].map((t) => ({
      t,
      o: 2,
      h: 2,
      l: 2,
      c: 2,
      v: 2,
    }));
    expect(series.reconcile(history)).toBe(2);
    expect(series.candles.items.map((c) => c.x)).toEqual([5000, 6000]);
    expect(series.candles.items[0].o).toBe(2);
  });
});
