import { isIP } from 'node:net';
import { toJsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { INTERVAL_TIERS_MS, toIntervalTier } from '../shared/protocol.js';
import { normalizeSymbol, SYMBOL_RULE } from '../shared/symbols.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The market data sources `FEED` selects from. Adding one is one entry here
 * plus its case in MarketModule's feed factory.
 */
export const FEED_SOURCES = ['simulated', 'replay', 'coinbase', 'alpaca'] as const;
export type FeedSource = (typeof FEED_SOURCES)[number];

/** The file formats `REPLAY_FORMAT` names; `auto` detects one from the first line. */
export const REPLAY_FORMATS = ['auto', 'tickstream', 'binance-trades', 'massive-trades'] as const;
export type ReplayFormatSetting = (typeof REPLAY_FORMATS)[number];

/** The Alpaca market data feeds `ALPACA_FEED` names (the last part of the stream URL). */
/** ROLE: one process doing everything, or the feed and the gateways of a cluster over Redis. */
export const ROLES = ['standalone', 'feed', 'gateway'] as const;
export type Role = (typeof ROLES)[number];

export const ALPACA_FEEDS = ['iex', 'sip', 'test'] as const;
export type AlpacaFeedName = (typeof ALPACA_FEEDS)[number];

/** `REPLAY_SPEED`: a factor of the file's own pace, or `max` (as fast as the pipeline takes it). */
export type ReplaySpeed = number | 'max';

/** One TRUST_PROXY entry: a single address, or a network when `prefix` is set. */
export interface TrustedProxy {
  address: string;
  family: 'ipv4' | 'ipv6';
  prefix?: number;
}

// ---------------------------------------------------------------------------
// Builders. Each variable's schema reads its text as normalised by
// CONFIG_SCHEMA (trimmed; unset, empty or whitespace-only is undefined), and
// its default is text too, put through the same schema, so the default shown
// in the docs is exactly what an operator would write. An issue's message is
// what follows `KEY="value": ` (or `KEY entry "value": ` for a list entry).
// ---------------------------------------------------------------------------

const TRUE_WORDS = ['1', 'true', 'yes', 'on'] as const;
const FALSE_WORDS = ['0', 'false', 'no', 'off'] as const;

/** A decimal integer from `min` to `max`. */
function integer(min: number, max: number) {
  const message = `expected an integer from ${min} to ${max}`;
  return v.pipe(
    v.string(),
    v.regex(/^-?\d+$/, message),
    v.transform(Number),
    v.safeInteger(message),
    v.minValue(min, message),
    v.maxValue(max, message),
  );
}

/** An integer from `min` to `max`, `fallback` when unset. */
function envInt(fallback: number, min: number, max: number) {
  return v.optional(integer(min, max), String(fallback));
}

/** 1/true/yes/on or 0/false/no/off, any case; `fallback` when unset. */
function envBool(fallback: boolean) {
  return v.optional(
    v.pipe(
      v.string(),
      v.toLowerCase(),
      v.picklist([...TRUE_WORDS, ...FALSE_WORDS], 'expected true or false'),
      v.transform((word) => (TRUE_WORDS as readonly string[]).includes(word)),
    ),
    String(fallback),
  );
}

/** One of `values`, any case; `fallback` when unset. */
function envEnum<const TValue extends string>(
  values: readonly TValue[],
  fallback: NoInfer<TValue>,
) {
  return v.optional(
    v.pipe(v.string(), v.toLowerCase(), v.picklist(values, `expected one of ${values.join(', ')}`)),
    fallback,
  );
}

/** Free text (such as a path); undefined when unset (normalizeEnv passes every key, so the key is always there). */
function envText() {
  return v.optional(v.string());
}

/**
 * Comma-separated entries, each trimmed and checked by `entry`, then the list
 * put through `finish` (such as a de-duplication); empty entries are dropped,
 * unset is `[]`.
 */
function envList<TEntry extends v.GenericSchema<string, unknown>>(
  entry: TEntry,
  finish: (entries: v.InferOutput<TEntry>[]) => v.InferOutput<TEntry>[] = (entries) => entries,
) {
  return v.optional(
    v.pipe(
      v.string(),
      v.transform((text) =>
        text
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      ),
      v.array(entry),
      v.transform(finish),
    ),
    '',
  );
}

/**
 * A ticker in the wire syntax of src/shared/symbols.ts, upper-cased; a native
 * pair form (`BTC/USD`) becomes its wire form (`BTC-USD`), as in a replay file.
 */
const symbol = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const normalized = normalizeSymbol(dataset.value.replaceAll('/', '-'));
    if (normalized) return normalized;
    addIssue({ message: `expected a symbol (${SYMBOL_RULE})` });
    return NEVER;
  }),
);

