/**
 * The tickstream wire protocol, written down once.
 *
 * Imported by the Socket.IO gateway, the REST controllers, the e2e tests and
 * the browser dashboard (which bundles the constants and `toIntervalTier`).
 * Nothing here may import Nest, Node or DOM APIs: it must compile in every one
 * of those places. Symbol syntax lives in `symbols.ts`.
 */

/** Socket.IO namespace that carries market data. */
export const MARKET_NAMESPACE = '/market';

/**
 * Update-rate tiers in milliseconds. A requested interval rounds *up* to the
 * nearest tier (a client asking for 300 ms gets 500 ms, never faster than it
 * asked). Tiers keep the number of conflation pipelines at symbols × tiers,
 * independent of how many clients there are.
 */
export const INTERVAL_TIERS_MS = [100, 250, 500, 1000, 2000, 5000] as const;
export type IntervalTierMs = (typeof INTERVAL_TIERS_MS)[number];

/** Error codes a client can see, on an ack or an `exception` event. */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNKNOWN_SYMBOL',
  'LIMIT_EXCEEDED',
  'RATE_LIMITED',
  'UNAUTHORIZED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface WireError {
  code: ErrorCode;
  message: string;
}

/** Conflation window summary: open, high, low, volume and tick count of the window. */
export interface QuoteWindow {
  o: number;
  h: number;
  l: number;
  v: number;
  n: number;
}

/** One symbol's state as sent to clients, conflated over the client's window. */
export interface Quote {
  symbol: string;
  price: number;
  bid: number;
  ask: number;
  /** ms since epoch of the last tick included. */
  ts: number;
  /** Per symbol, strictly increasing; the same tick has the same seq for every client. */
  seq: number;
  /** Session (day) values. */
  open: number;
  high: number;
  low: number;
  prevClose: number;
  change: number;
  changePct: number;
  volume: number;
  /** This window. In a subscribe snapshot (no window yet) n = 0, v = 0 and o = h = l = price. */
  win: QuoteWindow;
}

export interface SubscribeRequest {
  symbols: string[];
  intervalMs?: number;
}

export interface UnsubscribeRequest {
  symbols: string[];
}

export interface RejectedSymbol {
  symbol: string;
  code: ErrorCode;
  message: string;
}

export type SubscribeAck =
  | {
      ok: true;
      intervalMs: number;
      snapshot: Quote[];
      rejected: RejectedSymbol[];
      /**
       * Identifies the feed run. `seq` only compares within one epoch: a new
       * epoch after a reconnect means the server restarted (sequences began
       * again), while the same epoch with a jump in `seq` is conflation.
       */
      epoch: string;
    }
  | { ok: false; error: WireError };

export type UnsubscribeAck = { ok: true; unsubscribed: string[] } | { ok: false; error: WireError };

export interface ServerToClientEvents {
  /** One or more symbols, each conflated over that client's window. */
  quotes: (batch: Quote[]) => void;
  /** Sent for every rejected request, whether or not it carried an ack. */
  exception: (error: WireError) => void;
  /** The server is going away (restart or shutdown); reconnect after a short delay. */
  shutdown: (notice: ShutdownNotice) => void;
}

export interface ShutdownNotice {
  reason: string;
}

export interface ClientToServerEvents {
  subscribe: (req: SubscribeRequest, ack?: (res: SubscribeAck) => void) => void;
  unsubscribe: (req: UnsubscribeRequest, ack?: (res: UnsubscribeAck) => void) => void;
}

/** Rounds a requested interval up to the nearest tier (clamped to the slowest). */
export function toIntervalTier(requestedMs: number): IntervalTierMs {
  for (const tier of INTERVAL_TIERS_MS) {
    if (requestedMs <= tier) return tier;
  }
  return INTERVAL_TIERS_MS[INTERVAL_TIERS_MS.length - 1];
}
