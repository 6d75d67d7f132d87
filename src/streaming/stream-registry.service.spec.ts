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
}

class RecordingSink implements QuoteSink {
  readonly published: Published[] = [];
  constructor(private readonly scheduler: VirtualTimeScheduler) {}
  publish(symbol: string, tier: IntervalTierMs, quote: Quote): void {
    this.published.push({ at: this.scheduler.now(), symbol, tier, quote });
  }
}

describe(StreamRegistry.name, () => {
  let scheduler: VirtualTimeScheduler;
  let state: FakeMarketState;
  let sink: RecordingSink;
  let registry: StreamRegistry;

  beforeEach(() => {
    scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
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

  describe('publishing', () => {
    /** A 2-second burst of AAPL: one trade every 10 ms. */
    function burst(from = 0, to = 2000): void {
      for (let t = from; t < to; t += 10) state.tradeAt(t, 'AAPL', 100 + ((t / 10) % 13) / 10, 100);
    }

    it('publishes at most once per window per (symbol, tier), however many clients', () => {
      burst();
      registry.subscribe('c0', 'AAPL', 250);
      scheduler.flush();
      const single = sink.published.map((p) => ({ at: p.at, quote: p.quote }));

      // Same schedule again, now with a thousand clients on the same pair.
      scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
      state = new FakeMarketState(scheduler, ['AAPL', 'MSFT', 'NVDA']);
      sink = new RecordingSink(scheduler);
      registry.onModuleDestroy();
      registry = new StreamRegistry(state, scheduler);
      registry.setSink(sink);
      burst();
      for (let i = 0; i < 1000; i++) registry.subscribe(`c${i}`, 'AAPL', 250);
      expect(registry.pipelineCount()).toBe(1);
      expect(state.upstream.get('AAPL')).toBe(1);
      scheduler.flush();

      expect(sink.published.map((p) => ({ at: p.at, quote: p.quote }))).toEqual(single);
      expect(single.length).toBe(Math.ceil(2000 / 250) + 1);
      expect(registry.quotesPublished).toBe(single.length);
      for (let k = 1; k < sink.published.length; k++) {
        expect(sink.published[k].at - sink.published[k - 1].at).toBeGreaterThanOrEqual(250);
      }
    });

    it('publishes each tier of a symbol on its own window', () => {
      burst(0, 1000);
      registry.subscribe('fast', 'AAPL', 100);
      registry.subscribe('slow', 'AAPL', 500);
      scheduler.flush();
      const count = (tier: IntervalTierMs) => sink.published.filter((p) => p.tier === tier).length;
      expect(count(100)).toBe(11);
      expect(count(500)).toBe(3);
    });

    it('builds quotes from the last tick, the session and the window', () => {
      registry.subscribe('a', 'MSFT', 100);
      state.tradeAt(0, 'MSFT', 101, 100);
      state.tradeAt(20, 'MSFT', 103, 200);
      state.tradeAt(40, 'MSFT', 102, 300);
      scheduler.flush();

      expect(sink.published.map((p) => p.at)).toEqual([0, 100]);
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
      burst(0, 1000);
      registry.subscribe('a', 'AAPL', 250);
      scheduler.flush();
      const n = sink.published.reduce((sum, p) => sum + p.quote.win.n, 0);
      expect(n).toBe(100);
      expect(registry.ticksConflated).toBe(100 - sink.published.length);
    });

    it('keeps a pipeline alive when the sink throws, and logs', () => {
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      let calls = 0;
      registry.setSink({
        publish: (symbol, tier, quote) => {
          calls++;
          if (calls <= 2) throw new Error('socket gone');
          sink.publish(symbol, tier, quote);
        },
      });
      burst(0, 1000);
      registry.subscribe('a', 'AAPL', 250);
      scheduler.flush();

      expect(calls).toBe(5);
      expect(registry.sinkErrors).toBe(2);
      expect(registry.quotesPublished).toBe(3);
      expect(sink.published).toHaveLength(3);
      // Throttled: the second failure, 250 ms after the first, is only counted.
      expect(logged).toHaveBeenCalledTimes(1);
      expect(state.upstream.get('AAPL')).toBe(1);
    });

    it('drops updates while no sink is attached, without failing', () => {
      registry = new StreamRegistry(state, scheduler);
      burst(0, 500);
      registry.subscribe('a', 'AAPL', 250);
      scheduler.flush();
      expect(registry.quotesPublished).toBe(0);
      expect(registry.ticksConflated).toBeGreaterThan(0);
    });

    it('stops publishing a pair as soon as its last client leaves', () => {
      burst(0, 2000);
      registry.subscribe('a', 'AAPL', 250);
      scheduler.schedule(() => registry.unsubscribe('a', 'AAPL'), 600);
      scheduler.flush();
      expect(sink.published.every((p) => p.at < 600)).toBe(true);
      expect(scheduler.actions).toHaveLength(0);
    });
  });

  describe('shutdown', () => {
    it('tears every pipeline down on onModuleDestroy and refuses later subscribes', () => {
      registry.subscribe('a', 'AAPL', 100);
      registry.subscribe('b', 'MSFT', 250);
      state.trade('AAPL', 101);
      // The window the trade opened is the one scheduled action.
      expect(scheduler.actions).toHaveLength(1);

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
      scheduler.flush();
      expect(sink.published.map((p) => [p.at, p.symbol, p.tier])).toEqual([[5, 'NVDA', 100]]);
      await moduleRef.close();
      expect(state.upstream.get('NVDA')).toBe(0);
    });
  });
});

function sortStats<T extends { tier: number }>(stats: T[]): T[] {
  return [...stats].sort((a, b) => a.tier - b.tier);
}
