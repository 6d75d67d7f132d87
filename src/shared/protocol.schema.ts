/**
 * The payloads of the wire protocol as valibot schemas: the one declaration
 * from which come the TypeScript types (re-exported by protocol.ts), the
 * runtime checks of everything a client sends, and the JSON Schema of the
 * AsyncAPI document served at `/asyncapi.json`. Both transports carry these
 * same payloads; ws-protocol.schema.ts only adds the `/ws` envelope.
 *
 * Messages of the checks name the predicate and never the value, so an error
 * can be sent back without echoing the client's payload; {@link describeIssue}
 * prefixes the field. No Nest, Node or DOM imports: the dashboard may import
 * this.
 *
 * Why valibot rather than zod 4: the same subscribe/ack schemas bundled and
 * minified are 2.6 KB gzipped with valibot, 7.9 KB with zod/mini and 27.3 KB
 * with zod; validating a 10-symbol subscribe took 2.4 µs (valibot), 2.0 µs
 * (zod) and 3.0 µs (zod/mini), and a malformed one 2.7 µs against 7.0 and
 * 9.6 µs (median of 5 rounds of 300k, esbuild bundles, Node 20).
 */
import * as v from 'valibot';
import { FEED_SOURCE_NAMES, FEED_STATES, MARKET_SESSIONS } from './market.js';
import { ERROR_CODES } from './protocol.js';
import { SYMBOL_PATTERN, SYMBOL_RULE } from './symbols.js';

/** Longest `symbols` array one subscribe or unsubscribe may carry (before de-duplication). */
export const MAX_SYMBOLS_PER_REQUEST = 500;

// ---- building blocks ---------------------------------------------------------------------------

/** A plain JSON object (not an array, a Date or a class instance). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A ticker symbol as a client may write it: surrounding spaces and any case
 * accepted, answered trimmed and upper-case (validated before upper-casing,
 * since Unicode case mapping turns 'ß' into 'SS').
 */
export const SymbolInputSchema = v.pipe(
  v.string('must be a string'),
  v.trim(),
  v.regex(SYMBOL_PATTERN, `is not a ticker symbol (${SYMBOL_RULE})`),
  v.toUpperCase(),
  v.description(`A ticker symbol: ${SYMBOL_RULE}, case-insensitive (answered upper-case).`),
);

/** A symbol as the server writes it (always upper-case). */
export const SymbolSchema = v.pipe(
  v.string(),
  v.regex(SYMBOL_PATTERN),
  v.description('A ticker symbol, always upper-case.'),
);

/** The `symbols` of a request: 1…500 symbols, de-duplicated keeping first-seen order. */
export const SymbolListSchema = v.pipe(
  v.array(SymbolInputSchema, 'must be a non-empty array of strings'),
  v.minLength(1, 'must be a non-empty array of strings'),
  v.maxLength(
    MAX_SYMBOLS_PER_REQUEST,
    `has too many entries (at most ${MAX_SYMBOLS_PER_REQUEST} per request)`,
  ),
  v.transform((symbols): string[] => [...new Set(symbols)]),
  v.description(
    `1 to ${MAX_SYMBOLS_PER_REQUEST} symbols; duplicates (after upper-casing) count once.`,
  ),
);

// ---- shared payloads ---------------------------------------------------------------------------

export const ErrorCodeSchema = v.picklist(ERROR_CODES);

export const WireErrorSchema = v.object({
  code: ErrorCodeSchema,
  message: v.pipe(
    v.string(),
    v.description('Names the field at fault; never quotes what the client sent.'),
  ),
});

export const QuoteWindowSchema = v.pipe(
  v.object({
    o: v.pipe(v.number(), v.description('First trade price of the window.')),
    h: v.pipe(v.number(), v.description('Highest trade price of the window.')),
    l: v.pipe(v.number(), v.description('Lowest trade price of the window.')),
    v: v.pipe(v.number(), v.description('Shares traded in the window.')),
    n: v.pipe(v.number(), v.integer(), v.description('Trades in the window.')),
  }),
  v.description(
    'Conflation window summary: open, high, low, volume and tick count. In a subscribe snapshot (no window yet) n = 0, v = 0 and o = h = l = price.',
  ),
);

export const QuoteSchema = v.pipe(
  v.object({
    symbol: SymbolSchema,
    price: v.pipe(v.number(), v.description('Last trade price.')),
    bid: v.number(),
    ask: v.number(),
    ts: v.pipe(v.number(), v.description('ms since the Unix epoch of the last tick included.')),
    seq: v.pipe(
      v.number(),
      v.integer(),
      v.description(
        'Per symbol, strictly increasing within an epoch; the same tick has the same seq for every client on every transport.',
      ),
    ),
    open: v.pipe(v.number(), v.description('Session (day) open.')),
    high: v.pipe(v.number(), v.description('Session high.')),
    low: v.pipe(v.number(), v.description('Session low.')),
    prevClose: v.pipe(v.number(), v.description('Previous session close.')),
    change: v.pipe(v.number(), v.description('price − prevClose.')),
    changePct: v.pipe(v.number(), v.description('change as a percentage of prevClose.')),
    volume: v.pipe(v.number(), v.description('Session volume, shares.')),
    win: QuoteWindowSchema,
  }),
  v.description("One symbol's state, conflated over the client's window (latest value wins)."),
);

