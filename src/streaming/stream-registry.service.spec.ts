import 'reflect-metadata';
import { Logger, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import {
  type Observable,
  Subject,
  VirtualAction,
  VirtualTimeScheduler,
  defer,
  finalize,
} from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
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
}

interface BatchCall {
  at: number;
  tier: IntervalTierMs;
  updates: TierUpdate[];
}

/** Records every sink call in order, as the gateway would receive them. */
class RecordingSink implements QuoteSink {
  readonly calls: BatchCall[] = [];
  /** The arrays exactly as handed over (the sink may keep them). */
  readonly given: Array<readonly TierUpdate[]> = [];
  constructor(private readonly scheduler: VirtualTimeScheduler) {}

  publishBatch(tier: IntervalTierMs, updates: readonly TierUpdate[]): void {
    this.given.push(updates);
    this.calls.push({ at: this.scheduler.now(), tier, updates: [...updates] });
  }

  /** Every quote, flattened in delivery order. */
  get published(): Published[] {
    return this.calls.flatMap((c) =>
      c.updates.map((u) => ({ at: c.at, symbol: u.symbol, tier: c.tier, quote: u.quote })),
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

  /** Starts over on a fresh virtual clock with the given universe (and app config, if any). */
  function fresh(
    symbols = ['AAPL', 'MSFT', 'NVDA'],
    config?: Pick<AppConfig, 'framesPerWindow'>,
  ): void {
    registry.onModuleDestroy();
    scheduler = virtualScheduler();
    state = new FakeMarketState(scheduler, symbols);
    sink = new RecordingSink(scheduler);
    registry = new StreamRegistry(state, scheduler, config);
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

  /** Each batch as [time, its symbols sorted]. */
  const frames = (calls: BatchCall[]) =>
    calls.map((c) => [c.at, c.updates.map((u) => u.symbol).sort()]);

  describe('publishing', () => {
    it('sends a busy pair one quote per window on the tier grid, and nothing at once', () => {
      trades('AAPL', 10);
      registry.subscribe('a', 'AAPL', 250);
      runUntil(scheduler, 3000);

      // 0…250 close at 250 (a trade on a grid time is in the window closing there).
      expect(sink.calls.map((c) => [c.at, c.tier, c.updates.map((u) => u.quote.win.n)])).toEqual([
        [250, 250, [26]],
        ...[500, 750, 1000, 1250, 1500, 1750].map((at) => [at, 250, [25]]),
        [2000, 250, [24]],
      ]);
      for (const call of sink.calls) expect(call.updates.map((u) => u.symbol)).toEqual(['AAPL']);
      expect(sink.published.reduce((sum, p) => sum + p.quote.win.n, 0)).toBe(200);
      expect(registry.quotesPublished).toBe(8);
    });

    it("holds a quiet symbol's first trade until the tier's next clock tick, not sending it at once", () => {
      registry.subscribe('a', 'NVDA', 1000);
      state.tradeAt(10, 'NVDA', 500);
      state.tradeAt(2500, 'NVDA', 501);
      runUntil(scheduler, 999);
      expect(sink.calls).toEqual([]);
      runUntil(scheduler, 3500);
      expect(sink.published.map((p) => [p.at, p.symbol, p.quote.seq, p.quote.win.n])).toEqual([
        [1000, 'NVDA', 1, 1],
        [3000, 'NVDA', 2, 1],
      ]);
    });

    it('makes the same publishBatch calls for 1000 clients as for 1', () => {
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
      // 250 ms tier: 250…2000, AAPL and MSFT together; 1000 ms tier: 1000 and 2000.
      const byTime = one.calls
        .map((c) => [c.at, c.tier, c.updates.map((u) => u.symbol).sort()] as const)
        .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      expect(byTime).toEqual([
        [250, 250, ['AAPL', 'MSFT']],
        [500, 250, ['AAPL', 'MSFT']],
        [750, 250, ['AAPL', 'MSFT']],
        [1000, 250, ['AAPL', 'MSFT']],
        [1000, 1000, ['NVDA']],
        [1250, 250, ['AAPL', 'MSFT']],
        [1500, 250, ['AAPL', 'MSFT']],
        [1750, 250, ['AAPL', 'MSFT']],
        [2000, 250, ['AAPL', 'MSFT']],
        [2000, 1000, ['NVDA']],
      ]);
      expect(one.published).toBe(18);
    });

    it("hands all of a tier's updates to one publishBatch per clock tick", () => {
      const symbols = Array.from({ length: 10 }, (_, i) => `S${i}`);
      fresh(symbols);
      // Symbol i trades every 10 ms from i ms on.
      let total = 0;
      symbols.forEach((symbol, i) => (total += trades(symbol, 10, i)));
      for (const symbol of symbols) registry.subscribe('a', symbol, 250);
      runUntil(scheduler, 3000);

      expect(sink.calls.map((b) => b.at)).toEqual([250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
      for (const batch of sink.calls) {
        expect(batch.tier).toBe(250);
        expect(batch.updates.map((u) => u.symbol).sort()).toEqual(symbols);
      }
      expect(sink.published.reduce((sum, p) => sum + p.quote.win.n, 0)).toBe(total);
      expect(registry.quotesPublished).toBe(8 * 10);
    });

    it("sends a quiet symbol's first trade in the next clock tick's batch, with the busy ones", () => {
      trades('AAPL', 10);
      state.tradeAt(260, 'NVDA', 500);
      state.tradeAt(499, 'MSFT', 300);
      state.tradeAt(1600, 'NVDA', 501);
      for (const symbol of ['AAPL', 'NVDA', 'MSFT']) registry.subscribe('a', symbol, 250);
      runUntil(scheduler, 3000);

      // One frame per window however the symbols trade.
      expect(frames(sink.calls)).toEqual([
        [250, ['AAPL']],
        [500, ['AAPL', 'MSFT', 'NVDA']],
        [750, ['AAPL']],
        [1000, ['AAPL']],
        [1250, ['AAPL']],
        [1500, ['AAPL']],
        [1750, ['AAPL', 'NVDA']],
        [2000, ['AAPL']],
      ]);
    });

    it('keeps tiers apart: one batch per tier tick, each holding only its tier', () => {
      for (const symbol of ['AAPL', 'MSFT', 'NVDA']) trades(symbol, 10, 0, 1000);
      registry.subscribe('a', 'AAPL', 100);
      registry.subscribe('a', 'NVDA', 100);
      registry.subscribe('b', 'MSFT', 500);
      registry.subscribe('b', 'NVDA', 500);
      runUntil(scheduler, 1500);

      const batches = sink.calls;
      const of = (tier: IntervalTierMs) => batches.filter((b) => b.tier === tier);
      expect(of(100).map((b) => b.at)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
      expect(of(500).map((b) => b.at)).toEqual([500, 1000]);
      expect(batches).toHaveLength(12);
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
    });

    it('builds quotes from the last tick, the session and the window', () => {
      registry.subscribe('a', 'MSFT', 100);
      state.tradeAt(0, 'MSFT', 101, 100);
      state.tradeAt(20, 'MSFT', 103, 200);
      state.tradeAt(40, 'MSFT', 102, 300);
      runUntil(scheduler, 500);

      expect(sink.published.map((p) => p.at)).toEqual([100]);
      expect(sink.published[0].quote).toEqual({
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
        win: { o: 101, h: 103, l: 101, v: 600, n: 3 },
      });
    });

    it('counts superseded ticks as conflated: Σ (n − 1)', () => {
      trades('AAPL', 10, 0, 1000);
      registry.subscribe('a', 'AAPL', 250);
      runUntil(scheduler, 2000);
      const n = sink.published.reduce((sum, p) => sum + p.quote.win.n, 0);
      expect(n).toBe(100);
      expect(sink.published).toHaveLength(4);
      expect(registry.ticksConflated).toBe(100 - 4);
    });

    it('hands the sink a fresh array on every tick, which later ticks leave alone', () => {
      trades('AAPL', 10, 0, 1000);
      trades('MSFT', 30, 0, 1000);
      registry.subscribe('a', 'AAPL', 250);
      registry.subscribe('a', 'MSFT', 250);
      runUntil(scheduler, 1500);
      expect(sink.given).toHaveLength(4);
      expect(new Set(sink.given).size).toBe(4);
      // Each array as handed over still holds what it held then.
      sink.given.forEach((given, i) => expect(given).toEqual(sink.calls[i].updates));
    });

    it('contains and counts a sink throwing in publishBatch, and keeps the pipelines running', () => {
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      let batchCalls = 0;
      registry.setSink({
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
      expect(sink.calls.map((b) => [b.at, b.updates.length])).toEqual([
        [750, 2],
        [1000, 2],
      ]);
      expect(registry.sinkErrors).toBe(2);
      expect(registry.quotesPublished).toBe(2 * 2);
      // Throttled: the second failure, 250 ms after the first, is only counted.
      expect(logged).toHaveBeenCalledTimes(1);
      expect([...state.upstream.values()]).toEqual([1, 1, 0]);
    });

    it('keeps publishing a sparse feed after the sink threw on its first trades', () => {
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      let calls = 0;
      registry.setSink({
        publishBatch: (tier, updates) => {
          calls++;
          if (calls <= 2) throw new Error('socket gone');
          sink.publishBatch(tier, updates);
        },
      });
      // Quiet between trades: each one is a batch of its own on the next grid time.
      for (const at of [0, 1000, 2000, 3000]) state.tradeAt(at, 'AAPL', 100 + at / 1000);
      registry.subscribe('a', 'AAPL', 250);
      runUntil(scheduler, 4000);

      expect(calls).toBe(4);
      expect(registry.sinkErrors).toBe(2);
      expect(registry.quotesPublished).toBe(2);
      expect(sink.published.map((p) => [p.at, p.quote.price])).toEqual([
        [2000, 102],
        [3000, 103],
      ]);
      expect(logged).toHaveBeenCalledTimes(1);
    });

    it('drops updates while no sink is attached, without failing', () => {
      registry = new StreamRegistry(state, scheduler);
      trades('AAPL', 10, 0, 500);
      registry.subscribe('a', 'AAPL', 250);
      runUntil(scheduler, 1000);
      expect(registry.quotesPublished).toBe(0);
      expect(registry.ticksConflated).toBe(50 - 2);
      expect(sink.calls).toEqual([]);
    });

    it('lets the sink subscribe a new pair from inside publishBatch', () => {
      trades('AAPL', 10, 0, 1000);
      trades('MSFT', 10, 0, 1000);
      registry.subscribe('a', 'AAPL', 250);
      registry.setSink({
        publishBatch: (tier, updates) => {
          sink.publishBatch(tier, updates);
          registry.subscribe('b', 'MSFT', 250);
        },
      });
      runUntil(scheduler, 1000);

      // MSFT joins during the tick at 250; its first trades (260…) go out on the next one.
      expect(frames(sink.calls)).toEqual([
        [250, ['AAPL']],
        [500, ['AAPL', 'MSFT']],
        [750, ['AAPL', 'MSFT']],
        [1000, ['AAPL', 'MSFT']],
      ]);
      expect(sink.calls[1].updates.find((u) => u.symbol === 'MSFT')?.quote.win.n).toBe(25);
      // The trades are over: what is left is the tier's one timer.
      expect(scheduler.actions.map((a) => a.delay)).toEqual([1250]);
    });
  });

  describe('frames per window', () => {
    it('with framesPerWindow 2 the tier clock ticks at half the tier', () => {
      fresh(undefined, { framesPerWindow: 2 });
      registry.subscribe('a', 'AAPL', 250);
      expect(scheduler.actions.map((a) => a.delay)).toEqual([125]);
      runUntil(scheduler, 130);
      expect(scheduler.actions.map((a) => a.delay)).toEqual([250]);
      runUntil(scheduler, 260);
      expect(scheduler.actions.map((a) => a.delay)).toEqual([375]);
      expect(sink.calls).toEqual([]);
    });

    it('ticks once per window without a config or with framesPerWindow 1', () => {
      for (const config of [undefined, { framesPerWindow: 1 }]) {
        fresh(undefined, config);
        registry.subscribe('a', 'AAPL', 250);
        expect(scheduler.actions.map((a) => a.delay)).toEqual([250]);
        runUntil(scheduler, 260);
        expect(scheduler.actions.map((a) => a.delay)).toEqual([500]);
      }
    });

    it('with framesPerWindow 2 sends sparse trades on the half-window grid', () => {
      function scenario(config: Pick<AppConfig, 'framesPerWindow'> | undefined) {
        fresh(undefined, config);
        for (const at of [10, 400, 1010]) state.tradeAt(at, 'AAPL', 100);
        registry.subscribe('a', 'AAPL', 250);
        runUntil(scheduler, 2000);
        return sink.calls.map((c) => c.at);
      }
      expect(scenario({ framesPerWindow: 2 })).toEqual([125, 500, 1125]);
      expect(scenario(undefined)).toEqual([250, 500, 1250]);
    });

    it("with framesPerWindow 2 a quiet symbol's first trade waits at most half a window", () => {
      const at = [1, 160, 420, 1010];
      function waits(config: Pick<AppConfig, 'framesPerWindow'> | undefined) {
        fresh(undefined, config);
        for (const t of at) state.tradeAt(t, 'NVDA', 500);
        registry.subscribe('a', 'NVDA', 100);
        runUntil(scheduler, 2000);
        expect(sink.published.map((p) => p.quote.win.n)).toEqual([1, 1, 1, 1]);
        return sink.published.map((p, i) => p.at - at[i]);
      }
      const halfWindow = waits({ framesPerWindow: 2 });
      expect(halfWindow).toEqual([49, 40, 30, 40]);
      for (const w of halfWindow) expect(w).toBeLessThanOrEqual(50);
      // Once per window, the same trades wait for the 100 ms grid.
      expect(waits(undefined)).toEqual([99, 40, 80, 90]);
    });

    it('with framesPerWindow 2 a busy symbol still goes out once per window, and a client gets at most two frames a window', () => {
      fresh(undefined, { framesPerWindow: 2 });
      trades('AAPL', 10);
      state.tradeAt(130, 'NVDA', 500);
      state.tradeAt(1140, 'NVDA', 501);
      registry.subscribe('a', 'AAPL', 250);
      registry.subscribe('a', 'NVDA', 250);
      runUntil(scheduler, 3000);

      // AAPL keeps the phase of its first emission (125); NVDA leaves on the next half-window tick.
      expect(frames(sink.calls)).toEqual([
        [125, ['AAPL']],
        [250, ['NVDA']],
        [375, ['AAPL']],
        [625, ['AAPL']],
        [875, ['AAPL']],
        [1125, ['AAPL']],
        [1250, ['NVDA']],
        [1375, ['AAPL']],
        [1625, ['AAPL']],
        [1875, ['AAPL']],
        [2125, ['AAPL']],
      ]);
      const aapl = sink.published.filter((p) => p.symbol === 'AAPL');
      for (let k = 1; k < aapl.length; k++) expect(aapl[k].at - aapl[k - 1].at).toBe(250);
      expect(aapl.reduce((sum, p) => sum + p.quote.win.n, 0)).toBe(200);
      for (let i = 2; i < sink.calls.length; i++) {
        expect(sink.calls[i].at - sink.calls[i - 2].at).toBeGreaterThanOrEqual(250);
      }
    });

    it('bounds frames to framesPerWindow a window and conserves every trade, for random trades', () => {
      const symbols = ['AAPL', 'MSFT', 'NVDA'];
      const trade = fc.record({
        at: fc.integer({ min: 0, max: 3000 }),
        symbol: fc.constantFrom(...symbols),
        price: fc.integer({ min: 1, max: 100_000 }).map((cents) => cents / 100),
        size: fc.integer({ min: 1, max: 1000 }),
      });
      fc.assert(
        fc.property(
          fc.constantFrom<IntervalTierMs>(100, 250, 500, 1000),
          // 3 is left out: tier / 3 is not a whole number of ms (see the report).
          fc.constantFrom(1, 2, 4),
          fc.array(trade, { minLength: 1, maxLength: 80 }),
          (tier, framesPerWindow, unsorted) => {
            fresh(symbols, { framesPerWindow });
            // Scheduled in time order, so each symbol's seq follows its trades' order.
            const all = [...unsorted].sort((x, y) => x.at - y.at);
            for (const t of all) state.tradeAt(t.at, t.symbol, t.price, t.size);
            for (const symbol of symbols) registry.subscribe('a', symbol, tier);
            runUntil(scheduler, all[all.length - 1].at + 3 * tier);
            const period = tier / framesPerWindow;

            const calls = sink.calls;
            for (const c of calls) {
              expect(c.tier).toBe(tier);
              expect(c.at % period).toBe(0);
              expect(new Set(c.updates.map((u) => u.symbol)).size).toBe(c.updates.length);
            }
            // At most framesPerWindow frames in any window.
            for (let i = framesPerWindow; i < calls.length; i++) {
              expect(calls[i].at - calls[i - framesPerWindow].at).toBeGreaterThanOrEqual(tier);
            }

            for (const symbol of symbols) {
              const mine = all.filter((t) => t.symbol === symbol);
              const quotes = sink.published.filter((p) => p.symbol === symbol);
              expect(quotes.reduce((sum, p) => sum + p.quote.win.n, 0)).toBe(mine.length);
              expect(quotes.reduce((sum, p) => sum + p.quote.win.v, 0)).toBe(
                mine.reduce((sum, t) => sum + t.size, 0),
              );
              if (mine.length > 0) expect(quotes.at(-1)?.quote.seq).toBe(mine.length);
              for (let k = 1; k < quotes.length; k++) {
                expect(quotes[k].at - quotes[k - 1].at).toBeGreaterThanOrEqual(tier);
              }
              // Each trade (seq j + 1) leaves with the first quote whose last seq reaches it.
              let q = 0;
              mine.forEach((t, j) => {
                while (quotes[q].quote.seq < j + 1) q++;
                const wait = quotes[q].at - t.at;
                expect(wait).toBeGreaterThanOrEqual(0);
                expect(wait).toBeLessThanOrEqual(tier);
                // A trade ≥ a window after the symbol's previous quote waits ≤ one clock period.
                const previous = quotes.filter((p) => p.at < t.at).at(-1);
                if (previous === undefined || t.at - previous.at >= tier) {
                  expect(wait).toBeLessThanOrEqual(period);
                }
              });
            }
            expect(registry.quotesPublished).toBe(sink.published.length);
          },
        ),
        { numRuns: 200 },
      );
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
      expect(sink.published.map((p) => p.at)).toEqual([250, 500]);
      expect(scheduler.actions).toHaveLength(0);
    });

    it('stops the tier clock when the sink releases the last client from inside publishBatch', () => {
      trades('AAPL', 10);
      registry.subscribe('a', 'AAPL', 250);
      registry.setSink({
        publishBatch: (tier, updates) => {
          sink.publishBatch(tier, updates);
          registry.releaseClient('a');
        },
      });
      scheduler.flush();
      expect(sink.calls.map((c) => c.at)).toEqual([250]);
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
      // The pending AAPL trade is dropped, not flushed into a sink being torn down.
      expect(sink.calls).toEqual([]);
      expect(registry.quotesPublished).toBe(0);

      // Disconnects arriving while the app closes must be harmless.
      expect(registry.releaseClient('a')).toEqual([]);
      expect(() => registry.subscribe('c', 'AAPL', 100)).toThrow(RegistryClosedError);
    });
  });

  describe('dependency injection', () => {
    async function injected(providers: Provider[]) {
      const moduleRef = await Test.createTestingModule({
        providers: [
          StreamRegistry,
          { provide: MarketStateService, useValue: state },
          { provide: MARKET_SCHEDULER, useValue: scheduler },
          ...providers,
        ],
      }).compile();
      const registry = moduleRef.get(StreamRegistry);
      registry.setSink(sink);
      registry.subscribe('a', 'NVDA', 100);
      state.tradeAt(5, 'NVDA', 500);
      runUntil(scheduler, 500);
      await moduleRef.close();
      expect(state.upstream.get('NVDA')).toBe(0);
      expect(scheduler.actions).toHaveLength(0);
      return sink.published.map((p) => [p.at, p.symbol, p.tier]);
    }

    it('resolves MarketStateService by class and the scheduler by MARKET_SCHEDULER, APP_CONFIG optional', async () => {
      expect(await injected([])).toEqual([[100, 'NVDA', 100]]);
    });

    it('takes framesPerWindow from APP_CONFIG when provided', async () => {
      const config: Pick<AppConfig, 'framesPerWindow'> = { framesPerWindow: 2 };
      expect(await injected([{ provide: APP_CONFIG, useValue: config }])).toEqual([
        [50, 'NVDA', 100],
      ]);
    });
  });
});

function sortStats<T extends { tier: number }>(stats: T[]): T[] {
  return [...stats].sort((a, b) => a.tier - b.tier);
}
