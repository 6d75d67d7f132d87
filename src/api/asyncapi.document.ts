import { toJsonSchema, toJsonSchemaDefs } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { CANDLE_CAPACITY } from '../shared/market.js';
import {
  MarketStatusSchema,
  QuoteBatchSchema,
  QuoteSchema,
  QuoteWindowSchema,
  RejectedSymbolSchema,
  ShutdownNoticeSchema,
  SubscribeAckSchema,
  SubscribeRequestSchema,
  UnsubscribeAckSchema,
  UnsubscribeRequestSchema,
  WireErrorSchema,
} from '../shared/protocol.schema.js';
import { INTERVAL_TIERS_MS, MARKET_NAMESPACE } from '../shared/protocol.js';
import { WS_CLOSE, WS_PATH } from '../shared/ws-protocol.js';
import {
  WsAckMessageSchema,
  WsExceptionMessageSchema,
  WsPingMessageSchema,
  WsPongMessageSchema,
  WsQuotesMessageSchema,
  WsShutdownMessageSchema,
  WsStatusMessageSchema,
  WsSubscribeMessageSchema,
  WsUnsubscribeMessageSchema,
  WsWelcomeMessageSchema,
} from '../shared/ws-protocol.schema.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = v.GenericSchema;

/**
 * Schemas that several messages share: emitted once under
 * `components.schemas` and referenced, so a reader sees one Quote.
 */
const SHARED: Record<string, Schema> = {
  Quote: QuoteSchema,
  QuoteWindow: QuoteWindowSchema,
  WireError: WireErrorSchema,
  RejectedSymbol: RejectedSymbolSchema,
  MarketStatus: MarketStatusSchema,
};

/** A message of the document: its schema and what it is for. */
interface MessageSpec {
  schema: Schema;
  title: string;
  summary: string;
}

const WS_RECEIVED: Record<string, MessageSpec> = {
  subscribe: {
    schema: WsSubscribeMessageSchema,
    title: 'subscribe',
    summary: 'Start receiving symbols at an update interval; answered with an ack if it has an id.',
  },
  unsubscribe: {
    schema: WsUnsubscribeMessageSchema,
    title: 'unsubscribe',
    summary: 'Stop receiving symbols; answered with an ack if it has an id.',
  },
  ping: {
    schema: WsPingMessageSchema,
    title: 'ping',
    summary: 'Application-level ping, answered with pong.',
  },
};
const WS_SENT: Record<string, MessageSpec> = {
  welcome: {
    schema: WsWelcomeMessageSchema,
    title: 'welcome',
    summary: 'First frame of every connection.',
  },
  ack: { schema: WsAckMessageSchema, title: 'ack', summary: 'Answer to a request with an id.' },
  quotes: {
    schema: WsQuotesMessageSchema,
    title: 'quotes',
    summary: 'One frame per window with every held symbol that changed.',
  },
  exception: {
    schema: WsExceptionMessageSchema,
    title: 'exception',
    summary: 'A refused request.',
  },
  pong: { schema: WsPongMessageSchema, title: 'pong', summary: 'Answer to ping.' },
  shutdown: {
    schema: WsShutdownMessageSchema,
    title: 'shutdown',
    summary: 'The server is going away; close code 1001 follows.',
  },
  status: {
    schema: WsStatusMessageSchema,
    title: 'status',
    summary:
      'The market state (feed, source, session, halts): after the welcome and on each change.',
  },
};

const SIO_RECEIVED: Record<string, MessageSpec> = {
  subscribe: {
    schema: SubscribeRequestSchema,
    title: 'subscribe event',
    summary: 'emit("subscribe", request, ack): the ack callback receives a SubscribeAck.',
  },
  unsubscribe: {
    schema: UnsubscribeRequestSchema,
    title: 'unsubscribe event',
    summary: 'emit("unsubscribe", request, ack): the ack callback receives an UnsubscribeAck.',
  },
};
const SIO_SENT: Record<string, MessageSpec> = {
  subscribeAck: {
    schema: SubscribeAckSchema,
    title: 'subscribe ack',
    summary: 'The argument of the subscribe ack callback.',
  },
  unsubscribeAck: {
    schema: UnsubscribeAckSchema,
    title: 'unsubscribe ack',
    summary: 'The argument of the unsubscribe ack callback.',
  },
  quotes: {
    schema: QuoteBatchSchema,
    title: 'quotes event',
    summary: 'One event per window with every held symbol that changed (an array of Quote).',
  },
  exception: {
    schema: WireErrorSchema,
    title: 'exception event',
    summary: 'Sent for every refused request, with or without an ack.',
  },
  shutdown: {
    schema: ShutdownNoticeSchema,
    title: 'shutdown event',
    summary: 'The server is going away; reconnect after a short delay.',
  },
  status: {
    schema: MarketStatusSchema,
    title: 'status event',
    summary: 'The market state (feed, source, session, halts): on connect and on each change.',
  },
};

/** Replaces valibot's `#/$defs/X` references by the document's `#/components/schemas/X`. */
function relocateRefs(value: unknown): Json {
  if (Array.isArray(value)) return value.map(relocateRefs);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === '$defs' || key === '$schema') continue;
      out[key] =
        key === '$ref' && typeof item === 'string'
          ? item.replace('#/$defs/', '#/components/schemas/')
          : relocateRefs(item);
    }
    return out;
  }
  return value as Json;
}

/** JSON Schema of a valibot schema; transforms (trim, upper-casing, de-duplication) are not representable and are skipped. */
function jsonSchemaOf(schema: Schema): Json {
  return relocateRefs(toJsonSchema(schema, { definitions: SHARED, errorMode: 'ignore' }));
}