/** The argument of a Socket.IO `quotes` event, and the `data` of a `/ws` quotes frame. */
export const QuoteBatchSchema = v.pipe(
  v.array(QuoteSchema),
  v.description(
    'Every symbol the client holds that changed in the window, each conflated over it (one frame per client per window).',
  ),
);

/**
 * A request payload must also be a plain object (see {@link isPlainObject}),
 * which valibot's `object` does not check: the parsers test that first and
 * refuse with {@link REQUEST_SHAPES}.
 */
export const SubscribeRequestSchema = v.object({
  symbols: SymbolListSchema,
  intervalMs: v.optional(
    v.pipe(
      v.number('must be a finite number of milliseconds'),
      v.finite('must be a finite number of milliseconds'),
      v.gtValue(0, 'must be greater than 0'),
      v.description(
        'Requested update interval; rounds up to the nearest tier (the server default when absent).',
      ),
    ),
  ),
});

export const UnsubscribeRequestSchema = v.object({ symbols: SymbolListSchema });

/** What to answer a request payload that is not an object at all. */
export const REQUEST_SHAPES = {
  subscribe: 'subscribe expects an object { symbols: string[], intervalMs?: number }',
  unsubscribe: 'unsubscribe expects an object { symbols: string[] }',
} as const;

export const RejectedSymbolSchema = v.object({
  symbol: v.string(),
  code: ErrorCodeSchema,
  message: v.string(),
});

export const SubscribeAckOkSchema = v.object({
  ok: v.literal(true),
  intervalMs: v.pipe(v.number(), v.description('The tier granted, ms.')),
  snapshot: v.pipe(
    v.array(QuoteSchema),
    v.description('The latest quote of every symbol granted, sent before any update.'),
  ),
  rejected: v.pipe(
    v.array(RejectedSymbolSchema),
    v.description('Symbols refused (UNKNOWN_SYMBOL, LIMIT_EXCEEDED); the rest were granted.'),
  ),
  epoch: v.pipe(
    v.string(),
    v.description(
      'Identifies the feed run. `seq` only compares within one epoch: a new epoch after a reconnect means the server restarted (sequences began again), while the same epoch with a jump in `seq` is conflation.',
    ),
  ),
});

export const UnsubscribeAckOkSchema = v.object({
  ok: v.literal(true),
  unsubscribed: v.pipe(v.array(SymbolSchema), v.description('The symbols no longer held.')),
});

/** The ack of a refused request (BAD_REQUEST, RATE_LIMITED, …). */
export const AckErrorSchema = v.object({ ok: v.literal(false), error: WireErrorSchema });

export const SubscribeAckSchema = v.union([SubscribeAckOkSchema, AckErrorSchema]);
export const UnsubscribeAckSchema = v.union([UnsubscribeAckOkSchema, AckErrorSchema]);

export const ShutdownNoticeSchema = v.object({
  reason: v.pipe(
    v.string(),
    v.description('Why the server is going away; reconnect after a short delay.'),
  ),
});

export const MarketStatusSchema = v.pipe(
  v.object({
    feed: v.pipe(
      v.picklist(FEED_STATES),
      v.description(
        'The feed: `live` while data flows; `connecting`, `stale` (the upstream went quiet), `reconnecting`, `down` (it gave up) and `closed` (no more ticks: a replay past its end) mean prices are not live. `idle` before it starts.',
      ),
    ),
    source: v.pipe(v.picklist(FEED_SOURCE_NAMES), v.description('Where the ticks come from.')),
    session: v.pipe(
      v.picklist(MARKET_SESSIONS),
      v.description('The market session: pre, regular, post, closed, or always (never closes).'),
    ),
    halted: v.pipe(
      v.array(SymbolSchema),
      v.description('Symbols whose trading is halted now (no ticks until the halt ends).'),
    ),
    epoch: v.pipe(
      v.string(),
      v.description(
        "The feed's run (as in a subscribe ack): when it changes, sequences started again; subscribe again to get fresh snapshots.",
      ),
    ),
    since: v.pipe(
      v.number(),
      v.description('When the feed entered its current state: ms since the epoch, wall clock.'),
    ),
    reason: v.pipe(
      v.optional(v.string()),
      v.description(
        'Why the feed is not live, when there is more to say than its state (`redis unreachable`, `no batch from the feed for 2 s or more`).',
      ),
    ),
  }),
  v.description(
    'The state of the market: sent on connect and whenever it changes; also `GET /api/status`.',
  ),
);

// ---- errors ------------------------------------------------------------------------------------

/**
 * Parse options for anything a client sent: stop at the first issue, and
 * word every issue whose check carries no message of its own from what was
 * expected, never from what was received (valibot's default messages quote
 * the input).
 */
export const UNTRUSTED_INPUT: v.Config<v.BaseIssue<unknown>> = {
  abortEarly: true,
  message: (issue) =>
    issue.kind === 'schema' && issue.type === 'object' && issue.input === undefined
      ? 'is required'
      : `is invalid (expected ${issue.expected ?? issue.type})`,
};

/**
 * One issue as a client-facing sentence: the field as a path (`"symbols[3]"`)
 * and the check's message, or the message alone for the payload as a whole.
 */
export function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = issue.path
    ?.map((item, index) =>
      typeof item.key === 'number'
        ? `[${item.key}]`
        : `${index === 0 ? '' : '.'}${String(item.key)}`,
    )
    .join('');
  return path ? `"${path}" ${issue.message}` : issue.message;
}
