import * as v from 'valibot';
import { describeUpstreamIssue } from './live-feed-support.js';

/**
 * The messages of Alpaca's market data v2 stock stream
 * (wss://stream.data.alpaca.markets/v2/{iex|sip|test}) that AlpacaFeed reads
 * and writes, as valibot schemas. Every frame from the server is a JSON
 * array of messages, each an object whose `T` names its type (`success`,
 * `error`, `subscription`, `t` trade, `q` quote, and others this client does
 * not read: bars, statuses, corrections…). Only the fields used are checked;
 * other (and new) fields pass. Prices and sizes are JSON numbers and must be
 * finite and in range, else the message is malformed.
 */

/** `{"action":"auth","key":…,"secret":…}`: sent within 10 s of connecting. */
export interface AlpacaAuth {
  action: 'auth';
  key: string;
  secret: string;
}

/** The auth message. Holds the secret: never log it. */
export function authMessage(key: string, secret: string): AlpacaAuth {
  return { action: 'auth', key, secret };
}

/** `{"action":"subscribe","trades":[…],"quotes":[…]}`: after `authenticated`. */
export interface AlpacaSubscribe {
  action: 'subscribe';
  trades: string[];
  quotes: string[];
}

/** The subscribe message for the trades and quotes of `symbols`. */
export function subscribeMessage(symbols: readonly string[]): AlpacaSubscribe {
  return { action: 'subscribe', trades: [...symbols], quotes: [...symbols] };
}

/**
 * The documented error codes of the stream. 402 (bad key) is fatal for this
 * client; 406 (another connection of the account is open) needs a long wait;
 * 405 and 409 refuse part of a subscription and leave the rest running.
 */
export const ALPACA_ERROR_CODES = {
  400: 'invalid syntax',
  401: 'not authenticated',
  402: 'auth failed',
  403: 'already authenticated',
  404: 'auth timeout',
  405: 'symbol limit exceeded',
  406: 'connection limit exceeded',
  407: 'slow client',
  409: 'insufficient subscription',
  410: 'invalid subscribe action for this feed',
  500: 'internal error',
} as const satisfies Record<number, string>;

const symbol = v.pipe(
  v.string('S: expected a string'),
  v.minLength(1, 'S: expected a non-empty string'),
);

function finite(what: string, { positive }: { positive: boolean }) {
  const message = `${what}: expected a ${positive ? 'positive' : 'non-negative'} number`;
  return v.pipe(
    v.number(message),
    v.check((n) => Number.isFinite(n) && (positive ? n > 0 : n >= 0), message),
  );
}

/** RFC 3339 with up to nanoseconds, as the stream writes it (`2021-02-22T15:51:45.335689322Z`). */
const timestamp = v.pipe(
  v.string('t: expected an RFC 3339 timestamp'),
  v.regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/,
    't: expected an RFC 3339 timestamp',
  ),
);

/** A trade (`T: "t"`): price `p`, size `s`, trade id `i`, exchange `x`, conditions `c`, tape `z`. */
export const TRADE_MESSAGE = v.object({
  T: v.literal('t'),
  S: symbol,
  p: finite('p', { positive: true }),
  s: finite('s', { positive: true }),
  t: timestamp,
  i: v.optional(v.number('i: expected a number')),
  x: v.optional(v.string('x: expected a string')),
  c: v.optional(v.array(v.string(), 'c: expected an array of strings')),
  z: v.optional(v.string('z: expected a string')),
});
export type AlpacaTrade = v.InferOutput<typeof TRADE_MESSAGE>;

/** A quote (`T: "q"`): bid `bp` × `bs` on `bx`, ask `ap` × `as` on `ax`; a side may be 0 (empty). */
export const QUOTE_MESSAGE = v.object({
  T: v.literal('q'),
  S: symbol,
  bp: finite('bp', { positive: false }),
  ap: finite('ap', { positive: false }),
  bs: v.optional(finite('bs', { positive: false })),
  as: v.optional(finite('as', { positive: false })),
  bx: v.optional(v.string('bx: expected a string')),
  ax: v.optional(v.string('ax: expected a string')),
  t: timestamp,
  c: v.optional(v.array(v.string(), 'c: expected an array of strings')),
  z: v.optional(v.string('z: expected a string')),
});
export type AlpacaQuote = v.InferOutput<typeof QUOTE_MESSAGE>;

