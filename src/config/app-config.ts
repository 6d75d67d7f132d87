import { isIP } from 'node:net';
import { INTERVAL_TIERS_MS, type IntervalTierMs, toIntervalTier } from '../shared/protocol.js';

/** DI token of the parsed {@link AppConfig}. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One TRUST_PROXY entry: a single address, or a network when `prefix` is set. */
export interface TrustedProxy {
  address: string;
  family: 'ipv4' | 'ipv6';
  prefix?: number;
}

/** Every setting of the server, parsed once at boot from the environment. */
export interface AppConfig {
  port: number;
  host: string;
  seed: number;
  feedTicksPerSecond: number;
  /** Market time per wall time of the simulated feed (1 = real time). */
  feedTimeScale: number;
  /** Path of a JSON instrument universe replacing the built-in one, or undefined. */
  symbolsFile: string | undefined;
  defaultIntervalMs: IntervalTierMs;
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

/** Raised at boot when one or more environment variables are invalid; lists every one. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Documentation of every variable: used by the README and by error messages. */
export const CONFIG_DOCS: { key: string; default: string; description: string }[] = [
  { key: 'PORT', default: '3000', description: 'HTTP and WebSocket port (0 picks a free one).' },
  { key: 'HOST', default: '127.0.0.1', description: 'Interface to bind; `0.0.0.0` for all.' },
  { key: 'SEED', default: '42', description: 'Seed of the simulated feed (integer 0…2³²−1).' },
  {
    key: 'FEED_TICKS_PER_SECOND',
    default: '500',
    description: 'Aggregate simulated trades per second across all symbols (1…200000).',
  },
  {
    key: 'FEED_TIME_SCALE',
    default: '1',
    description:
      'Simulated market time per wall-clock time (1 = real time; 60 makes a minute of trading pass each second, livelier charts).',
  },
  {
    key: 'SYMBOLS_FILE',
    default: '(built-in universe)',
    description: 'JSON file with an instrument universe replacing the built-in one.',
  },
  {
    key: 'DEFAULT_INTERVAL_MS',
    default: '250',
    description: `Update interval when a subscribe names none; rounds up to a tier (${INTERVAL_TIERS_MS.join(', ')}).`,
  },
  {
    key: 'MAX_SYMBOLS_PER_CLIENT',
    default: '100',
    description: 'Symbols one connection may hold; more are rejected with LIMIT_EXCEEDED.',
  },
  {
    key: 'MAX_PAYLOAD_BYTES',
    default: '16384',
    description: 'Largest Socket.IO message accepted; a larger one closes that connection.',
  },
  { key: 'LOG_LEVEL', default: 'log', description: `One of ${LOG_LEVELS.join(', ')}.` },
  {
    key: 'SERVE_DASHBOARD',
    default: 'true',
    description: 'Serve the built dashboard (web/dist) at `/`.',
  },
  {
    key: 'AUTH_TOKENS',
    default: '(unset: open)',
    description:
      'Comma-separated tokens. When set, sockets need `auth: { token }` and `/api/*`, `/metrics` need `Authorization: Bearer <token>`.',
  },
  {
    key: 'ALLOWED_ORIGINS',
    default: '(same origin + localhost)',
    description:
      'Comma-separated browser origins allowed to connect (e.g. `https://app.example.com`), or `*`. Requests without an Origin header (non-browser clients) are allowed.',
  },
  {
    key: 'RATE_LIMIT_PER_SEC',
    default: '20',
    description: 'Inbound messages per second per connection; beyond it: RATE_LIMITED.',
  },
  { key: 'RATE_LIMIT_BURST', default: '40', description: 'Burst allowance of that token bucket.' },
  {
    key: 'RATE_LIMIT_DISCONNECT_AFTER',
    default: '100',
    description:
      'Rate-limited messages in a row (within 10 s) after which the connection is closed.',
  },
  {
    key: 'MAX_CONNECTIONS_PER_IP',
    default: '200',
    description: 'Concurrent connections per client IP address (0 = unlimited).',
  },
  {
    key: 'TRUST_PROXY',
    default: '(unset: trust nobody)',
    description:
      'Comma-separated addresses and CIDRs of reverse proxies (e.g. `127.0.0.1,10.0.0.0/8,::1,fd00::/8`). For a connection from one of them, the client address (for `MAX_CONNECTIONS_PER_IP`) is the right-most `X-Forwarded-For` entry that is not itself listed; X-Forwarded-For from anyone else is ignored.',
  },
  {
    key: 'HANDSHAKE_TIMEOUT_MS',
    default: '10000',
    description: 'Time a new connection has to join `/market` before it is closed.',
  },
  {
    key: 'PING_INTERVAL_MS',
    default: '10000',
    description:
      'Heartbeat: the server pings every connection this often (Socket.IO and `/ws`). Keep it below any proxy read timeout.',
  },
  {
    key: 'PING_TIMEOUT_MS',
    default: '10000',
    description:
      "A Socket.IO connection that has not answered a ping within this time is closed and reset; a `/ws` connection that has not answered the previous round's ping by the next one. A client that stops reading is so cut off within about 20 s at the defaults.",
  },
  {
    key: 'SLOW_CLIENT_MAX_QUEUE',
    default: '1000',
    description:
      'Outbound packets queued for one client (in Engine.IO and in its WebSocket send buffer) above which its updates are skipped.',
  },
  {
    key: 'SLOW_CLIENT_MAX_BYTES',
    default: '1048576',
    description:
      'Outbound bytes queued for one client (in Engine.IO and in its WebSocket send buffer) above which its updates are skipped (a batched frame can be tens of KB).',
  },
  {
    key: 'SLOW_CLIENT_GRACE_MS',
    default: '10000',
    description: 'How long a client may stay above that cap before it is disconnected.',
  },
  {
    key: 'SHUTDOWN_TIMEOUT_MS',
    default: '5000',
    description: 'Longest a graceful shutdown (SIGTERM/SIGINT) may take before the process exits.',
  },
  {
    key: 'DEBUG_ENDPOINTS',
    default: 'false',
    description: 'Expose `GET /debug/heap` (heap after GC, handles); for the soak test only.',
  },
];

/**
 * Parses and validates the environment. Throws a {@link ConfigError} naming
 * every bad key and value at once, so one restart fixes them all.
 */
export function parseConfig(env: Env): AppConfig {
  const problems: string[] = [];

  const int = (key: string, def: number, min: number, max: number): number => {
    const raw = env[key];
    if (raw === undefined || raw.trim() === '') return def;
    const text = raw.trim();
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${key}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return def;
    }
    return value;
  };
  const bool = (key: string, def: boolean): boolean => {
    const raw = env[key];
    if (raw === undefined || raw.trim() === '') return def;
    const text = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off'].includes(text)) return false;
    problems.push(`${key}=${JSON.stringify(raw)}: expected true or false`);
    return def;
  };

