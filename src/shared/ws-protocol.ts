/**
 * The plain WebSocket protocol at `/ws`: RFC 6455 text frames, each one JSON
 * object with a `type`. The same rules and the same Quote objects as the
 * Socket.IO namespace (see protocol.ts); only the envelope differs, so any
 * WebSocket client in any language can use it. No Nest, Node or DOM imports.
 */
import type {
  IntervalTierMs,
  Quote,
  SubscribeAck,
  SubscribeRequest,
  UnsubscribeAck,
  UnsubscribeRequest,
  WireError,
} from './protocol.js';

/** Path of the plain WebSocket endpoint, on the same port as HTTP and Socket.IO. */
export const WS_PATH = '/ws';

/**
 * A request id: an integer, or 1–64 letters, digits, `_` or `-`. Echoed on the
 * answer so a client can match it; anything else is BAD_REQUEST.
 */
export type WsRequestId = number | string;
export const WS_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether a value is a valid request id. */
export function isWsRequestId(value: unknown): value is WsRequestId {
  return (
    (typeof value === 'number' && Number.isSafeInteger(value)) ||
    (typeof value === 'string' && WS_ID_PATTERN.test(value))
  );
}

// ---- client -> server -------------------------------------------------------------------------

export interface WsSubscribeMessage extends SubscribeRequest {
  type: 'subscribe';
  id?: WsRequestId;
}
export interface WsUnsubscribeMessage extends UnsubscribeRequest {
  type: 'unsubscribe';
  id?: WsRequestId;
}
export interface WsPingMessage {
  type: 'ping';
  id?: WsRequestId;
}
export type WsClientMessage = WsSubscribeMessage | WsUnsubscribeMessage | WsPingMessage;

// ---- server -> client -------------------------------------------------------------------------

/** The first frame of every connection. */
export interface WsWelcomeMessage {
  type: 'welcome';
  /** Feed run: sequences restart when it changes (as `SubscribeAck.epoch`). */
  epoch: string;
  tiers: readonly IntervalTierMs[];
  /** Symbols one connection may hold. */
  maxSymbols: number;
  /** Server wall clock, ms since the epoch. */
  serverTime: number;
}
/** The answer to a request that carried an `id`: exactly the Socket.IO ack's fields. */
export type WsAckMessage = { type: 'ack'; id: WsRequestId } & (SubscribeAck | UnsubscribeAck);
/** One frame per client per window: every symbol of the window the client holds. */
export interface WsQuotesMessage {
  type: 'quotes';
  data: Quote[];
}
/** A rejected request (with or without an `id`); never echoes the payload. */
export interface WsExceptionMessage {
  type: 'exception';
  id?: WsRequestId;
  error: WireError;
}
export interface WsPongMessage {
  type: 'pong';
  id?: WsRequestId;
}
/** Sent before the server closes every connection with 1001 on a graceful shutdown. */
export interface WsShutdownMessage {
  type: 'shutdown';
  reason: string;
}
export type WsServerMessage =
  | WsWelcomeMessage
  | WsAckMessage
  | WsQuotesMessage
  | WsExceptionMessage
  | WsPongMessage
  | WsShutdownMessage;

/** Close codes the server uses (RFC 6455 §7.4 and the 4000–4999 private range). */
export const WS_CLOSE = {
  /** Graceful shutdown (after a `shutdown` message). */
  GOING_AWAY: 1001,
  /** A binary frame: the protocol is text only. */
  UNSUPPORTED_DATA: 1003,
  /** A frame over MAX_PAYLOAD_BYTES. */
  MESSAGE_TOO_BIG: 1009,
  /** Sustained rate-limit abuse. */
  RATE_LIMITED: 4008,
  /** A slow consumer cut off (the connection is also reset). */
  SLOW_CONSUMER: 4009,
} as const;

/** Everything a quotes frame carries before its first quote. */
export const WS_QUOTES_PREFIX = '{"type":"quotes","data":[';

/**
 * The whole `quotes` frame carrying `pieces`, each a quote already
 * serialised with `JSON.stringify`: the server splices the same text into
 * every subscriber's frame instead of re-encoding per client.
 */
export function encodeWsQuotesFrame(pieces: readonly string[]): string {
  return `${WS_QUOTES_PREFIX}${pieces.join(',')}]}`;
}