/** A positive decimal number (`0.5`, `10`) or `max`, any case; 1 when unset. */
const replaySpeed = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^(?:max|\d+(?:\.\d*)?|\.\d+)$/i, 'expected a positive number or max'),
    v.rawTransform(({ dataset, addIssue, NEVER }): ReplaySpeed => {
      if (dataset.value.toLowerCase() === 'max') return 'max';
      const speed = Number(dataset.value);
      if (speed > 0 && Number.isFinite(speed)) return speed;
      addIssue({ message: 'expected a positive number or max' });
      return NEVER;
    }),
  ),
  '1',
);

/** The simulator's trading calendars (MARKET_CALENDAR). */
export const MARKET_CALENDARS = ['always', 'nyse'] as const;
export type MarketCalendar = (typeof MARKET_CALENDARS)[number];

/** HALT_BAND_PCT: a percentage from 0 (no halts) to 50, decimals allowed. */
const haltBand = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^(?:\d+(?:\.\d*)?|\.\d+)$/, 'expected a percentage from 0 to 50'),
    v.transform(Number),
    v.maxValue(50, 'expected a percentage from 0 to 50'),
  ),
  '0',
);

/** A `ws://` or `wss://` URL with a host (the URL parser's reading of it). */
function websocketUrlText() {
  const message = 'expected a ws:// or wss:// URL';
  return v.pipe(
    v.string(),
    v.check((text) => {
      if (!URL.canParse(text)) return false;
      const url = new URL(text);
      return (url.protocol === 'ws:' || url.protocol === 'wss:') && url.hostname !== '';
    }, message),
  );
}

/** A `redis://` or `rediss://` URL with a host; undefined when unset. */
function redisUrl() {
  const message = 'expected a redis:// or rediss:// URL with a host (e.g. redis://127.0.0.1:6379)';
  return v.optional(
    v.pipe(
      v.string(),
      v.check((text) => {
        if (!URL.canParse(text)) return false;
        const url = new URL(text);
        return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
      }, message),
    ),
  );
}

/** A {@link websocketUrlText} URL, `fallback` when unset. */
function websocketUrl(fallback: string) {
  return v.optional(websocketUrlText(), fallback);
}

/** `1.2.3.4`, `::1`, `10.0.0.0/8` or `fd00::/8`. */
const trustedProxy = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const proxy = parseTrustedProxy(dataset.value);
    if (proxy) return proxy;
    addIssue({ message: 'expected an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)' });
    return NEVER;
  }),
);

/** The address and prefix of a TRUST_PROXY entry; undefined when it is neither address nor CIDR. */
function parseTrustedProxy(entry: string): TrustedProxy | undefined {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) return { address, family };
  const prefixText = entry.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, family, prefix };
}

/**
 * Documentation-only metadata of a variable: `docDefault` is what the docs show
 * for a default that is not a value (such as an empty list); `secret` keeps the
 * value out of error messages.
 */
interface EnvMetadata {
  docDefault?: string;
  secret?: boolean;
}

// ---------------------------------------------------------------------------
// The variables, in the order of the docs and of the error messages.
// ---------------------------------------------------------------------------