/** `{"T":"success","msg":"connected"}` on connect, `{"T":"success","msg":"authenticated"}` after auth. */
export const SUCCESS_MESSAGE = v.object({
  T: v.literal('success'),
  msg: v.string('msg: expected a string'),
});
export type AlpacaSuccess = v.InferOutput<typeof SUCCESS_MESSAGE>;

const symbolList = (what: string) =>
  v.optional(v.array(v.string(), `${what}: expected an array of strings`), []);

/** The reply to a subscribe: every symbol now subscribed per channel (the full set, not the change). */
export const SUBSCRIPTION_MESSAGE = v.object({
  T: v.literal('subscription'),
  trades: symbolList('trades'),
  quotes: symbolList('quotes'),
});
export type AlpacaSubscription = v.InferOutput<typeof SUBSCRIPTION_MESSAGE>;

/** `{"T":"error","code":402,"msg":"auth failed"}` (see {@link ALPACA_ERROR_CODES}). */
export const ERROR_MESSAGE = v.object({
  T: v.literal('error'),
  code: v.pipe(v.number('code: expected a number'), v.integer('code: expected an integer')),
  msg: v.string('msg: expected a string'),
});
export type AlpacaError = v.InferOutput<typeof ERROR_MESSAGE>;

/** One message of a frame, read. */
export type AlpacaMessage =
  | { kind: 'trade'; trade: AlpacaTrade }
  | { kind: 'quote'; quote: AlpacaQuote }
  | { kind: 'success'; success: AlpacaSuccess }
  | { kind: 'subscription'; subscription: AlpacaSubscription }
  | { kind: 'error'; error: AlpacaError }
  /** A type this client does not read (bars, statuses, lulds, corrections…): ignored. */
  | { kind: 'other'; type: string }
  /** Not an object with a string `T`, or a known type with a bad field. */
  | { kind: 'malformed'; problem: string };

/** One frame, read: its messages in order (a bad one is `malformed`, the others still count). */
export type AlpacaFrame =
  | { kind: 'messages'; messages: AlpacaMessage[] }
  /** Not JSON, or not a JSON array. */
  | { kind: 'malformed'; problem: string };

const SCHEMAS = {
  t: TRADE_MESSAGE,
  q: QUOTE_MESSAGE,
  success: SUCCESS_MESSAGE,
  subscription: SUBSCRIPTION_MESSAGE,
  error: ERROR_MESSAGE,
} as const;

/** Reads one message (an element of a frame's array); never throws. */
export function parseAlpacaMessage(json: unknown): AlpacaMessage {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { kind: 'malformed', problem: 'not a JSON object' };
  }
  const type: unknown = (json as { T?: unknown }).T;
  if (typeof type !== 'string') return { kind: 'malformed', problem: 'no string "T"' };
  if (!Object.hasOwn(SCHEMAS, type)) return { kind: 'other', type };
  const key = type as keyof typeof SCHEMAS;
  const result = v.safeParse(SCHEMAS[key], json, { abortEarly: true });
  if (!result.success) {
    return { kind: 'malformed', problem: `${type}: ${describeUpstreamIssue(result.issues[0])}` };
  }
  switch (key) {
    case 't':
      return { kind: 'trade', trade: result.output as AlpacaTrade };
    case 'q':
      return { kind: 'quote', quote: result.output as AlpacaQuote };
    case 'success':
      return { kind: 'success', success: result.output as AlpacaSuccess };
    case 'subscription':
      return { kind: 'subscription', subscription: result.output as AlpacaSubscription };
    case 'error':
      return { kind: 'error', error: result.output as AlpacaError };
  }
}

/** Reads one text frame of the stream (a JSON array of messages); never throws. */
export function parseAlpacaFrame(text: string): AlpacaFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'malformed', problem: 'not JSON' };
  }
  if (!Array.isArray(json)) return { kind: 'malformed', problem: 'not a JSON array' };
  return { kind: 'messages', messages: json.map(parseAlpacaMessage) };
}
