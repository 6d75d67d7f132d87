import { CandleSeries } from './candle-series.js';
import { PriceSeries } from './price-series.js';
import {
  CANDLE_CAPACITY,
  RESOLUTION_MS,
  type CandleResolution,
  type Candle,
  type Quote,
} from './market-types.js';

/** What `/api/history` answered for each resolution. */
export type Backfill = Record<CandleResolution, readonly Candle[]>;

/**
 * Everything the main chart draws for the selected symbol: the price line and
 * candles at both resolutions. Quotes that arrive while the backfill is in
 * flight are kept and replayed after it, skipping those the backfill already
 * includes.
 */
export class ChartFeed {
  readonly price = new PriceSeries();
  /** As many candles as the server keeps (CANDLE_CAPACITY), so a full backfill fits. */
  readonly candles: Record<CandleResolution, CandleSeries> = {
    '1s': new CandleSeries(RESOLUTION_MS['1s'], CANDLE_CAPACITY['1s']),
    '1m': new CandleSeries(RESOLUTION_MS['1m'], CANDLE_CAPACITY['1m']),
  };
  /** Symbol shown, or undefined before the first selection. */
  symbol: string | undefined;
  /** True from {@link reset} until {@link load}: quotes are only buffered. */
  loading = false;
  private pending: Quote[] = [];
  /** Newest quote ts seen for this symbol: the history fetched after it includes it. */
  private newestTs = -Infinity;

  /** Starts over for `symbol`; call before requesting its history. */
  reset(symbol: string): void {
    this.symbol = symbol;
    this.loading = true;
    this.pending = [];
    this.newestTs = -Infinity;
    this.price.clear();
    this.candles['1s'].clear();
    this.candles['1m'].clear();
  }

  /**
   * Installs the backfill. Every quote received before the history answer is
   * assumed to be in it (the server computed the history after sending them),
   * so the cutoff is the newest ts received so far. A quote in flight while the
   * server answered can still be counted twice: the next reconcile of closed
   * candles repairs that.
   */
  load(backfill: Backfill): void {
    const cutoff = this.newestTs;
    this.candles['1s'].load(backfill['1s'], cutoff);
    this.candles['1m'].load(backfill['1m'], cutoff);
    this.price.loadFromCandles(backfill['1s'], RESOLUTION_MS['1s'], cutoff);
    this.loading = false;
    const pending = this.pending;
    this.pending = [];
    for (const quote of pending) this.apply(quote);
  }

  /** Feeds a quote of the selected symbol; returns whether the chart needs a repaint. */
  applyQuote(quote: Quote): boolean {
    if (quote.symbol !== this.symbol) return false;
    if (this.loading) {
      if (quote.ts > this.newestTs) this.newestTs = quote.ts;
      // Bounded: a history request takes well under a second, and a minute of 100 ms quotes is 600.
      if (this.pending.length < 2000) this.pending.push(quote);
      return false;
    }
    return this.apply(quote);
  }

  private apply(quote: Quote): boolean {
    if (quote.ts > this.newestTs) this.newestTs = quote.ts;
    const a = this.price.applyQuote(quote);
    const b = this.candles['1s'].applyQuote(quote);
    const c = this.candles['1m'].applyQuote(quote);
    return a || b || c;
  }
}