/** Every environment variable the server reads, with its default and description. */
export const ENV_VARS = v.object({
  PORT: v.pipe(
    envInt(3000, 0, 65535),
    v.description('HTTP and WebSocket port (0 picks a free one).'),
  ),
  HOST: v.pipe(
    v.optional(
      v.pipe(v.string(), v.regex(/^[A-Za-z0-9.:\-[\]]+$/, 'expected a host name or IP address')),
      '127.0.0.1',
    ),
    v.description('Interface to bind; `0.0.0.0` for all.'),
  ),
  ROLE: v.pipe(
    envEnum(ROLES, 'standalone'),
    v.description(
      'standalone: one process runs the feed and serves clients (no Redis). feed: runs the market feed and publishes it to Redis (serves only /health and /metrics). gateway: consumes the feed from Redis and serves clients (Socket.IO, /ws, REST, the dashboard); runs no feed. See "Run a cluster".',
    ),
  ),
  REDIS_URL: v.pipe(
    redisUrl(),
    v.description(
      'With ROLE=feed or ROLE=gateway: the Redis (>= 7.0) the feed publishes to and the gateways read from, e.g. `redis://127.0.0.1:6379` (a password in it is never logged).',
    ),
    v.metadata({ docDefault: '(required with ROLE=feed or gateway)', secret: true }),
  ),
  BUS_STREAM_MAXLEN: v.pipe(
    envInt(6000, 100, 1_000_000),
    v.description(
      'With ROLE=feed: batches the Redis stream keeps (about 40 a second; 6000 is 2.5 minutes). A gateway further behind than that resyncs from the snapshot.',
    ),
  ),
  BUS_STALE_MS: v.pipe(
    envInt(1000, 100, 60_000),
    v.description(
      'With ROLE=gateway: time without a batch from the feed (it sends one every 25 ms, trades or not) after which the feed is reported `stale`.',
    ),
  ),
  FEED: v.pipe(
    envEnum(FEED_SOURCES, 'simulated'),
    v.description(
      `Market data source: ${FEED_SOURCES.join(', ')} (simulated: the seeded simulator; replay: a recorded file, see REPLAY_FILE; coinbase: live crypto from Coinbase Exchange, see COINBASE_WS_URL; alpaca: live US stocks from Alpaca, see ALPACA_FEED).`,
    ),
  ),
  SEED: v.pipe(
    envInt(42, 0, 0xffff_ffff),
    v.description('Seed of the simulated feed (integer 0…2³²−1).'),
  ),
  FEED_TICKS_PER_SECOND: v.pipe(
    envInt(500, 1, 200_000),
    v.description('Aggregate simulated trades per second across all symbols (1…200000).'),
  ),
  FEED_TIME_SCALE: v.pipe(
    envInt(1, 1, 100_000),
    v.description(
      'Simulated market time per wall-clock time (1 = real time; 60 makes a minute of trading pass each second, livelier charts).',
    ),
  ),
  SYMBOLS_FILE: v.pipe(
    envText(),
    v.description('JSON file with an instrument universe replacing the built-in one.'),
    v.metadata({ docDefault: '(built-in universe)' }),
  ),
  MARKET_CALENDAR: v.pipe(
    envEnum(MARKET_CALENDARS, 'always'),
    v.description(
      'Trading calendar of the simulator: `always` trades around the clock; `nyse` follows New York hours (pre-market 04:00–09:30, regular 09:30–16:00, after hours 16:00–20:00, thin outside regular hours; closed at night, weekends and NYSE holidays), each session rolling at the open.',
    ),
  ),
  HALT_BAND_PCT: v.pipe(
    haltBand,
    v.description(
      'Simulated LULD-style halts: a symbol moving more than this percentage within 5 minutes halts for 5 minutes (no trades). 0 turns halts off.',
    ),
  ),
  FEED_SYMBOLS: v.pipe(
    envList(symbol, (symbols) => [...new Set(symbols)]),
    v.description(
      'Comma-separated symbols (a native pair such as `BTC/USD` is read as `BTC-USD`). A replay keeps only these of the symbols in its file, and a single one names the symbol of a binance-trades file. The simulator ignores it.',
    ),
    v.metadata({ docDefault: '(every symbol of the source)' }),
  ),
  REPLAY_FILE: v.pipe(
    envText(),
    v.description(
      'With FEED=replay: the file to replay (CSV, or gzip-compressed CSV read as a stream).',
    ),
    v.metadata({ docDefault: '(required with FEED=replay)' }),
  ),
  REPLAY_FORMAT: v.pipe(
    envEnum(REPLAY_FORMATS, 'auto'),
    v.description(
      `Format of REPLAY_FILE: ${REPLAY_FORMATS.join(', ')} (auto tells them apart by the first line).`,
    ),
  ),
  REPLAY_SPEED: v.pipe(
    replaySpeed,
    v.description(
      "Replay pace: 1 = the file's own, 10 = ten times faster, `max` = as fast as the server takes it.",
    ),
  ),
  REPLAY_LOOP: v.pipe(
    envBool(false),
    v.description('Start the replay again after its last row (with a new epoch).'),
  ),
  RECORD_FILE: v.pipe(
    envText(),
    v.description(
      'Also write every tick of the feed (any source) to this file, as tickstream CSV that FEED=replay reads back; appended to when it exists.',
    ),
    v.metadata({ docDefault: '(not recorded)' }),
  ),
  RECORD_MAX_BYTES: v.pipe(
    envInt(104_857_600, 4096, 2 ** 50),
    v.description(
      'Size at which RECORD_FILE rotates: `ticks.csv` becomes `ticks.1.csv` and a new `ticks.csv` starts (default 100 MiB).',
    ),
  ),
  RECORD_MAX_FILES: v.pipe(
    envInt(10, 1, 1000),
    v.description('Rotated recordings kept (`.1` the newest); older ones are deleted.'),
  ),
  COINBASE_WS_URL: v.pipe(
    websocketUrl('wss://ws-feed.exchange.coinbase.com'),
    v.description(
      'With FEED=coinbase: the Coinbase Exchange WebSocket feed (public market data, no key), ws:// or wss://.',
    ),
  ),
  ALPACA_FEED: v.pipe(
    envEnum(ALPACA_FEEDS, 'iex'),
    v.description(
      'With FEED=alpaca: the Alpaca stock feed, `iex` (free plan), `sip` (all US exchanges, paid plan) or `test` (the always-on test stream, symbol `FAKEPACA`).',
    ),
  ),
  ALPACA_WS_URL: v.pipe(
    v.optional(websocketUrlText()),
    v.description(
      'With FEED=alpaca: the Alpaca market data stream to connect to, a `ws://` or `wss://` URL.',
    ),
    v.metadata({ docDefault: '(wss://stream.data.alpaca.markets/v2/ followed by ALPACA_FEED)' }),
  ),
  ALPACA_KEY_ID: v.pipe(
    envText(),
    v.description('With FEED=alpaca: the API key id (never logged).'),
    v.metadata({ docDefault: '(required with FEED=alpaca)', secret: true }),
  ),
  ALPACA_SECRET_KEY: v.pipe(
    envText(),
    v.description('With FEED=alpaca: the API secret key (never logged).'),
    v.metadata({ docDefault: '(required with FEED=alpaca)', secret: true }),
  ),
  DEFAULT_INTERVAL_MS: v.pipe(
    v.optional(
      v.pipe(
        integer(1, INTERVAL_TIERS_MS[INTERVAL_TIERS_MS.length - 1]),
        v.transform(toIntervalTier),
      ),
      '250',
    ),
    v.description(
      `Update interval when a subscribe names none; rounds up to a tier (${INTERVAL_TIERS_MS.join(', ')}).`,
    ),
  ),
  FRAMES_PER_WINDOW: v.pipe(
    // Not 3 or more: a third of a tier is not a whole number of ms, and float grid times
    // would make a busy symbol skip a window now and then.
    envInt(1, 1, 2),
    v.description(
      "Most frames a client gets per update window. 1: one frame per window holding every symbol that changed, on the tier's grid (a quiet symbol's first tick waits up to a window, like a busy one's). 2: a quiet symbol's first tick also goes out at mid-window (within half a window), for up to twice the frames and ~1.4× the CPU on a sparse feed.",
    ),
  ),
  MAX_SYMBOLS_PER_CLIENT: v.pipe(
    envInt(100, 1, 10_000),
    v.description('Symbols one connection may hold; more are rejected with LIMIT_EXCEEDED.'),
  ),
  MAX_PAYLOAD_BYTES: v.pipe(
    envInt(16_384, 1024, 1_048_576),
    v.description('Largest Socket.IO message accepted; a larger one closes that connection.'),
  ),
  LOG_LEVEL: v.pipe(envEnum(LOG_LEVELS, 'log'), v.description(`One of ${LOG_LEVELS.join(', ')}.`)),
  SERVE_DASHBOARD: v.pipe(
    envBool(true),
    v.description('Serve the built dashboard (web/dist) at `/`.'),
  ),
  AUTH_TOKENS: v.pipe(
    envList(v.string()),
    v.everyItem(
      (token) => token.length >= 8 && !/\s/.test(token),
      'every token must be at least 8 characters with no spaces',
    ),
    v.description(
      'Comma-separated tokens. When set, sockets need `auth: { token }` and `/api/*`, `/metrics` need `Authorization: Bearer <token>`.',
    ),
    v.metadata({ docDefault: '(unset: open)', secret: true }),
  ),
  ALLOWED_ORIGINS: v.pipe(
    envList(
      v.pipe(
        v.string(),
        v.regex(/^(?:\*|https?:\/\/[^/\s]+)$/, 'expected scheme://host[:port] or *'),
      ),
    ),
    v.description(
      'Comma-separated browser origins allowed to connect (e.g. `https://app.example.com`), or `*`. Requests without an Origin header (non-browser clients) are allowed.',
    ),
    v.metadata({ docDefault: '(same origin + localhost)' }),
  ),
  RATE_LIMIT_PER_SEC: v.pipe(
    envInt(20, 1, 100_000),
    v.description('Inbound messages per second per connection; beyond it: RATE_LIMITED.'),
  ),
  RATE_LIMIT_BURST: v.pipe(
    envInt(40, 1, 1_000_000),
    v.description('Burst allowance of that token bucket.'),
  ),
  RATE_LIMIT_DISCONNECT_AFTER: v.pipe(
    envInt(100, 1, 1_000_000),
    v.description(
      'Rate-limited messages within 10 s, with no pause of 500 ms between two of them, after which the connection is closed (what the bucket lets through meanwhile does not reset the count).',
    ),
  ),
  MAX_CONNECTIONS_PER_IP: v.pipe(
    envInt(200, 0, 1_000_000),
    v.description('Concurrent connections per client IP address (0 = unlimited).'),
  ),
  TRUST_PROXY: v.pipe(
    envList(trustedProxy),
    v.description(
      'Comma-separated addresses and CIDRs of reverse proxies (e.g. `127.0.0.1,10.0.0.0/8,::1,fd00::/8`). For a connection from one of them, the client address (for `MAX_CONNECTIONS_PER_IP`) is the right-most `X-Forwarded-For` entry that is not itself listed; X-Forwarded-For from anyone else is ignored.',
    ),
    v.metadata({ docDefault: '(unset: trust nobody)' }),
  ),
  HANDSHAKE_TIMEOUT_MS: v.pipe(
    envInt(10_000, 100, 600_000),
    v.description('Time a new connection has to join `/market` before it is closed.'),
  ),
  PING_INTERVAL_MS: v.pipe(
    envInt(10_000, 500, 300_000),
    v.description(
      'Heartbeat: the server pings every connection this often (Socket.IO and `/ws`). Keep it below any proxy read timeout.',
    ),
  ),
  PING_TIMEOUT_MS: v.pipe(
    envInt(10_000, 500, 300_000),
    v.description(
      "A Socket.IO connection that has not answered a ping within this time is closed and reset; a `/ws` connection that has not answered the previous round's ping by the next one. A client that stops reading is so cut off within about 20 s at the defaults.",
    ),
  ),
  SLOW_CLIENT_MAX_QUEUE: v.pipe(
    envInt(1000, 10, 1_000_000),
    v.description(
      'Outbound packets queued for one client (in Engine.IO and in its WebSocket send buffer) above which its updates are skipped.',
    ),
  ),
  SLOW_CLIENT_MAX_BYTES: v.pipe(
    envInt(1_048_576, 4096, 1_073_741_824),
    v.description(
      'Outbound bytes queued for one client (in Engine.IO and in its WebSocket send buffer) above which its updates are skipped (a batched frame can be tens of KB).',
    ),
  ),
  SLOW_CLIENT_GRACE_MS: v.pipe(
    envInt(10_000, 100, 600_000),
    v.description('How long a client may stay above that cap before it is disconnected.'),
  ),
  SHUTDOWN_TIMEOUT_MS: v.pipe(
    envInt(5000, 100, 600_000),
    v.description(
      'Longest a graceful shutdown (SIGTERM/SIGINT) may take before the process exits.',
    ),
  ),
  DEBUG_ENDPOINTS: v.pipe(
    envBool(false),
    v.description('Expose `GET /debug/heap` (heap after GC, handles); for the soak test only.'),
  ),
});

