import type { Observable } from 'rxjs';
import type { Instrument, Tick } from '../shared/market.js';

/** DI token of the active {@link MarketFeed}. */
export const MARKET_FEED = Symbol('MARKET_FEED');

/** DI token of the RxJS scheduler every time-based stream uses (virtual time in tests). */
export const MARKET_SCHEDULER = Symbol('MARKET_SCHEDULER');

/**
 * A source of trades. The simulator is one implementation; a replay file or a
 * networked source can replace it without touching the streaming layer or gateway.
 */
export interface MarketFeed {
  /** Hot, shared stream of every tick, in time order per symbol. Never errors. */
  readonly ticks$: Observable<Tick>;
  /** Identifies this run of the feed: changes every time the feed (re)starts. */
  readonly epoch: string;
  /** The instrument universe, in a stable order. */
  readonly instruments: readonly Instrument[];
  /** Starts producing ticks (idempotent). */
  start(): void;
  /** Stops producing ticks and releases timers (idempotent). */
  stop(): void;
}
