import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Candle, HistoryResponse } from '../../src/shared/market.js';
import type { MarketStatus, Quote, SubscribeAck } from '../../src/shared/protocol.js';
import { ensureBuilt } from '../support/build.js';
import { TestRedis, redisAvailable } from '../support/redis-server.js';
import {
  closeAllClients,
  connectClient,
  type MarketClient,
  requestSubscribe,
  waitFor,
} from '../support/test-app.js';
import { ClusterProcess } from './cluster.js';

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];

/** Records every quote and status a client receives. */
function record(client: MarketClient): { quotes: Quote[]; statuses: MarketStatus[] } {
  const seen = { quotes: [] as Quote[], statuses: [] as MarketStatus[] };
  client.on('quotes', (batch) => seen.quotes.push(...batch));
  client.on('status', (status) => seen.statuses.push(status));
  return seen;
}

type OkAck = Extract<SubscribeAck, { ok: true }>;

async function subscribed(client: MarketClient, intervalMs: number): Promise<OkAck> {
  const ack = await requestSubscribe(client, { symbols: SYMBOLS, intervalMs });
  if (!ack.ok) throw new Error(ack.error.message);
  return ack;
}

/**
 * Nothing aggregated lost: between two consecutive quotes of a symbol, the
 * later one's window counts exactly the trades in between (seq is gapless)
 * and their volume (the session volume grew by exactly `win.v`).
 */
function expectWindowsAccountForEveryTrade(quotes: readonly Quote[]): number {
  let checked = 0;
  for (const symbol of SYMBOLS) {
    const mine = quotes.filter((q) => q.symbol === symbol && q.win.n > 0);
    for (let i = 1; i < mine.length; i++) {
      const [a, b] = [mine[i - 1], mine[i]];
      expect(b.win.n, `${symbol} seq ${a.seq} → ${b.seq}`).toBe(b.seq - a.seq);
      expect(b.volume - a.volume).toBeCloseTo(b.win.v, 6);
      checked++;
    }
  }
  return checked;
}

