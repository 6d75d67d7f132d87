import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SubscriptionHub } from '../../src/fanout/subscription-hub.js';
import type { Quote, SubscribeAck, WireError } from '../../src/shared/protocol.js';
import { StreamRegistry } from '../../src/streaming/stream-registry.service.js';
import {
  closeAllClients,
  connectClient,
  elapse,
  type MarketClient,
  requestSubscribe,
  requestUnsubscribe,
  type TestApp,
  createTestApp,
  waitFor,
} from '../support/test-app.js';

type OkSubscribeAck = Extract<SubscribeAck, { ok: true }>;

const subscribe = requestSubscribe;
const unsubscribe = requestUnsubscribe;
async function subscribeOk(client: MarketClient, req: unknown): Promise<OkSubscribeAck> {
  const ack = await subscribe(client, req);
  if (!ack.ok) throw new Error(`subscribe failed: ${ack.error.code} ${ack.error.message}`);
  return ack;
}

/** Records every quote a client receives, with its arrival time. */
function recordQuotes(client: MarketClient): { quote: Quote; at: number }[] {
  const log: { quote: Quote; at: number }[] = [];
  client.on('quotes', (batch) => {
    const at = Date.now();
    for (const quote of batch) log.push({ quote, at });
  });
  return log;
}
function recordExceptions(client: MarketClient): WireError[] {
  const log: WireError[] = [];
  client.on('exception', (err) => log.push(err));
  return log;
}
function bySymbol(log: { quote: Quote; at: number }[], symbol: string) {
  return log.filter((e) => e.quote.symbol === symbol);
}

