import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualFeed } from '../../test/support/ticks.js';
import { parseConfig } from '../config/app-config.js';
import { BadRequestException } from './wire-errors.js';
import { DEFAULT_INSTRUMENTS } from '../market/instruments.js';
import { MarketStateService } from '../market/market-state.service.js';
import { RecordingService } from '../market/record/recording.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  type ErrorCode,
  INTERVAL_TIERS_MS,
  type Quote,
  type SubscribeAck,
  type UnsubscribeAck,
} from '../shared/protocol.js';
import { StreamRegistry } from '../streaming/stream-registry.service.js';
import { ControlSessionService, type SessionState } from './control-session.service.js';
import type { Backlog, CloseReason, Subscriber } from './subscriber.js';
import { SubscriptionHub } from './subscription-hub.js';

/** The universe of these specs: five real instruments, nothing else exists. */
const UNIVERSE = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'SPY'];

/** A transport stand-in: records the frames the hub writes, never congested. */
class FakeSubscriber implements Subscriber {
  readonly frames: Quote[][] = [];
  readonly closed: CloseReason[] = [];

  constructor(readonly id: string) {}

  backlog(): Backlog {
    return { packets: 0, bytes: 0 };
  }

  isOverBacklog(): boolean {
    return false;
  }

  sendQuotes(pieces: readonly string[]): void {
    this.frames.push(pieces.map((p) => JSON.parse(p) as Quote));
  }