describe.skipIf(!redisAvailable())('a cluster: one feed, gateways over Redis', () => {
  let redis: TestRedis;
  const processes: ClusterProcess[] = [];

  const start = async (name: string, env: Record<string, string>, port?: number) => {
    const p = await ClusterProcess.spawn(name, { REDIS_URL: redis.url, ...env }, port);
    processes.push(p);
    return p;
  };

  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    closeAllClients();
    for (const p of processes.splice(0)) await p.kill('SIGKILL');
    await redis?.stop();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('serves clients of two gateways identical quotes, window for window, with every trade counted', async () => {
    redis = await TestRedis.start();
    await start('feed', { ROLE: 'feed', FEED_TICKS_PER_SECOND: '2000' });
    const [a, b] = await Promise.all([
      start('gateway-a', { ROLE: 'gateway' }),
      start('gateway-b', { ROLE: 'gateway' }),
    ]);
    const clientA = await connectClient(a.url);
    const clientB = await connectClient(b.url);
    const seenA = record(clientA);
    const seenB = record(clientB);
    const [ackA, ackB] = await Promise.all([subscribed(clientA, 250), subscribed(clientB, 250)]);
    expect(ackA.epoch).toBe(ackB.epoch);
    await waitFor(() => seenA.quotes.length >= 60 && seenB.quotes.length >= 60, 20_000, 'quotes');
    clientA.disconnect();
    clientB.disconnect();

    // The first window of each is partial (it began at its own subscribe); after it,
    // every window both saw must be the same: same seq, price, session and window.
    const key = (q: Quote) => `${q.symbol}#${q.seq}`;
    const inB = new Map(seenB.quotes.filter((q) => q.win.n > 0).map((q) => [key(q), q]));
    // Per symbol, the later of the two clients' first windows.
    const firstOf = new Map<string, number>();
    for (const quotes of [seenA.quotes, seenB.quotes]) {
      for (const symbol of SYMBOLS) {
        const first = quotes.find((q) => q.symbol === symbol && q.win.n > 0)?.seq ?? 0;
        firstOf.set(symbol, Math.max(firstOf.get(symbol) ?? 0, first));
      }
    }
    let common = 0;
    let onlyA = 0;
    for (const q of seenA.quotes) {
      if (q.win.n === 0) continue;
      const twin = inB.get(key(q));
      if (twin === undefined) {
        onlyA++;
        continue;
      }
      // Windows after both clients' first one.
      if (q.seq <= (firstOf.get(q.symbol) ?? 0)) continue;
      expect(twin).toEqual(q);
      common++;
    }
    expect(common).toBeGreaterThanOrEqual(30);
    // Two clients of the same tier see the same windows: at most the edges differ.
    expect(onlyA).toBeLessThanOrEqual(SYMBOLS.length * 3);
    expect(expectWindowsAccountForEveryTrade(seenA.quotes)).toBeGreaterThan(20);
    expect(expectWindowsAccountForEveryTrade(seenB.quotes)).toBeGreaterThan(20);
    // No quote of a symbol comes sooner than a window after the previous one (feed time).
    for (const p of [a, b]) expect(p.running).toBe(true);
  });

  it('gives a gateway started after the feed the same quotes and history as one there from the start', async () => {
    redis = await TestRedis.start();
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-cluster-'));
    const file = join(dir, 'ticks.csv');
    const t0 = Date.UTC(2026, 0, 2, 14, 30);
    const rows = ['ts,symbol,price,size,bid,ask'];
    for (let i = 0; i < 1800; i++) {
      const symbol = SYMBOLS[i % 3];
      const price = (100 + (i % 3) * 50 + Math.sin(i / 40) * 3).toFixed(2);
      rows.push(`${t0 + i * 100},${symbol},${price},${1 + (i % 7)},,`);
    }
    writeFileSync(file, rows.join('\n') + '\n');
    // A replay spanning 3 minutes of file time, played at 20x: 9 s, then `closed`.
    await start('feed', { ROLE: 'feed', FEED: 'replay', REPLAY_FILE: file, REPLAY_SPEED: '20' });
    const first = await start('gateway-early', { ROLE: 'gateway' });
    const client = await connectClient(first.url);
    const seen = record(client);
    const ack = await subscribed(client, 100);
    await waitFor(
      async () => (await first.get<MarketStatus>('/api/status')).feed === 'closed',
      30_000,
      'the replay to end',
    );
    const late = await start('gateway-late', { ROLE: 'gateway' });
    await waitFor(
      async () => (await late.get<MarketStatus>('/api/status')).feed === 'closed',
      10_000,
      'the late gateway to see the end',
    );
    const symbols = SYMBOLS.join(',');
    expect(await late.get<Quote[]>(`/api/quotes?symbols=${symbols}`)).toEqual(
      await first.get<Quote[]>(`/api/quotes?symbols=${symbols}`),
    );
    for (const resolution of ['1s', '1m']) {
      for (const symbol of SYMBOLS) {
        const limit = resolution === '1s' ? 3600 : 1440;
        const path = `/api/history/${symbol}?resolution=${resolution}&limit=${limit}`;
        const [fromFirst, fromLate] = await Promise.all([
          first.get<HistoryResponse>(path),
          late.get<HistoryResponse>(path),
        ]);
        expect(fromLate).toEqual(fromFirst);
        // Rebased to the clock at 20x: ~9 s of 1 s candles.
        expect(fromFirst.candles.length).toBeGreaterThanOrEqual(resolution === '1s' ? 8 : 1);
        // And the candles hold every row: Σ volume = the file's volume of the symbol.
        const volume = (candles: Candle[]) => candles.reduce((sum, c) => sum + c.v, 0);
        const fileVolume = rows
          .slice(1)
          .filter((row) => row.split(',')[1] === symbol)
          .reduce((sum, row) => sum + Number(row.split(',')[3]), 0);
        expect(volume(fromFirst.candles)).toBe(fileVolume);
      }
    }
    // The same subscribe snapshot on both.
    const lateClient = await connectClient(late.url);
    const [ackFirst, ackLate] = await Promise.all([
      subscribed(client, 1000),
      subscribed(lateClient, 1000),
    ]);
    expect(ackLate).toEqual(ackFirst);
    // The early client's windows counted every row.
    const counted = SYMBOLS.map((s) =>
      seen.quotes.filter((q) => q.symbol === s).reduce((sum, q) => sum + q.win.n, 0),
    );
    // Trades before the subscribe are in its snapshot's seq.
    const before = SYMBOLS.map((s) => ack.snapshot.find((q) => q.symbol === s)?.seq ?? 0);
    expect(counted.map((n, i) => n + before[i])).toEqual(SYMBOLS.map(() => 600));
  });
});
