import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type Observable, Subject, type Subscription } from 'rxjs';
import {
  CANDLE_CAPACITY,
  CANDLE_RESOLUTIONS,
  type Candle,
  type CandleResolution,
  type Instrument,
  RESOLUTION_MS,
  type SessionStats,
  type Tick,
} from '../shared/market.js';
import type { Quote } from '../shared/protocol.js';
import { CandleSeries } from './candle-series.js';
import {
  type FeedSnapshot,
  MARKET_FEED,
  type MarketFeed,
  type SessionState,
  type SlotTick,
} from './market-feed.js';
import { buildQuote, snapshotWindow } from './quote.js';
import { UnknownSymbolError } from './unknown-symbol.error.js';

// Re-exported for the importers that found it here before it moved to src/shared/.
export { CANDLE_CAPACITY };

/** Everything known about one symbol; mutated in place by each tick. */
class SymbolState {
  readonly subject = new Subject<Tick>();
  readonly ticks$: Observable<Tick> = this.subject.asObservable();
  readonly candles = {} as Record<CandleResolution, CandleSeries>;
  /**
   * prevClose in whole cents: change is computed in cents so it carries no
   * float dust. The instrument's refPrice, until a tick says otherwise
   * (a live source's `open_24h`, see Tick.prevClose).
   */
  prevCloseCents: number;
  last: Tick | undefined;
  open = 0;
  high = 0;
  low = 0;
  volume = 0;

  constructor(readonly instrument: Instrument) {
    this.prevCloseCents = Math.max(1, Math.round(instrument.refPrice * 100));
    for (const r of CANDLE_RESOLUTIONS) {
      this.candles[r] = new CandleSeries(RESOLUTION_MS[r], CANDLE_CAPACITY[r]);
    }
  }
}

/**
 * The market as the rest of the server sees it: the last tick, session
 * statistics and candles of every symbol, and per-symbol tick streams.
 *
 * It is the feed's only subscriber. Each tick is applied to the state first
 * and only then re-emitted on its symbol's hot stream, so anything reacting to
 * a tick (a conflation window, a snapshot request) reads state that already
 * includes it.
 */
@Injectable()
export class MarketStateService implements OnModuleDestroy {
  private readonly states = new Map<string, SymbolState>();
  private readonly subscription: Subscription;
  private readonly restored = new Subject<void>();
  private total = 0;
  /**
   * After the state was replaced by a snapshot (a gateway's resync): the
   * streaming layer restarts its windows and sends every client the fresh
   * values.
   */
  readonly restored$: Observable<void> = this.restored.asObservable();

  constructor(@Inject(MARKET_FEED) private readonly feed: MarketFeed) {
    for (const instrument of feed.instruments) {
      this.states.set(instrument.symbol, new SymbolState(instrument));
    }
    // Subscribed at construction, before any lifecycle hook can start the feed,
    // so the opening ticks are never missed.
    this.subscription = feed.ticks$.subscribe((tick) => this.apply(tick));
    if (feed.resync$) this.subscription.add(feed.resync$.subscribe((s) => this.restore(s)));
  }

  /** The feed's run id: changes when the feed restarts and sequences restart at 1. */
  get epoch(): string {
    return this.feed.epoch;
  }

  /** Ticks applied since boot. */
  get ticksTotal(): number {
    return this.total;
  }

  /** The universe, in the feed's stable order. */
  instruments(): readonly Instrument[] {
    return this.feed.instruments;
  }

  /** The instrument of an already upper-cased symbol. */
  instrument(symbol: string): Instrument | undefined {
    return this.states.get(symbol)?.instrument;
  }

  /** Whether an already upper-cased symbol is in the universe. */
  has(symbol: string): boolean {
    return this.states.has(symbol);
  }

  /**
   * Hot stream of one symbol's ticks, each emitted after the state includes it.
   * Throws {@link UnknownSymbolError} for a symbol outside the universe.
   */
  symbolTicks$(symbol: string): Observable<Tick> {
    const state = this.states.get(symbol);
    if (!state) throw new UnknownSymbolError(symbol);
    return state.ticks$;
  }

  /** The symbol's latest tick, or undefined before its first (or for an unknown symbol). */
  lastTick(symbol: string): Tick | undefined {
    return this.states.get(symbol)?.last;
  }

