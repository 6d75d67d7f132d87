import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoinbaseFeed, coinbaseInstruments } from '../../src/market/live/coinbase-feed.js';
import { ReconnectBackoff } from '../../src/market/live/reconnect-backoff.js';
import { MARKET_FEED } from '../../src/market/market-feed.js';
import type { FeedState, HealthResponse, SymbolInfo, Tick } from '../../src/shared/market.js';
import type { Quote } from '../../src/shared/protocol.js';
import { FakeCoinbaseUpstream } from '../fakes/coinbase-upstream.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  elapse,
  requestSubscribe,
  type TestApp,
  waitFor,
} from '../support/test-app.js';

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
function recordStates(feed: CoinbaseFeed): FeedState[] {
  const states: FeedState[] = [];
  feed.state$.subscribe((state) => states.push(state));
  return states;
}

describe(CoinbaseFeed.name, () => {
  let fake: FakeCoinbaseUpstream;
  let t: TestApp | undefined;

  beforeEach(async () => {
    fake = await FakeCoinbaseUpstream.start();
  });

  afterEach(async () => {
    closeAllClients();
    await t?.close();
    t = undefined;
    await fake.close();
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

  it('subscribes within 5 s and streams tickers as quotes: price, bid, ask, prevClose, seq 1, 2, 3; /health live', async () => {
    const booted = Date.now();
    t = await createTestApp({
      FEED: 'coinbase',
      COINBASE_WS_URL: fake.url,
      FEED_SYMBOLS: 'BTC-USD,eth/usd',
    });
    await fake.until(() => fake.subscribes.length === 1, 5000, 'the subscribe');
    expect(fake.subscribes[0].at - booted).toBeLessThan(5000);
    expect(fake.subscribes[0].message).toEqual({
      type: 'subscribe',
      product_ids: ['BTC-USD', 'ETH-USD'],
      channels: ['ticker', 'heartbeat'],
    });
    const symbols = (await (await fetch(`${t.url}/api/symbols`)).json()) as SymbolInfo[];
    expect(symbols).toEqual([
      { symbol: 'BTC-USD', name: 'BTC-USD', sector: 'Crypto' },
      { symbol: 'ETH-USD', name: 'ETH-USD', sector: 'Crypto' },
    ]);
    expect((await health()).feed).toBe('connecting');

    fake.sendHeartbeats();
    await waitFor(feedIs('live'), 5000, '/health to say live');
    expect(await health()).toMatchObject({ feed: 'live', source: 'coinbase' });

    const { quote } = await subscriber(['BTC-USD', 'ETH-USD']);
    fake.pushTicker({
      product_id: 'BTC-USD',
      price: '50000.12',
      best_bid: '50000.11',
      best_ask: '50000.13',
      open_24h: '49000.00',
      last_size: '0.5',
    });
    expect(await quote('BTC-USD', 1)).toMatchObject({
      symbol: 'BTC-USD',
      price: 50000.12,
      bid: 50000.11,
      ask: 50000.13,
      prevClose: 49000,
      change: 1000.12,
      seq: 1,
    });
    fake.pushTicker({ product_id: 'BTC-USD', price: '50001.00', open_24h: '49000.00' });
    expect(await quote('BTC-USD', 2)).toMatchObject({ price: 50001, seq: 2 });
    fake.pushTicker({ product_id: 'ETH-USD', price: '1285.22', open_24h: '1310.79' });
    expect(await quote('ETH-USD', 1)).toMatchObject({ price: 1285.22, prevClose: 1310.79, seq: 1 });
    fake.pushTicker({ product_id: 'BTC-USD', price: '50002.50', open_24h: '49000.00' });
    const third = await quote('BTC-USD', 3);
    expect(third).toMatchObject({ price: 50002.5, seq: 3 });
    expect(Math.abs(third.ts - Date.now())).toBeLessThan(5000);
  });

  it('reconnects after a forced disconnect within the first backoff, resubscribes, and seq goes on', async () => {
    t = await createTestApp({
      FEED: 'coinbase',
      COINBASE_WS_URL: fake.url,
      FEED_SYMBOLS: 'BTC-USD',
    });
    await fake.until(() => fake.subscribes.length === 1);
    fake.sendHeartbeats();
    await waitFor(feedIs('live'));
    const { quotes, quote } = await subscriber(['BTC-USD']);
    for (const [seq, price] of [
      [1, '100.01'],
      [2, '100.02'],
    ] as const) {
      fake.pushTicker({ product_id: 'BTC-USD', price });
      await quote('BTC-USD', seq);
    }

    const cutAt = Date.now();
    fake.disconnectAll();
    await waitFor(feedIs('reconnecting'), 5000, '/health to say reconnecting');
    await fake.until(() => fake.subscribes.length === 2, 5000, 'the second subscribe');
    const reconnectMs = fake.connectedAt[1] - cutAt;
    const resubscribeMs = fake.subscribes[1].at - cutAt;
    console.info(
      `forced disconnect: reconnected after ${reconnectMs} ms, resubscribed after ${resubscribeMs} ms`,
    );
    expect(reconnectMs).toBeLessThan(3000);
    expect(fake.subscribes[1]).toMatchObject({
      connection: 2,
      message: fake.subscribes[0].message,
    });
    // No data on the new connection yet: still reconnecting.
    expect((await health()).feed).toBe('reconnecting');

    fake.pushTicker({ product_id: 'BTC-USD', price: '100.03' });
    expect(await quote('BTC-USD', 3)).toMatchObject({ price: 100.03, seq: 3 });
    await waitFor(feedIs('live'), 5000, '/health to say live again');
    expect(quotes.map((q) => q.seq)).toEqual([1, 2, 3]);
  });

  it('goes stale on a silent connection, terminates it and reconnects', async () => {
    const log = captureLog();
    const feed = new CoinbaseFeed({
      url: fake.url,
      instruments: coinbaseInstruments(['BTC-USD']),
      silenceTimeoutMs: 1000,
      backoff: new ReconnectBackoff({ initialMs: 200 }),
      log,
    });
    const states = recordStates(feed);
    t = await createTestApp({ FEED: 'coinbase', COINBASE_WS_URL: fake.url }, { feed });
    fake.startHeartbeats(100);
    await waitFor(feedIs('live'));

    const stalledAt = Date.now();
    fake.stall();
    await waitFor(() => states.includes('stale'), 5000, 'stale');
    const staleMs = Date.now() - stalledAt;
    await fake.until(() => fake.connections === 2, 5000, 'a new connection');
    await waitFor(() => states.at(-1) === 'live', 5000, 'live again');
    const liveAgainMs = Date.now() - stalledAt;
    console.info(
      `silent stall (1 s timeout): stale after ${staleMs} ms, live again after ${liveAgainMs} ms`,
    );
    // Counted from the last heartbeat, which came up to one period (plus event-loop lag) before the stall.
    expect(staleMs).toBeGreaterThanOrEqual(500);
    expect(staleMs).toBeLessThan(2500);
    expect(states).toEqual(['idle', 'connecting', 'live', 'stale', 'reconnecting', 'live']);
    await fake.until(() => fake.openConnections === 1, 5000, 'the silent connection to be closed');
    expect(fake.subscribes.map((s) => s.connection)).toEqual([1, 2]);
    expect(log.lines.some((l) => /^warn nothing from .* stale, reconnecting$/.test(l))).toBe(true);
    expect((await health()).feed).toBe('live');
  });

  it('drops malformed frames and logs upstream errors without breaking the feed', async () => {
    const log = captureLog();
    const feed = new CoinbaseFeed({
      url: fake.url,
      instruments: coinbaseInstruments(['BTC-USD']),
      log,
    });
    t = await createTestApp({ FEED: 'coinbase', COINBASE_WS_URL: fake.url }, { feed });
    await fake.until(() => fake.subscribes.length === 1);
    fake.sendHeartbeats();
    await waitFor(feedIs('live'));
    const { quote } = await subscriber(['BTC-USD']);
    fake.pushTicker({ product_id: 'BTC-USD', price: '10.5' });
    await quote('BTC-USD', 1);

    fake.sendRaw('{"type":"ticker",');
    fake.sendRaw('[]');
    fake.sendRaw(
      JSON.stringify({
        type: 'ticker',
        product_id: 'BTC-USD',
        price: 'abc',
        last_size: '1',
        best_bid: '1',
        best_ask: '1',
        open_24h: '1',
      }),
    );
    fake.sendRaw(JSON.stringify({ type: 'l2update', product_id: 'BTC-USD', changes: [] }));
    fake.sendError('Failed to subscribe', 'BTC-FOO is not a valid product');
    fake.sendError('ErrSlowConsume');
    fake.pushTicker({ product_id: 'BTC-USD', price: '10.75' });
    expect(await quote('BTC-USD', 2)).toMatchObject({ price: 10.75, seq: 2 });

    expect(feed.stats).toMatchObject({ malformed: 3, connections: 1, emitted: 2, dropped: 0 });
    expect(feed.state).toBe('live');
    expect(fake.connections).toBe(1);
    // The first malformed frame is logged, the next two are counted for the next report.
    expect(log.lines.filter((l) => l.startsWith('warn malformed'))).toEqual([
      'warn malformed frame from Coinbase dropped: not JSON; 1 in all',
    ]);
    expect(log.lines).toContain('error Coinbase error: ErrSlowConsume');
    expect(log.lines).toContain(
      'error Coinbase error: Failed to subscribe: BTC-FOO is not a valid product',
    );
  });

  it('names an unknown product that Coinbase refuses', async () => {
    const log = captureLog();
    const feed = new CoinbaseFeed({
      url: fake.url,
      instruments: coinbaseInstruments(['BTC-USD', 'BTC-FOO']),
      log,
    });
    t = await createTestApp({ FEED: 'coinbase', COINBASE_WS_URL: fake.url }, { feed });
    await fake.until(() => fake.subscribes.length === 1);
    await waitFor(() => log.lines.some((l) => l.startsWith('error')), 5000, 'the error');
    expect(log.lines.filter((l) => l.startsWith('error'))).toEqual([
      'error Coinbase refused product BTC-FOO (Failed to subscribe: BTC-FOO is not a valid product); check FEED_SYMBOLS',
    ]);
  });

  it('backs off while the upstream refuses connections, then goes live when it accepts', async () => {
    fake.refuse();
    const log = captureLog();
    const feed = new CoinbaseFeed({
      url: fake.url,
      instruments: coinbaseInstruments(['BTC-USD']),
      backoff: new ReconnectBackoff({ initialMs: 50, maxMs: 200 }),
      log,
    });
    const states = recordStates(feed);
    t = await createTestApp({ FEED: 'coinbase', COINBASE_WS_URL: fake.url }, { feed });
    await waitFor(
      () => log.lines.filter((l) => /failed .* reconnecting in/.test(l)).length >= 3,
      5000,
      'three refused attempts',
    );
    expect(fake.connections).toBe(0);
    expect(feed.state).toBe('reconnecting');
    fake.accept();
    await fake.until(() => fake.subscribes.length === 1, 5000, 'the subscribe');
    fake.sendHeartbeats();
    await waitFor(() => feed.state === 'live', 5000, 'live');
    expect(states).toEqual(['idle', 'connecting', 'reconnecting', 'live']);
  });

  it('holds ticks in a bounded buffer while the downstream is behind, dropping the oldest, seq without a gap', async () => {
    // The drain runs on a virtual clock that only moves when the test flushes it: the
    // downstream is "busy" until then, while the socket keeps reading.
    const scheduler = new VirtualTimeScheduler(VirtualAction, 50);
    const log = captureLog();
    const feed = new CoinbaseFeed({
      url: fake.url,
      instruments: coinbaseInstruments(['BTC-USD']),
      scheduler,
      bufferCapacity: 5,
      log,
    });
    const ticks: Tick[] = [];
    feed.ticks$.subscribe((tick) => ticks.push(tick));
    try {
      feed.start();
      await fake.until(() => fake.subscribes.length === 1);
      for (let i = 1; i <= 8; i++) fake.pushTicker({ product_id: 'BTC-USD', price: `${100 + i}` });
      await waitFor(() => feed.stats.dropped === 3, 5000, 'three drops');
      expect(feed.stats.buffered).toBe(5);
      expect(ticks).toEqual([]);
      scheduler.flush();
      expect(ticks.map((tick) => [tick.seq, tick.price])).toEqual([
        [1, 104],
        [2, 105],
        [3, 106],
        [4, 107],
        [5, 108],
      ]);
      expect(feed.stats).toMatchObject({ emitted: 5, dropped: 3, buffered: 0 });
      expect(log.lines.filter((l) => l.includes('buffer full'))).toHaveLength(1);
    } finally {
      feed.stop();
    }
    expect(log.lines.at(-1)).toBe('warn 3 tick(s) dropped in all: the buffer was full');
  });

  it('leaves nothing running once the app closes: socket closed, no reconnect, state closed', async () => {
    const feed = new CoinbaseFeed({
      url: fake.url,
      instruments: coinbaseInstruments(['BTC-USD']),
      backoff: new ReconnectBackoff({ initialMs: 50, maxMs: 100 }),
    });
    t = await createTestApp({ FEED: 'coinbase', COINBASE_WS_URL: fake.url }, { feed });
    fake.startHeartbeats(100);
    await waitFor(() => feed.state === 'live');
    expect(t.app.get(MARKET_FEED)).toBe(feed);

    await t.close();
    t = undefined;
    expect(feed.state).toBe('closed');
    await fake.until(() => fake.openConnections === 0, 5000, 'the connection to close');
    // Well past the largest backoff: a stopped feed never dials again.
    await elapse(500);
    expect(fake.connections).toBe(1);
  });
});
