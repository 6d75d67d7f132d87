import { readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { asyncScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/app-config.js';
import type { MarketFeed } from '../../src/market/market-feed.js';
import { createMarketFeed } from '../../src/market/market-feed.factory.js';
import type { HealthResponse, SymbolInfo } from '../../src/shared/market.js';
import type { Quote } from '../../src/shared/protocol.js';
import { ROOT } from '../support/build.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  requestSubscribe,
  type TestApp,
  waitFor,
} from '../support/test-app.js';

const FIXTURES = relative(process.cwd(), join(ROOT, 'test/fixtures/replay'));

/** What a fixture holds per symbol, read here independently of the server's parsers. */
interface Expected {
  rows: number;
  volume: number;
  lastPrice: number;
}

function expectedOf(file: string): Map<string, Expected> {
  const bytes = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  const name = basename(file);
  const rows: { symbol: string; price: number; size: number }[] = [];
  if (name.startsWith('BTCUSDT-trades-')) {
    for (const line of lines) {
      const f = line.split(',');
      rows.push({ symbol: 'BTCUSDT', price: Number(f[1]), size: Number(f[2]) });
    }
  } else if (name.startsWith('massive-')) {
    // ticker,conditions,…,price (6),…,size (9): quoted condition lists hold commas.
    for (const line of lines.slice(1)) {
      const f = line.replace(/"[^"]*"/g, '').split(',');
      rows.push({ symbol: f[0], price: Number(f[6]), size: Number(f[9]) });
    }
  } else {
    for (const line of lines.slice(1)) {
      const f = line.split(',');
      rows.push({
        symbol: f[1].toUpperCase().replace('/', '-'),
        price: Number(f[2]),
        size: Number(f[3]),
      });
    }
  }
  const bySymbol = new Map<string, Expected>();
  for (const { symbol, price, size } of rows) {
    const e = bySymbol.get(symbol) ?? { rows: 0, volume: 0, lastPrice: 0 };
    e.rows++;
    e.volume += size;
    e.lastPrice = price;
    bySymbol.set(symbol, e);
  }
  return bySymbol;
}

/**
 * The replay MarketModule builds, held until the test lets it go: a client can
 * then subscribe before the first row plays, so every row reaches it.
 */
class HeldFeed implements MarketFeed {
  private released = false;
  private startRequested = false;

  constructor(private readonly inner: MarketFeed) {}

  get ticks$() {
    return this.inner.ticks$;
  }
  get epoch() {
    return this.inner.epoch;
  }
  get instruments() {
    return this.inner.instruments;
  }
  get state() {
    return this.inner.state;
  }
  get state$() {
    return this.inner.state$;
  }
  start(): void {
    this.startRequested = true;
    if (this.released) this.inner.start();
  }
  stop(): void {
    this.inner.stop();
  }
  release(): void {
    this.released = true;
    if (this.startRequested) this.inner.start();
  }
}

const FILES = [
  'tickstream.csv',
  'tickstream.csv.gz',
  'BTCUSDT-trades-2025-01-01.csv',
  'BTCUSDT-trades-2025-01-01.csv.gz',
  'massive-trades.csv',
  'massive-trades.csv.gz',
];

describe('Replay feed (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    closeAllClients();
    await t?.close();
    t = undefined;
  });

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${t!.url}${path}`);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  it.each(FILES)(
    'streams every row of %s: per symbol Σwin.n = its rows, Σwin.v = its sizes; then closed, last values served',
    async (name) => {
      const file = join(FIXTURES, name);
      const expected = expectedOf(file);
      const env = { FEED: 'replay', REPLAY_FILE: file, REPLAY_SPEED: 'max' };
      const feed = new HeldFeed(await createMarketFeed(parseConfig(env), asyncScheduler));
      t = await createTestApp(env, { feed });

      const symbols = (await get<SymbolInfo[]>('/api/symbols')).map((s) => s.symbol);
      expect(symbols.sort()).toEqual([...expected.keys()].sort());
      expect((await get<HealthResponse>('/health')).feed).toBe('idle');

      const client = await connectClient(t.url);
      const totals = new Map(symbols.map((s) => [s, { n: 0, v: 0, seq: 0 }]));
      client.on('quotes', (batch: Quote[]) => {
        for (const q of batch) {
          const total = totals.get(q.symbol)!;
          total.n += q.win.n;
          total.v += q.win.v;
          total.seq = q.seq;
        }
      });
      const ack = await requestSubscribe(client, { symbols, intervalMs: 100 });
      expect(ack).toMatchObject({ ok: true, snapshot: [], rejected: [] });

      feed.release();
      const rows = [...expected.values()].reduce((sum, e) => sum + e.rows, 0);
      await waitFor(
        () => [...totals].every(([s, total]) => total.seq === expected.get(s)!.rows),
        10_000,
        'the last row of every symbol to reach the client',
      );
      const health = await get<HealthResponse>('/health');
      expect(health).toMatchObject({ feed: 'closed', ticksTotal: rows, symbols: expected.size });

      for (const [symbol, e] of expected) {
        const total = totals.get(symbol)!;
        expect(total.n, symbol).toBe(e.rows);
        expect(total.v, symbol).toBeCloseTo(e.volume, 6);
      }
      const quotes = await get<Quote[]>('/api/quotes');
      expect(quotes.map((q) => q.symbol).sort()).toEqual(symbols);
      for (const q of quotes) {
        const e = expected.get(q.symbol)!;
        expect(q).toMatchObject({ seq: e.rows, price: e.lastPrice });
        expect(q.volume).toBeCloseTo(e.volume, 6);
      }
    },
  );

  it('builds the replay from the environment alone and keeps serving after the end', async () => {
    const file = join(FIXTURES, 'tickstream.csv.gz');
    const expected = expectedOf(file);
    t = await createTestApp({
      FEED: 'replay',
      REPLAY_FILE: file,
      REPLAY_SPEED: 'max',
      FEED_SYMBOLS: 'aapl,BTC/USD',
    });
    expect((await get<SymbolInfo[]>('/api/symbols')).map((s) => s.symbol)).toEqual([
      'BTC-USD',
      'AAPL',
    ]);
    await waitFor(
      async () => (await get<HealthResponse>('/health')).feed === 'closed',
      10_000,
      'the replay to close',
    );
    expect((await get<HealthResponse>('/health')).ticksTotal).toBe(
      expected.get('AAPL')!.rows + expected.get('BTC-USD')!.rows,
    );
    // A client arriving after the end still gets the last values, in its snapshot.
    const client = await connectClient(t.url);
    const ack = await requestSubscribe(client, { symbols: ['AAPL', 'BTC-USD', 'MSFT'] });
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    expect(ack.snapshot.map((q) => [q.symbol, q.seq, q.price])).toEqual([
      ['AAPL', expected.get('AAPL')!.rows, expected.get('AAPL')!.lastPrice],
      ['BTC-USD', expected.get('BTC-USD')!.rows, expected.get('BTC-USD')!.lastPrice],
    ]);
    expect(ack.rejected.map((r) => [r.symbol, r.code])).toEqual([['MSFT', 'UNKNOWN_SYMBOL']]);
  });

  it('loops with REPLAY_LOOP: a new epoch each pass, seq from 1 again, never closed', async () => {
    const file = join(FIXTURES, 'massive-trades.csv');
    const expected = expectedOf(file);
    const rows = [...expected.values()].reduce((sum, e) => sum + e.rows, 0);
    t = await createTestApp({
      FEED: 'replay',
      REPLAY_FILE: file,
      REPLAY_SPEED: 'max',
      REPLAY_LOOP: 'true',
    });
    const ticksTotal = async () => (await get<HealthResponse>('/health')).ticksTotal;
    const client = await connectClient(t.url);
    const first = await requestSubscribe(client, { symbols: ['AAPL'] });
    const before = await ticksTotal();
    await waitFor(async () => (await ticksTotal()) > before + 2 * rows, 10_000, 'two more passes');
    const health = await get<HealthResponse>('/health');
    expect(health.feed).toBe('live');
    const later = await requestSubscribe(await connectClient(t.url), { symbols: ['AAPL'] });
    expect(first.ok && later.ok).toBe(true);
    if (!first.ok || !later.ok) return;
    expect(later.epoch).not.toBe(first.epoch);
    expect(later.snapshot[0].seq).toBeLessThanOrEqual(expected.get('AAPL')!.rows);
  });
});
