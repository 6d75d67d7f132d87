import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MarketStatus, Quote, SubscribeAck } from '../../src/shared/protocol.js';
import { ensureBuilt } from '../support/build.js';
import { TestRedis, redisAvailable } from '../support/redis-server.js';
import {
  closeAllClients,
  connectClient,
  elapse,
  type MarketClient,
  metricSample,
  requestSubscribe,
  waitFor,
} from '../support/test-app.js';
import { ClusterProcess } from './cluster.js';

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];

interface Seen {
  quotes: { at: number; quote: Quote }[];
  statuses: MarketStatus[];
  disconnects: number;
}

function record(client: MarketClient): Seen {
  const seen: Seen = { quotes: [], statuses: [], disconnects: 0 };
  client.on('quotes', (batch) => {
    const at = Date.now();
    for (const quote of batch) seen.quotes.push({ at, quote });
  });
  client.on('status', (status) => seen.statuses.push(status));
  client.on('disconnect', () => seen.disconnects++);
  return seen;
}

async function subscribe(client: MarketClient, intervalMs: number) {
  const ack: SubscribeAck = await requestSubscribe(client, { symbols: SYMBOLS, intervalMs });
  if (!ack.ok) throw new Error(ack.error.message);
  return ack;
}

/** Within one epoch, no symbol's seq ever goes backwards. */
function expectSeqNeverBackwards(seen: Seen, epochOf: (at: number) => string = () => ''): void {
  const last = new Map<string, { seq: number; epoch: string }>();
  for (const { at, quote } of seen.quotes) {
    const epoch = epochOf(at);
    const before = last.get(quote.symbol);
    if (before !== undefined && before.epoch === epoch) {
      expect(quote.seq, `${quote.symbol} seq`).toBeGreaterThanOrEqual(before.seq);
    }
    last.set(quote.symbol, { seq: quote.seq, epoch });
  }
}

