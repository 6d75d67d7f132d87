import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './app-config.js';

describe(parseConfig.name, () => {
  it('applies the documented defaults to an empty environment', () => {
    expect(parseConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      seed: 42,
      feedTicksPerSecond: 500,
      feedTimeScale: 1,
      symbolsFile: undefined,
      defaultIntervalMs: 250,
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
