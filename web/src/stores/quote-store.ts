import { Float64Ring } from './ring-buffer.js';
import type { Quote } from './market-types.js';

/** Direction of the last price move of a row: up, down, or unchanged. */
export type TickDirection = 1 | -1 | 0;

/** What the watchlist shows for one symbol. */
export interface QuoteRow {
  readonly symbol: string;
  quote: Quote;
  /** Direction of the last change of `price` (0 until it first moves). */
  direction: TickDirection;
  /** Direction of the last change of `bid` / `ask`, for their own flashes. */
  bidDirection: TickDirection;
  askDirection: TickDirection;
  /** Recent prices, oldest first, for the row's sparkline. */
  readonly spark: Float64Ring;
  /** Incremented on every accepted update, so views can skip rows they already drew. */
  version: number;
}

/**
 * 120 points: at the 250 ms default that is the last 30 s, enough for a
 * 96 px sparkline without resampling; 50 rows × 120 × 8 B ≈ 47 kB in total.
 */
export const SPARK_POINTS = 120;

/**
 * Latest quote per symbol, plus what the table needs to draw it: tick
 * direction for the flash, a bounded sparkline ring, and a dirty set so a
 * frame repaints only rows that changed.
 */
export class QuoteStore {
  private readonly rows = new Map<string, QuoteRow>();
  private dirty = new Set<string>();

  constructor(private readonly sparkPoints = SPARK_POINTS) {}

  get(symbol: string): QuoteRow | undefined {
    return this.rows.get(symbol);
  }

  has(symbol: string): boolean {
    return this.rows.has(symbol);
  }

  /**
   * Applies one live quote. Returns false (and changes nothing) when it is not
   * newer than what the row holds: seq is strictly increasing per symbol, so
   * a duplicate or reordered message is dropped here.
   */
  ingest(quote: Quote): boolean {
    const row = this.rows.get(quote.symbol);
    if (row && quote.seq <= row.quote.seq) return false;
    this.apply(row, quote);
    return true;
  }

  /**
   * Applies a subscribe snapshot unconditionally. After a server restart seq
   * starts again from 1, so the snapshot is the new baseline, not a stale quote.
   */
  ingestSnapshot(quote: Quote): void {
    this.apply(this.rows.get(quote.symbol), quote);
  }

  remove(symbol: string): void {
    this.rows.delete(symbol);
    this.dirty.delete(symbol);
  }

  hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  /** Symbols changed since the last call; the caller owns the returned set. */
  takeDirty(): Set<string> {
    const taken = this.dirty;
    this.dirty = new Set();
    return taken;
  }

  private apply(row: QuoteRow | undefined, quote: Quote): void {
    if (!row) {
      const spark = new Float64Ring(this.sparkPoints);
      spark.push(quote.price);
      this.rows.set(quote.symbol, {
        symbol: quote.symbol,
        quote,
        direction: 0,
        bidDirection: 0,
        askDirection: 0,
        spark,
        version: 1,
      });
    } else {
      const prev = row.quote;
      row.direction = direction(prev.price, quote.price, row.direction);
      row.bidDirection = direction(prev.bid, quote.bid, row.bidDirection);
      row.askDirection = direction(prev.ask, quote.ask, row.askDirection);
      row.quote = quote;
      row.spark.push(quote.price);
      row.version++;
    }
    this.dirty.add(quote.symbol);
  }
}

/** Direction from `before` to `after`; an unchanged value keeps the previous direction. */
function direction(before: number, after: number, previous: TickDirection): TickDirection {
  if (after > before) return 1;
  if (after < before) return -1;
  return previous;
}
