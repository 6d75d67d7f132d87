import type { SessionState } from '../market/market-feed.js';
import type { Tick } from '../shared/market.js';
import type { SlotUpdate } from './bus-batch.js';

/** One symbol's trades so far in the slot. */
interface Pending {
  tick: Tick;
  o: number;
  h: number;
  l: number;
  v: number;
  n: number;
}

/**
 * The feed side of a bus slot: folds every tick into its symbol's running
 * summary (first price, extremes, Σ size, count, latest tick), so a slot
 * costs one small record per symbol that traded, whatever the tick rate.
 */
export class SlotBatcher {
  private pending = new Map<string, Pending>();

  /** Symbols with a trade in the current slot. */
  get size(): number {
    return this.pending.size;
  }

  add(tick: Tick): void {
    const p = this.pending.get(tick.symbol);
    const price = tick.price;
    if (p === undefined) {
      this.pending.set(tick.symbol, { tick, o: price, h: price, l: price, v: tick.size, n: 1 });
      return;
    }
    if (price > p.h) p.h = price;
    if (price < p.l) p.l = price;
    p.v += tick.size;
    p.n++;
    p.tick = tick;
  }

  /**
   * The slot's updates, in first-trade order, each with the session after it
   * (`sessionOf`; a symbol it knows nothing of is left out), and a fresh slot.
   */
  take(sessionOf: (symbol: string) => SessionState | undefined): SlotUpdate[] {
    const updates: SlotUpdate[] = [];
    for (const [symbol, p] of this.pending) {
      const session = sessionOf(symbol);
      if (session === undefined) continue;
      updates.push({ tick: p.tick, win: { o: p.o, h: p.h, l: p.l, v: p.v, n: p.n }, session });
    }
    this.pending = new Map();
    return updates;
  }
}
