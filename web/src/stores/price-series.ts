import { BoundedSeries } from './ring-buffer.js';
import type { Candle, Quote } from './market-types.js';

/** A point of the price line as Chart.js reads it (`parsing: false`). */
export interface PricePoint {
  x: number;
  y: number;
}

/** One hour: the longest range button. */
export const PRICE_MAX_AGE_MS = 3_600_000;
/**
 * 40 000 points: one hour of 1 s backfill (3 600) plus 10 quotes/s (the
 * fastest tier) for a full hour would be 36 000; past that the oldest go.
 */
export const PRICE_CAPACITY = 40_000;

/**
 * The price line of the selected symbol: backfilled from 1 s candle closes,
 * then one point per live quote, bounded both by count and by age.
 */
export class PriceSeries {
  readonly points: BoundedSeries<PricePoint>;
  version = 0;
  private cutoffTs = -Infinity;

  constructor(
    capacity = PRICE_CAPACITY,
    private readonly maxAgeMs = PRICE_MAX_AGE_MS,
  ) {
    this.points = new BoundedSeries(capacity);
  }

  /**
   * Replaces the content with 1 s candle closes (each placed at its bucket's
   * last millisecond, not after `cutoffTs`, the newest trade time the history
   * includes).
   */
  loadFromCandles(candles: readonly Candle[], widthMs: number, cutoffTs: number): void {
    this.points.replace(
      candles.map((c) => ({ x: Math.min(c.t + widthMs - 1, Math.max(c.t, cutoffTs)), y: c.c })),
    );
    this.cutoffTs = cutoffTs;
    this.version++;
  }

  clear(): void {
    this.points.clear();
    this.cutoffTs = -Infinity;
    this.version++;
  }

  /** Appends a live quote's price; returns whether the line changed. */
  applyQuote(quote: Quote): boolean {
    if (quote.ts <= this.cutoffTs) return false;
    const last = this.points.last();
    if (last && quote.ts <= last.x) {
      if (quote.ts !== last.x || quote.price === last.y) return false;
      last.y = quote.price;
    } else {
      this.points.push({ x: quote.ts, y: quote.price });
      const oldest = quote.ts - this.maxAgeMs;
      this.points.dropWhile((p) => p.x < oldest);
    }
    this.version++;
    return true;
  }
}
