import { NEVER, asyncScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/app-config.js';
import type { MarketStateService } from '../market/market-state.service.js';
import { RecordingService } from '../market/record/recording.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { IntervalTierMs, Quote } from '../shared/protocol.js';
import { type MarketStateReader, StreamRegistry } from '../streaming/stream-registry.service.js';
import type { Backlog, CloseReason, Subscriber } from './subscriber.js';
import { SubscriptionHub } from './subscription-hub.js';

/** A transport stand-in: records frames, reports a backlog the test sets. */
class FakeSubscriber implements Subscriber {
  readonly frames: Quote[][] = [];
  readonly closed: CloseReason[] = [];
  pending: Backlog = { packets: 0, bytes: 0 };
  failWith: Error | undefined;

  constructor(readonly id: string) {}

  backlog(): Backlog {
    return this.pending;
  }

  isOverBacklog(maxPackets: number, maxBytes: number): boolean {
    return this.pending.packets >= maxPackets || this.pending.bytes >= maxBytes;
  }

  sendQuotes(pieces: readonly string[]): void {
    if (this.failWith) throw this.failWith;
    this.frames.push(pieces.map((p) => JSON.parse(p) as Quote));
  }

  close(reason: CloseReason): void {
    this.closed.push(reason);
  }

  symbols(): string[][] {
    return this.frames.map((f) => f.map((q) => q.symbol));
  }
}

/** A market where every symbol exists and nothing trades: the test publishes by hand. */
const market: MarketStateReader = {
  has: () => true,
  symbolTicks$: () => NEVER,
  session: () => undefined,
};

function quote(symbol: string, seq: number): Quote {
  const price = 100 + seq;
  return {
    symbol,
    price,
    bid: price - 0.01,
    ask: price,
    ts: Date.now(),
    seq,
    open: 100,
    high: price,
    low: 100,
    prevClose: 99,
    change: price - 99,
    changePct: ((price - 99) / 99) * 100,
    volume: 100 * seq,
    win: { o: price, h: price, l: price, v: 100, n: 1 },
  };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe(SubscriptionHub.name, () => {
  const made: Array<{ hub: SubscriptionHub; registry: StreamRegistry; metrics: MetricsService }> =
    [];

  function setup(env: Record<string, string> = {}) {
    const config = parseConfig({
      SLOW_CLIENT_MAX_QUEUE: '10',
      SLOW_CLIENT_GRACE_MS: '1000',
      ...env,
    });
    const registry = new StreamRegistry(market, asyncScheduler);
    const metrics = new MetricsService(
      market as MarketStateService,
      registry,
      new RecordingService(config, {
        ticks$: NEVER,
        epoch: 'e',
        instruments: [],
        start() {},
        stop() {},
      }),
    );
    const hub = new SubscriptionHub(registry, metrics, config);
    made.push({ hub, registry, metrics });
    const connect = (id: string, symbols: string[], tier: IntervalTierMs = 250) => {
      const sub = new FakeSubscriber(id);
      hub.attach(sub);
      for (const s of symbols) hub.subscribe(id, s, tier);
      return sub;
    };
    return { hub, registry, metrics, connect };
  }

  afterEach(() => {
    for (const { hub, registry, metrics } of made.splice(0)) {
      hub.onModuleDestroy();
      registry.onModuleDestroy();
      metrics.onModuleDestroy();
    }
  });

  it('sends each subscriber one frame per batch with exactly its symbols at that tier', () => {
    const { hub, connect } = setup();
    const a = connect('a', ['AAPL', 'MSFT']);
    const b = connect('b', ['MSFT', 'NVDA']);
    const c = connect('c', ['AAPL'], 1000);
    hub.publishBatch(250, [
      { symbol: 'AAPL', quote: quote('AAPL', 1) },
      { symbol: 'MSFT', quote: quote('MSFT', 1) },
      { symbol: 'NVDA', quote: quote('NVDA', 1) },
      { symbol: 'TSLA', quote: quote('TSLA', 1) },
    ]);
    expect(a.symbols()).toEqual([['AAPL', 'MSFT']]);
    expect(b.symbols()).toEqual([['MSFT', 'NVDA']]);
    expect(c.frames).toEqual([]);
  });

  it('serialises each update once, however many subscribers get it', () => {
    const { hub, metrics, connect } = setup();
    for (let i = 0; i < 50; i++) connect(`c${i}`, ['AAPL', 'MSFT']);
    hub.publishBatch(250, [
      { symbol: 'AAPL', quote: quote('AAPL', 1) },
      { symbol: 'MSFT', quote: quote('MSFT', 1) },
      { symbol: 'NVDA', quote: quote('NVDA', 1) },
    ]);
    // NVDA has no holder: not even encoded.
    expect(metrics.encodedUpdates).toBe(2);
    expect(metrics.framesSent).toBe(50);
    expect(metrics.quotesSent).toBe(100);
  });

  it('serves nothing to a subscriber that left or unsubscribed, and releases what it held', () => {
    const { hub, registry, connect } = setup();
    const a = connect('a', ['AAPL']);
    const b = connect('b', ['AAPL', 'MSFT']);
    hub.detach('a');
    expect(hub.unsubscribe('b', 'AAPL')).toBe(250);
    hub.publishBatch(250, [
      { symbol: 'AAPL', quote: quote('AAPL', 1) },
      { symbol: 'MSFT', quote: quote('MSFT', 1) },
    ]);
    expect(a.frames).toEqual([]);
    expect(b.symbols()).toEqual([['MSFT']]);
    expect(registry.clientSymbols('a').size).toBe(0);
    expect(registry.holdersOf('AAPL', 250)).toBeUndefined();
    hub.detach('a'); // idempotent
  });

  it('serves a sparse batch only to the holders of what changed', () => {
    const { hub, metrics, connect } = setup();
    const quiet = Array.from({ length: 20 }, (_, i) => connect(`q${i}`, ['MSFT', 'NVDA']));
    const holder = connect('holder', ['AAPL', 'MSFT']);
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 1) }]);
    expect(holder.symbols()).toEqual([['AAPL']]);
    for (const q of quiet) expect(q.frames).toEqual([]);
    expect(metrics.framesSent).toBe(1);
  });

  it('does not serve a batch being sliced to a client that subscribed after it was published', async () => {
    const { hub, connect } = setup();
    hub.fanOutSlice = 1;
    const early = [connect('e0', ['AAPL']), connect('e1', ['AAPL'])];
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 1) }]);
    const late = connect('late', ['AAPL']);
    await nextTurn();
    await nextTurn();
    for (const e of early) expect(e.frames.map((f) => f[0].seq)).toEqual([1]);
    expect(late.frames).toEqual([]);
  });

  it('never hands a reused slot the text of the pipeline that released it mid-fan-out', async () => {
    const { hub, registry, connect } = setup();
    hub.fanOutSlice = 1;
    const a = connect('a', ['AAPL']);
    const b = connect('b', ['AAPL']);
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 1) }]);
    expect(a.frames).toHaveLength(1);
    const slot = registry.pipelineOf('AAPL', 250)?.slot;
    // b moves from AAPL to MSFT before its turn: AAPL's pipeline goes, MSFT's takes its slot.
    hub.detach('a');
    hub.unsubscribe('b', 'AAPL');
    hub.subscribe('b', 'MSFT', 250);
    expect(registry.pipelineOf('MSFT', 250)?.slot).toBe(slot);
    await nextTurn();
    await nextTurn();
    expect(b.frames).toEqual([]);
  });

  it('refuses holdings for a subscriber that is not attached', () => {
    const { hub } = setup();
    expect(() => hub.subscribe('ghost', 'AAPL', 250)).toThrow(/not attached/);
  });

  it('slices a large fan-out over event-loop turns, older batches first', async () => {
    const { hub, connect } = setup();
    hub.fanOutSlice = 2;
    const subs = Array.from({ length: 5 }, (_, i) => connect(`c${i}`, ['AAPL']));
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 1) }]);
    expect(subs.filter((s) => s.frames.length === 1)).toHaveLength(2);
    // A newer batch finishes the older one first, then starts itself.
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 2) }]);
    expect(subs.every((s) => s.frames.length >= 1)).toBe(true);
    await nextTurn();
    await nextTurn();
    for (const s of subs) expect(s.frames.map((f) => f[0].seq)).toEqual([1, 2]);
  });

  it('skips a subscriber over the backlog cap and cuts it off once it stays over it', () => {
    const { hub, metrics, connect } = setup();
    const slow = connect('slow', ['AAPL']);
    const ok = connect('ok', ['AAPL']);
    slow.pending = { packets: 10, bytes: 0 };
    const t0 = Date.now();
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 1) }]);
    expect(slow.frames).toEqual([]);
    expect(ok.frames).toHaveLength(1);
    expect(metrics.slowClientSkips).toBe(1);
    hub.sweep(t0 + 500);
    expect(slow.closed).toEqual([]);
    hub.sweep(t0 + 1500);
    expect(slow.closed).toEqual(['slow_client']);
    expect(ok.closed).toEqual([]);
  });

  it('forgives a subscriber that catches up within the grace period', () => {
    const { hub, connect } = setup();
    const slow = connect('slow', ['AAPL']);
    slow.pending = { packets: 0, bytes: 1_000_000_000 };
    const t0 = Date.now();
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 1) }]);
    slow.pending = { packets: 0, bytes: 0 };
    hub.sweep(t0 + 5000);
    expect(slow.closed).toEqual([]);
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 2) }]);
    expect(slow.frames.map((f) => f[0].seq)).toEqual([2]);
  });

  it('contains a subscriber whose send throws, at once or in a deferred slice: the others get their frame and it is counted', async () => {
    const { hub, metrics, connect } = setup();
    hub.fanOutSlice = 1;
    const broken = connect('broken', ['AAPL']);
    const fine = connect('fine', ['AAPL']);
    // Served in a later turn (setImmediate), where a throw would otherwise kill the process.
    const brokenLater = connect('broken-later', ['AAPL']);
    broken.failWith = new Error('socket exploded');
    brokenLater.failWith = new Error('socket exploded later');
    hub.publishBatch(250, [{ symbol: 'AAPL', quote: quote('AAPL', 1) }]);
    expect(metrics.fanOutErrors).toBe(1);
    expect(fine.frames).toEqual([]);
    await nextTurn();
    await nextTurn();
    expect(fine.frames.map((f) => f[0].seq)).toEqual([1]);
    expect(metrics.fanOutErrors).toBe(2);
    const text = await metrics.registry.getSingleMetricAsString('tickstream_fanout_errors_total');
    expect(text).toContain('tickstream_fanout_errors_total 2');
  });
});
