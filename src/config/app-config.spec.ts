import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS, ConfigError, parseConfig } from './app-config.js';
import { ENV_KEYS, ENV_VARS, envJsonSchema } from './env-schema.js';

describe(parseConfig.name, () => {
  it('applies the documented defaults to an empty environment', () => {
    expect(parseConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      role: 'standalone',
      redisUrl: undefined,
      busStreamMaxlen: 6000,
      busStaleMs: 1000,
      feed: 'simulated',
      seed: 42,
      feedTicksPerSecond: 500,
      feedTimeScale: 1,
      symbolsFile: undefined,
      marketCalendar: 'always',
      haltBandPct: 0,
      feedSymbols: [],
      replayFile: undefined,
      replayFormat: 'auto',
      replaySpeed: 1,
      replayLoop: false,
      recordFile: undefined,
      recordMaxBytes: 104_857_600,
      recordMaxFiles: 10,
      coinbaseWsUrl: 'wss://ws-feed.exchange.coinbase.com',
      alpacaFeed: 'iex',
      alpacaWsUrl: undefined,
      alpacaKeyId: undefined,
      alpacaSecretKey: undefined,
      defaultIntervalMs: 250,
      framesPerWindow: 1,
      maxSymbolsPerClient: 100,
      maxPayloadBytes: 16_384,
      logLevel: 'log',
      serveDashboard: true,
      authTokens: [],
      allowedOrigins: [],
      rateLimitPerSec: 20,
      rateLimitBurst: 40,
      rateLimitDisconnectAfter: 100,
      maxConnectionsPerIp: 200,
      trustProxy: [],
      handshakeTimeoutMs: 10_000,
      pingIntervalMs: 10_000,
      pingTimeoutMs: 10_000,
      slowClientMaxQueue: 1000,
      slowClientMaxBytes: 1_048_576,
      slowClientGraceMs: 10_000,
      shutdownTimeoutMs: 5000,
      debugEndpoints: false,
    });
  });

  it('reads every variable', () => {
    const config = parseConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      SEED: '123',
      FEED_TICKS_PER_SECOND: '50000',
      SYMBOLS_FILE: '/tmp/universe.json',
      DEFAULT_INTERVAL_MS: '300',
      MAX_SYMBOLS_PER_CLIENT: '10',
      MAX_PAYLOAD_BYTES: '4096',
      LOG_LEVEL: 'DEBUG',
      SERVE_DASHBOARD: 'false',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      seed: 123,
      feedTicksPerSecond: 50_000,
      symbolsFile: '/tmp/universe.json',
      defaultIntervalMs: 500,
      maxSymbolsPerClient: 10,
      maxPayloadBytes: 4096,
      logLevel: 'debug',
      serveDashboard: false,
    });
  });

  it('names every bad key and value in one error', () => {
    let error: unknown;
    try {
      parseConfig({
        PORT: '70000',
        SEED: '-1',
        FEED_TICKS_PER_SECOND: '1.5',
        DEFAULT_INTERVAL_MS: 'fast',
        MAX_SYMBOLS_PER_CLIENT: '0',
        LOG_LEVEL: 'loud',
        SERVE_DASHBOARD: 'maybe',
        HOST: 'bad host!',
        AUTH_TOKENS: 'short',
        ALLOWED_ORIGINS: 'example.com',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(10);
    const message = (error as ConfigError).message;
    for (const fragment of [
      'PORT="70000"',
      'SEED="-1"',
      'FEED_TICKS_PER_SECOND="1.5"',
      'DEFAULT_INTERVAL_MS="fast"',
      'MAX_SYMBOLS_PER_CLIENT="0"',
      'LOG_LEVEL="loud"',
      'SERVE_DASHBOARD="maybe"',
      'HOST="bad host!"',
      'AUTH_TOKENS',
      'ALLOWED_ORIGINS entry "example.com"',
    ]) {
      expect(message).toContain(fragment);
    }
  });

  it('reads the replay settings', () => {
    expect(
      parseConfig({
        FEED: 'REPLAY',
        FEED_SYMBOLS: ' aapl, BRK.B,,AAPL , btc-usd, BTC/USD',
        REPLAY_FILE: 'ticks.csv.gz',
        REPLAY_FORMAT: 'Massive-Trades',
        REPLAY_SPEED: '2.5',
        REPLAY_LOOP: 'yes',
      }),
    ).toMatchObject({
      feed: 'replay',
      feedSymbols: ['AAPL', 'BRK.B', 'BTC-USD'],
      replayFile: 'ticks.csv.gz',
      replayFormat: 'massive-trades',
      replaySpeed: 2.5,
      replayLoop: true,
    });
    for (const [text, speed] of [
      ['MAX', 'max'],
      ['max', 'max'],
      ['10', 10],
      ['0.25', 0.25],
      ['.5', 0.5],
      ['3.', 3],
    ] as const) {
      expect(parseConfig({ REPLAY_SPEED: text }).replaySpeed).toBe(speed);
    }
  });

  it('reads the market calendar and the halt band, refusing bad ones', () => {
    expect(parseConfig({ MARKET_CALENDAR: 'NYSE', HALT_BAND_PCT: '7.5' })).toMatchObject({
      marketCalendar: 'nyse',
      haltBandPct: 7.5,
    });
    expect(() => parseConfig({ MARKET_CALENDAR: 'lse', HALT_BAND_PCT: '51' })).toThrow(
      new ConfigError([
        'MARKET_CALENDAR="lse": expected one of always, nyse',
        'HALT_BAND_PCT="51": expected a percentage from 0 to 50',
      ]),
    );
    expect(() => parseConfig({ HALT_BAND_PCT: '-1' })).toThrow(/HALT_BAND_PCT="-1"/);
  });

  it('reads the recording settings and refuses a rotation size below 4096 bytes', () => {
    expect(
      parseConfig({ RECORD_FILE: 'ticks.csv', RECORD_MAX_BYTES: '1048576', RECORD_MAX_FILES: '3' }),
    ).toMatchObject({ recordFile: 'ticks.csv', recordMaxBytes: 1_048_576, recordMaxFiles: 3 });
    expect(() => parseConfig({ RECORD_MAX_BYTES: '100', RECORD_MAX_FILES: '0' })).toThrow(
      new ConfigError([
        'RECORD_MAX_BYTES="100": expected an integer from 4096 to 1125899906842624',
        'RECORD_MAX_FILES="0": expected an integer from 1 to 1000',
      ]),
    );
  });

  it('refuses a REPLAY_SPEED that is not a positive number or max', () => {
    for (const text of ['0', '0.0', '-1', '1e3', 'fast', 'Infinity', '1/2', '2x']) {
      expect(() => parseConfig({ REPLAY_SPEED: text })).toThrow(
        `REPLAY_SPEED=${JSON.stringify(text)}: expected a positive number or max`,
      );
    }
  });

  it('reads TRUST_PROXY addresses and CIDRs of both families', () => {
    expect(
      parseConfig({ TRUST_PROXY: ' 127.0.0.1, 10.0.0.0/8 ,::1,fd00::/8,, ::/0' }).trustProxy,
    ).toEqual([
      { address: '127.0.0.1', family: 'ipv4' },
      { address: '10.0.0.0', family: 'ipv4', prefix: 8 },
      { address: '::1', family: 'ipv6' },
      { address: 'fd00::', family: 'ipv6', prefix: 8 },
      { address: '::', family: 'ipv6', prefix: 0 },
    ]);
  });

  it('names each bad TRUST_PROXY entry', () => {
    const bad = [
      'localhost',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      '10.0.0.0/-1',
      '10.0.0.0/0x8',
      '256.0.0.1',
      '*',
    ];
    let error: unknown;
    try {
      parseConfig({ TRUST_PROXY: ['127.0.0.1', ...bad].join(',') });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(bad.length);
    bad.forEach((entry, i) => expect(problems[i]).toContain(`TRUST_PROXY entry "${entry}"`));
  });
});

describe('parseConfig problems', () => {
  const problemsOf = (env: Record<string, string | undefined>): string[] => {
    try {
      parseConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('lists every bad variable at once, in the documented order, in its exact format', () => {
    expect(
      problemsOf({
        DEBUG_ENDPOINTS: 'sometimes',
        SHUTDOWN_TIMEOUT_MS: '99',
        SLOW_CLIENT_GRACE_MS: '600001',
        SLOW_CLIENT_MAX_BYTES: '4095',
        SLOW_CLIENT_MAX_QUEUE: '9',
        PING_TIMEOUT_MS: '1e3',
        PING_INTERVAL_MS: '0x1F4',
        HANDSHAKE_TIMEOUT_MS: '',
        TRUST_PROXY: 'localhost, 10.0.0.1 ,fd00::/129',
        MAX_CONNECTIONS_PER_IP: '-1',
        RATE_LIMIT_DISCONNECT_AFTER: '0',
        RATE_LIMIT_BURST: '1000001',
        RATE_LIMIT_PER_SEC: '+5',
        ALLOWED_ORIGINS: 'example.com,*,https://ok.example.com,ftp://files',
        AUTH_TOKENS: 'short',
        SERVE_DASHBOARD: 'maybe',
        LOG_LEVEL: 'loud',
        MAX_PAYLOAD_BYTES: '1023',
        MAX_SYMBOLS_PER_CLIENT: '0',
        DEFAULT_INTERVAL_MS: 'fast',
        REPLAY_LOOP: 'maybe',
        REPLAY_SPEED: '0',
        REPLAY_FORMAT: 'parquet',
        FEED_SYMBOLS: 'AAPL,^GSPC, BTC_USD',
        SYMBOLS_FILE: 'anything.json',
        FEED_TIME_SCALE: '100001',
        FEED_TICKS_PER_SECOND: '1.5',
        SEED: '4294967296',
        FEED: 'coinbase-pro',
        HOST: 'bad host!',
        PORT: ' 70000 ',
      }),
    ).toEqual([
      'PORT=" 70000 ": expected an integer from 0 to 65535',
      'HOST="bad host!": expected a host name or IP address',
      'FEED="coinbase-pro": expected one of simulated, replay, coinbase, alpaca',
      'SEED="4294967296": expected an integer from 0 to 4294967295',
      'FEED_TICKS_PER_SECOND="1.5": expected an integer from 1 to 200000',
      'FEED_TIME_SCALE="100001": expected an integer from 1 to 100000',
      `FEED_SYMBOLS entry "^GSPC": expected a symbol (1-12 letters, digits, '.' or '-')`,
      `FEED_SYMBOLS entry "BTC_USD": expected a symbol (1-12 letters, digits, '.' or '-')`,
      'REPLAY_FORMAT="parquet": expected one of auto, tickstream, binance-trades, massive-trades',
      'REPLAY_SPEED="0": expected a positive number or max',
      'REPLAY_LOOP="maybe": expected true or false',
      'DEFAULT_INTERVAL_MS="fast": expected an integer from 1 to 5000',
      'MAX_SYMBOLS_PER_CLIENT="0": expected an integer from 1 to 10000',
      'MAX_PAYLOAD_BYTES="1023": expected an integer from 1024 to 1048576',
      'LOG_LEVEL="loud": expected one of fatal, error, warn, log, debug, verbose',
      'SERVE_DASHBOARD="maybe": expected true or false',
      'AUTH_TOKENS: every token must be at least 8 characters with no spaces',
      'ALLOWED_ORIGINS entry "example.com": expected scheme://host[:port] or *',
      'ALLOWED_ORIGINS entry "ftp://files": expected scheme://host[:port] or *',
      'RATE_LIMIT_PER_SEC="+5": expected an integer from 1 to 100000',
      'RATE_LIMIT_BURST="1000001": expected an integer from 1 to 1000000',
      'RATE_LIMIT_DISCONNECT_AFTER="0": expected an integer from 1 to 1000000',
      'MAX_CONNECTIONS_PER_IP="-1": expected an integer from 0 to 1000000',
      'TRUST_PROXY entry "localhost": expected an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)',
      'TRUST_PROXY entry "fd00::/129": expected an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)',
      'PING_INTERVAL_MS="0x1F4": expected an integer from 500 to 300000',
      'PING_TIMEOUT_MS="1e3": expected an integer from 500 to 300000',
      'SLOW_CLIENT_MAX_QUEUE="9": expected an integer from 10 to 1000000',
      'SLOW_CLIENT_MAX_BYTES="4095": expected an integer from 4096 to 1073741824',
      'SLOW_CLIENT_GRACE_MS="600001": expected an integer from 100 to 600000',
      'SHUTDOWN_TIMEOUT_MS="99": expected an integer from 100 to 600000',
      'DEBUG_ENDPOINTS="sometimes": expected true or false',
    ]);
  });

  it('reads FEED=coinbase and a ws:// or wss:// COINBASE_WS_URL', () => {
    expect(
      parseConfig({ FEED: 'Coinbase', COINBASE_WS_URL: 'ws://127.0.0.1:9000/feed' }),
    ).toMatchObject({ feed: 'coinbase', coinbaseWsUrl: 'ws://127.0.0.1:9000/feed' });
    expect(
      parseConfig({ COINBASE_WS_URL: 'wss://ws-feed-public.sandbox.exchange.coinbase.com' }),
    ).toMatchObject({ coinbaseWsUrl: 'wss://ws-feed-public.sandbox.exchange.coinbase.com' });
  });

  it('refuses a COINBASE_WS_URL that is not a ws:// or wss:// URL', () => {
    for (const text of [
      'https://ws-feed.exchange.coinbase.com',
      'ws-feed.exchange.coinbase.com',
      'ws://',
      'wss//x',
    ]) {
      expect(() => parseConfig({ COINBASE_WS_URL: text })).toThrow(
        `COINBASE_WS_URL=${JSON.stringify(text)}: expected a ws:// or wss:// URL`,
      );
    }
  });

  it('requires REPLAY_FILE with FEED=replay, reported in key order with the other problems', () => {
    expect(problemsOf({ FEED: 'replay' })).toEqual(['REPLAY_FILE: required when FEED=replay']);
    expect(problemsOf({ FEED: ' Replay ', REPLAY_FILE: '  ' })).toEqual([
      'REPLAY_FILE: required when FEED=replay',
    ]);
    expect(
      problemsOf({ LOG_LEVEL: 'loud', FEED: 'replay', REPLAY_SPEED: 'fast', PORT: 'x' }),
    ).toEqual([
      'PORT="x": expected an integer from 0 to 65535',
      'REPLAY_FILE: required when FEED=replay',
      'REPLAY_SPEED="fast": expected a positive number or max',
      'LOG_LEVEL="loud": expected one of fatal, error, warn, log, debug, verbose',
    ]);
    // Not needed by the simulator, nor checked when FEED itself is bad (that is the problem).
    expect(problemsOf({})).toEqual([]);
    expect(problemsOf({ FEED: 'replay-ish' })).toEqual([
      'FEED="replay-ish": expected one of simulated, replay, coinbase, alpaca',
    ]);
  });

  it('reads FEED=alpaca with its feed, URL and keys', () => {
    expect(
      parseConfig({
        FEED: 'alpaca',
        ALPACA_FEED: 'TEST',
        ALPACA_WS_URL: 'ws://127.0.0.1:9001/v2/test',
        ALPACA_KEY_ID: 'PKTEST',
        ALPACA_SECRET_KEY: 'shh-secret',
      }),
    ).toMatchObject({
      feed: 'alpaca',
      alpacaFeed: 'test',
      alpacaWsUrl: 'ws://127.0.0.1:9001/v2/test',
      alpacaKeyId: 'PKTEST',
      alpacaSecretKey: 'shh-secret',
    });
    expect(problemsOf({ ALPACA_FEED: 'crypto', ALPACA_WS_URL: 'https://x' })).toEqual([
      'ALPACA_FEED="crypto": expected one of iex, sip, test',
      'ALPACA_WS_URL="https://x": expected a ws:// or wss:// URL',
    ]);
  });

  it('requires both Alpaca keys with FEED=alpaca and never shows their values', () => {
    expect(problemsOf({ FEED: 'alpaca' })).toEqual([
      'ALPACA_KEY_ID: required when FEED=alpaca',
      'ALPACA_SECRET_KEY: required when FEED=alpaca',
    ]);
    expect(problemsOf({ FEED: 'alpaca', ALPACA_KEY_ID: 'PK123' })).toEqual([
      'ALPACA_SECRET_KEY: required when FEED=alpaca',
    ]);
    const problems = problemsOf({
      FEED: 'alpaca',
      PORT: 'x',
      ALPACA_KEY_ID: 'PK-VISIBLE-NOT',
      ALPACA_SECRET_KEY: 'TOP-SECRET-VALUE',
    });
    expect(problems).toEqual(['PORT="x": expected an integer from 0 to 65535']);
    expect(problems.join('\n')).not.toMatch(/TOP-SECRET-VALUE|PK-VISIBLE-NOT/);
  });

  it('reports one problem for a value that is wrong in several ways', () => {
    expect(problemsOf({ PORT: '99999999999999999999' })).toEqual([
      'PORT="99999999999999999999": expected an integer from 0 to 65535',
    ]);
  });

  it('never echoes a token, and reports bad tokens once', () => {
    const problems = problemsOf({ AUTH_TOKENS: 'longenough-token,short,has a space,tiny' });
    expect(problems).toEqual([
      'AUTH_TOKENS: every token must be at least 8 characters with no spaces',
    ]);
    for (const token of ['longenough', 'short', 'has a space', 'tiny']) {
      expect(problems.join('\n')).not.toContain(token);
    }
    expect(parseConfig({ AUTH_TOKENS: ' longenough-token , other-token-2 ,,' }).authTokens).toEqual(
      ['longenough-token', 'other-token-2'],
    );
  });
});

describe('parseConfig normalisation', () => {
  const defaults = parseConfig({});

  it('takes the default for an empty or whitespace-only value of every variable', () => {
    for (const blank of ['', ' ', ' \t\n ']) {
      expect(parseConfig(Object.fromEntries(ENV_KEYS.map((key) => [key, blank])))).toStrictEqual(
        defaults,
      );
    }
  });

  it('trims values and ignores the case of words', () => {
    expect(
      parseConfig({
        PORT: ' 8080 ',
        HOST: ' ::1 ',
        SYMBOLS_FILE: '  /tmp/universe.json\n',
        LOG_LEVEL: ' Verbose ',
        SERVE_DASHBOARD: ' OFF ',
        DEBUG_ENDPOINTS: 'Yes',
        DEFAULT_INTERVAL_MS: ' 5000 ',
      }),
    ).toMatchObject({
      port: 8080,
      host: '::1',
      symbolsFile: '/tmp/universe.json',
      logLevel: 'verbose',
      serveDashboard: false,
      debugEndpoints: true,
      defaultIntervalMs: 5000,
    });
  });

  it('accepts every boolean word and rounds the interval up to a tier', () => {
    for (const word of ['1', 'true', 'yes', 'on', 'TRUE', 'On']) {
      expect(parseConfig({ DEBUG_ENDPOINTS: word }).debugEndpoints).toBe(true);
    }
    for (const word of ['0', 'false', 'no', 'off', 'FALSE', 'No']) {
      expect(parseConfig({ SERVE_DASHBOARD: word }).serveDashboard).toBe(false);
    }
    expect(parseConfig({ DEFAULT_INTERVAL_MS: '1' }).defaultIntervalMs).toBe(100);
    expect(parseConfig({ DEFAULT_INTERVAL_MS: '1001' }).defaultIntervalMs).toBe(2000);
  });

  it('ignores variables it does not read', () => {
    expect(parseConfig({ PATH: '/usr/bin', port: 'x', HOME: undefined })).toStrictEqual(defaults);
  });

  it('returns fresh lists on every call', () => {
    const first = parseConfig({});
    first.authTokens.push('mutated-token');
    expect(parseConfig({}).authTokens).toEqual([]);
  });
});

describe('CONFIG_DOCS', () => {
  it('documents every variable of the schema, and nothing else, in its order', () => {
    expect(CONFIG_DOCS.map((doc) => doc.key)).toEqual(Object.keys(ENV_VARS.entries));
    const fields = Object.keys(parseConfig({}));
    expect(CONFIG_DOCS.map((doc) => doc.key.toLowerCase().replaceAll('_', ''))).toEqual(
      fields.map((field) => field.toLowerCase()),
    );
  });

  it.each(CONFIG_DOCS)('$key has a default and a description', (doc) => {
    expect(doc.default).not.toBe('');
    expect(doc.description).not.toBe('');
  });

  it.each(CONFIG_DOCS.filter((doc) => !doc.default.startsWith('(')))(
    '$key documents the value it takes when unset ($default)',
    (doc) => {
      expect(parseConfig({ [doc.key]: doc.default })).toStrictEqual(parseConfig({}));
    },
  );

  it('is what the JSON Schema of the environment describes', () => {
    const schema = envJsonSchema();
    expect(Object.keys(schema.properties ?? {})).toEqual(CONFIG_DOCS.map((doc) => doc.key));
    for (const doc of CONFIG_DOCS) {
      expect(schema.properties?.[doc.key]).toMatchObject({
        type: 'string',
        description: doc.description,
      });
    }
    expect(schema.properties?.PORT).toMatchObject({ default: '3000', pattern: '^-?\\d+$' });
    expect(schema.required).toEqual([]);
  });

  it('needs REDIS_URL for a feed or a gateway, and refuses RECORD_FILE on a gateway', () => {
    expect(() => parseConfig({ ROLE: 'gateway' })).toThrow(
      'REDIS_URL: required when ROLE=feed or ROLE=gateway',
    );
    expect(() => parseConfig({ ROLE: 'feed', REDIS_URL: 'http://x' })).toThrow(
      'REDIS_URL: expected a redis:// or rediss:// URL',
    );
    expect(() =>
      parseConfig({ ROLE: 'gateway', REDIS_URL: 'redis://127.0.0.1:6379', RECORD_FILE: 'x.csv' }),
    ).toThrow('RECORD_FILE: a gateway runs no feed');
    expect(
      parseConfig({ ROLE: 'Gateway', REDIS_URL: 'redis://:secret@10.0.0.5:6380' }),
    ).toMatchObject({ role: 'gateway', redisUrl: 'redis://:secret@10.0.0.5:6380' });
  });

  it('never shows a bad REDIS_URL, which may hold a password', () => {
    expect(() => parseConfig({ ROLE: 'feed', REDIS_URL: 'ftp://:hunter2@x' })).toThrow(
      /^(?![\s\S]*hunter2)/,
    );
  });
});