describe('MarketGateway (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    closeAllClients();
    await t.close();
  });

  describe('subscribe', () => {
    it('answers symbols upper-case, ignores duplicates and sends a snapshot of each', async () => {
      const client = await connectClient(t.url);
      const ack = await subscribeOk(client, { symbols: ['aapl', 'AAPL', ' msft ', 'Aapl'] });
      expect(ack.intervalMs).toBe(250);
      expect(ack.rejected).toEqual([]);
      expect(ack.snapshot.map((q) => q.symbol).sort()).toEqual(['AAPL', 'MSFT']);
      for (const q of ack.snapshot) {
        expect(q.price).toBeGreaterThan(0);
        expect(q.bid).toBeLessThanOrEqual(q.ask);
        expect(q.seq).toBeGreaterThanOrEqual(1);
        expect(q.win).toEqual({ o: q.price, h: q.price, l: q.price, v: 0, n: 0 });
        expect(q.change).toBeCloseTo(q.price - q.prevClose, 6);
      }
      expect(t.app.get(StreamRegistry).clientSymbols(client.id ?? '').size).toBe(2);
    });

    it('rejects unknown symbols while subscribing the rest', async () => {
      const client = await connectClient(t.url);
      const quotes = recordQuotes(client);
      const ack = await subscribeOk(client, { symbols: ['NOPE', 'AAPL', 'ZZZZ9'] });
      expect(ack.snapshot.map((q) => q.symbol)).toEqual(['AAPL']);
      expect(ack.rejected).toEqual([
        { symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: expect.any(String) as string },
        { symbol: 'ZZZZ9', code: 'UNKNOWN_SYMBOL', message: expect.any(String) as string },
      ]);
      await waitFor(() => quotes.length > 0, 3000, 'a quote');
      expect(new Set(quotes.map((e) => e.quote.symbol))).toEqual(new Set(['AAPL']));
    });

    it('rounds the requested interval up to the next tier', async () => {
      const client = await connectClient(t.url);
      const cases: [number, number][] = [
        [1, 100],
        [100, 100],
        [101, 250],
        [300, 500],
        [1000, 1000],
        [4000, 5000],
        [999_999, 5000],
      ];
      for (const [requested, tier] of cases) {
        const ack = await subscribeOk(client, { symbols: ['AAPL'], intervalMs: requested });
        expect(ack.intervalMs, `requested ${requested}`).toBe(tier);
      }
    });

    it('changes the interval of a symbol already held instead of adding it twice', async () => {
      const client = await connectClient(t.url);
      const registry = t.app.get(StreamRegistry);
      await subscribeOk(client, { symbols: ['AAPL', 'MSFT'], intervalMs: 100 });
      const ack = await subscribeOk(client, { symbols: ['AAPL'], intervalMs: 2000 });
      expect(ack.intervalMs).toBe(2000);
      const held = registry.clientSymbols(client.id ?? '');
      expect([...held.entries()].sort()).toEqual([
        ['AAPL', 2000],
        ['MSFT', 100],
      ]);
    });
  });

  describe('streaming', () => {
    it('delivers only held symbols, at most once per symbol per window, with seq increasing', async () => {
      const client = await connectClient(t.url);
      const quotes = recordQuotes(client);
      const ack = await subscribeOk(client, { symbols: ['AAPL', 'MSFT', 'NVDA'], intervalMs: 250 });
      await elapse(2500);
      const symbols = new Set(quotes.map((e) => e.quote.symbol));
      expect(symbols).toEqual(new Set(['AAPL', 'MSFT', 'NVDA']));
      for (const symbol of symbols) {
        const seen = bySymbol(quotes, symbol);
        const snap = ack.snapshot.find((q) => q.symbol === symbol);
        expect(seen[0].quote.seq).toBeGreaterThanOrEqual(snap?.seq ?? 0);
        for (let i = 1; i < seen.length; i++) {
          expect(seen[i].quote.seq).toBeGreaterThan(seen[i - 1].quote.seq);
          expect(seen[i].quote.ts).toBeGreaterThanOrEqual(seen[i - 1].quote.ts);
          // Server emits at most one per window; allow for network/timer jitter on arrival.
          expect(seen[i].at - seen[i - 1].at).toBeGreaterThanOrEqual(250 - 60);
        }
        // ~2.5 s at 250 ms: about 10 windows, and never more than one per window.
        expect(seen.length).toBeLessThanOrEqual(12);
        expect(seen.length).toBeGreaterThanOrEqual(4);
        for (const { quote } of seen) {
          expect(quote.win.n).toBeGreaterThanOrEqual(1);
          expect(quote.win.l).toBeLessThanOrEqual(Math.min(quote.win.o, quote.price));
          expect(quote.win.h).toBeGreaterThanOrEqual(Math.max(quote.win.o, quote.price));
          expect(quote.win.v).toBeGreaterThan(0);
          expect(quote.low).toBeLessThanOrEqual(quote.win.l);
          expect(quote.high).toBeGreaterThanOrEqual(quote.win.h);
        }
      }
    });

    it('serves two clients at different intervals at once, with the same seq for the same tick', async () => {
      const fast = await connectClient(t.url);
      const slow = await connectClient(t.url);
      const fastQuotes = recordQuotes(fast);
      const slowQuotes = recordQuotes(slow);
      await subscribeOk(fast, { symbols: ['AAPL', 'MSFT'], intervalMs: 100 });
      await subscribeOk(slow, { symbols: ['AAPL', 'MSFT'], intervalMs: 1000 });
      await elapse(3200);
      for (const symbol of ['AAPL', 'MSFT']) {
        const f = bySymbol(fastQuotes, symbol);
        const s = bySymbol(slowQuotes, symbol);
        expect(f.length).toBeGreaterThanOrEqual(3 * s.length);
        expect(s.length).toBeGreaterThanOrEqual(2);
        expect(s.length).toBeLessThanOrEqual(5);
        // The slow client's windows aggregate several ticks each.
        expect(Math.max(...s.map((e) => e.quote.win.n))).toBeGreaterThan(1);
        // A tick is the same tick for everyone: equal seq ⇒ equal trade.
        const fastBySeq = new Map(f.map((e) => [e.quote.seq, e.quote]));
        let common = 0;
        for (const { quote } of s) {
          const twin = fastBySeq.get(quote.seq);
          if (!twin) continue;
          common++;
          expect([twin.price, twin.bid, twin.ask, twin.ts]).toEqual([
            quote.price,
            quote.bid,
            quote.ask,
            quote.ts,
          ]);
        }
        expect(common).toBeGreaterThan(0);
      }
    });
    it('keeps each symbol of one client at its own interval', async () => {
      const client = await connectClient(t.url);
      const quotes = recordQuotes(client);
      await subscribeOk(client, { symbols: ['AAPL'], intervalMs: 100 });
      await subscribeOk(client, { symbols: ['MSFT'], intervalMs: 1000 });
      await elapse(2200);
      const fast = bySymbol(quotes, 'AAPL');
      const slow = bySymbol(quotes, 'MSFT');
      expect(fast.length).toBeGreaterThanOrEqual(8);
      expect(slow.length).toBeGreaterThanOrEqual(1);
      expect(slow.length).toBeLessThanOrEqual(4);
      for (let i = 1; i < slow.length; i++) {
        expect(slow[i].at - slow[i - 1].at).toBeGreaterThanOrEqual(1000 - 60);
      }
    });

    // Quote frames skip Engine.IO when a client is on a WebSocket with nothing queued;
    // long-polling clients and clients mid-upgrade must get the same stream through it.
    it.each([
      { name: 'HTTP long-polling', transports: ['polling'], upgraded: 'polling' },
      {
        name: 'polling upgraded to WebSocket',
        transports: ['polling', 'websocket'],
        upgraded: 'websocket',
      },
    ])('streams the same way to a $name client', async ({ transports, upgraded }) => {
      const client = await connectClient(t.url, { transports });
      const quotes = recordQuotes(client);
      const ack = await subscribeOk(client, { symbols: ['AAPL', 'MSFT'], intervalMs: 100 });
      await elapse(2000);
      expect(client.io.engine.transport.name).toBe(upgraded);
      for (const symbol of ['AAPL', 'MSFT']) {
        const seen = bySymbol(quotes, symbol);
        expect(seen.length).toBeGreaterThanOrEqual(8);
        expect(seen[0].quote.seq).toBeGreaterThanOrEqual(
          ack.snapshot.find((q) => q.symbol === symbol)?.seq ?? 0,
        );
        for (let i = 1; i < seen.length; i++) {
          expect(seen[i].quote.seq).toBeGreaterThan(seen[i - 1].quote.seq);
        }
      }
      // Still streaming at the end, not just before the upgrade.
      const mark = quotes.length;
      await waitFor(() => quotes.length > mark + 4, 1000, 'quotes to keep coming');
    });

    it('spreads a fan-out over event-loop turns without losing, repeating or reordering quotes', async () => {
      const hub = t.app.get(SubscriptionHub);
      const turns = vi.spyOn(hub as unknown as { runFanOut(budget: number): void }, 'runFanOut');
      const batches = vi.spyOn(hub, 'publishBatch');
      hub.fanOutSlice = 1; // one client per turn: every batch to several clients is split
      try {
        const clients = await Promise.all(Array.from({ length: 6 }, () => connectClient(t.url)));
        const logs = clients.map(recordQuotes);
        for (const client of clients) {
          await subscribeOk(client, { symbols: ['AAPL', 'MSFT', 'NVDA'], intervalMs: 100 });
        }
        await elapse(2000);
        // Each batch went out over several turns (at least one per extra client).
        expect(turns.mock.calls.length).toBeGreaterThan(3 * batches.mock.calls.length);
        for (const log of logs) {
          for (const symbol of ['AAPL', 'MSFT', 'NVDA']) {
            const seen = bySymbol(log, symbol);
            expect(seen.length).toBeGreaterThanOrEqual(10);
            for (let i = 1; i < seen.length; i++) {
              expect(seen[i].quote.seq).toBeGreaterThan(seen[i - 1].quote.seq);
            }
          }
        }
        // Every client got the same updates: the last seq of each symbol is shared.
        const lastSeqs = logs.map((log) =>
          ['AAPL', 'MSFT', 'NVDA'].map((s) => bySymbol(log, s).at(-1)?.quote.seq),
        );
        const agreeing = lastSeqs.filter((l) => JSON.stringify(l) === JSON.stringify(lastSeqs[0]));
        expect(agreeing.length).toBeGreaterThanOrEqual(5); // one may be mid-window at the cut
      } finally {
        hub.fanOutSlice = 2000;
        turns.mockRestore();
        batches.mockRestore();
      }
    });

    it("batches a window's updates of all the symbols a client holds into one frame", async () => {
      const client = await connectClient(t.url);
      const frames: string[][] = [];
      client.on('quotes', (batch) => frames.push(batch.map((q) => q.symbol)));
      const symbols = ['SPY', 'AAPL', 'MSFT', 'NVDA', 'AMZN', 'TSLA', 'META', 'GOOGL'];
      await subscribeOk(client, { symbols, intervalMs: 500 });
      await elapse(2600);
      const quotes = frames.reduce((n, f) => n + f.length, 0);
      // 8 busy symbols at 500 ms for ~2.5 s: ~40 quotes; batched into ~5 frames (+ leading edges).
      expect(quotes).toBeGreaterThanOrEqual(24);
      expect(frames.length).toBeLessThan(quotes / 2);
      expect(Math.max(...frames.map((f) => f.length))).toBeGreaterThanOrEqual(6);
      // One frame never carries the same symbol twice.
      for (const f of frames) expect(new Set(f).size).toBe(f.length);
    });
  });

  describe('unsubscribe', () => {
    it('stops quotes for those symbols once acknowledged and keeps the others', async () => {
      const client = await connectClient(t.url);
      const quotes = recordQuotes(client);
      await subscribeOk(client, { symbols: ['AAPL', 'MSFT'], intervalMs: 100 });
      await waitFor(() => bySymbol(quotes, 'AAPL').length > 2, 3000, 'AAPL quotes');
      const ack = await unsubscribe(client, { symbols: ['aapl', 'NVDA'] });
      expect(ack).toEqual({ ok: true, unsubscribed: ['AAPL'] });
      const mark = quotes.length;
      await elapse(800);
      const after = quotes.slice(mark);
      expect(after.filter((e) => e.quote.symbol === 'AAPL')).toEqual([]);
      expect(after.filter((e) => e.quote.symbol === 'MSFT').length).toBeGreaterThan(2);
    });

    it('releases everything a client held when it disconnects', async () => {
      const registry = t.app.get(StreamRegistry);
      closeAllClients();
      await waitFor(
        () => registry.subscriptionCount() === 0,
        3000,
        'earlier clients to be released',
      );
      const a = await connectClient(t.url);
      const b = await connectClient(t.url);
      await subscribeOk(a, { symbols: ['AAPL', 'MSFT', 'NVDA'], intervalMs: 100 });
      await subscribeOk(b, { symbols: ['AAPL'], intervalMs: 1000 });
      expect(registry.subscriptionCount()).toBe(4);
      expect(registry.pipelineCount()).toBe(4);
      a.disconnect();
      await waitFor(() => registry.subscriptionCount() === 1, 3000, 'a to be released');
      expect(registry.pipelineCount()).toBe(1);
      b.disconnect();
      await waitFor(() => registry.subscriptionCount() === 0, 3000, 'b to be released');
      expect(registry.pipelineCount()).toBe(0);
      expect(registry.clientCount()).toBe(0);
    });
  });

  describe('limits and malformed requests', () => {
    const MARKER = 'EVIL<script>payload';
    const badSubscribes: [string, unknown][] = [
      ['a string', MARKER],
      ['a number', 42],
      ['null', null],
      ['an array', [MARKER]],
      ['no symbols', { intervalMs: 100 }],
      ['symbols not an array', { symbols: MARKER }],
      ['an empty symbols array', { symbols: [] }],
      ['a non-string symbol', { symbols: ['AAPL', 7] }],
      ['a symbol that is no ticker', { symbols: [MARKER] }],
      ['a non-numeric interval', { symbols: ['AAPL'], intervalMs: MARKER }],
      ['a null interval (NaN/Infinity in JSON)', { symbols: ['AAPL'], intervalMs: null }],
      ['a negative interval', { symbols: ['AAPL'], intervalMs: -5 }],
      ['an oversize symbols array', { symbols: Array.from({ length: 501 }, () => 'AAPL') }],
    ];

    it.each(badSubscribes)(
      'answers BAD_REQUEST to a subscribe with %s, emits exception and stays connected',
      async (_label, payload) => {
        const client = await connectClient(t.url);
        const exceptions = recordExceptions(client);
        const ack = await subscribe(client, payload);
        expect(ack.ok).toBe(false);
        if (ack.ok) return;
        expect(ack.error.code).toBe('BAD_REQUEST');
        expect(ack.error.message).not.toContain('EVIL');
        expect(JSON.stringify(ack)).not.toContain('payload');
        await waitFor(() => exceptions.length === 1, 2000, 'exception event');
        expect(exceptions[0]).toEqual(ack.error);
        expect(client.connected).toBe(true);
        // The connection is still fully usable.
        const next = await subscribeOk(client, { symbols: ['AAPL'] });
        expect(next.snapshot).toHaveLength(1);
      },
    );

    it('answers BAD_REQUEST to a malformed unsubscribe', async () => {
      const client = await connectClient(t.url);
      const exceptions = recordExceptions(client);
      for (const payload of [null, 'x', { symbols: [] }, { symbols: [1] }]) {
        const ack = await unsubscribe(client, payload);
        expect(ack).toEqual({
          ok: false,
          error: { code: 'BAD_REQUEST', message: expect.any(String) as string },
        });
      }
      await waitFor(() => exceptions.length === 4, 2000, '4 exception events');
      expect(client.connected).toBe(true);
    });

    it('emits exception for a bad request that carried no ack', async () => {
      const client = await connectClient(t.url);
      const exceptions = recordExceptions(client);
      client.emit('subscribe', { symbols: 'AAPL' } as never);
      await waitFor(() => exceptions.length === 1, 2000, 'exception event');
      expect(exceptions[0].code).toBe('BAD_REQUEST');
      expect(client.connected).toBe(true);
    });
  });
});