  /** Session statistics, or undefined for an unknown symbol or one without a trade yet. */
  session(symbol: string): SessionStats | undefined {
    const state = this.states.get(symbol);
    if (!state?.last) return undefined;
    return sessionOf(state, state.last);
  }

  /** The latest quote with a snapshot window (n = v = 0, o = h = l = price). */
  snapshot(symbol: string): Quote | undefined {
    const state = this.states.get(symbol);
    if (!state?.last) return undefined;
    const last = state.last;
    return buildQuote(last, sessionOf(state, last), snapshotWindow(last.price));
  }

  /** Up to `limit` most recent candles, oldest first; the last one is still forming. */
  candles(symbol: string, resolution: CandleResolution, limit: number): Candle[] {
    const series = this.states.get(symbol)?.candles[resolution];
    return series ? series.recent(limit) : [];
  }

  /** The session statistics of a symbol as held (prevClose in cents), or undefined before its first trade. */
  sessionState(symbol: string): SessionState | undefined {
    const state = this.states.get(symbol);
    if (!state?.last) return undefined;
    const { open, high, low, volume, prevCloseCents } = state;
    return { open, high, low, volume, prevCloseCents };
  }

  /** Detaches from the feed and completes every symbol stream, so downstream pipelines finish. */
  onModuleDestroy(): void {
    this.subscription.unsubscribe();
    for (const state of this.states.values()) state.subject.complete();
    this.restored.complete();
  }

  /**
   * Replaces every symbol's state with the snapshot's (a symbol missing from
   * it has had no trade: it is emptied), then tells `restored$`. Symbols of
   * the snapshot outside the universe are ignored.
   */
  private restore(snapshot: FeedSnapshot): void {
    for (const [symbol, state] of this.states) {
      const restore = snapshot.symbols.get(symbol);
      if (restore === undefined) {
        state.last = undefined;
        state.open = state.high = state.low = state.volume = 0;
        state.prevCloseCents = Math.max(1, Math.round(state.instrument.refPrice * 100));
        for (const r of CANDLE_RESOLUTIONS) state.candles[r].clear();
        continue;
      }
      setSession(state, restore.session);
      state.last = restore.tick;
      for (const r of CANDLE_RESOLUTIONS) state.candles[r].restore(restore.candles[r]);
    }
    this.restored.next();
  }

  private apply(tick: Tick): void {
    const state = this.states.get(tick.symbol);
    if (!state) return;
    const run = (tick as Partial<SlotTick>).win;
    if (run !== undefined) {
      // A bus slot (a gateway): the feed process computed the session; take it as it is.
      setSession(state, (tick as SlotTick).session);
      state.last = tick;
      for (const r of CANDLE_RESOLUTIONS) state.candles[r].applyRun(tick.ts, run, tick.price);
      this.total += run.n;
      state.subject.next(tick);
      return;
    }
    const { price, size } = tick;
    if (tick.seq === 1 || state.last === undefined || tick.opensSession) {
      // seq 1 opens a session (first start or a feed restart): start the day afresh; a
      // session opened within a run (a daily open) keeps the candles, which are history.
      if (state.last !== undefined && tick.seq === 1) {
        for (const r of CANDLE_RESOLUTIONS) state.candles[r].clear();
      }
      state.open = state.high = state.low = price;
      state.volume = size;
    } else {
      if (price > state.high) state.high = price;
      if (price < state.low) state.low = price;
      state.volume += size;
    }
    if (tick.prevClose !== undefined && tick.prevClose > 0) {
      state.prevCloseCents = Math.max(1, Math.round(tick.prevClose * 100));
    }
    state.last = tick;
    for (const r of CANDLE_RESOLUTIONS) state.candles[r].apply(tick);
    this.total++;
    state.subject.next(tick);
  }
}

function setSession(state: SymbolState, session: SessionState): void {
  state.open = session.open;
  state.high = session.high;
  state.low = session.low;
  state.volume = session.volume;
  state.prevCloseCents = session.prevCloseCents;
}

function sessionOf(state: SymbolState, last: Tick): SessionStats {
  const changeCents = Math.round(last.price * 100) - state.prevCloseCents;
  return {
    open: state.open,
    high: state.high,
    low: state.low,
    prevClose: state.prevCloseCents / 100,
    volume: state.volume,
    change: changeCents / 100,
    // Percent with two decimals: 10 000 · change / prevClose, rounded, over 100.
    changePct: Math.round((changeCents * 10_000) / state.prevCloseCents) / 100,
  };
}
