import { INTERVAL_TIERS_MS, type IntervalTierMs, toIntervalTier } from '../shared/protocol.js';

/** DI token of the parsed {@link AppConfig}. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every setting of the server, parsed once at boot from the environment. */
export interface AppConfig {
  port: number;
  host: string;
  seed: number;
  feedTicksPerSecond: number;
  /** Path of a JSON instrument universe replacing the built-in one, or undefined. */
  symbolsFile: string | undefined;
  defaultIntervalMs: IntervalTierMs;
  maxSymbolsPerClient: number;
  /** Largest accepted Socket.IO message, bytes (Engine.IO `maxHttpBufferSize`). */
  maxPayloadBytes: number;
  logLevel: LogLevel;
  /** Serve the built dashboard from web/dist at `/`. */
  serveDashboard: boolean;
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
      problems.push(`LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const serveDashboard = bool('SERVE_DASHBOARD', true);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    seed,
    feedTicksPerSecond,
    symbolsFile,
    defaultIntervalMs: toIntervalTier(defaultIntervalRaw),
    maxSymbolsPerClient,
    maxPayloadBytes,
    logLevel,
    serveDashboard,
  };
}