describe.skipIf(!redisAvailable())('a cluster under faults', () => {
  let redis: TestRedis | undefined;
  const processes: ClusterProcess[] = [];

  const start = async (name: string, env: Record<string, string>, port?: number) => {
    const p = await ClusterProcess.spawn(name, { REDIS_URL: redis!.url, ...env }, port);
    processes.push(p);
    return p;
  };

  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    closeAllClients();
    for (const p of processes.splice(0)) await p.kill('SIGKILL');
    await redis?.stop();
    redis = undefined;
  });

  it('survives Redis down for 10 s: nobody exits, clients are told, then fresh snapshots and quotes within 5 s', async () => {
    redis = await TestRedis.start();
    const feed = await start('feed', { ROLE: 'feed' });
    const gateway = await start('gateway', { ROLE: 'gateway' });
    const client = await connectClient(gateway.url);
    const seen = record(client);
    await subscribe(client, 100);
    await waitFor(() => seen.quotes.length >= 10, 10_000, 'quotes');

    await redis.stop();
    const downAt = Date.now();
    await waitFor(
      () => seen.statuses.some((s) => s.feed === 'reconnecting' || s.feed === 'stale'),
      5000,
      'the client to be told',
    );
    const told = seen.statuses.at(-1)!;
    expect(told.reason).toMatch(/redis unreachable|no batch/);
    expect(await gateway.health()).toMatchObject({ status: 'degraded' });
    expect(await feed.health()).toMatchObject({ status: 'degraded', reason: 'redis unreachable' });
    await elapse(10_000 - (Date.now() - downAt));

    await redis.start();
    const backAt = Date.now();
    await waitFor(
      () =>
        SYMBOLS.every((s) =>
          seen.quotes.some((q) => q.at > backAt && q.quote.symbol === s && q.quote.win.n === 0),
        ),
      5000,
      'a fresh snapshot of every symbol',
    );
    await waitFor(
      () => seen.quotes.some((q) => q.at > backAt && q.quote.win.n > 0),
      5000,
      'quotes flowing again',
    );
    const resumedMs = Date.now() - backAt;
    await waitFor(() => seen.statuses.at(-1)?.feed === 'live', 5000, 'live again');
    expect(resumedMs).toBeLessThan(5000);
    expect(seen.disconnects).toBe(0);
    expect(feed.running && gateway.running).toBe(true);
    expectSeqNeverBackwards(seen);
    expect(await gateway.health()).toMatchObject({ status: 'ok' });
    expect(await gateway.metrics()).toMatch(
      /^tickstream_bus_resyncs_total\{role="gateway"\} [2-9]/m,
    );
    console.log(`[faults] redis down 10 s: quotes again ${resumedMs} ms after it came back`);
  });

  it('moves the clients of a gateway killed with SIGKILL to another within 5 s; the other gateway’s clients see no gap', async () => {
    redis = await TestRedis.start();
    await start('feed', { ROLE: 'feed' });
    const [a, b] = await Promise.all([
      start('gateway-a', { ROLE: 'gateway' }),
      start('gateway-b', { ROLE: 'gateway' }),
    ]);
    // A client-side list of gateways: on a lost connection, the next one.
    const urls = [a.url, b.url];
    const first = await connectClient(urls[0]);
    const seenMoving = record(first);
    await subscribe(first, 250);
    const other = await connectClient(b.url);
    const seenOther = record(other);
    await subscribe(other, 250);
    await waitFor(
      () => seenMoving.quotes.length >= 6 && seenOther.quotes.length >= 6,
      10_000,
      'quotes',
    );

    const lost = new Promise<void>((resolve) => first.once('disconnect', () => resolve()));
    await a.kill('SIGKILL');
    const killedAt = Date.now();
    await lost;
    const moved = await connectClient(urls[1]);
    const seenMoved = record(moved);
    await subscribe(moved, 250);
    await waitFor(
      () => seenMoved.quotes.some((q) => q.quote.win.n > 0),
      5000,
      'quotes on the other gateway',
    );
    const resumedMs = Date.now() - killedAt;
    expect(resumedMs).toBeLessThan(5000);
    await elapse(1500);
    // The other gateway's client: every window follows the one before, no trade missing.
    const mine = (symbol: string) =>
      seenOther.quotes.map((q) => q.quote).filter((q) => q.symbol === symbol && q.win.n > 0);
    for (const symbol of SYMBOLS) {
      const quotes = mine(symbol);
      for (let i = 1; i < quotes.length; i++) {
        expect(quotes[i].win.n, `${symbol} seq ${quotes[i - 1].seq} → ${quotes[i].seq}`).toBe(
          quotes[i].seq - quotes[i - 1].seq,
        );
      }
    }
    expect(seenOther.disconnects).toBe(0);
    console.log(
      `[faults] gateway SIGKILL: its client resumed on another gateway in ${resumedMs} ms`,
    );
  });

  it('reports the feed stale while it is gone, and a restarted feed’s new epoch reaches clients', async () => {
    redis = await TestRedis.start();
    const feed = await start('feed', { ROLE: 'feed' });
    const gateway = await start('gateway', { ROLE: 'gateway' });
    const client = await connectClient(gateway.url);
    const seen = record(client);
    const ack = await subscribe(client, 100);
    await waitFor(() => seen.quotes.length >= 5, 10_000, 'quotes');
    const port = feed.port;

    await feed.kill('SIGKILL');
    await waitFor(() => seen.statuses.some((s) => s.feed === 'stale'), 5000, 'stale');
    expect(seen.statuses.at(-1)!.reason).toMatch(/no batch from the feed/);
    expect(await gateway.health()).toMatchObject({ status: 'degraded', feed: 'stale' });

    // A new epoch: SEED differs so the epoch id does too, whatever the clock.
    await start('feed-again', { ROLE: 'feed', SEED: '7' }, port);
    await waitFor(
      () => seen.statuses.some((s) => s.epoch !== ack.epoch && s.feed === 'live'),
      10_000,
      'the new epoch in a status event',
    );
    const again = await subscribe(client, 100);
    expect(again.epoch).not.toBe(ack.epoch);
    expect(again.epoch).toBe(seen.statuses.at(-1)!.epoch);
    const since = Date.now();
    await waitFor(
      () => seen.quotes.some((q) => q.at > since && q.quote.win.n > 0),
      5000,
      'quotes of the new epoch',
    );
    expect(gateway.running).toBe(true);
  });

  it('rides out a Redis stall (SIGSTOP 3 s) without a burst of stale windows or growing memory', async () => {
    redis = await TestRedis.start();
    const feed = await start('feed', { ROLE: 'feed' });
    const gateway = await start('gateway', { ROLE: 'gateway' });
    const client = await connectClient(gateway.url);
    const seen = record(client);
    await subscribe(client, 1000);
    await waitFor(() => seen.quotes.length >= 6, 10_000, 'quotes');
    const rss = async (p: ClusterProcess) =>
      metricSample(await p.metrics(), 'process_resident_memory_bytes') ?? 0;
    const before = { feed: await rss(feed), gateway: await rss(gateway) };

    redis.pause();
    await elapse(3000);
    redis.resume();
    const resumedAt = Date.now();
    await elapse(1200);
    // Within the first second after the stall, at most one window per symbol at the 1 s tier
    // (plus the resync's snapshot, n = 0): not the three windows the stall held.
    for (const symbol of SYMBOLS) {
      const burst = seen.quotes.filter(
        (q) =>
          q.at >= resumedAt &&
          q.at < resumedAt + 1000 &&
          q.quote.symbol === symbol &&
          q.quote.win.n > 0,
      );
      expect(burst.length, symbol).toBeLessThanOrEqual(1);
    }
    await waitFor(
      () => seen.quotes.some((q) => q.at > resumedAt + 1000 && q.quote.win.n > 0),
      5000,
      'quotes after the stall',
    );
    expect(feed.running && gateway.running).toBe(true);
    const after = { feed: await rss(feed), gateway: await rss(gateway) };
    expect(after.feed - before.feed).toBeLessThan(50 * 2 ** 20);
    expect(after.gateway - before.gateway).toBeLessThan(50 * 2 ** 20);
    expectSeqNeverBackwards(seen);
  });
});
