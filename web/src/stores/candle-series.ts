import { BoundedSeries } from './ring-buffer.js';
import type { Candle, Quote } from './market-types.js';

/** A candle as chartjs-chart-financial reads it (`parsing: false`): x = bucket start, ms. */
export interface CandlePoint {
  x: number;
  o: number;
  h: number;
  l: number;
  c: number;
}

/** A volume bar as Chart.js reads it (`parsing: false`). */
export interface VolumePoint {
  x: number;
  y: number;
}

/** How well the live-built candles agreed with the server once they closed. */
export interface CandleAccuracy {
  /** Closed candles compared with the server's. */
  compared: number;
  /** Of those, how many differed (and were replaced by the server's). */
  corrected: number;
}

/**
 * Candles of one symbol at one resolution, built live from quote windows and
 * kept as two parallel bounded arrays (candles, volume bars) that Chart.js
 * draws directly.
 *
 * How a live candle is built, and where it is approximate: a quote's window
 * (`win`: o/h/l/v of the trades since the previous quote) is put whole into
 * the bucket of the quote's `ts` (its last trade), i.e. `floor(ts / width)`,
 * which is exactly how the server buckets each trade. When a window straddles
 * a bucket boundary, its first trades really belong to the previous bucket,
 * so that bucket's close/volume and the next one's open/volume are slightly
 * off. The server's conflation windows are not aligned to the clock, so this
 * happens for a fraction of 1 s candles at the 250 ms+ tiers (the measurement
 * script reports how many) and rarely for 1 min candles. To keep the screen
 * honest, closed candles are {@link reconcile | reconciled} with
 * `/api/history` shortly after they close: the forming candle is live and
 * approximate, every closed one ends up equal to the server's.
 */
export class CandleSeries {
  readonly candles: BoundedSeries<CandlePoint>;
  readonly volumes: BoundedSeries<VolumePoint>;
  readonly accuracy: CandleAccuracy = { compared: 0, corrected: 0 };
  /** Incremented on every change, so a view knows when to repaint. */
  version = 0;
  /** Live quotes whose `ts` is at or before this were already in the loaded history. */
  private cutoffTs = -Infinity;

  constructor(
    readonly widthMs: number,
    readonly capacity: number,
  ) {
    // Same capacity and slack: the two arrays always trim together and stay index-aligned.
    this.candles = new BoundedSeries(capacity, 64);
    this.volumes = new BoundedSeries(capacity, 64);
  }

  bucketOf(ts: number): number {
    return Math.floor(ts / this.widthMs) * this.widthMs;
  }

  /**
   * Replaces the content with a history response (oldest first, the last one
   * forming). `cutoffTs` is the newest trade time the history is known to
   * include: live quotes at or before it are skipped so their volume is not
   * counted twice.
   */
  load(history: readonly Candle[], cutoffTs: number): void {
    this.candles.replace(history.map((c) => ({ x: c.t, o: c.o, h: c.h, l: c.l, c: c.c })));
    this.volumes.replace(history.map((c) => ({ x: c.t, y: c.v })));
    this.cutoffTs = cutoffTs;
    this.version++;
  }

  clear(): void {
    this.candles.clear();
    this.volumes.clear();
    this.cutoffTs = -Infinity;
    this.version++;
  }

  /** Folds one live quote in; returns whether anything changed. */
  applyQuote(quote: Quote): boolean {
    const { win } = quote;
    // A snapshot (n = 0) carries no new trade: its price is already in some candle.
    if (win.n === 0 || quote.ts <= this.cutoffTs) return false;
    const t = this.bucketOf(quote.ts);
    const last = this.candles.last();
    if (last && t < last.x) return false;
    if (last && t === last.x) {
      if (win.h > last.h) last.h = win.h;
      if (win.l < last.l) last.l = win.l;
      last.c = quote.price;
      const bar = this.volumes.last();
      if (bar) bar.y += win.v;
    } else {
      this.candles.push({ x: t, o: win.o, h: win.h, l: win.l, c: quote.price });
      this.volumes.push({ x: t, y: win.v });
    }
    this.version++;
    return true;
  }

  /**
   * Makes closed candles equal to the server's. `history` is a fresh
   * `/api/history` answer (oldest first, last = forming); every bucket it
   * covers before its forming one is replaced, missing ones are inserted and
   * extra ones removed. The local forming candle is left alone. Returns the
   * number of buckets that differed.
   */
  reconcile(history: readonly Candle[]): number {
    if (history.length < 2) return 0;
    const closed = history.slice(0, -1);
    const from = closed[0].t;
    const to = history[history.length - 1].t; // exclusive: the server's forming bucket
    const items = this.candles.items;
    const first = items[0];
    if (!first || from < first.x) {
      // Do not reach back before what the series holds: that would grow it past its window.
      const start = first ? closed.findIndex((c) => c.t >= first.x) : -1;
      if (start < 0) return 0;
      return this.reconcile(history.slice(start));
    }
    const lo = lowerBound(items, from);
    const hi = lowerBound(items, to);
    let corrected = 0;
    const byT = new Map<number, number>();
    for (let i = lo; i < hi; i++) byT.set(items[i].x, i);
    for (const c of closed) {
      const i = byT.get(c.t);
      if (i === undefined || !sameCandle(items[i], this.volumes.items[i], c)) corrected++;
    }
    corrected += hi - lo - closed.filter((c) => byT.has(c.t)).length;
    this.accuracy.compared += closed.length;
    this.accuracy.corrected += corrected;
    if (corrected === 0) return 0;
    items.splice(lo, hi - lo, ...closed.map((c) => ({ x: c.t, o: c.o, h: c.h, l: c.l, c: c.c })));
    this.volumes.items.splice(lo, hi - lo, ...closed.map((c) => ({ x: c.t, y: c.v })));
    this.version++;
    return corrected;
  }
}

/** First index whose `x` is ≥ `x` (items sorted by x). */
function lowerBound(items: readonly { x: number }[], x: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].x < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Prices are compared to 1e-9 so a float round trip through JSON never counts as a difference. */
function sameCandle(p: CandlePoint, v: VolumePoint | undefined, c: Candle): boolean {
  const eq = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  return eq(p.o, c.o) && eq(p.h, c.h) && eq(p.l, c.l) && eq(p.c, c.c) && v?.y === c.v;
}
