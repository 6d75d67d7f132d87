import type { Candle, Tick } from '../shared/market.js';
import { RingBuffer } from './ring-buffer.js';

/**
 * OHLCV candles of one symbol at one resolution, built tick by tick into a
 * bounded ring buffer. A bucket with no trade has no candle (no flat fill):
 * charts show the gap, and a quiet symbol costs no memory.
 */
export class CandleSeries {
  private readonly buffer: RingBuffer<Candle>;

  constructor(
    /** Bucket width in ms. */
    readonly widthMs: number,
    /** Candles kept; older ones are evicted. */
    readonly capacity: number,
  ) {
    this.buffer = new RingBuffer<Candle>(capacity);
  }

  /** Candles held, at most `capacity`. */
  get length(): number {
    return this.buffer.length;
  }

  /** Folds one tick into its bucket `floor(ts / width) * width`. */
  apply(tick: Tick): void {
    const t = Math.floor(tick.ts / this.widthMs) * this.widthMs;
    const last = this.buffer.last();
    // Per-symbol ts never decreases, so a tick is in the forming bucket or a later one;
    // a stray older tick is folded into the forming candle rather than reopening history.
    if (last !== undefined && t <= last.t) {
      if (tick.price > last.h) last.h = tick.price;
      if (tick.price < last.l) last.l = tick.price;
      last.c = tick.price;
      last.v += tick.size;
      return;
    }
    this.buffer.push({
      t,
      o: tick.price,
      h: tick.price,
      l: tick.price,
      c: tick.price,
      v: tick.size,
    });
  }

  /**
   * Folds a run of trades (one symbol's run in a bus slot: first price
   * `win.o`, extremes, volume) ending at `ts` with price `close` into the
   * bucket of `ts`. A run never straddles a bucket (SlotBatcher splits it
   * there), so this equals folding the trades one by one.
   */
  applyRun(ts: number, win: { o: number; h: number; l: number; v: number }, close: number): void {
    const t = Math.floor(ts / this.widthMs) * this.widthMs;
    const last = this.buffer.last();
    if (last !== undefined && t <= last.t) {
      if (win.h > last.h) last.h = win.h;
      if (win.l < last.l) last.l = win.l;
      last.c = close;
      last.v += win.v;
      return;
    }
    this.buffer.push({ t, o: win.o, h: win.h, l: win.l, c: close, v: win.v });
  }

  /** Replaces every candle with `candles` (oldest first; only the newest `capacity` are kept). */
  restore(candles: readonly Candle[]): void {
    this.buffer.clear();
    for (const { t, o, h, l, c, v } of candles.slice(-this.capacity)) {
      this.buffer.push({ t, o, h, l, c, v });
    }
  }

  /** The newest `limit` candles, oldest first, the forming one last; copies, safe to keep. */
  recent(limit: number): Candle[] {
    return this.buffer
      .toArray(limit)
      .map((c) => ({ t: c.t, o: c.o, h: c.h, l: c.l, c: c.c, v: c.v }));
  }

  /** Forgets every candle: a new session starts. */
  clear(): void {
    this.buffer.clear();
  }
}
