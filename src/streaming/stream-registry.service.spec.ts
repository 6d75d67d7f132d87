import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  type Observable,
  Subject,
  VirtualAction,
  VirtualTimeScheduler,
  defer,
  finalize,
} from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MARKET_SCHEDULER } from '../market/market-feed.js';
import { MarketStateService } from '../market/market-state.service.js';
import { UnknownSymbolError } from '../market/unknown-symbol.error.js';
import type { SessionStats, Tick } from '../shared/market.js';
import type { IntervalTierMs, Quote } from '../shared/protocol.js';
import {
  type MarketStateReader,
  type QuoteSink,
  StreamRegistry,
  type TierUpdate,
} from './stream-registry.service.js';
import { RegistryClosedError } from './registry-closed.error.js';

/** In-memory market state on virtual time: updates the session, then emits, as the real one does. */
class FakeMarketState implements MarketStateReader {
  private readonly ticks = new Map<string, Subject<Tick>>();
  private readonly sessions = new Map<string, SessionStats>();
  private readonly seqs = new Map<string, number>();
  /** Live upstream subscriptions per symbol: what the registry costs the feed. */
  readonly upstream = new Map<string, number>();

  constructor(
    private readonly scheduler: VirtualTimeScheduler,
    symbols: string[],
  ) {
    for (const symbol of symbols) {
      this.ticks.set(symbol, new Subject<Tick>());
      this.seqs.set(symbol, 0);
      this.upstream.set(symbol, 0);
      this.sessions.set(symbol, {
        open: 100,
        high: 100,
        low: 100,
        prevClose: 99,
        volume: 0,
        change: 1,
        changePct: 1.0101,
      });
    }
  }

  symbolTicks$(symbol: string): Observable<Tick> {
    const subject = this.ticks.get(symbol);
    if (subject === undefined) throw new Error(`fake: unknown ${symbol}`);
    return defer(() => {
      this.upstream.set(symbol, (this.upstream.get(symbol) ?? 0) + 1);
      return subject.pipe(
        finalize(() => this.upstream.set(symbol, (this.upstream.get(symbol) ?? 0) - 1)),
      );
    });
  }

  session(symbol: string): SessionStats | undefined {
    return this.sessions.get(symbol);
  }

  has(symbol: string): boolean {
    return this.ticks.has(symbol);
  }

  /** Schedules a trade of `symbol` at virtual time `at`. */
  tradeAt(at: number, symbol: string, price: number, size = 100): void {
    this.scheduler.schedule(() => this.trade(symbol, price, size), at);
  }

  trade(symbol: string, price: number, size = 100): Tick {
    const seq = (this.seqs.get(symbol) ?? 0) + 1;
    this.seqs.set(symbol, seq);
    const s = this.sessions.get(symbol)!;
    const next: SessionStats = {
      ...s,
      high: Math.max(s.high, price),
      low: Math.min(s.low, price),
      volume: s.volume + size,
      change: price - s.prevClose,
      changePct: ((price - s.prevClose) / s.prevClose) * 100,
    };
    this.sessions.set(symbol, next);
    const tick: Tick = {
      symbol,
      seq,
      ts: this.scheduler.now(),
      price,
      bid: price - 0.01,
      ask: price + 0.01,
      size,
    };
    this.ticks.get(symbol)!.next(tick);
    return tick;
  }
}

interface Published {
  at: number;
  symbol: string;
  tier: IntervalTierMs;
  quote: Quote;
  /** Came through publishBatch (trailing edge) rather than publish (leading edge). */
  batched: boolean;
}

type SinkCall =
  | { kind: 'publish'; at: number; symbol: string; tier: IntervalTierMs; quote: Quote }
  | { kind: 'batch'; at: number; tier: IntervalTierMs; updates: TierUpdate[] };

/** Records every sink call in order, as the gateway would receive them. */
class RecordingSink implements QuoteSink {
  readonly calls: SinkCall[] = [];
  constructor(private readonly scheduler: VirtualTimeScheduler) {}

