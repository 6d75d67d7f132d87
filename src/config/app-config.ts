import * as v from 'valibot';
import type { IntervalTierMs } from '../shared/protocol.js';
import {
  type AlpacaFeedName,
  CONFIG_SCHEMA,
  crossKeyIssues,
  ENV_KEYS,
  ENV_VARS,
  envMetadata,
  type EnvKey,
  type FeedSource,
  type LogLevel,
  type MarketCalendar,
  type ReplayFormatSetting,
  type ReplaySpeed,
  type Role,
  type TrustedProxy,
} from './env-schema.js';

export {
  ALPACA_FEEDS,
  type AlpacaFeedName,
  FEED_SOURCES,
  type FeedSource,
  LOG_LEVELS,
  type LogLevel,
  MARKET_CALENDARS,
  type MarketCalendar,
  REPLAY_FORMATS,
  type ReplayFormatSetting,
  type ReplaySpeed,
  type Role,
  ROLES,
  type TrustedProxy,
} from './env-schema.js';

/** DI token of the parsed {@link AppConfig}. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * Every setting of the server, parsed once at boot from the environment: what
 * {@link CONFIG_SCHEMA} outputs (the compiler checks that the two agree).
 */
export interface AppConfig {
  port: number;
  host: string;
  /** What this process does: everything (standalone), the cluster's feed, or one of its gateways. */
  role: Role;
  /** The Redis of a cluster (set whenever `role` is feed or gateway: a cross-key rule). Secret: may hold a password. */
  redisUrl: string | undefined;
  /** Batches the feed's Redis stream keeps (XADD MAXLEN ~). */
  busStreamMaxlen: number;
  /** A gateway reports the feed stale after this long without a batch. */
  busStaleMs: number;
  /** Which {@link MarketFeed} implementation MarketModule builds. */
  feed: FeedSource;
  seed: number;
  feedTicksPerSecond: number;
  /** Market time per wall time of the simulated feed (1 = real time). */
  feedTimeScale: number;
  /** Path of a JSON instrument universe replacing the built-in one, or undefined. */
  symbolsFile: string | undefined;
  /** The simulator's trading calendar. */
  marketCalendar: MarketCalendar;
  /** Percent move within 5 minutes that halts a simulated symbol for 5 minutes; 0: no halts. */
  haltBandPct: number;
  /** Upper-cased, de-duplicated; empty means every symbol the source has. */
  feedSymbols: string[];
  /** File a replay reads (set whenever `feed` is `replay`: a cross-key rule). */
  replayFile: string | undefined;
  replayFormat: ReplayFormatSetting;
  replaySpeed: ReplaySpeed;
  /** Replay again from the first row, with a new epoch, after the last one. */
  replayLoop: boolean;
  /** File every tick is also recorded to (tickstream CSV), or undefined. */
  recordFile: string | undefined;
  /** Size at which the recording rotates. */
  recordMaxBytes: number;
  /** Rotated recordings kept. */
  recordMaxFiles: number;
  /** WebSocket URL of the Coinbase Exchange feed FEED=coinbase connects to (ws: or wss:). */
  coinbaseWsUrl: string;
  /** Which Alpaca stock feed FEED=alpaca streams (the last part of its default URL). */
  alpacaFeed: AlpacaFeedName;
  /** ALPACA_WS_URL, or undefined for the default of {@link alpacaFeed} (see alpacaStreamUrl). */
  alpacaWsUrl: string | undefined;
  /** Alpaca API key id (set whenever `feed` is `alpaca`: a cross-key rule). Secret: never logged. */
  alpacaKeyId: string | undefined;
  /** Alpaca API secret key (set whenever `feed` is `alpaca`). Secret: never logged. */
  alpacaSecretKey: string | undefined;
  defaultIntervalMs: IntervalTierMs;
  /** Tier clock ticks per window: the most frames a client gets per window (see StreamRegistry). */
  framesPerWindow: number;
  maxSymbolsPerClient: number;
  /** Largest accepted Socket.IO message, bytes (Engine.IO `maxHttpBufferSize`). */
  maxPayloadBytes: number;
  logLevel: LogLevel;
  /** Serve the built dashboard from web/dist at `/`. */
  serveDashboard: boolean;
  /** Accepted bearer tokens; empty means the server is open (the embedded default). */
  authTokens: string[];
  /** Browser origins allowed to connect, besides same-origin and localhost; `['*']` allows any. */
  allowedOrigins: string[];
  /** Inbound messages per connection: sustained rate and burst of the token bucket. */
  rateLimitPerSec: number;
  rateLimitBurst: number;
  /** The connection closes when more than this many messages in a row (within 10 s) were rate-limited. */
  rateLimitDisconnectAfter: number;
  /** Concurrent connections from one IP address; 0 means unlimited. */
  maxConnectionsPerIp: number;
  /** Reverse proxies whose X-Forwarded-For is believed; empty means the TCP peer is the client. */
  trustProxy: TrustedProxy[];
  /** Time a new connection has to join the namespace before it is closed. */
  handshakeTimeoutMs: number;
  /** Heartbeat period of both transports. */
  pingIntervalMs: number;
  /** Socket.IO's wait for a pong. */
  pingTimeoutMs: number;
  /** Outbound packets queued for one client (in Engine.IO and in its WebSocket send buffer) above which its updates are skipped. */
  slowClientMaxQueue: number;
  /** Outbound bytes queued for one client above which its updates are skipped. */
  slowClientMaxBytes: number;
  /** How long a client may stay above the queue cap before it is disconnected. */
  slowClientGraceMs: number;
  /** Longest a graceful shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** Expose `GET /debug/heap` (runs a GC when started with --expose-gc); for the soak test. */
  debugEndpoints: boolean;
}