export type EnvKey = keyof typeof ENV_VARS.entries;
export const ENV_KEYS = Object.keys(ENV_VARS.entries) as EnvKey[];

/** The documentation metadata of variable `key`; empty for a key that is not one. */
export function envMetadata(key: string): EnvMetadata {
  if (!Object.hasOwn(ENV_VARS.entries, key)) return {};
  const metadata: EnvMetadata = v.getMetadata(ENV_VARS.entries[key as EnvKey]);
  return metadata;
}

/**
 * The variables as a JSON Schema (draft-07) of their text, as the server sees
 * it (trimmed; blank means unset): type, default, description and, where the
 * text must match one, a pattern. Transforms (such as the split of a list)
 * have no JSON Schema and are left out.
 */
export function envJsonSchema(): ReturnType<typeof toJsonSchema> {
  return toJsonSchema(ENV_VARS, { typeMode: 'input', errorMode: 'ignore' });
}

// ---------------------------------------------------------------------------
// The whole environment, to the config object.
// ---------------------------------------------------------------------------

/** `FEED_TICKS_PER_SECOND` → `feedTicksPerSecond`. */
type CamelCase<TKey extends string> = TKey extends `${infer Head}_${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<TKey>;
type CamelCaseKeys<TObject> = {
  [TKey in keyof TObject & string as CamelCase<TKey>]: TObject[TKey];
};

function camelCaseKeys<TObject extends Record<string, unknown>>(
  object: TObject,
): CamelCaseKeys<TObject> {
  return Object.fromEntries(
    Object.entries(object).map(([key, value]) => [
      key.toLowerCase().replace(/_(.)/g, (_, letter: string) => letter.toUpperCase()),
      value,
    ]),
  ) as CamelCaseKeys<TObject>;
}

/**
 * The variables of `env` that the server reads, trimmed; unset, empty and
 * whitespace-only all become undefined, which takes the default. Other keys
 * (PATH, HOME…) are dropped.
 */
function normalizeEnv(env: Record<string, string | undefined>): v.InferInput<typeof ENV_VARS> {
  return Object.fromEntries(ENV_KEYS.map((key) => [key, env[key]?.trim() || undefined]));
}

/** A rule between variables: `key` is reported with `message` when `violated` holds. */
interface CrossKeyRule {
  key: EnvKey;
  message: string;
  violated: (env: v.InferInput<typeof ENV_VARS>) => boolean;
}

/**
 * Rules across variables. Each reads the normalised text rather than the
 * parsed values, so it is checked (and reported in key order with the rest)
 * even when other variables are bad: one restart fixes everything.
 */
const CROSS_KEY_RULES: readonly CrossKeyRule[] = [
  {
    key: 'REDIS_URL',
    message: 'required when ROLE=feed or ROLE=gateway',
    violated: (env) =>
      ['feed', 'gateway'].includes(env.ROLE?.toLowerCase() ?? '') && env.REDIS_URL === undefined,
  },
  {
    key: 'RECORD_FILE',
    message: 'a gateway runs no feed: record with ROLE=feed (or standalone)',
    violated: (env) => env.ROLE?.toLowerCase() === 'gateway' && env.RECORD_FILE !== undefined,
  },
  {
    key: 'REPLAY_FILE',
    message: 'required when FEED=replay',
    violated: (env) => env.FEED?.toLowerCase() === 'replay' && env.REPLAY_FILE === undefined,
  },
  {
    key: 'ALPACA_KEY_ID',
    message: 'required when FEED=alpaca',
    violated: (env) => env.FEED?.toLowerCase() === 'alpaca' && env.ALPACA_KEY_ID === undefined,
  },
  {
    key: 'ALPACA_SECRET_KEY',
    message: 'required when FEED=alpaca',
    violated: (env) => env.FEED?.toLowerCase() === 'alpaca' && env.ALPACA_SECRET_KEY === undefined,
  },
];

/** The cross-variable rules `env` breaks, as `{ key, message }`, in rule order. */
export function crossKeyIssues(
  env: Record<string, string | undefined>,
): { key: EnvKey; message: string }[] {
  const normalized = normalizeEnv(env);
  return CROSS_KEY_RULES.filter((rule) => rule.violated(normalized)).map(({ key, message }) => ({
    key,
    message,
  }));
}

/**
 * The environment (such as `process.env`) to the server's settings: normalised
 * by {@link normalizeEnv}, checked by {@link ENV_VARS}, keys camel-cased
 * (`MAX_PAYLOAD_BYTES` → `maxPayloadBytes`). Each issue's path starts with the
 * variable's key, then, for a list, the index of the bad entry.
 */
export const CONFIG_SCHEMA = v.pipe(
  v.record(v.string(), v.optional(v.string())),
  v.transform(normalizeEnv),
  ENV_VARS,
  v.transform((vars) => camelCaseKeys(vars)),
);