  publish(symbol: string, tier: IntervalTierMs, quote: Quote): void {
    this.calls.push({ kind: 'publish', at: this.scheduler.now(), symbol, tier, quote });
  }

  publishBatch(tier: IntervalTierMs, updates: readonly TierUpdate[]): void {
    this.calls.push({ kind: 'batch', at: this.scheduler.now(), tier, updates: [...updates] });
  }

  batches(): Array<Extract<SinkCall, { kind: 'batch' }>> {
    return this.calls.filter((c) => c.kind === 'batch');
  }

  /** Every quote, leading or trailing, flattened in delivery order. */
  get published(): Published[] {
    return this.calls.flatMap((c): Published[] =>
      c.kind === 'publish'
        ? [{ at: c.at, symbol: c.symbol, tier: c.tier, quote: c.quote, batched: false }]
        : c.updates.map((u) => ({
            at: c.at,
            symbol: u.symbol,
            tier: c.tier,
            quote: u.quote,
            batched: true,
          })),
    );
  }
}

function virtualScheduler(): VirtualTimeScheduler {
  return new VirtualTimeScheduler(VirtualAction, Infinity);
}

/**
 * Runs every action due up to `t`. Needed instead of `flush()` while a tier
 * clock runs: it ticks for as long as a pipeline lives, so flush would not end.
 */
function runUntil(scheduler: VirtualTimeScheduler, t: number): void {
  scheduler.schedule(() => undefined, t - scheduler.now());
  scheduler.maxFrames = t;
  scheduler.flush();
}

