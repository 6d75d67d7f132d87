/**
 * The plain WebSocket protocol at `/ws`: RFC 6455 text frames, each one JSON
 * object with a `type`. The same rules and the same Quote objects as the
 * Socket.IO namespace (see protocol.ts); only the envelope differs, so any
 * WebSocket client in any language can use it. No Nest, Node or DOM imports.
 */
import type * as v from 'valibot';
import type {
  WsAckMessageSchema,
  WsExceptionMessageSchema,
  WsPingMessageSchema,
  WsPongMessageSchema,
  WsQuotesMessageSchema,
  WsRequestIdSchema,
  WsServerMessageSchema,
  WsShutdownMessageSchema,
  WsStatusMessageSchema,
  WsSubscribeMessageSchema,
  WsUnsubscribeMessageSchema,
  WsWelcomeMessageSchema,
} from './ws-protocol.schema.js';

/** Path of the plain WebSocket endpoint, on the same port as HTTP and Socket.IO. */
export const WS_PATH = '/ws';

// The message types come from the schemas (ws-protocol.schema.ts).
export type WsRequestId = v.InferOutput<typeof WsRequestIdSchema>;
export type WsSubscribeMessage = v.InferInput<typeof WsSubscribeMessageSchema>;
export type WsUnsubscribeMessage = v.InferInput<typeof WsUnsubscribeMessageSchema>;
export type WsPingMessage = v.InferInput<typeof WsPingMessageSchema>;
export type WsClientMessage = WsSubscribeMessage | WsUnsubscribeMessage | WsPingMessage;

/** The first frame of every connection. */
export type WsWelcomeMessage = v.InferOutput<typeof WsWelcomeMessageSchema>;
/** The answer to a request that carried an `id`: exactly the Socket.IO ack's fields. */
export type WsAckMessage = v.InferOutput<typeof WsAckMessageSchema>;
/** One frame per client per window: every symbol of the window the client holds. */
export type WsQuotesMessage = v.InferOutput<typeof WsQuotesMessageSchema>;
/** A rejected request (with or without an `id`); never echoes the payload. */
export type WsExceptionMessage = v.InferOutput<typeof WsExceptionMessageSchema>;
export type WsPongMessage = v.InferOutput<typeof WsPongMessageSchema>;
/** Sent before the server closes every connection with 1001 on a graceful shutdown. */
export type WsShutdownMessage = v.InferOutput<typeof WsShutdownMessageSchema>;
/** The state of the market: after the welcome and on every change. */
export type WsStatusMessage = v.InferOutput<typeof WsStatusMessageSchema>;
export type WsServerMessage = v.InferOutput<typeof WsServerMessageSchema>;

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