  const port = int('PORT', 3000, 0, 65535);
  const hostRaw = env.HOST?.trim();
  const host = hostRaw === undefined || hostRaw === '' ? '127.0.0.1' : hostRaw;
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) {
    problems.push(`HOST=${JSON.stringify(env.HOST)}: expected a host name or IP address`);
  }
  const seed = int('SEED', 42, 0, 0xffff_ffff);
  const feedTicksPerSecond = int('FEED_TICKS_PER_SECOND', 500, 1, 200_000);
  const feedTimeScale = int('FEED_TIME_SCALE', 1, 1, 100_000);
  const symbolsFileRaw = env.SYMBOLS_FILE?.trim();
  const symbolsFile = symbolsFileRaw ? symbolsFileRaw : undefined;
  const maxTier = INTERVAL_TIERS_MS[INTERVAL_TIERS_MS.length - 1];
  const defaultIntervalRaw = int('DEFAULT_INTERVAL_MS', 250, 1, maxTier);
  const maxSymbolsPerClient = int('MAX_SYMBOLS_PER_CLIENT', 100, 1, 10_000);
  const maxPayloadBytes = int('MAX_PAYLOAD_BYTES', 16_384, 1024, 1_048_576);
  const levelRaw = env.LOG_LEVEL?.trim().toLowerCase();
  let logLevel: LogLevel = 'log';
  if (levelRaw) {
    if ((LOG_LEVELS as readonly string[]).includes(levelRaw)) logLevel = levelRaw as LogLevel;
    else
      problems.push(
        `LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)}: expected one of ${LOG_LEVELS.join(', ')}`,
      );
  }
  const serveDashboard = bool('SERVE_DASHBOARD', true);
  const list = (key: string): string[] =>
    (env[key] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  const authTokens = list('AUTH_TOKENS');
  if (authTokens.some((token) => token.length < 8 || /\s/.test(token))) {
    problems.push('AUTH_TOKENS: every token must be at least 8 characters with no spaces');
  }
  const allowedOrigins = list('ALLOWED_ORIGINS');
  for (const origin of allowedOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(
        `ALLOWED_ORIGINS entry ${JSON.stringify(origin)}: expected scheme://host[:port] or *`,
      );
    }
  }
  const rateLimitPerSec = int('RATE_LIMIT_PER_SEC', 20, 1, 100_000);
  const rateLimitBurst = int('RATE_LIMIT_BURST', 40, 1, 1_000_000);
  const rateLimitDisconnectAfter = int('RATE_LIMIT_DISCONNECT_AFTER', 100, 1, 1_000_000);
  const maxConnectionsPerIp = int('MAX_CONNECTIONS_PER_IP', 200, 0, 1_000_000);
  const trustProxy: TrustedProxy[] = [];
  for (const entry of list('TRUST_PROXY')) {
    const proxy = parseTrustedProxy(entry);
    if (proxy) trustProxy.push(proxy);
    else
      problems.push(
        `TRUST_PROXY entry ${JSON.stringify(entry)}: expected an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`,
      );
  }
  const handshakeTimeoutMs = int('HANDSHAKE_TIMEOUT_MS', 10_000, 100, 600_000);
  const pingIntervalMs = int('PING_INTERVAL_MS', 10_000, 500, 300_000);
  const pingTimeoutMs = int('PING_TIMEOUT_MS', 10_000, 500, 300_000);
  const slowClientMaxQueue = int('SLOW_CLIENT_MAX_QUEUE', 1000, 10, 1_000_000);
  const slowClientMaxBytes = int('SLOW_CLIENT_MAX_BYTES', 1_048_576, 4096, 1_073_741_824);
  const slowClientGraceMs = int('SLOW_CLIENT_GRACE_MS', 10_000, 100, 600_000);
  const shutdownTimeoutMs = int('SHUTDOWN_TIMEOUT_MS', 5000, 100, 600_000);
  const debugEndpoints = bool('DEBUG_ENDPOINTS', false);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    seed,
    feedTicksPerSecond,
    feedTimeScale,
    symbolsFile,
    defaultIntervalMs: toIntervalTier(defaultIntervalRaw),
    maxSymbolsPerClient,
    maxPayloadBytes,
    logLevel,
    serveDashboard,
    authTokens,
    allowedOrigins,
    rateLimitPerSec,
    rateLimitBurst,
    rateLimitDisconnectAfter,
    maxConnectionsPerIp,
    trustProxy,
    handshakeTimeoutMs,
    pingIntervalMs,
    pingTimeoutMs,
    slowClientMaxQueue,
    slowClientMaxBytes,
    slowClientGraceMs,
    shutdownTimeoutMs,
    debugEndpoints,
  };
}

/** `1.2.3.4`, `::1`, `10.0.0.0/8` or `fd00::/8`; undefined when it is none of those. */
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
