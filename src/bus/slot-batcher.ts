import type { SessionState } from '../market/market-feed.js';
import { RESOLUTION_MS, CANDLE_RESOLUTIONS, type Tick } from '../shared/market.js';
import type { SlotUpdate } from './bus-batch.js';

/**
 * The finest candle bucket. Every coarser resolution is a multiple of it, so
 * trades in one finest bucket are in one bucket at every resolution.
 */
const FINEST_BUCKET_MS = Math.min(...CANDLE_RESOLUTIONS.map((r) => RESOLUTION_MS[r]));

/** A run of one symbol's trades in the slot, all in one candle bucket. */
interface Run {
  tick: Tick;
  bucket: number;
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
 *
 * A slot is cut on a timer, so a tick delivered late can share a slot with
 * ticks of the next candle bucket. A symbol's run therefore ends where its
 * ticks change bucket and the next tick starts a new run of the same slot:
 * a gateway folds each run into the bucket of its last tick, which is the
 * bucket of every tick in it, and builds the candles the feed built tick by
 * tick.
 */
export class SlotBatcher {
  /** Runs in order of their first trade. */
  private runs: Run[] = [];
  /** symbol → its run still open in this slot. */
  private open = new Map<string, Run>();

  /** Symbols with a trade in the current slot. */
  get size(): number {
    return this.open.size;
  }

  add(tick: Tick): void {
    const price = tick.price;
    const bucket = Math.floor(tick.ts / FINEST_BUCKET_MS);
    const run = this.open.get(tick.symbol);
    if (run === undefined || run.bucket !== bucket) {
      const fresh: Run = { tick, bucket, o: price, h: price, l: price, v: tick.size, n: 1 };
      this.runs.push(fresh);
      this.open.set(tick.symbol, fresh);
      return;
    }
    if (price > run.h) run.h = price;
    if (price < run.l) run.l = price;
    run.v += tick.size;
    run.n++;
    run.tick = tick;
  }

  /**
   * The slot's updates, one per run in first-trade order, each with the
   * session after the slot (`sessionOf`; a symbol it knows nothing of is left
   * out), and a fresh slot.
   */
  take(sessionOf: (symbol: string) => SessionState | undefined): SlotUpdate[] {
    const updates: SlotUpdate[] = [];
    for (const run of this.runs) {
      const session = sessionOf(run.tick.symbol);
      if (session === undefined) continue;
      const { o, h, l, v, n } = run;
      updates.push({ tick: run.tick, win: { o, h, l, v, n }, session });
    }
    this.runs = [];
    this.open = new Map();
    return updates;
  }
}
