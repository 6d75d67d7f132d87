/**
 * The wire and domain types the dashboard uses, imported from `src/shared/` as
 * types only (nothing of the server ends up in the bundle). Runtime constants
 * are re-declared here and checked against the shared types, so a change on
 * the server side breaks `tsc` instead of silently drifting.
 */
import type { CandleResolution, RESOLUTION_MS } from '../../../src/shared/market.js';
import type { IntervalTierMs, MARKET_NAMESPACE } from '../../../src/shared/protocol.js';

export type {
  ClientToServerEvents,
  IntervalTierMs,
  Quote,
  RejectedSymbol,
  ServerToClientEvents,
  SubscribeAck,
  UnsubscribeAck,
  WireError,
} from '../../../src/shared/protocol.js';
export type {
  ApiErrorBody,
  Candle,
  CandleResolution,
  HistoryResponse,
  SymbolInfo,
} from '../../../src/shared/market.js';

/** The server's update-rate tiers (`INTERVAL_TIERS_MS`), fastest first. */
export const INTERVAL_TIERS = [
  100, 250, 500, 1000, 2000, 5000,
] as const satisfies readonly IntervalTierMs[];

/** Socket.IO namespace of market data (`MARKET_NAMESPACE`). */
export const MARKET_NS = '/market' as const satisfies typeof MARKET_NAMESPACE;

/** Bucket width of each candle resolution (`RESOLUTION_MS`). */
export const RESOLUTION_WIDTH_MS = {
  '1s': 1000,
  '1m': 60_000,
} as const satisfies typeof RESOLUTION_MS;

export const RESOLUTIONS = ['1s', '1m'] as const satisfies readonly CandleResolution[];

/** Rounds a requested interval up to a tier, as the server does (`toIntervalTier`). */
export function toTier(requestedMs: number): IntervalTierMs {
  for (const tier of INTERVAL_TIERS) if (requestedMs <= tier) return tier;
  return INTERVAL_TIERS[INTERVAL_TIERS.length - 1];
}
