import * as v from 'valibot';
import { describeUpstreamIssue } from './live-feed-support.js';

/**
 * The messages of the Coinbase Exchange WebSocket feed
 * (wss://ws-feed.exchange.coinbase.com) that CoinbaseFeed reads, as valibot
 * schemas: only the fields it uses are checked, others (and new ones) pass.
 * Numbers of prices and sizes arrive as decimal strings (`"1285.22"`), so
 * that no float is lost on the way; each is parsed here and must be a finite
 * number in its range, else the frame is malformed.
 */

/** A decimal string such as `"1285.22"` or `"0.00000001"`, to its number. */
function decimal(what: string, { positive }: { positive: boolean }) {
  const message = `${what}: expected a ${positive ? 'positive ' : ''}decimal string`;
  return v.pipe(
    v.string(message),
    v.regex(/^\d{1,20}(?:\.\d{1,20})?$/, message),
    v.transform(Number),
    v.check((n) => Number.isFinite(n) && (positive ? n > 0 : n >= 0), message),
  );
}

/** `{"type":"subscribe","product_ids":[…],"channels":["ticker","heartbeat"]}`: what the client sends first. */
export interface CoinbaseSubscribe {
  type: 'subscribe';
  product_ids: string[];
  channels: string[];
}

/** The subscribe message for `productIds` on the ticker and heartbeat channels. */
export function subscribeMessage(productIds: readonly string[]): CoinbaseSubscribe {
  return { type: 'subscribe', product_ids: [...productIds], channels: ['ticker', 'heartbeat'] };
}

const productId = v.pipe(
  v.string('product_id: expected a string'),
  v.minLength(1, 'product_id: expected a non-empty string'),
);

/** A `ticker` message: the last trade of a product, with the best bid and ask after it. */
export const TICKER_MESSAGE = v.object({
  type: v.literal('ticker'),
  product_id: productId,
  price: decimal('price', { positive: true }),
  last_size: decimal('last_size', { positive: true }),
  best_bid: decimal('best_bid', { positive: false }),
  best_ask: decimal('best_ask', { positive: false }),
  open_24h: decimal('open_24h', { positive: false }),
  sequence: v.optional(v.number('sequence: expected a number')),
  trade_id: v.optional(v.number('trade_id: expected a number')),
  time: v.optional(v.string('time: expected a string')),
});
export type CoinbaseTicker = v.InferOutput<typeof TICKER_MESSAGE>;

/** A `heartbeat` message: once a second per subscribed product, trades or not. */
export const HEARTBEAT_MESSAGE = v.object({
  type: v.literal('heartbeat'),
  product_id: productId,
  sequence: v.optional(v.number('sequence: expected a number')),
  last_trade_id: v.optional(v.number('last_trade_id: expected a number')),
  time: v.optional(v.string('time: expected a string')),
});
export type CoinbaseHeartbeat = v.InferOutput<typeof HEARTBEAT_MESSAGE>;

const channel = v.union([
  v.string(),
  v.object({ name: v.string(), product_ids: v.optional(v.array(v.string())) }),
]);

/** The `subscriptions` reply to a subscribe: every channel the connection is now on. */
export const SUBSCRIPTIONS_MESSAGE = v.object({
  type: v.literal('subscriptions'),
  channels: v.array(channel, 'channels: expected an array'),
});
export type CoinbaseSubscriptions = v.InferOutput<typeof SUBSCRIPTIONS_MESSAGE>;

/** An `error` message: `message` says what failed, `reason` (optional) why. */
export const ERROR_MESSAGE = v.object({
  type: v.literal('error'),
  message: v.string('message: expected a string'),
  reason: v.optional(v.string('reason: expected a string')),
});
export type CoinbaseError = v.InferOutput<typeof ERROR_MESSAGE>;

/** One frame of the feed, read. */
export type CoinbaseMessage =
  | { kind: 'ticker'; ticker: CoinbaseTicker }
  | { kind: 'heartbeat'; heartbeat: CoinbaseHeartbeat }
  | { kind: 'subscriptions'; subscriptions: CoinbaseSubscriptions }
  | { kind: 'error'; error: CoinbaseError }
  /** A type this client does not read (the feed may add types at any time: ignored). */
  | { kind: 'other'; type: string }
  /** Not JSON, not an object with a string `type`, or a known type with a bad field. */
  | { kind: 'malformed'; problem: string };

const SCHEMAS = {
  ticker: TICKER_MESSAGE,
  heartbeat: HEARTBEAT_MESSAGE,
  subscriptions: SUBSCRIPTIONS_MESSAGE,
  error: ERROR_MESSAGE,
} as const;

/** Reads one text frame of the feed; never throws. */
export function parseCoinbaseMessage(text: string): CoinbaseMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'malformed', problem: 'not JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { kind: 'malformed', problem: 'not a JSON object' };
  }
  const type: unknown = (json as { type?: unknown }).type;
  if (typeof type !== 'string') return { kind: 'malformed', problem: 'no string "type"' };
  if (!Object.hasOwn(SCHEMAS, type)) return { kind: 'other', type };
  const kind = type as keyof typeof SCHEMAS;
  const result = v.safeParse(SCHEMAS[kind], json, { abortEarly: true });
  if (!result.success) {
    return { kind: 'malformed', problem: `${type}: ${describeUpstreamIssue(result.issues[0])}` };
  }
  switch (kind) {
    case 'ticker':
      return { kind, ticker: result.output as CoinbaseTicker };
    case 'heartbeat':
      return { kind, heartbeat: result.output as CoinbaseHeartbeat };
    case 'subscriptions':
      return { kind, subscriptions: result.output as CoinbaseSubscriptions };
    case 'error':
      return { kind, error: result.output as CoinbaseError };
  }
}