/** True when `A` and `B` are the same type (not merely assignable either way). */
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
/** Fails to compile when {@link AppConfig} and what {@link CONFIG_SCHEMA} outputs drift apart. */
type _AppConfigIsTheSchemaOutput = Assert<Equals<AppConfig, v.InferOutput<typeof CONFIG_SCHEMA>>>;

/** Raised at boot when one or more environment variables are invalid; lists every one. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Documentation of every variable, from {@link ENV_VARS}: used by the README and by error messages. */
export const CONFIG_DOCS: { key: string; default: string; description: string }[] = ENV_KEYS.map(
  (key) => {
    const schema = ENV_VARS.entries[key];
    return {
      key,
      default: envMetadata(key).docDefault ?? schema.default ?? '',
      description: v.getDescription(schema) ?? '',
    };
  },
);

/**
 * Parses and validates the environment. Throws a {@link ConfigError} naming
 * every bad key and value at once, so one restart fixes them all.
 */
export function parseConfig(env: Env): AppConfig {
  // abortPipeEarly: one problem per value (`99999999999999999999` is unsafe and too big).
  const result = v.safeParse(CONFIG_SCHEMA, env, { abortPipeEarly: true });
  const crossKey = crossKeyIssues(env);
  if (result.success && crossKey.length === 0) return result.output;
  const problems = [
    ...(result.issues ?? []).map((issue) => {
      const key: unknown = issue.path?.[0]?.key;
      return { key: typeof key === 'string' ? key : '', text: describeIssue(issue, env) };
    }),
    ...crossKey.map(({ key, message }) => ({ key, text: `${key}: ${message}` })),
  ];
  // Stable sort: the documented key order, a list's entries in their own order.
  const rank = (key: string) => ENV_KEYS.indexOf(key as EnvKey);
  problems.sort((a, b) => rank(a.key) - rank(b.key));
  throw new ConfigError(problems.map((problem) => problem.text));
}

/**
 * `KEY="raw value": message`, `KEY entry "entry": message` for a list entry,
 * or `KEY: message` for a secret, whose value is never shown.
 */
function describeIssue(issue: v.BaseIssue<unknown>, env: Env): string {
  const [variable, entry] = issue.path ?? [];
  if (!variable) return issue.message;
  const key = String(variable.key);
  if (envMetadata(key).secret) return `${key}: ${issue.message}`;
  if (entry) return `${key} entry ${JSON.stringify(entry.value)}: ${issue.message}`;
  return `${key}=${JSON.stringify(env[key])}: ${issue.message}`;
}
