import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AlpacaFeed, alpacaInstruments } from '../../src/market/live/alpaca-feed.js';
import { ReconnectBackoff } from '../../src/market/live/reconnect-backoff.js';
import { MARKET_FEED } from '../../src/market/market-feed.js';
import type { FeedState, HealthResponse, SymbolInfo, Tick } from '../../src/shared/market.js';
import type { Quote } from '../../src/shared/protocol.js';
import { type FakeAlpacaOptions, FakeAlpacaUpstream } from '../fakes/alpaca-upstream.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { freePort } from '../support/free-port.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  elapse,
  requestSubscribe,
  type TestApp,
  waitFor,
} from '../support/test-app.js';

const KEY = 'PKE2EKEYID0001';
const SECRET = 'e2e-secret-Zq7wX9';

/** A log that keeps its lines, to assert what an operator would read. */
function captureLog() {
  const lines: string[] = [];
  return {
    lines,
    log: (m: string) => lines.push(`log ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
  };
}

/** Every state the feed goes through, the current one first. */
function recordStates(feed: AlpacaFeed): FeedState[] {
  const states: FeedState[] = [];
  feed.state$.subscribe((state) => states.push(state));
  return states;
}

describe(AlpacaFeed.name, () => {
  let fake: FakeAlpacaUpstream | undefined;
  let t: TestApp | undefined;

  const upstream = async (options: FakeAlpacaOptions = {}) => {
    fake = await FakeAlpacaUpstream.start({ key: KEY, secret: SECRET, ...options });
    return fake;
  };
  const env = (f: FakeAlpacaUpstream, extra: Record<string, string> = {}) => ({
    FEED: 'alpaca',
    ALPACA_WS_URL: f.url,
    ALPACA_KEY_ID: KEY,
    ALPACA_SECRET_KEY: SECRET,
    ...extra,
  });
  const feedOf = (
    f: FakeAlpacaUpstream,
    symbols: string[],
    extra: Partial<ConstructorParameters<typeof AlpacaFeed>[0]> = {},
  ) =>
    new AlpacaFeed({
      url: f.url,
      keyId: KEY,
      secretKey: SECRET,
      instruments: alpacaInstruments(symbols),
      ...extra,
    });

  afterEach(async () => {
    closeAllClients();
    await t?.close();
    t = undefined;
    await fake?.close();
    fake = undefined;
  });

  const health = async (): Promise<HealthResponse> =>
    (await (await fetch(`${t!.url}/health`)).json()) as HealthResponse;
  const feedIs = (state: FeedState) => async () => (await health()).feed === state;

  /** A client subscribed to `symbols`, collecting every quote. */
  async function subscriber(symbols: string[]) {
    const client = await connectClient(t!.url);
    const quotes: Quote[] = [];
    client.on('quotes', (batch: Quote[]) => quotes.push(...batch));
    const ack = await requestSubscribe(client, { symbols, intervalMs: 100 });
    expect(ack).toMatchObject({ ok: true, rejected: [] });
    const quote = async (symbol: string, seq: number): Promise<Quote> => {
      await waitFor(
        () => quotes.some((q) => q.symbol === symbol && q.seq === seq),
        5000,
        `${symbol} seq ${seq}`,
      );
      return quotes.find((q) => q.symbol === symbol && q.seq === seq)!;
    };
    return { quotes, quote };
  }

  it('authenticates and subscribes within 10 s, merges the latest quote into each trade, seq 1, 2, 3, prevClose = the first trade', async () => {
    const f = await upstream();
    const booted = Date.now();
    t = await createTestApp(env(f, { FEED_SYMBOLS: 'AAPL,msft' }));
    await f.until(() => f.subscribes.length === 1, 10_000, 'the subscribe');
    const authMs = f.auths[0].at - booted;
    const subscribeMs = f.subscribes[0].at - booted;
    console.info(`boot: auth after ${authMs} ms, subscribe after ${subscribeMs} ms`);
    expect(subscribeMs).toBeLessThan(10_000);
    expect(f.auths[0].message).toEqual({ action: 'auth', key: KEY, secret: SECRET });
    expect(f.subscribes[0].message).toEqual({
      action: 'subscribe',
      trades: ['AAPL', 'MSFT'],
      quotes: ['AAPL', 'MSFT'],
    });
    const symbols = (await (await fetch(`${t.url}/api/symbols`)).json()) as SymbolInfo[];
    expect(symbols).toEqual([
      { symbol: 'AAPL', name: 'AAPL', sector: 'Stocks' },
      { symbol: 'MSFT', name: 'MSFT', sector: 'Stocks' },
    ]);
    expect((await health()).feed).toBe('connecting');

    const { quotes, quote } = await subscriber(['AAPL', 'MSFT']);
    // Before any quote: bid = ask = the trade price.
    f.pushTrade({ S: 'AAPL', p: 190.0, s: 100 });
    expect(await quote('AAPL', 1)).toMatchObject({
      symbol: 'AAPL',
      price: 190,
      bid: 190,
      ask: 190,
      prevClose: 190,
      change: 0,
      seq: 1,
    });
    await waitFor(feedIs('live'), 5000, '/health to say live');
    expect(await health()).toMatchObject({ feed: 'live', source: 'alpaca' });

    // A quote and a trade batched in one frame: the trade carries the quote's bid and ask.
    f.pushBatch([f.quote({ S: 'AAPL', bp: 190.1, ap: 190.12 }), f.trade({ S: 'AAPL', p: 190.11 })]);
    expect(await quote('AAPL', 2)).toMatchObject({
      price: 190.11,
      bid: 190.1,
      ask: 190.12,
      prevClose: 190,
      seq: 2,
    });
    f.pushTrade({ S: 'MSFT', p: 410.5 });
    expect(await quote('MSFT', 1)).toMatchObject({ price: 410.5, prevClose: 410.5, seq: 1 });
    f.pushQuote({ S: 'AAPL', bp: 191, ap: 191.02 });
    f.pushTrade({ S: 'AAPL', p: 191.01 });
    const third = await quote('AAPL', 3);
    expect(third).toMatchObject({ price: 191.01, bid: 191, ask: 191.02, prevClose: 190, seq: 3 });
    expect(third.change).toBeCloseTo(1.01, 6);
    expect(Math.abs(third.ts - Date.now())).toBeLessThan(5000);
    expect(quotes.filter((q) => q.symbol === 'AAPL').map((q) => q.seq)).toEqual([1, 2, 3]);
  });

  it('reconnects after a forced disconnect within the first backoff, authenticates and subscribes again, and seq goes on', async () => {
    const f = await upstream();
    t = await createTestApp(env(f, { FEED_SYMBOLS: 'AAPL' }));
    await f.until(() => f.subscribes.length === 1);
    const { quotes, quote } = await subscriber(['AAPL']);
    for (const [seq, price] of [
      [1, 100.01],
      [2, 100.02],
    ] as const) {
      f.pushTrade({ S: 'AAPL', p: price });
      await quote('AAPL', seq);
    }
    await waitFor(feedIs('live'));

    const cutAt = Date.now();
    f.disconnectAll();
    await waitFor(feedIs('reconnecting'), 5000, '/health to say reconnecting');
    await f.until(() => f.subscribes.length === 2, 5000, 'the second subscribe');
    const reconnectMs = f.connectedAt[1] - cutAt;
    const resubscribeMs = f.subscribes[1].at - cutAt;
    console.info(
      `forced disconnect: reconnected after ${reconnectMs} ms, resubscribed after ${resubscribeMs} ms`,
    );
    expect(reconnectMs).toBeLessThan(3000);
    expect(f.auths.map((a) => a.connection)).toEqual([1, 2]);
    expect(f.subscribes[1]).toMatchObject({ connection: 2, message: f.subscribes[0].message });
    expect((await health()).feed).toBe('reconnecting');

    f.pushTrade({ S: 'AAPL', p: 100.03 });
    // prevClose stays the first trade of the run, not of the connection.
    expect(await quote('AAPL', 3)).toMatchObject({ price: 100.03, prevClose: 100.01, seq: 3 });
    await waitFor(feedIs('live'), 5000, '/health to say live again');
    expect(quotes.map((q) => q.seq)).toEqual([1, 2, 3]);
  });

  it('goes stale when a ping gets no pong, terminates the connection and reconnects', async () => {
    const f = await upstream();
    const log = captureLog();
    const feed = feedOf(f, ['AAPL'], {
      pingIntervalMs: 200,
      pongTimeoutMs: 500,
      backoff: new ReconnectBackoff({ initialMs: 200 }),
      log,
    });
    const states = recordStates(feed);
    t = await createTestApp(env(f), { feed });
    await f.until(() => f.subscribes.length === 1);
    f.pushTrade({ S: 'AAPL', p: 50 });
    await waitFor(() => feed.state === 'live');
    // Pings are answered while the upstream is healthy: no stale.
    await f.until(() => f.pings >= 3, 5000, 'three pings');
    expect(feed.state).toBe('live');

    const stalledAt = Date.now();
    f.stall();
    await waitFor(() => states.includes('stale'), 5000, 'stale');
    const staleMs = Date.now() - stalledAt;
    await f.until(() => f.subscribes.length === 2, 5000, 'a new connection and subscribe');
    const resubscribedMs = Date.now() - stalledAt;
    f.pushTrade({ S: 'AAPL', p: 50.5 });
    await waitFor(() => states.at(-1) === 'live', 5000, 'live again');
    const liveAgainMs = Date.now() - stalledAt;
    console.info(
      `silent stall (200 ms ping, 500 ms pong timeout): stale after ${staleMs} ms, resubscribed after ${resubscribedMs} ms, live again after ${liveAgainMs} ms`,
    );
    // The deadline runs from the first unanswered ping, sent at most one interval before or after the stall.
    expect(staleMs).toBeGreaterThanOrEqual(300);
    expect(staleMs).toBeLessThan(2500);
    expect(states).toEqual(['idle', 'connecting', 'live', 'stale', 'reconnecting', 'live']);
    await f.until(() => f.openConnections === 1, 5000, 'the stalled connection to be closed');
    expect(f.subscribes.map((s) => s.connection)).toEqual([1, 2]);
    expect(
      log.lines.some((l) =>
        /^warn no pong from .* within 500 ms of a ping: stale, reconnecting$/.test(l),
      ),
    ).toBe(true);
    expect(feed.stats).toMatchObject({ connections: 2, emitted: 2 });
  });

  it('on 402 (auth failed) goes down with a clear message and never dials again', async () => {
    const f = await upstream();
    const log = captureLog();
    const feed = new AlpacaFeed({
      url: f.url,
      keyId: KEY,
      secretKey: 'not-the-secret',
      instruments: alpacaInstruments(['AAPL']),
      backoff: new ReconnectBackoff({ initialMs: 50, maxMs: 100 }),
      log,
    });
    const states = recordStates(feed);
    t = await createTestApp(env(f), { feed });
    await waitFor(() => feed.state === 'down', 5000, 'down');
    expect(await health()).toMatchObject({ feed: 'down', source: 'alpaca' });
    // Well past the largest backoff: a refused key is not retried.
    await elapse(500);
    expect(f.connections).toBe(1);
    expect(f.subscribes).toEqual([]);
    expect(states).toEqual(['idle', 'connecting', 'down']);
    expect(log.lines.filter((l) => l.startsWith('error'))).toEqual([
      'error Alpaca refused the key (402 auth failed): check ALPACA_KEY_ID / ALPACA_SECRET_KEY. Not retrying: the feed is down until the server restarts with a valid key',
    ]);
    expect(log.lines.join('\n')).not.toContain('not-the-secret');
  });

  it('on 406 (connection limit exceeded) waits at least 60 s before the next attempt', async () => {
    const f = await upstream();
    f.occupy();
    const log = captureLog();
    const feed = feedOf(f, ['AAPL'], { log });
    t = await createTestApp(env(f), { feed });
    await waitFor(() => log.lines.some((l) => l.includes('reconnecting in')), 5000, 'the retry');
    const delay = Number(
      /reconnecting in (\d+) ms/.exec(log.lines.find((l) => l.includes('reconnecting in'))!)![1],
    );
    console.info(`406: next attempt scheduled in ${delay} ms`);
    expect(delay).toBeGreaterThanOrEqual(60_000);
    expect(feed.stats.lastDelayMs).toBe(delay);
    expect(feed.state).toBe('reconnecting');
    expect(log.lines).toContain(
      `error Alpaca refused the connection (406 connection limit exceeded): another connection of this key to ${f.url} is open (most plans allow one); retrying in 60 s at the earliest`,
    );
    f.release();
    // The default backoff would have retried within 1 s; the 406 floor holds it.
    await elapse(2000);
    expect(f.connections).toBe(1);
  });

  it('on 405 and 409 names what Alpaca left out and streams the rest', async () => {
    const f = await upstream({ maxSymbols: 3, insufficient: ['TSLA'] });
    const log = captureLog();
    const feed = feedOf(f, ['AAPL', 'MSFT', 'TSLA', 'NVDA', 'AMD'], { log });
    t = await createTestApp(env(f), { feed });
    await f.until(() => f.subscribes.length === 1);
    await waitFor(
      () => log.lines.some((l) => l.includes('did not subscribe')),
      5000,
      'the missing symbols',
    );
    const errors = log.lines.filter((l) => l.startsWith('error'));
    expect(errors).toEqual([
      'error Alpaca refused the subscription (409 insufficient subscription): the plan of this key does not include ' +
        `${f.url} (sip needs a paid plan; try ALPACA_FEED=iex). The symbols Alpaca accepted stream on`,
      'error Alpaca refused part of the subscription (405 symbol limit exceeded): 5 symbols asked (AAPL, MSFT, TSLA, NVDA, AMD) is more than the plan allows; reduce FEED_SYMBOLS. The symbols Alpaca accepted stream on',
      'error Alpaca did not subscribe the trades of TSLA, AMD; the other symbols stream on',
    ]);
    const { quote } = await subscriber(['AAPL', 'NVDA']);
    f.pushTrade({ S: 'NVDA', p: 120.25 });
    expect(await quote('NVDA', 1)).toMatchObject({ price: 120.25, seq: 1 });
    expect(feed.state).toBe('live');
    expect(f.connections).toBe(1);
  });

  it('drops malformed frames and messages and logs upstream errors without breaking the feed', async () => {
    const f = await upstream();
    const log = captureLog();
    const feed = feedOf(f, ['AAPL'], { log });
    const ticks: Tick[] = [];
    feed.ticks$.subscribe((tick) => ticks.push(tick));
    t = await createTestApp(env(f), { feed });
    await f.until(() => f.subscribes.length === 1);
    const { quote } = await subscriber(['AAPL']);
    f.pushTrade({ S: 'AAPL', p: 10.5 });
    await quote('AAPL', 1);

    f.sendRaw('[{"T":"t",');
    f.sendRaw('{"T":"success","msg":"connected"}');
    // One bad message in a frame: the good one beside it still counts.
    f.sendRaw(
      JSON.stringify([
        { ...f.trade({ S: 'AAPL', p: 1 }), p: 'abc' },
        f.trade({ S: 'AAPL', p: 10.6 }),
      ]),
    );
    f.sendRaw(JSON.stringify([{ T: 'b', S: 'AAPL', o: 1, h: 1, l: 1, c: 1, v: 1 }]));
    f.sendError(500);
    f.pushTrade({ S: 'AAPL', p: 10.75 });
    // 10.6 and 10.75 may share one 100 ms window (the client sees the latest): check the ticks too.
    expect(await quote('AAPL', 3)).toMatchObject({ price: 10.75, seq: 3 });
    expect(ticks.map((tick) => [tick.seq, tick.price])).toEqual([
      [1, 10.5],
      [2, 10.6],
      [3, 10.75],
    ]);

    expect(feed.stats).toMatchObject({ malformed: 3, connections: 1, emitted: 3, dropped: 0 });
    expect(feed.state).toBe('live');
    expect(f.connections).toBe(1);
    expect(log.lines.filter((l) => l.startsWith('warn malformed'))).toEqual([
      'warn malformed message from Alpaca dropped: not JSON; 1 in all',
    ]);
    expect(log.lines).toContain('error Alpaca error: 500 internal error');
  });

  it('leaves nothing running once the app closes: socket closed, no ping, no reconnect, state closed', async () => {
    const f = await upstream();
    const feed = feedOf(f, ['AAPL'], {
      pingIntervalMs: 100,
      backoff: new ReconnectBackoff({ initialMs: 50, maxMs: 100 }),
    });
    t = await createTestApp(env(f), { feed });
    await f.until(() => f.subscribes.length === 1);
    f.pushTrade({ S: 'AAPL', p: 1 });
    await waitFor(() => feed.state === 'live');
    expect(t.app.get(MARKET_FEED)).toBe(feed);

    await t.close();
    t = undefined;
    expect(feed.state).toBe('closed');
    await f.until(() => f.openConnections === 0, 5000, 'the connection to close');
    const pings = f.pings;
    await elapse(500);
    expect(f.connections).toBe(1);
    expect(f.pings).toBe(pings);
  });
});

describe('FEED=alpaca, the server process (e2e)', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('with a refused key says so, reports down, never retries, and never shows the key', async () => {
    const fake = await FakeAlpacaUpstream.start({ key: KEY, secret: SECRET });
    const wrongSecret = 'wrong-SECRET-value-4242';
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(port),
        SERVE_DASHBOARD: 'false',
        LOG_LEVEL: 'verbose',
        FEED: 'alpaca',
        ALPACA_WS_URL: fake.url,
        ALPACA_KEY_ID: KEY,
        ALPACA_SECRET_KEY: wrongSecret,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    try {
      await waitFor(
        () =>
          output.includes(
            'Alpaca refused the key (402 auth failed): check ALPACA_KEY_ID / ALPACA_SECRET_KEY',
          ),
        20_000,
        'the 402 message',
      );
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => {
          const res = await fetch(`${base}/health`).catch(() => undefined);
          return res !== undefined && ((await res.json()) as HealthResponse).feed === 'down';
        },
        10_000,
        '/health to say down',
      );
      // Past the first backoff ceilings (1 s, 2 s): no second attempt.
      await elapse(2500);
      expect(fake.connections).toBe(1);
      const bodies = [
        await (await fetch(`${base}/health`)).text(),
        await (await fetch(`${base}/api/status`)).text(),
      ];
      for (const text of [output, ...bodies]) {
        expect(text).not.toContain(wrongSecret);
        expect(text).not.toContain(KEY);
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await fake.close();
    }
  }, 60_000);
});
