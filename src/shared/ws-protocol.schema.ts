/**
 * The `/ws` envelope as valibot schemas: each frame is one JSON object with a
 * `type`, wrapping exactly the payloads of protocol.schema.ts (so both
 * transports share one declaration of every field). Types are re-exported by
 * ws-protocol.ts; the AsyncAPI document is generated from these.
 */
import * as v from 'valibot';
import {
  AckErrorSchema,
  QuoteBatchSchema,
  MarketStatusSchema,
  ShutdownNoticeSchema,
  SubscribeAckOkSchema,
  SubscribeRequestSchema,
  UnsubscribeAckOkSchema,
  UnsubscribeRequestSchema,
  WireErrorSchema,
} from './protocol.schema.js';
import { INTERVAL_TIERS_MS } from './protocol.js';

/** 1–64 letters, digits, `_` or `-`: a string request id. */
export const WS_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A request id: an integer, or 1–64 letters, digits, `_` or `-`. Echoed on the
 * answer so a client can match it; anything else is BAD_REQUEST.
 */
const ID_RULE = 'must be an integer or 1-64 letters, digits, "_" or "-"';
export const WsRequestIdSchema = v.pipe(
  v.union(
    [
      v.pipe(v.number(ID_RULE), v.safeInteger(ID_RULE)),
      v.pipe(v.string(ID_RULE), v.regex(WS_ID_PATTERN, ID_RULE)),
    ],
    ID_RULE,
  ),
  v.description(
    'Optional request id, echoed on the answer: an integer or 1-64 letters, digits, "_" or "-".',
  ),
);

export const WS_CLIENT_TYPES = ['subscribe', 'unsubscribe', 'ping'] as const;

/**
 * What every client frame is checked against first: a known `type` and, if
 * present, a valid `id`. Unknown fields are ignored.
 */
export const WsEnvelopeSchema = v.object({
  id: v.optional(WsRequestIdSchema),
  type: v.picklist(WS_CLIENT_TYPES, 'must be "subscribe", "unsubscribe" or "ping"'),
});

/** What to answer a frame that is JSON but not an object. */
export const WS_NOT_AN_OBJECT = 'expected a JSON object with a "type" field';

const optionalId = { id: v.optional(WsRequestIdSchema) };

// ---- client -> server -------------------------------------------------------------------------

export const WsSubscribeMessageSchema = v.object({
  type: v.literal('subscribe'),
  ...optionalId,
  ...SubscribeRequestSchema.entries,
});
export const WsUnsubscribeMessageSchema = v.object({
  type: v.literal('unsubscribe'),
  ...optionalId,
  ...UnsubscribeRequestSchema.entries,
});
export const WsPingMessageSchema = v.object({ type: v.literal('ping'), ...optionalId });
export const WsClientMessageSchema = v.variant('type', [
  WsSubscribeMessageSchema,
  WsUnsubscribeMessageSchema,
  WsPingMessageSchema,
]);

// ---- server -> client -------------------------------------------------------------------------

export const WsWelcomeMessageSchema = v.pipe(
  v.object({
    type: v.literal('welcome'),
    epoch: v.pipe(
      v.string(),
      v.description('Feed run: sequences restart when it changes (as `SubscribeAck.epoch`).'),
    ),
    tiers: v.pipe(
      v.array(v.picklist(INTERVAL_TIERS_MS)),
      v.readonly(),
      v.description('Update-rate tiers, ms; a requested interval rounds up to one of them.'),
    ),
    maxSymbols: v.pipe(v.number(), v.integer(), v.description('Symbols one connection may hold.')),
    serverTime: v.pipe(v.number(), v.description('Server wall clock, ms since the Unix epoch.')),
  }),
  v.description('The first frame of every connection.'),
);

const ackEnvelope = { type: v.literal('ack'), id: WsRequestIdSchema };

export const WsAckMessageSchema = v.pipe(
  v.union([
    v.object({ ...ackEnvelope, ...SubscribeAckOkSchema.entries }),
    v.object({ ...ackEnvelope, ...UnsubscribeAckOkSchema.entries }),
    v.object({ ...ackEnvelope, ...AckErrorSchema.entries }),
  ]),
  v.description(
    'The answer to a request that carried an `id`: exactly the fields of the Socket.IO ack.',
  ),
);

export const WsQuotesMessageSchema = v.pipe(
  v.object({ type: v.literal('quotes'), data: QuoteBatchSchema }),
  v.description('One frame per client per window: every symbol of the window the client holds.'),
);

export const WsExceptionMessageSchema = v.pipe(
  v.object({ type: v.literal('exception'), ...optionalId, error: WireErrorSchema }),
  v.description('A rejected request (with or without an `id`); never echoes the payload.'),
);

export const WsPongMessageSchema = v.object({ type: v.literal('pong'), ...optionalId });

export const WsShutdownMessageSchema = v.pipe(
  v.object({ type: v.literal('shutdown'), ...ShutdownNoticeSchema.entries }),
  v.description('Sent before the server closes every connection with 1001 on a graceful shutdown.'),
);

export const WsStatusMessageSchema = v.pipe(
  v.object({ type: v.literal('status'), ...MarketStatusSchema.entries }),
  v.description(
    'The state of the market (feed, source, session, halts): after the welcome and on every change.',
  ),
);

export const WsServerMessageSchema = v.union([
  WsWelcomeMessageSchema,
  WsAckMessageSchema,
  WsQuotesMessageSchema,
  WsExceptionMessageSchema,
  WsPongMessageSchema,
  WsShutdownMessageSchema,
  WsStatusMessageSchema,
]);
