/**
 * The tickstream wire protocol, written down once.
 *
 * Imported by the Socket.IO gateway, the REST controllers, the e2e tests and
 * the browser dashboard (which bundles the constants and `toIntervalTier`).
 * Nothing here may import Nest, Node or DOM APIs: it must compile in every one
 * of those places. Symbol syntax lives in `symbols.ts`, the payloads' schemas
 * in `protocol.schema.ts`.
 */
import type * as v from 'valibot';
import type {
  MarketStatusSchema,
  QuoteSchema,
  QuoteWindowSchema,
  RejectedSymbolSchema,
  ShutdownNoticeSchema,
  SubscribeAckSchema,
  SubscribeRequestSchema,
  UnsubscribeAckSchema,
  UnsubscribeRequestSchema,
  WireErrorSchema,
} from './protocol.schema.js';

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

// The payload types come from the schemas (protocol.schema.ts), the one declaration of every
// field; `import type` keeps valibot out of bundles that only need these constants.
export type WireError = v.InferOutput<typeof WireErrorSchema>;
/** Conflation window summary: open, high, low, volume and tick count of the window. */
export type QuoteWindow = v.InferOutput<typeof QuoteWindowSchema>;
/** One symbol's state as sent to clients, conflated over the client's window. */
export type Quote = v.InferOutput<typeof QuoteSchema>;
/** What a client sends; the server answers symbols upper-case and de-duplicated. */
export type SubscribeRequest = v.InferInput<typeof SubscribeRequestSchema>;
export type UnsubscribeRequest = v.InferInput<typeof UnsubscribeRequestSchema>;
export type RejectedSymbol = v.InferOutput<typeof RejectedSymbolSchema>;
export type SubscribeAck = v.InferOutput<typeof SubscribeAckSchema>;
export type UnsubscribeAck = v.InferOutput<typeof UnsubscribeAckSchema>;
export type ShutdownNotice = v.InferOutput<typeof ShutdownNoticeSchema>;
/** The market's state: the feed, its source, the session and the halted symbols. */
export type MarketStatus = v.InferOutput<typeof MarketStatusSchema>;

export interface ServerToClientEvents {
  /** One or more symbols, each conflated over that client's window. */
  quotes: (batch: Quote[]) => void;
  /** Sent for every rejected request, whether or not it carried an ack. */
  exception: (error: WireError) => void;
  /** The server is going away (restart or shutdown); reconnect after a short delay. */
  shutdown: (notice: ShutdownNotice) => void;
  /** The market's state (feed, source, session, halts): on connect and on every change. */
  status: (status: MarketStatus) => void;
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