describe(StreamRegistry.name, () => {
  let scheduler: VirtualTimeScheduler;
  let state: FakeMarketState;
  let sink: RecordingSink;
  let registry: StreamRegistry;

  beforeEach(() => {
    scheduler = virtualScheduler();
    state = new FakeMarketState(scheduler, ['AAPL', 'MSFT', 'NVDA']);
    sink = new RecordingSink(scheduler);
    registry = new StreamRegistry(state, scheduler);
    registry.setSink(sink);
  });

  afterEach(() => {
    registry.onModuleDestroy();
    vi.restoreAllMocks();
  });

  describe('reference counting', () => {
    it('shares one pipeline between clients on the same symbol and tier', () => {
      registry.subscribe('a', 'AAPL', 250);
      registry.subscribe('b', 'AAPL', 250);
      expect(registry.pipelineCount()).toBe(1);
      expect(registry.pipelineStats()).toEqual([{ symbol: 'AAPL', tier: 250, subscribers: 2 }]);
      expect(registry.subscriptionCount()).toBe(2);
      expect(registry.clientCount()).toBe(2);
      expect(state.upstream.get('AAPL')).toBe(1);
    });

    it('keeps the pipeline while one holder remains and drops it when the last leaves', () => {
      registry.subscribe('a', 'AAPL', 250);
      registry.subscribe('b', 'AAPL', 250);

      expect(registry.unsubscribe('a', 'AAPL')).toBe(250);
      expect(registry.pipelineCount()).toBe(1);
      expect(registry.pipelineStats()).toEqual([{ symbol: 'AAPL', tier: 250, subscribers: 1 }]);
      expect(state.upstream.get('AAPL')).toBe(1);

      expect(registry.unsubscribe('b', 'AAPL')).toBe(250);
      expect(registry.pipelineCount()).toBe(0);
      expect(registry.pipelineStats()).toEqual([]);
      expect(registry.subscriptionCount()).toBe(0);
      expect(registry.clientCount()).toBe(0);
      expect(state.upstream.get('AAPL')).toBe(0);
    });

    it('keeps separate pipelines per tier of the same symbol', () => {
      registry.subscribe('a', 'AAPL', 100);
      registry.subscribe('b', 'AAPL', 1000);
      expect(registry.pipelineCount()).toBe(2);
      expect(state.upstream.get('AAPL')).toBe(2);
    });

    it('returns undefined when unsubscribing something not held', () => {
      registry.subscribe('a', 'AAPL', 250);
      expect(registry.unsubscribe('a', 'MSFT')).toBeUndefined();
      expect(registry.unsubscribe('nobody', 'AAPL')).toBeUndefined();
      expect(registry.subscriptionCount()).toBe(1);
      expect(registry.pipelineCount()).toBe(1);
    });

    it('is idempotent for a repeated subscribe at the same tier', () => {
      expect(registry.subscribe('a', 'AAPL', 250)).toEqual({ previousTier: undefined });
      expect(registry.subscribe('a', 'AAPL', 250)).toEqual({ previousTier: 250 });
      expect(registry.subscriptionCount()).toBe(1);
      expect(registry.pipelineStats()).toEqual([{ symbol: 'AAPL', tier: 250, subscribers: 1 }]);
    });

    it('moves the reference when a client changes tier', () => {
      registry.subscribe('a', 'AAPL', 100);
      registry.subscribe('b', 'AAPL', 100);
      expect(registry.subscribe('a', 'AAPL', 2000)).toEqual({ previousTier: 100 });

      expect(registry.clientSymbols('a')).toEqual(new Map([['AAPL', 2000]]));
      expect(registry.subscriptionCount()).toBe(2);
      expect(sortStats(registry.pipelineStats())).toEqual([
        { symbol: 'AAPL', tier: 100, subscribers: 1 },
        { symbol: 'AAPL', tier: 2000, subscribers: 1 },
      ]);

      expect(registry.subscribe('b', 'AAPL', 2000)).toEqual({ previousTier: 100 });
      expect(registry.pipelineStats()).toEqual([{ symbol: 'AAPL', tier: 2000, subscribers: 2 }]);
      expect(state.upstream.get('AAPL')).toBe(1);
    });

    it('frees everything a client held on releaseClient', () => {
      registry.subscribe('a', 'AAPL', 100);
      registry.subscribe('a', 'MSFT', 500);
      registry.subscribe('a', 'NVDA', 500);
      registry.subscribe('b', 'MSFT', 500);

      const released = registry.releaseClient('a');
      expect(released.sort((x, y) => x.symbol.localeCompare(y.symbol))).toEqual([
        { symbol: 'AAPL', tier: 100 },
        { symbol: 'MSFT', tier: 500 },
        { symbol: 'NVDA', tier: 500 },
      ]);
      expect(registry.clientSymbols('a').size).toBe(0);
      expect(registry.clientCount()).toBe(1);
      expect(registry.subscriptionCount()).toBe(1);
      expect(registry.pipelineStats()).toEqual([{ symbol: 'MSFT', tier: 500, subscribers: 1 }]);
      expect(state.upstream.get('AAPL')).toBe(0);
      expect(state.upstream.get('NVDA')).toBe(0);

      expect(registry.releaseClient('b')).toEqual([{ symbol: 'MSFT', tier: 500 }]);
      expect(registry.releaseClient('b')).toEqual([]);
      expect(registry.pipelineCount()).toBe(0);
      expect(registry.subscriptionCount()).toBe(0);
      expect(registry.clientCount()).toBe(0);
      expect([...state.upstream.values()]).toEqual([0, 0, 0]);
    });

    it('returns a snapshot of client symbols that later changes do not alter', () => {
      registry.subscribe('a', 'AAPL', 100);
      const held = registry.clientSymbols('a');
      registry.subscribe('a', 'MSFT', 100);
      expect([...held.keys()]).toEqual(['AAPL']);
    });

    it('rejects unknown symbols without changing any count', () => {
      expect(() => registry.subscribe('a', 'ZZZZ', 250)).toThrow(UnknownSymbolError);
      expect(registry.subscriptionCount()).toBe(0);
      expect(registry.clientCount()).toBe(0);
      expect(registry.pipelineCount()).toBe(0);
    });

    it('rejects a tier that is not one of the interval tiers', () => {
      expect(() => registry.subscribe('a', 'AAPL', 300 as IntervalTierMs)).toThrow(RangeError);
      expect(registry.pipelineCount()).toBe(0);
    });
  });

  /** Starts over on a fresh virtual clock with the given universe. */
  function fresh(symbols = ['AAPL', 'MSFT', 'NVDA']): void {
    registry.onModuleDestroy();
    scheduler = virtualScheduler();
    state = new FakeMarketState(scheduler, symbols);
    sink = new RecordingSink(scheduler);
    registry = new StreamRegistry(state, scheduler);
    registry.setSink(sink);
  }

  /** One trade of `symbol` every `everyMs` in [from, to), at a price that wanders. */
  function trades(symbol: string, everyMs: number, from = 0, to = 2000): number {
    let count = 0;
    for (let t = from; t < to; t += everyMs) {
      state.tradeAt(t, symbol, 100 + ((t / everyMs) % 13) / 10, 100);
      count++;
    }
    return count;
  }

  describe('publishing', () => {
    it('sends a busy pair its leading edge through publish, then one batch entry per window', () => {
      trades('AAPL', 10);
      registry.subscribe('a', 'AAPL', 250);
      runUntil(scheduler, 3000);

      expect(sink.calls.map((c) => [c.kind, c.at])).toEqual([
        ['publish', 0],
        ...[250, 500, 750, 1000, 1250, 1500, 1750, 2000].map((at) => ['batch', at]),
      ]);
      for (const batch of sink.batches()) {
        expect(batch.tier).toBe(250);
        expect(batch.updates.map((u) => u.symbol)).toEqual(['AAPL']);
      }
      const published = sink.published;
      expect(published.reduce((sum, p) => sum + p.quote.win.n, 0)).toBe(200);
      expect(registry.quotesPublished).toBe(9);
      for (let k = 1; k < published.length; k++) {
        expect(published[k].at - published[k - 1].at).toBeGreaterThanOrEqual(250);
      }
    });

    it('makes the same publish and publishBatch calls for 1000 clients as for 1', () => {
      function scenario(clients: number) {
        fresh();
        trades('AAPL', 10);
        trades('MSFT', 35, 5);
        for (const at of [0, 40, 700, 1300, 1310]) state.tradeAt(at, 'NVDA', 500 + at / 100);
        for (let i = 0; i < clients; i++) {
          registry.subscribe(`c${i}`, 'AAPL', 250);
          registry.subscribe(`c${i}`, 'MSFT', 250);
          registry.subscribe(`c${i}`, 'NVDA', 1000);
        }
        expect(registry.pipelineCount()).toBe(3);
        expect([...state.upstream.values()]).toEqual([1, 1, 1]);
        runUntil(scheduler, 3000);
        return { calls: sink.calls, published: registry.quotesPublished };
      }

      const one = scenario(1);
      const many = scenario(1000);
      expect(many).toEqual(one);
      expect(one.calls.filter((c) => c.kind === 'batch').length).toBeGreaterThan(8);
      expect(one.calls.filter((c) => c.kind === 'publish').length).toBeGreaterThanOrEqual(3);
    });

    it('hands every trailing update of a tier window to ONE publishBatch, leading edges to publish', () => {
      const symbols = Array.from({ length: 10 }, (_, i) => `S${i}`);
      fresh(symbols);
      // Symbol i trades every 10 ms from i ms on: its leading edge is at i.
      let total = 0;
      symbols.forEach((symbol, i) => (total += trades(symbol, 10, i)));
      for (const symbol of symbols) registry.subscribe('a', symbol, 250);
      runUntil(scheduler, 3000);

      const leading = sink.calls.filter((c) => c.kind === 'publish');
      expect(leading.map((c) => [c.at, c.symbol])).toEqual(symbols.map((s, i) => [i, s]));

      const batches = sink.batches();
      expect(batches.map((b) => b.at)).toEqual([250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
      // S0 led on the grid (0), so its window closed at 250; the others led
      // just after it, so their first window runs to the next grid time, 500.
      expect(batches[0].updates.map((u) => u.symbol)).toEqual(['S0']);
      for (const batch of batches.slice(1)) {
        expect(batch.tier).toBe(250);
        expect(batch.updates.map((u) => u.symbol).sort()).toEqual(symbols);
      }
      expect(sink.published.reduce((sum, p) => sum + p.quote.win.n, 0)).toBe(total);
      expect(registry.quotesPublished).toBe(10 + 1 + 7 * 10);
    });

    it('keeps tiers apart: one batch per tier window, each holding only its tier', () => {
      for (const symbol of ['AAPL', 'MSFT', 'NVDA']) trades(symbol, 10, 0, 1000);
      registry.subscribe('a', 'AAPL', 100);
      registry.subscribe('a', 'NVDA', 100);
      registry.subscribe('b', 'MSFT', 500);
      registry.subscribe('b', 'NVDA', 500);
      runUntil(scheduler, 1500);

      const batches = sink.batches();
      const of = (tier: IntervalTierMs) => batches.filter((b) => b.tier === tier);
      expect(of(100).map((b) => b.at)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
      expect(of(500).map((b) => b.at)).toEqual([500, 1000]);
      for (const b of of(100))
        expect(b.updates.map((u) => u.symbol).sort()).toEqual(['AAPL', 'NVDA']);
      for (const b of of(500))
        expect(b.updates.map((u) => u.symbol).sort()).toEqual(['MSFT', 'NVDA']);
      // Where the grids meet, each tier still gets its own call.
      expect(
        batches
          .filter((b) => b.at === 500)
          .map((b) => b.tier)
          .sort(),
      ).toEqual([100, 500]);
      expect(sink.calls.filter((c) => c.kind === 'publish')).toHaveLength(4);
    });

    it('builds quotes from the last tick, the session and the window', () => {
      registry.subscribe('a', 'MSFT', 100);
      state.tradeAt(0, 'MSFT', 101, 100);
      state.tradeAt(20, 'MSFT', 103, 200);
      state.tradeAt(40, 'MSFT', 102, 300);
      runUntil(scheduler, 500);

      expect(sink.published.map((p) => [p.at, p.batched])).toEqual([
        [0, false],
        [100, true],
      ]);
      const [leading, trailing] = sink.published.map((p) => p.quote);
      expect(leading).toMatchObject({ symbol: 'MSFT', price: 101, seq: 1 });
      expect(leading.win).toEqual({ o: 101, h: 101, l: 101, v: 100, n: 1 });
      expect(trailing).toEqual({
        symbol: 'MSFT',
        price: 102,
        bid: 101.99,
        ask: 102.01,
        ts: 40,
        seq: 3,
        open: 100,
        high: 103,
        low: 100,
        prevClose: 99,
        change: 3,
        changePct: (3 / 99) * 100,
        volume: 600,
        win: { o: 103, h: 103, l: 102, v: 500, n: 2 },
      });
    });

    it('counts superseded ticks as conflated: Σ (n − 1)', () => {
      trades('AAPL', 10, 0, 1000);
      registry.subscribe('a', 'AAPL', 250);
      runUntil(scheduler, 2000);
      const n = sink.published.reduce((sum, p) => sum + p.quote.win.n, 0);
      expect(n).toBe(100);
      expect(registry.ticksConflated).toBe(100 - sink.published.length);
    });

    it('contains and counts a sink throwing in publishBatch, and keeps the pipelines running', () => {
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      let batchCalls = 0;
      registry.setSink({
        publish: (symbol, tier, quote) => sink.publish(symbol, tier, quote),
        publishBatch: (tier, updates) => {
          batchCalls++;
          if (batchCalls <= 2) throw new Error('socket gone');
          sink.publishBatch(tier, updates);
        },
      });
      trades('AAPL', 10, 0, 1000);
      trades('MSFT', 10, 0, 1000);
      registry.subscribe('a', 'AAPL', 250);
      registry.subscribe('a', 'MSFT', 250);
      runUntil(scheduler, 2000);

      // Batches at 250 and 500 threw; 750 and 1000 went out with both symbols.
      expect(batchCalls).toBe(4);
      expect(sink.batches().map((b) => [b.at, b.updates.length])).toEqual([
        [750, 2],
        [1000, 2],
      ]);
      expect(registry.sinkErrors).toBe(2);
      expect(registry.quotesPublished).toBe(2 + 2 * 2);
      // Throttled: the second failure, 250 ms after the first, is only counted.
      expect(logged).toHaveBeenCalledTimes(1);
      expect([...state.upstream.values()]).toEqual([1, 1, 0]);
    });

    it('contains and counts a sink throwing in publish', () => {
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      let calls = 0;
      registry.setSink({
        publish: (symbol, tier, quote) => {
          calls++;
          if (calls <= 2) throw new Error('socket gone');
          sink.publish(symbol, tier, quote);
        },
        publishBatch: (tier, updates) => sink.publishBatch(tier, updates),
      });
      // Quiet between trades: each one is a leading edge.
      for (const at of [0, 1000, 2000, 3000]) state.tradeAt(at, 'AAPL', 100 + at / 1000);
      registry.subscribe('a', 'AAPL', 250);
      runUntil(scheduler, 4000);

      expect(calls).toBe(4);
      expect(registry.sinkErrors).toBe(2);
      expect(registry.quotesPublished).toBe(2);
      expect(sink.published.map((p) => p.at)).toEqual([2000, 3000]);
      expect(logged).toHaveBeenCalledTimes(1);
    });

    it('drops updates while no sink is attached, without failing', () => {
      registry = new StreamRegistry(state, scheduler);
      trades('AAPL', 10, 0, 500);
      registry.subscribe('a', 'AAPL', 250);
      runUntil(scheduler, 1000);
      expect(registry.quotesPublished).toBe(0);
      expect(registry.ticksConflated).toBeGreaterThan(0);
    });

    it('lets the sink subscribe a new pair from inside publishBatch', () => {
      trades('AAPL', 10, 0, 1000);
      trades('MSFT', 10, 0, 1000);
      registry.subscribe('a', 'AAPL', 250);
      registry.setSink({
        publish: (symbol, tier, quote) => sink.publish(symbol, tier, quote),
        publishBatch: (tier, updates) => {
          sink.publishBatch(tier, updates);
          registry.subscribe('b', 'MSFT', 250);
        },
      });
      runUntil(scheduler, 1000);

      expect(sink.calls.map((c) => [c.kind, c.at])).toEqual([
        ['publish', 0],
        ['batch', 250],
        // MSFT's first tick after joining (at 260) leads; its first window runs
        // to the first grid time ≥ 250 later (750), then it rides every batch.
        ['publish', 260],
        ['batch', 500],
        ['batch', 750],
        ['batch', 1000],
      ]);
      expect(sink.batches().map((b) => b.updates.map((u) => u.symbol))).toEqual([
        ['AAPL'],
        ['AAPL'],
        ['AAPL', 'MSFT'],
        ['AAPL', 'MSFT'],
      ]);
      // The trades are over: what is left is the tier's one timer.
      expect(scheduler.actions.map((a) => a.delay)).toEqual([1250]);
    });
  });

  describe('timers', () => {
    it('runs one clock per tier in use, and none once every client left', () => {
      for (const symbol of ['AAPL', 'MSFT', 'NVDA']) trades(symbol, 10, 0, 3000);
      const tradeActions = scheduler.actions.length;
      registry.subscribe('a', 'AAPL', 100);
      registry.subscribe('a', 'MSFT', 250);
      registry.subscribe('b', 'MSFT', 250);
      registry.subscribe('b', 'NVDA', 1000);
      expect(scheduler.actions).toHaveLength(tradeActions + 3);
      scheduler.schedule(() => registry.releaseClient('a'), 500);
      scheduler.schedule(() => registry.releaseClient('b'), 1200);

      // flush only ends once the clocks stopped: the last action is the last trade.
      scheduler.flush();
      expect(scheduler.now()).toBe(2990);
      expect(scheduler.actions).toHaveLength(0);
      expect(registry.pipelineCount()).toBe(0);
      expect(sink.published.every((p) => p.at <= 1200)).toBe(true);
      expect(sink.published.some((p) => p.tier === 1000 && p.at === 1000)).toBe(true);
    });

    it('stops publishing a pair as soon as its last client leaves', () => {
      trades('AAPL', 10);
      registry.subscribe('a', 'AAPL', 250);
      scheduler.schedule(() => registry.unsubscribe('a', 'AAPL'), 600);
      scheduler.flush();
      expect(sink.published.map((p) => p.at)).toEqual([0, 250, 500]);
      expect(scheduler.actions).toHaveLength(0);
    });

    it('stops the tier clock when the sink releases the last client from inside publishBatch', () => {
      trades('AAPL', 10);
      registry.subscribe('a', 'AAPL', 250);
      registry.setSink({
        publish: (symbol, tier, quote) => sink.publish(symbol, tier, quote),
        publishBatch: (tier, updates) => {
          sink.publishBatch(tier, updates);
          registry.releaseClient('a');
        },
      });
      scheduler.flush();
      expect(sink.calls.map((c) => [c.kind, c.at])).toEqual([
        ['publish', 0],
        ['batch', 250],
      ]);
      expect(scheduler.now()).toBe(1990);
      expect(scheduler.actions).toHaveLength(0);
      expect(registry.pipelineCount()).toBe(0);
    });
  });

  describe('shutdown', () => {
    it('tears every pipeline down on onModuleDestroy and refuses later subscribes', () => {
      registry.subscribe('a', 'AAPL', 100);
      registry.subscribe('b', 'MSFT', 250);
      state.trade('AAPL', 101);
      // The two tier clocks are the only scheduled actions.
      expect(scheduler.actions).toHaveLength(2);

      registry.onModuleDestroy();
      expect(registry.pipelineCount()).toBe(0);
      expect(registry.subscriptionCount()).toBe(0);
      expect(registry.clientCount()).toBe(0);
      expect([...state.upstream.values()]).toEqual([0, 0, 0]);
      expect(scheduler.actions).toHaveLength(0);

      // Disconnects arriving while the app closes must be harmless.
      expect(registry.releaseClient('a')).toEqual([]);
      expect(() => registry.subscribe('c', 'AAPL', 100)).toThrow(RegistryClosedError);
    });
  });

  describe('dependency injection', () => {
    it('resolves MarketStateService by class and the scheduler by MARKET_SCHEDULER', async () => {
      const moduleRef = await Test.createTestingModule({
        providers: [
          StreamRegistry,
          { provide: MarketStateService, useValue: state },
          { provide: MARKET_SCHEDULER, useValue: scheduler },
        ],
      }).compile();
      const injected = moduleRef.get(StreamRegistry);
      injected.setSink(sink);
      injected.subscribe('a', 'NVDA', 100);
      state.tradeAt(5, 'NVDA', 500);
      runUntil(scheduler, 500);
      expect(sink.published.map((p) => [p.at, p.symbol, p.tier])).toEqual([[5, 'NVDA', 100]]);
      await moduleRef.close();
      expect(state.upstream.get('NVDA')).toBe(0);
      expect(scheduler.actions).toHaveLength(0);
    });
  });
});

function sortStats<T extends { tier: number }>(stats: T[]): T[] {
  return [...stats].sort((a, b) => a.tier - b.tier);
}
