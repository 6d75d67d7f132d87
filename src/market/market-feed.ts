import type { Observable } from 'rxjs';
import type { FeedState, Instrument, MarketSession, Tick } from '../shared/market.js';

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
  /** Starts producing ticks (idempotent). */
  start(): void;
  /** Stops producing ticks and releases timers (idempotent). */
  stop(): void;
}