function messagesOf(specs: Record<string, MessageSpec>, prefix: string): Record<string, Json> {
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [
      `${prefix}${name[0].toUpperCase()}${name.slice(1)}`,
      {
        name,
        title: spec.title,
        summary: spec.summary,
        contentType: 'application/json',
        payload: jsonSchemaOf(spec.schema),
      },
    ]),
  );
}

function channelMessages(specs: Record<string, MessageSpec>, prefix: string): Record<string, Json> {
  return Object.fromEntries(
    Object.keys(specs).map((name) => [
      name,
      { $ref: `#/components/messages/${prefix}${name[0].toUpperCase()}${name.slice(1)}` },
    ]),
  );
}

function refs(channel: string, names: string[]): Json[] {
  return names.map((name) => ({ $ref: `#/channels/${channel}/messages/${name}` }));
}

export interface AsyncApiOptions {
  /** `host:port` clients reach the server at. */
  host: string;
  /** Version of the server (package.json). */
  version: string;
  /** Symbols one connection may hold. */
  maxSymbolsPerClient: number;
}

/**
 * The AsyncAPI 3.0 document of both transports, generated from the schemas in
 * src/shared (nothing here restates a field). Served at `GET /asyncapi.json`.
 */
export function buildAsyncApiDocument(options: AsyncApiOptions): Record<string, Json> {
  const closeCodes = Object.entries(WS_CLOSE)
    .map(([name, code]) => `${code} ${name}`)
    .join(', ');
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'tickstream market data',
      version: options.version,
      description: [
        'Live quotes, conflated per symbol and update-rate tier: latest value wins, with the window’s OHLC, volume and trade count carried along.',
        `Two transports carry the same payloads: plain RFC 6455 JSON at ${WS_PATH}, and Socket.IO v4 at namespace ${MARKET_NAMESPACE}.`,
        `Tiers: ${INTERVAL_TIERS_MS.join(', ')} ms (a requested interval rounds up). At most ${options.maxSymbolsPerClient} symbols per connection.`,
        `REST: GET /api/symbols, /api/quotes?symbols=A,B, /api/history/:symbol?resolution=1s|1m&limit=N (up to ${CANDLE_CAPACITY['1s']} 1s or ${CANDLE_CAPACITY['1m']} 1m candles).`,
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      ws: {
        host: options.host,
        protocol: 'ws',
        pathname: WS_PATH,
        description: `Plain WebSocket: text frames, each one JSON object with a "type". Close codes: ${closeCodes}. The server pings; a connection that answers none in time is closed.`,
      },
      socketio: {
        host: options.host,
        protocol: 'ws',
        pathname: '/socket.io/',
        description: `Socket.IO v4 (Engine.IO 4, WebSocket or polling); connect to namespace ${MARKET_NAMESPACE}. Each message below is the argument of the Socket.IO event of the same name.`,
      },
    },
    channels: {
      ws: {
        address: WS_PATH,
        servers: [{ $ref: '#/servers/ws' }],
        messages: { ...channelMessages(WS_RECEIVED, 'Ws'), ...channelMessages(WS_SENT, 'Ws') },
      },
      market: {
        address: MARKET_NAMESPACE,
        servers: [{ $ref: '#/servers/socketio' }],
        messages: {
          ...channelMessages(SIO_RECEIVED, 'Sio'),
          ...channelMessages(SIO_SENT, 'Sio'),
        },
      },
    },
    operations: {
      wsSubscribe: {
        action: 'receive',
        channel: { $ref: '#/channels/ws' },
        messages: refs('ws', ['subscribe']),
        reply: { channel: { $ref: '#/channels/ws' }, messages: refs('ws', ['ack', 'exception']) },
      },
      wsUnsubscribe: {
        action: 'receive',
        channel: { $ref: '#/channels/ws' },
        messages: refs('ws', ['unsubscribe']),
        reply: { channel: { $ref: '#/channels/ws' }, messages: refs('ws', ['ack', 'exception']) },
      },
      wsPing: {
        action: 'receive',
        channel: { $ref: '#/channels/ws' },
        messages: refs('ws', ['ping']),
        reply: { channel: { $ref: '#/channels/ws' }, messages: refs('ws', ['pong']) },
      },
      wsStream: {
        action: 'send',
        channel: { $ref: '#/channels/ws' },
        messages: refs('ws', ['welcome', 'status', 'quotes', 'exception', 'shutdown']),
      },
      sioSubscribe: {
        action: 'receive',
        channel: { $ref: '#/channels/market' },
        messages: refs('market', ['subscribe']),
        reply: {
          channel: { $ref: '#/channels/market' },
          messages: refs('market', ['subscribeAck']),
        },
      },
      sioUnsubscribe: {
        action: 'receive',
        channel: { $ref: '#/channels/market' },
        messages: refs('market', ['unsubscribe']),
        reply: {
          channel: { $ref: '#/channels/market' },
          messages: refs('market', ['unsubscribeAck']),
        },
      },
      sioStream: {
        action: 'send',
        channel: { $ref: '#/channels/market' },
        messages: refs('market', ['status', 'quotes', 'exception', 'shutdown']),
      },
    },
    components: {
      schemas: relocateRefs(toJsonSchemaDefs(SHARED, { errorMode: 'ignore' })),
      messages: {
        ...messagesOf(WS_RECEIVED, 'Ws'),
        ...messagesOf(WS_SENT, 'Ws'),
        ...messagesOf(SIO_RECEIVED, 'Sio'),
        ...messagesOf(SIO_SENT, 'Sio'),
      },
    },
  };
}
