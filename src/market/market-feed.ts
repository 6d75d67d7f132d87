import type { Observable } from 'rxjs';
import type {
  Candle,
  CandleResolution,
  FeedSourceName,
  FeedState,
  Instrument,
  MarketSession,
  Tick,
} from '../shared/market.js';
import type { QuoteWindow } from '../shared/protocol.js';

export type { FeedState } from '../shared/market.js';

/** DI token of the active {@link MarketFeed}. */
export const MARKET_FEED = Symbol('MARKET_FEED');

/** DI token of the RxJS scheduler every time-based stream uses (virtual time in tests). */
export const MARKET_SCHEDULER = Symbol('MARKET_SCHEDULER');

/**
 * A source of trades. The simulator is one implementation, the replay of a
 * recorded file another (FEED selects one in MarketModule); nothing downstream
 * (streaming, gateway, REST, dashboard) knows which.
 *
 * The contract every implementation keeps:
 *
 * - **Universe.** `instruments` is fixed before the application serves (a
 *   replay scans its file at boot for it) and every tick is of one of them.
 *   Symbols are upper-case wire symbols (src/shared/symbols.ts).
 * - **Epoch and seq.** An epoch is one run of the feed. Within it each
 *   symbol's `seq` is 1, 2, 3 … with no gap and no repeat, and its `ts` never
 *   decreases. A new run (a restart of the simulator, a replay starting its
 *   file again with REPLAY_LOOP) gets a new `epoch` and starts every `seq`
 *   at 1 again.
 * - **Session stats.** A tick with `seq` 1 opens the symbol's session:
 *   MarketStateService starts open/high/low/volume from it and clears its
 *   candles. A tick marked `opensSession` (the simulator's daily regular
 *   open under MARKET_CALENDAR=nyse) starts open/high/low/volume again but
 *   keeps `seq` and the candles. Nothing else resets them.
 * - **prevClose** is the instrument's `refPrice`: the simulator's reference
 *   price; for a replay the price of the symbol's first trade in the file
 *   (the file says nothing of the day before). A tick may carry its own
 *   `prevClose` (a live source's `open_24h`; the simulator's last trade
 *   before a daily open), which replaces it from then on.
 * - **ts** is ms since the epoch on the server's clock (MARKET_SCHEDULER),
 *   not the source's: a replay rebases its file's times so its first tick is
 *   at the time it starts, keeping the spacing (divided by REPLAY_SPEED), so
 *   staleness and charts mean the same as for a live source.
 * - **Nothing is lost** that the source delivers: every trade is one tick,
 *   in order (a replay's rows, the simulator's arrivals). A live source that
 *   must shed load when the server falls behind (Coinbase's bounded buffer)
 *   drops the oldest ticks and counts and logs them; `seq` stays gapless,
 *   numbering what is delivered. `seq` also continues across a live source's
 *   reconnects: one process run of it is one epoch.
 */
/** A symbol's session statistics as the state holds them (prevClose in whole cents). */
export interface SessionState {
  open: number;
  high: number;
  low: number;
  volume: number;
  prevCloseCents: number;
}

/**
 * A tick that stands for every trade of one symbol in one slot of a
 * cluster's bus (src/bus/): the latest trade, plus the slot's OHLCV and
 * count and the session statistics after it, computed by the feed process.
 * A gateway's feed emits these; conflation folds `win` instead of the one
 * trade, MarketStateService takes `session` as it is, so Σ`win.n` and
 * Σ`win.v` still count every trade.
 */
export interface SlotTick extends Tick {
  readonly win: QuoteWindow;
  readonly session: SessionState;
}

/** One symbol's whole state, as a gateway restores it from the cluster's snapshot. */
export interface SymbolRestore {
  tick: Tick;
  session: SessionState;
  /** Oldest first, the forming candle last. */
  candles: Record<CandleResolution, Candle[]>;
}

/** The whole market state at one point of the feed: what a resync replaces the state with. */
export interface FeedSnapshot {
  epoch: string;
  /** Symbols with at least one trade; the others have none yet. */
  symbols: ReadonlyMap<string, SymbolRestore>;
}

export interface MarketFeed {
  /** Hot, shared stream of every tick, in time order per symbol. Never errors. */
  readonly ticks$: Observable<Tick>;
  /** Identifies this run of the feed: changes every time the feed (re)starts. */
  readonly epoch: string;
  /** The instrument universe, in a stable order. */
  readonly instruments: readonly Instrument[];
  /**
   * Where the feed is ({@link FeedState}); `closed` once no more ticks will
   * come (a replay past its last row). Optional: a feed without it is taken
   * to be `live`.
   */
  readonly state?: FeedState;
  /**
   * The state and every change of it, the current one first (a
   * BehaviorSubject's). Optional like `state`: without it the state is read
   * once and taken not to change.
   */
  readonly state$?: Observable<FeedState>;
  /**
   * The market session and every change of it, the current one first. Optional:
   * without it the market trades around the clock (`always`).
   */
  readonly session$?: Observable<MarketSession>;
  /** The symbols whose trading is halted (sorted), the current list first. Optional: none. */
  readonly halted$?: Observable<readonly string[]>;
  /**
   * Why the feed is not `live`, when there is more to say than the state
   * (`redis unreachable`), the current one first. Optional: no reason.
   */
  readonly reason$?: Observable<string | undefined>;
  /**
   * Where its ticks come from, when that is not FEED (a gateway's feed says
   * which source the cluster's feed runs). Optional: FEED.
   */
  readonly sourceName?: FeedSourceName;
  /**
   * Snapshots that replace the whole market state (a gateway resyncing from
   * the cluster's Redis after a gap or a new epoch), each one before the
   * ticks that follow it. Optional: a feed that never resyncs.
   */
  readonly resync$?: Observable<FeedSnapshot>;
  /** Starts producing ticks (idempotent). */
  start(): void;
  /** Stops producing ticks and releases timers (idempotent). */
  stop(): void;
}