describe('MarketGateway limits (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ MAX_SYMBOLS_PER_CLIENT: '3', DEFAULT_INTERVAL_MS: '300' });
  });
  afterAll(async () => {
    closeAllClients();
    await t.close();
  });

  it('rejects symbols beyond MAX_SYMBOLS_PER_CLIENT with LIMIT_EXCEEDED', async () => {
    const client = await connectClient(t.url);
    const first = await subscribeOk(client, { symbols: ['AAPL', 'MSFT'] });
    expect(first.intervalMs).toBe(500);
    const ack = await subscribeOk(client, { symbols: ['MSFT', 'NVDA', 'AMZN', 'NOPE', 'TSLA'] });
    expect(ack.snapshot.map((q) => q.symbol)).toEqual(['MSFT', 'NVDA']);
    expect(ack.rejected.map((r) => [r.symbol, r.code])).toEqual([
      ['AMZN', 'LIMIT_EXCEEDED'],
      ['NOPE', 'UNKNOWN_SYMBOL'],
      ['TSLA', 'LIMIT_EXCEEDED'],
    ]);
    // Unsubscribing frees room for another.
    await unsubscribe(client, { symbols: ['AAPL'] });
    const again = await subscribeOk(client, { symbols: ['AMZN'] });
    expect(again.rejected).toEqual([]);
  });
});