  close(reason: CloseReason): void {
    this.closed.push(reason);
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Narrows an ack to its success branch (fails the test otherwise). */
function okSubscribe(ack: SubscribeAck): Extract<SubscribeAck, { ok: true }> {
  if (!ack.ok) throw new Error(`expected ok, got ${JSON.stringify(ack)}`);
  return ack;
}

function okUnsubscribe(ack: UnsubscribeAck): Extract<UnsubscribeAck, { ok: true }> {
  if (!ack.ok) throw new Error(`expected ok, got ${JSON.stringify(ack)}`);
  return ack;
}

describe(ControlSessionService.name, () => {
  const teardown: Array<() => void> = [];

  /**
   * The real service on real collaborators: a ManualFeed (nothing trades
   * unless the test says so), the market state, a registry on virtual time
   * (no tier clock ever fires), the metrics and the hub.
   */
  function setup(env: Record<string, string> = {}) {
    const config = parseConfig({
      RATE_LIMIT_PER_SEC: '10',
      RATE_LIMIT_BURST: '5',
      RATE_LIMIT_DISCONNECT_AFTER: '20',
      MAX_SYMBOLS_PER_CLIENT: '3',
      ...env,
    });
    const feed = new ManualFeed(DEFAULT_INSTRUMENTS.filter((i) => UNIVERSE.includes(i.symbol)));
    const state = new MarketStateService(feed);
    const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
    const registry = new StreamRegistry(state, scheduler);
    const metrics = new MetricsService(state, registry, new RecordingService(config, feed));
    const hub = new SubscriptionHub(registry, metrics, config);
    const sessions = new ControlSessionService(hub, state, metrics, config);
    teardown.push(() => {
      hub.onModuleDestroy();
      registry.onModuleDestroy();
      metrics.onModuleDestroy();
      state.onModuleDestroy();
    });
    /** A connection as a transport opens one: subscriber attached, session opened at `now`. */
    const connect = (id: string, now = 0): { session: SessionState; sub: FakeSubscriber } => {
      const sub = new FakeSubscriber(id);
      hub.attach(sub);
      return { session: sessions.open(id, now), sub };
    };
    /**
     * Runs the registry's virtual clock `ms` further (its tier clocks tick), then
     * lets the hub finish anything it deferred to the next event-loop turn.
     */
    const advance = async (ms: number): Promise<void> => {
      const until = scheduler.now() + ms;
      scheduler.schedule(() => undefined, ms);
      scheduler.maxFrames = until;
      scheduler.flush();
      await nextTurn();
    };
    /** Value of `tickstream_rejected_requests_total{code}`. */
    const rejectedCount = async (code: ErrorCode): Promise<number> => {
      const { values } = await metrics.rejectedRequests.get();
      return values.find((v) => v.labels.code === code)?.value ?? 0;
    };
    return {
      config,
      feed,
      state,
      registry,
      metrics,
      hub,
      sessions,
      connect,
      advance,
      rejectedCount,
    };
  }

  afterEach(() => {
    for (const fn of teardown.splice(0)) fn();
    vi.restoreAllMocks();
  });

  describe('rate limit', () => {
    it('lets RATE_LIMIT_BURST messages through at once, then refuses with RATE_LIMITED', async () => {
      const { sessions, connect, rejectedCount } = setup();
      const { session } = connect('c1');
      const verdicts = Array.from({ length: 8 }, () => sessions.admit(session, 0));
      expect(verdicts.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => ({ ok: true })));
      for (const v of verdicts.slice(5)) {
        expect(v).toEqual({
          ok: false,
          error: { code: 'RATE_LIMITED', message: 'at most 10 messages per second (burst 5)' },
          disconnect: false,
        });
      }
      expect(await rejectedCount('RATE_LIMITED')).toBe(3);
    });

    it('refills at RATE_LIMIT_PER_SEC from the clock it is given (no timers)', () => {
      const { sessions, connect } = setup();
      const early = connect('early').session;
      const onTime = connect('on-time').session;
      for (const s of [early, onTime]) for (let i = 0; i < 5; i++) sessions.admit(s, 0);
      // 10 per second: one token every 100 ms.
      expect(sessions.admit(early, 99).ok).toBe(false);
      expect(sessions.admit(onTime, 100).ok).toBe(true);
      expect(sessions.admit(onTime, 100).ok).toBe(false);
      // A long pause refills the burst, never more.
      const verdicts = Array.from({ length: 7 }, () => sessions.admit(onTime, 60_000).ok);
      expect(verdicts.filter(Boolean)).toHaveLength(5);
    });

    it('starts each connection with its own full bucket, from the time it opened', () => {
      const { sessions, connect } = setup();
      const flooder = connect('flooder').session;
      for (let i = 0; i < 30; i++) sessions.admit(flooder, 1000);
      const late = connect('late', 1000).session;
      const verdicts = Array.from({ length: 5 }, () => sessions.admit(late, 1000).ok);
      expect(verdicts).toEqual([true, true, true, true, true]);
      expect(sessions.admit(late, 1000).ok).toBe(false);
    });

    it('asks for a disconnect after more than RATE_LIMIT_DISCONNECT_AFTER refusals in a row', async () => {
      const { sessions, connect, rejectedCount } = setup();
      const { session } = connect('abuser');
      for (let i = 0; i < 5; i++) sessions.admit(session, 0);
      for (let i = 1; i <= 20; i++) {
        const v = sessions.admit(session, i);
        expect(v, `refusal ${i}`).toMatchObject({ ok: false, disconnect: false });
      }
      expect(sessions.admit(session, 21)).toEqual({
        ok: false,
        error: { code: 'RATE_LIMITED', message: 'too many messages for too long: disconnecting' },
        disconnect: true,
      });
      expect(await rejectedCount('RATE_LIMITED')).toBe(21);
    });

    it('does not restart the count for what the refilling bucket lets through meanwhile', () => {
      const { sessions, connect } = setup();
      const { session } = connect('bursty');
      for (let i = 0; i < 5; i++) sessions.admit(session, 0);
      for (let i = 0; i < 15; i++) expect(sessions.admit(session, 0).ok).toBe(false);
      // A token refilled: this one passes, but the client has not backed off.
      expect(sessions.admit(session, 100).ok).toBe(true);
      for (let i = 0; i < 5; i++) {
        expect(sessions.admit(session, 100)).toMatchObject({ ok: false, disconnect: false });
      }
      expect(sessions.admit(session, 100)).toMatchObject({ ok: false, disconnect: true });
    });

    it('cuts off a flood at twice the sustained rate, while letting the refill through', () => {
      const { sessions, connect } = setup();
      const { session } = connect('eager');
      let passed = 0;
      let cutAt: number | undefined;
      // 20 messages per second against 10 per second: every other one is refused.
      for (let t = 0; t <= 60_000 && cutAt === undefined; t += 50) {
        const v = sessions.admit(session, t);
        if (v.ok) passed++;
        else if (v.disconnect) cutAt = t;
      }
      // The burst drains at half a token per message (~0.45 s), then one refusal every
      // 100 ms: the 21st comes ~2.45 s in, well within 10 s.
      expect(cutAt).toBeDefined();
      expect(cutAt).toBeGreaterThanOrEqual(2400);
      expect(cutAt).toBeLessThanOrEqual(2500);
      expect(passed).toBeGreaterThanOrEqual(5 + 20);
    });

    it('starts the count again after a pause of 500 ms between two refusals', () => {
      const { sessions, connect } = setup();
      const backedOff = connect('backed-off').session;
      const tooSoon = connect('too-soon').session;
      for (const s of [backedOff, tooSoon]) {
        for (let i = 0; i < 5; i++) sessions.admit(s, 0);
        for (let i = 0; i < 15; i++) sessions.admit(s, 0);
      }
      // 500 ms later: the bucket is full again, then refusals begin a new count.
      for (let i = 0; i < 5; i++) expect(sessions.admit(backedOff, 500).ok).toBe(true);
      for (let i = 0; i < 20; i++) {
        expect(sessions.admit(backedOff, 500)).toMatchObject({ ok: false, disconnect: false });
      }
      expect(sessions.admit(backedOff, 500)).toMatchObject({ ok: false, disconnect: true });
      // 499 ms later: not a pause, the count goes on (4 tokens refilled, 6 refusals to 21).
      for (let i = 0; i < 4; i++) expect(sessions.admit(tooSoon, 499).ok).toBe(true);
      for (let i = 0; i < 5; i++) {
        expect(sessions.admit(tooSoon, 499)).toMatchObject({ ok: false, disconnect: false });
      }
      expect(sessions.admit(tooSoon, 499)).toMatchObject({ ok: false, disconnect: true });
    });

    it('only counts the refusals of the last 10 s: a modest excess is throttled, not cut off', () => {
      // One refusal every 400 ms: 26 within any 10 s, under a limit of 50 ...
      const lenient = setup({ RATE_LIMIT_DISCONNECT_AFTER: '50' });
      // ... and over a limit of 20, reached 8.4 s in.
      const strict = setup();
      const a = lenient.connect('lenient').session;
      const b = strict.connect('strict').session;
      let refused = 0;
      let cutAt: number | undefined;
      for (let t = 0; t <= 60_000; t += 400) {
        // Five at a time: four refilled tokens pass, the fifth is refused.
        for (let i = 0; i < 5; i++) {
          const v = lenient.sessions.admit(a, t);
          if (!v.ok) {
            refused++;
            expect(v.disconnect, `lenient, at ${t} ms`).toBe(false);
          }
          const w = strict.sessions.admit(b, t);
          if (!w.ok && w.disconnect) cutAt ??= t;
        }
      }
      expect(refused).toBe(150);
      expect(cutAt).toBe(21 * 400);
    });
  });

  describe('payload validation', () => {
    const TOKEN = 'Xq7-EVIL-PAYLOAD-TOKEN';
    const badSubscribes: [string, unknown][] = [
      ['undefined', undefined],
      ['null', null],
      ['a string', TOKEN],
      ['a number', 42],
      ['an array', [{ symbols: ['AAPL'] }]],
      ['an object without symbols', { [TOKEN]: ['AAPL'] }],
      ['empty symbols', { symbols: [] }],
      ['symbols as a string', { symbols: TOKEN }],
      ['a non-string symbol', { symbols: ['AAPL', 7] }],
      ['a symbol that is not a ticker', { symbols: ['AAPL', `<${TOKEN}>`] }],
      ['an over-long symbol', { symbols: [TOKEN] }],
      ['a zero interval', { symbols: ['AAPL'], intervalMs: 0 }],
      ['a negative interval', { symbols: ['AAPL'], intervalMs: -250 }],
      ['a string interval', { symbols: ['AAPL'], intervalMs: TOKEN }],
      ['a NaN interval', { symbols: ['AAPL'], intervalMs: NaN }],
      ['an infinite interval', { symbols: ['AAPL'], intervalMs: Infinity }],
    ];

    it.each(badSubscribes)(
      'refuses a subscribe with %s: BAD_REQUEST, counted, nothing subscribed',
      async (_label, body) => {
        const { sessions, hub, connect, rejectedCount } = setup();
        const { session } = connect('c1');
        const ack = sessions.subscribe(session, body);
        expect(ack).toEqual({
          ok: false,
          error: { code: 'BAD_REQUEST', message: expect.any(String) as string },
        });
        if (!ack.ok) expect(ack.error.message).not.toContain(TOKEN);
        expect(hub.holdings('c1').size).toBe(0);
        expect(await rejectedCount('BAD_REQUEST')).toBe(1);
      },
    );

    it.each([
      ['null', null],
      ['a string', TOKEN],
      ['an array', ['AAPL']],
      ['empty symbols', { symbols: [] }],
      ['a symbol that is not a ticker', { symbols: [`${TOKEN}!`] }],
    ])('refuses an unsubscribe with %s: BAD_REQUEST, holdings untouched', async (_l, body) => {
      const { sessions, hub, connect, rejectedCount } = setup();
      const { session } = connect('c1');
      okSubscribe(sessions.subscribe(session, { symbols: ['AAPL'] }));
      const ack = sessions.unsubscribe(session, body);
      expect(ack).toEqual({
        ok: false,
        error: { code: 'BAD_REQUEST', message: expect.any(String) as string },
      });
      if (!ack.ok) expect(ack.error.message).not.toContain(TOKEN);
      expect([...hub.holdings('c1').keys()]).toEqual(['AAPL']);
      expect(await rejectedCount('BAD_REQUEST')).toBe(1);
    });

    it('answers any JSON body with a well-formed ack, never throwing and never INTERNAL', () => {
      const { sessions, hub, connect } = setup({ MAX_SYMBOLS_PER_CLIENT: '100' });
      const { session } = connect('fuzz');
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const body = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record(
          {
            symbols: fc.array(
              fc.oneof(fc.constantFrom(...UNIVERSE, 'aapl', ' msft ', 'NOPE'), fc.string()),
              { maxLength: 8 },
            ),
            intervalMs: fc.oneof(fc.double(), fc.integer(), fc.jsonValue({ maxDepth: 1 })),
          },
          { requiredKeys: ['symbols'] },
        ),
      );
      fc.assert(
        fc.property(fc.boolean(), body, (isSubscribe, payload) => {
          const ack = isSubscribe
            ? sessions.subscribe(session, payload)
            : sessions.unsubscribe(session, payload);
          if (!ack.ok) {
            expect(ack.error.code).toBe('BAD_REQUEST');
            return;
          }
          if ('intervalMs' in ack) expect(INTERVAL_TIERS_MS).toContain(ack.intervalMs);
          for (const symbol of hub.holdings('fuzz').keys()) expect(UNIVERSE).toContain(symbol);
        }),
        { numRuns: 500 },
      );
      expect(logged).not.toHaveBeenCalled();
    });
  });

  describe('subscribe', () => {
    it('upper-cases, trims and de-duplicates symbols, at the default tier', () => {
      const { sessions, hub, connect } = setup();
      const { session } = connect('c1');
      const ack = okSubscribe(
        sessions.subscribe(session, { symbols: ['aapl', ' AAPL ', 'msft', 'Msft', 'MSFT'] }),
      );
      expect(ack).toEqual({
        ok: true,
        intervalMs: 250,
        snapshot: [],
        rejected: [],
        epoch: 'epoch-1',
      });
      expect(hub.holdings('c1')).toEqual(
        new Map([
          ['AAPL', 250],
          ['MSFT', 250],
        ]),
      );
    });

    it('answers with a snapshot of every accepted symbol that has traded', () => {
      const { sessions, feed, connect } = setup();
      const { session } = connect('c1');
      feed.trade({ symbol: 'AAPL', price: 230.5, size: 300 });
      feed.trade({ symbol: 'AAPL', price: 231, size: 100 });
      feed.trade({ symbol: 'NVDA', price: 140 });
      const ack = okSubscribe(sessions.subscribe(session, { symbols: ['NVDA', 'MSFT', 'AAPL'] }));
      // MSFT has not traded yet: accepted, but nothing to show.
      expect(ack.snapshot.map((q) => q.symbol)).toEqual(['NVDA', 'AAPL']);
      const aapl = ack.snapshot[1];
      expect(aapl).toMatchObject({ symbol: 'AAPL', price: 231, seq: 2, volume: 400, high: 231 });
      expect(aapl.win).toEqual({ o: 231, h: 231, l: 231, v: 0, n: 0 });
      expect(ack.rejected).toEqual([]);
    });

    it("carries the feed's current epoch", () => {
      const { sessions, feed, connect } = setup();
      const { session } = connect('c1');
      expect(okSubscribe(sessions.subscribe(session, { symbols: ['AAPL'] })).epoch).toBe('epoch-1');
      feed.epoch = 'epoch-2';
      expect(okSubscribe(sessions.subscribe(session, { symbols: ['AAPL'] })).epoch).toBe('epoch-2');
    });

    it.each([
      [0.001, 100],
      [1, 100],
      [100, 100],
      [100.5, 250],
      [250, 250],
      [300, 500],
      [999.99, 1000],
      [1001, 2000],
      [2500, 5000],
      [5000, 5000],
      [5001, 5000],
      [1e308, 5000],
    ])('rounds intervalMs %d up to the %d ms tier, and holds the symbol there', (asked, tier) => {
      const { sessions, hub, connect } = setup();
      const { session } = connect('c1');
      const ack = okSubscribe(
        sessions.subscribe(session, { symbols: ['AAPL'], intervalMs: asked }),
      );
      expect(ack.intervalMs).toBe(tier);
      expect(hub.holdings('c1').get('AAPL')).toBe(tier);
    });

    it('uses DEFAULT_INTERVAL_MS (itself rounded to a tier) when none is asked', () => {
      const { sessions, hub, connect } = setup({ DEFAULT_INTERVAL_MS: '300' });
      const { session } = connect('c1');
      expect(okSubscribe(sessions.subscribe(session, { symbols: ['AAPL'] })).intervalMs).toBe(500);
      expect(hub.holdings('c1').get('AAPL')).toBe(500);
    });

    it('moves an already held symbol to the new tier', () => {
      const { sessions, hub, registry, connect } = setup();
      const { session } = connect('c1');
      okSubscribe(sessions.subscribe(session, { symbols: ['AAPL', 'MSFT'], intervalMs: 100 }));
      okSubscribe(sessions.subscribe(session, { symbols: ['AAPL'], intervalMs: 1000 }));
      expect(hub.holdings('c1')).toEqual(
        new Map([
          ['AAPL', 1000],
          ['MSFT', 100],
        ]),
      );
      expect(registry.subscriptionCount()).toBe(2);
      expect(registry.holdersOf('AAPL', 100)).toBeUndefined();
    });

    it('lists unknown symbols in `rejected` with UNKNOWN_SYMBOL and accepts the rest', async () => {
      const { sessions, hub, connect, rejectedCount } = setup();
      const { session } = connect('c1');
      const ack = okSubscribe(
        sessions.subscribe(session, { symbols: ['nope', 'AAPL', 'ZZZ.B', 'nope'] }),
      );
      expect(ack.rejected).toEqual([
        { symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' },
        { symbol: 'ZZZ.B', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' },
      ]);
      expect([...hub.holdings('c1').keys()]).toEqual(['AAPL']);
      // A partly refused subscribe is still a successful request.
      expect(await rejectedCount('BAD_REQUEST')).toBe(0);
    });

    it('answers ok with everything rejected when no symbol exists', () => {
      const { sessions, hub, connect } = setup();
      const { session } = connect('c1');
      const ack = okSubscribe(sessions.subscribe(session, { symbols: ['NOPE'] }));
      expect(ack.rejected).toEqual([
        { symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' },
      ]);
      expect(ack.snapshot).toEqual([]);
      expect(hub.holdings('c1').size).toBe(0);
    });

    it('refuses symbols past MAX_SYMBOLS_PER_CLIENT with LIMIT_EXCEEDED; held ones do not count twice', () => {
      const { sessions, hub, feed, connect } = setup();
      const { session } = connect('c1');
      feed.trade({ symbol: 'AAPL', price: 230 });
      feed.trade({ symbol: 'SPY', price: 560 });
      okSubscribe(sessions.subscribe(session, { symbols: ['AAPL', 'MSFT'] }));
      const ack = okSubscribe(
        sessions.subscribe(session, { symbols: ['NVDA', 'TSLA', 'AAPL', 'SPY', 'NOPE'] }),
      );
      const limit = { code: 'LIMIT_EXCEEDED', message: 'at most 3 symbols per connection' };
      expect(ack.rejected).toEqual([
        { symbol: 'TSLA', ...limit },
        { symbol: 'SPY', ...limit },
        { symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' },
      ]);
      // AAPL was already held: re-subscribing it is allowed at the limit, and snapshotted.
      expect(ack.snapshot.map((q) => q.symbol)).toEqual(['AAPL']);
      expect([...hub.holdings('c1').keys()].sort()).toEqual(['AAPL', 'MSFT', 'NVDA']);

      // Unsubscribing frees a slot.
      okUnsubscribe(sessions.unsubscribe(session, { symbols: ['MSFT'] }));
      const again = okSubscribe(sessions.subscribe(session, { symbols: ['TSLA', 'SPY'] }));
      expect(again.rejected).toEqual([{ symbol: 'SPY', ...limit }]);
      expect([...hub.holdings('c1').keys()].sort()).toEqual(['AAPL', 'NVDA', 'TSLA']);
    });

    it('does not count unknown symbols against the limit, and keeps the limit per connection', () => {
      const { sessions, hub, connect } = setup();
      const a = connect('a').session;
      const b = connect('b').session;
      const ack = okSubscribe(
        sessions.subscribe(a, { symbols: ['NOPE1', 'NOPE2', 'NOPE3', 'AAPL', 'MSFT', 'NVDA'] }),
      );
      expect(ack.rejected.map((r) => r.code)).toEqual([
        'UNKNOWN_SYMBOL',
        'UNKNOWN_SYMBOL',
        'UNKNOWN_SYMBOL',
      ]);
      expect(hub.holdings('a').size).toBe(3);
      expect(okSubscribe(sessions.subscribe(b, { symbols: UNIVERSE.slice(2) })).rejected).toEqual(
        [],
      );
      expect(hub.holdings('b').size).toBe(3);
    });

    it('makes the subscription live in the hub: the next trade reaches the subscriber', async () => {
      const { sessions, feed, connect, advance } = setup();
      const { session, sub } = connect('c1');
      const other = connect('c2');
      okSubscribe(sessions.subscribe(session, { symbols: ['aapl'], intervalMs: 100 }));
      feed.trade({ symbol: 'AAPL', price: 229 });
      feed.trade({ symbol: 'MSFT', price: 428 });
      await advance(200);
      expect(sub.frames.map((f) => f.map((q) => [q.symbol, q.price]))).toEqual([[['AAPL', 229]]]);
      expect(other.sub.frames).toEqual([]);
    });
  });

  describe('unsubscribe', () => {
    it('answers the symbols it dropped: upper-cased, de-duplicated, only those held', () => {
      const { sessions, hub, connect } = setup();
      const { session } = connect('c1');
      okSubscribe(sessions.subscribe(session, { symbols: ['AAPL', 'MSFT'] }));
      const ack = sessions.unsubscribe(session, { symbols: ['aapl', 'AAPL', 'NVDA', 'NOPE'] });
      expect(ack).toEqual({ ok: true, unsubscribed: ['AAPL'] });
      expect([...hub.holdings('c1').keys()]).toEqual(['MSFT']);
    });

    it('is a successful no-op for a client holding nothing', () => {
      const { sessions, connect } = setup();
      const { session } = connect('c1');
      expect(sessions.unsubscribe(session, { symbols: ['AAPL'] })).toEqual({
        ok: true,
        unsubscribed: [],
      });
    });

    it('stops the stream of what it dropped', async () => {
      const { sessions, feed, connect, advance } = setup();
      const { session, sub } = connect('c1');
      okSubscribe(sessions.subscribe(session, { symbols: ['AAPL', 'MSFT'], intervalMs: 100 }));
      okUnsubscribe(sessions.unsubscribe(session, { symbols: ['AAPL'] }));
      feed.trade({ symbol: 'AAPL', price: 229 });
      feed.trade({ symbol: 'MSFT', price: 428 });
      await advance(200);
      expect(sub.frames.map((f) => f.map((q) => q.symbol))).toEqual([['MSFT']]);
    });
  });

  describe('error mapping', () => {
    const SECRET = 'SECRET-connection-string-5d1e';

    it('turns an unexpected throw into INTERNAL without its message, logs it and counts it', async () => {
      const { sessions, state, connect, rejectedCount } = setup();
      const { session } = connect('c1');
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      vi.spyOn(state, 'snapshot').mockImplementation(() => {
        throw new Error(SECRET);
      });
      const ack = sessions.subscribe(session, { symbols: ['AAPL'] });
      expect(ack).toEqual({
        ok: false,
        error: { code: 'INTERNAL', message: 'Internal server error' },
      });
      expect(JSON.stringify(ack)).not.toContain(SECRET);
      expect(await rejectedCount('INTERNAL')).toBe(1);
      // The server's log has what the client does not: which client, and the cause.
      expect(logged).toHaveBeenCalledTimes(1);
      const [message, trace] = logged.mock.calls[0] as [string, string];
      expect(message).toContain('c1');
      expect(trace).toContain(SECRET);
    });

    it('maps a subscribe after the registry shut down to INTERNAL', () => {
      const { sessions, registry, connect } = setup();
      const { session } = connect('c1');
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      registry.onModuleDestroy();
      expect(sessions.subscribe(session, { symbols: ['AAPL'] })).toEqual({
        ok: false,
        error: { code: 'INTERNAL', message: 'Internal server error' },
      });
      expect(logged).toHaveBeenCalledTimes(1);
    });

    it('maps an unexpected throw in unsubscribe the same way', () => {
      const { sessions, hub, connect } = setup();
      const { session } = connect('c1');
      vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      vi.spyOn(hub, 'unsubscribe').mockImplementation(() => {
        throw new TypeError(SECRET);
      });
      const ack = sessions.unsubscribe(session, { symbols: ['AAPL'] });
      expect(ack).toEqual({
        ok: false,
        error: { code: 'INTERNAL', message: 'Internal server error' },
      });
    });

    it('passes a wire exception through as it is, without a log line', async () => {
      const { sessions, connect, rejectedCount } = setup();
      const { session } = connect('c1');
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      expect(sessions.reject(session, new BadRequestException('"x" must be y'))).toEqual({
        code: 'BAD_REQUEST',
        message: '"x" must be y',
      });
      expect(logged).not.toHaveBeenCalled();
      expect(await rejectedCount('BAD_REQUEST')).toBe(1);
    });

    it('maps a thrown non-Error to INTERNAL too, logging it as text', () => {
      const { sessions, connect } = setup();
      const { session } = connect('c1');
      const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      expect(sessions.reject(session, SECRET)).toEqual({
        code: 'INTERNAL',
        message: 'Internal server error',
      });
      expect(logged.mock.calls[0]?.[1]).toBe(SECRET);
    });
  });
});
