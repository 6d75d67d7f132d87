import fc from 'fast-check';
import {
  NEVER,
  Subject,
  VirtualAction,
  VirtualTimeScheduler,
  map,
  take,
  throttleTime,
  throwError,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import { TickSequence } from '../../test/support/ticks.js';
import type { Tick } from '../shared/market.js';
import { type Conflated, conflate } from './conflate.operator.js';
import { TierClock } from './tier-clock.js';

const ticks = new TickSequence('ACME');
const tick = (price: number, size = 100): Tick => ticks.next({ price, size });

/** What conflate must emit for `ticks` (in arrival order) as one emission. */
function aggregate(...ticks: Tick[]): Conflated {
  const prices = ticks.map((t) => t.price);
  return {
    last: ticks[ticks.length - 1],
    win: {
      o: prices[0],
      h: Math.max(...prices),
      l: Math.min(...prices),
      v: ticks.reduce((sum, t) => sum + t.size, 0),
      n: ticks.length,
    },
  };
}

function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

function virtualScheduler(): VirtualTimeScheduler {
  return new VirtualTimeScheduler(VirtualAction, Infinity);
}

/** A virtual scheduler whose clock reads `lag` ms ahead of its frames: timers look late. */
class LaggingScheduler extends VirtualTimeScheduler {
  lag = 0;
  constructor() {
    super(VirtualAction, Infinity);
    this.now = () => this.frame + this.lag;
  }
}

describe(conflate.name, () => {
  describe('marbles, on a real TierClock', () => {
    // In these, hot ticks are set up before the clock starts, so a tick and a
    // clock tick at the same frame run tick first: a tick on a grid time
    // belongs to the window that closes there. The clock runs while
    // subscribed, so each infinite case ends with an unsubscription marble.
    const a = tick(10, 100);
    const b = tick(12, 200);
    const c = tick(9, 300);
    const d = tick(11, 400);
    const e = tick(13, 500);
    const f = tick(8, 600);
    const g = tick(10.5, 700);
    const h = tick(10.25, 800);
    const values = { a, b, c, d, e, f, g, h };

    it("holds a quiet symbol's first tick until the next clock tick instead of emitting it at once", () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-a-------', values);
        const clock = new TierClock(5, ts);
        expectObservable(source.pipe(conflate(5, clock.ticks$, ts)), '^--------!').toBe('-----x', {
          x: aggregate(a),
        });
      });
    });

    it('emits a sustained burst once per window, on the grid, down to its last tick', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-abcdefgh-------', values);
        const clock = new TierClock(3, ts);
        expectObservable(source.pipe(conflate(3, clock.ticks$, ts)), '^---------------!').toBe(
          '---x--y--z',
          { x: aggregate(a, b, c), y: aggregate(d, e, f), z: aggregate(g, h) },
        );
      });
    });

    it('counts a tick arriving exactly on a grid time in the window closing there', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        // a lands on grid time 3 and leaves there; b, one frame later, waits for 6 with c.
        const source = hot('---ab-c-d------', values);
        const clock = new TierClock(3, ts);
        expectObservable(source.pipe(conflate(3, clock.ticks$, ts)), '^--------------!').toBe(
          '---x--y--z',
          { x: aggregate(a), y: aggregate(b, c), z: aggregate(d) },
        );
      });
    });

    it('sends each sparse tick at the next clock tick, however long the quiet spell before it', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-a--b-----c---d--', values);
        const clock = new TierClock(3, ts);
        expectObservable(source.pipe(conflate(3, clock.ticks$, ts)), '^----------------!').toBe(
          '---x--y-----z--w',
          { x: aggregate(a), y: aggregate(b), z: aggregate(c), w: aggregate(d) },
        );
      });
    });

    it('with a clock at windowMs/2, a tick after a quiet spell waits at most windowMs/2', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        // windowMs 6, clock every 3. a (1) leaves at 3. b (5) is within a window
        // of that emission, so it waits for 9 = 3 + 6 (4 ms), not for 6. c (16)
        // comes 7 after the last emission: quiet, it leaves at 18 (2 ms).
        const source = hot('-a---b----------c', values);
        const clock = new TierClock(3, ts);
        expectObservable(source.pipe(conflate(6, clock.ticks$, ts)), '^-------------------!').toBe(
          '---x-----y--------z',
          { x: aggregate(a), y: aggregate(b), z: aggregate(c) },
        );
      });
    });

    it('with a clock at windowMs/2, still emits a busy symbol only once per window', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        // windowMs 4, clock every 2: the clock ticks at 4 and 8 find something
        // pending but are only 2 after the last emission, so they pass.
        const source = hot('-abcdefgh------', values);
        const clock = new TierClock(2, ts);
        expectObservable(source.pipe(conflate(4, clock.ticks$, ts)), '^--------------!').toBe(
          '--x---y---z',
          { x: aggregate(a, b), y: aggregate(c, d, e, f), z: aggregate(g, h) },
        );
      });
    });

    it('flushes the pending aggregate when the source completes, and stops the clock', () => {
      const ts = testScheduler();
      const clock = new TierClock(10, ts);
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c|', values);
        expectObservable(source.pipe(conflate(10, clock.ticks$, ts))).toBe('------(y|)', {
          y: aggregate(a, b, c),
        });
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
      expect(clock.running).toBe(false);
    });

    it('flushes on completion even right after an emission: the one gap under windowMs', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-a----b|', values);
        const clock = new TierClock(5, ts);
        expectObservable(source.pipe(conflate(5, clock.ticks$, ts))).toBe('-----x-(y|)', {
          x: aggregate(a),
          y: aggregate(b),
        });
      });
    });

    it('completes without an extra emission when nothing is pending', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-a---|', values);
        const clock = new TierClock(2, ts);
        expectObservable(source.pipe(conflate(2, clock.ticks$, ts))).toBe('--x--|', {
          x: aggregate(a),
        });
      });
    });

    it('propagates errors and drops the pending aggregate', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        // windowMs 4, clock every 2: b (3) waits for 6 and is dropped by the error at 5.
        const source = hot('-a-b-#', values, new Error('feed down'));
        const clock = new TierClock(2, ts);
        expectObservable(source.pipe(conflate(4, clock.ticks$, ts))).toBe(
          '--x--#',
          { x: aggregate(a) },
          new Error('feed down'),
        );
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('stops emitting and releases source and clock when unsubscribed mid-window', () => {
      const ts = testScheduler();
      const clock = new TierClock(5, ts);
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c-d-e', values);
        expectObservable(source.pipe(conflate(5, clock.ticks$, ts)), '^-----!').toBe('-----x', {
          x: aggregate(a, b, c),
        });
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
      expect(clock.running).toBe(false);
    });

    it('shows throttleTime (default config) dropping the ticks conflate delivers', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-a-b-c-----', values);
        const clock = new TierClock(5, ts);
        expectObservable(source.pipe(throttleTime(5, ts))).toBe('-a', values);
        expectObservable(
          source.pipe(
            conflate(5, clock.ticks$, ts),
            map((x) => x.last),
          ),
          '^----------!',
        ).toBe('-----c', values);
      });
    });
  });

  describe('marbles, on a hand-driven clock', () => {
    // The clock's values are its nominal grid times; the source is declared
    // first, so at equal frames its ticks come before the clock's.
    const a = tick(10, 100);
    const b = tick(12, 200);
    const c = tick(9, 300);
    const d = tick(11, 400);
    const values = { a, b, c, d };

    it('emits only on a clock value at least windowMs after the last emission', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        // 7 is only 4 after the emission at 3: c waits for 11.
        const source = hot('-a-b-c-------', values);
        const clock = hot('---A---B---C-', { A: 3, B: 7, C: 11 });
        expectObservable(source.pipe(conflate(5, clock))).toBe('---x-------y', {
          x: aggregate(a, b),
          y: aggregate(c),
        });
      });
    });

    it('does not start a window on a clock value that finds nothing pending', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        // Had the empty tick at 2 counted as an emission, 6 would be too soon for a.
        const source = hot('---a', values);
        const clock = hot('--A---B', { A: 2, B: 6 });
        expectObservable(source.pipe(conflate(5, clock))).toBe('------x', { x: aggregate(a) });
      });
    });

    it('measures windows on the nominal time the clock reports, not when it arrived', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        // Grid times 5 and 10 arrive late, at 8 and 12: only 4 apart, but 10 is
        // windowMs after the emission at grid time 5, so d leaves there.
        const source = hot('-a-b-c---d', values);
        const clock = hot('--------F---T', { F: 5, T: 10 });
        expectObservable(source.pipe(conflate(5, clock))).toBe('--------x---y', {
          x: aggregate(a, b, c),
          y: aggregate(d),
        });
      });
    });

    it('propagates a clock error, dropping the pending aggregate and releasing the source', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-----', values);
        const clock = hot<number>('-----#', undefined, new Error('clock broke'));
        expectObservable(source.pipe(conflate(5, clock))).toBe(
          '-----#',
          undefined,
          new Error('clock broke'),
        );
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('flushes and completes when the clock completes: no window can close any more', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-----', values);
        const clock = hot<number>('-----|');
        expectObservable(source.pipe(conflate(5, clock))).toBe('-----(y|)', {
          y: aggregate(a, b),
        });
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('never subscribes to the source when the clock fails on subscribe', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-', values);
        expectObservable(
          source.pipe(
            conflate(
              5,
              throwError(() => new Error('no clock')),
            ),
          ),
        ).toBe('#', undefined, new Error('no clock'));
        expectSubscriptions(source.subscriptions).toBe([]);
      });
    });
  });

  describe('scheduling and re-entrancy', () => {
    it('never emits in the turn a tick arrives, only when the clock ticks', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const source = new Subject<Tick>();
      const out: Array<{ at: number; n: number }> = [];
      const sub = source
        .pipe(conflate(100, clock.ticks$, scheduler))
        .subscribe((x) => out.push({ at: scheduler.now(), n: x.win.n }));
      source.next(tick(1));
      expect(out).toEqual([]);
      scheduler.schedule(() => {
        source.next(tick(2));
        expect(out).toHaveLength(1);
      }, 350);
      scheduler.maxFrames = 500;
      scheduler.flush();
      sub.unsubscribe();
      expect(out).toEqual([
        { at: 100, n: 1 },
        { at: 400, n: 1 },
      ]);
    });

    it('leaves no scheduled action and releases source and clock on unsubscribe', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const source = new Subject<Tick>();
      const sub = source.pipe(conflate(100, clock.ticks$, scheduler)).subscribe();
      source.next(tick(1));
      source.next(tick(2));
      // The one action is the tier clock, not a timer per pipeline or per tick.
      expect(scheduler.actions).toHaveLength(1);
      sub.unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
      expect(source.observed).toBe(false);
      expect(clock.running).toBe(false);
    });

    it('leaves no scheduled action when unsubscribed in the middle of a long burst', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      for (let t = 0; t < 450; t += 10) scheduler.schedule(() => source.next(tick(t)), t);
      const sub = source.pipe(conflate(100, clock.ticks$, scheduler)).subscribe((x) => out.push(x));
      scheduler.schedule(() => sub.unsubscribe(), 455);
      scheduler.flush();
      expect(scheduler.actions).toHaveLength(0);
      expect(scheduler.now()).toBe(455);
      // 0…100 close at 100 (a tick on the grid time belongs to the window closing there);
      // 410…440 were pending when it was cut.
      expect(out.map((x) => x.win.n)).toEqual([11, 10, 10, 10]);
    });

    it('shares one clock action between many pipelines, one emission each per window', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const sources = Array.from({ length: 50 }, () => new Subject<Tick>());
      const out: number[] = [];
      const counted = new Array<number>(50).fill(0);
      const subs = sources.map((s, i) =>
        s.pipe(conflate(100, clock.ticks$, scheduler)).subscribe((x) => {
          out.push(i);
          counted[i] += x.win.n;
        }),
      );
      for (let t = 0; t < 1000; t += 5) {
        scheduler.schedule(() => sources.forEach((s, i) => s.next(tick(100 + i))), t);
      }
      expect(scheduler.actions).toHaveLength(201);
      scheduler.maxFrames = 1000;
      scheduler.flush();
      // Each pipeline: one emission at each of 100…1000, nothing at once.
      expect(out).toHaveLength(50 * 10);
      expect(counted).toEqual(new Array<number>(50).fill(200));
      expect(scheduler.actions).toHaveLength(1);
      for (const s of subs) s.unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
    });

    it('puts a tick pushed from downstream during an emission into the next window', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(10, scheduler);
      const source = new Subject<Tick>();
      const out: Array<{ at: number; x: Conflated }> = [];
      const [t1, t2, echo] = [tick(1), tick(2), tick(3)];
      const sub = source.pipe(conflate(10, clock.ticks$, scheduler)).subscribe((x) => {
        out.push({ at: scheduler.now(), x });
        if (out.length === 1) source.next(echo);
      });
      source.next(t1);
      scheduler.schedule(() => source.next(t2), 5);
      scheduler.maxFrames = 30;
      scheduler.flush();
      sub.unsubscribe();
      expect(out).toEqual([
        { at: 10, x: aggregate(t1, t2) },
        { at: 20, x: aggregate(echo) },
      ]);
    });

    it('keeps a tick pushed from downstream a whole window away on a half-window clock', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(5, scheduler);
      const source = new Subject<Tick>();
      const out: Array<{ at: number; x: Conflated }> = [];
      const [first, echo] = [tick(4), tick(5)];
      const sub = source.pipe(conflate(10, clock.ticks$, scheduler)).subscribe((x) => {
        out.push({ at: scheduler.now(), x });
        if (out.length === 1) source.next(echo);
      });
      source.next(first);
      scheduler.maxFrames = 30;
      scheduler.flush();
      sub.unsubscribe();
      // The echo arrives at 5, the same instant as the emission: 10 is too soon, 15 is not.
      expect(out).toEqual([
        { at: 5, x: aggregate(first) },
        { at: 15, x: aggregate(echo) },
      ]);
    });

    it('stops at once when downstream unsubscribes from inside an emission', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(10, scheduler);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      const [t1, t2] = [tick(1), tick(2)];
      source.pipe(conflate(10, clock.ticks$, scheduler), take(1)).subscribe((x) => out.push(x));
      source.next(t1);
      source.next(t2);
      // flush would never end while the clock ran.
      scheduler.flush();
      expect(out).toEqual([aggregate(t1, t2)]);
      expect(scheduler.now()).toBe(10);
      expect(scheduler.actions).toHaveLength(0);
      expect(source.observed).toBe(false);
      expect(clock.running).toBe(false);
    });

    it('stops the clock when the last pipeline unsubscribes from inside its second emission', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(10, scheduler);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      source.pipe(conflate(10, clock.ticks$, scheduler), take(2)).subscribe((x) => out.push(x));
      source.next(tick(1));
      scheduler.schedule(() => source.next(tick(2)), 15);
      scheduler.flush();
      expect(out.map((x) => x.win.n)).toEqual([1, 1]);
      expect(scheduler.now()).toBe(20);
      expect(scheduler.actions).toHaveLength(0);
      expect(source.observed).toBe(false);
    });

    it('measures the window from the grid time a late clock reports, not from when it fired', () => {
      const scheduler = new LaggingScheduler();
      const clock = new TierClock(100, scheduler);
      const source = new Subject<Tick>();
      const out: Array<{ now: number; n: number }> = [];
      const sub = source
        .pipe(conflate(100, clock.ticks$, scheduler))
        .subscribe((x) => out.push({ now: scheduler.now(), n: x.win.n }));
      scheduler.schedule(() => source.next(tick(1)), 0);
      scheduler.schedule(() => source.next(tick(2)), 50);
      // The loop blocks for 250 ms: the timer due at 100 fires at 350, as grid time 300.
      scheduler.schedule(() => (scheduler.lag = 250), 60);
      scheduler.schedule(() => source.next(tick(3)), 110);
      scheduler.schedule(() => sub.unsubscribe(), 1000);
      scheduler.flush();
      // The tick at 360 leaves at grid time 400, one window after grid time 300;
      // measured from the late firing (350) it would have waited for 500.
      expect(out).toEqual([
        { now: 350, n: 2 },
        { now: 400, n: 1 },
      ]);
      expect(scheduler.actions).toHaveLength(0);
    });

    it('keeps one real timer per tier on the default scheduler and clears it after', () => {
      vi.useFakeTimers({ now: 0 });
      try {
        const clock = new TierClock(100);
        const sources = [new Subject<Tick>(), new Subject<Tick>(), new Subject<Tick>()];
        const out: Array<{ at: number; n: number }> = [];
        const subs = sources.map((s) =>
          s
            .pipe(conflate(100, clock.ticks$))
            .subscribe((x) => out.push({ at: Date.now(), n: x.win.n })),
        );
        expect(vi.getTimerCount()).toBe(1);
        for (let i = 0; i < 5; i++) {
          for (const s of sources) s.next(tick(2 + i));
          vi.advanceTimersByTime(50);
          expect(vi.getTimerCount()).toBe(1);
        }
        // Ticks at 0, 50 | 100, 150 | 200 (still pending at 250).
        expect(out).toEqual([
          ...new Array<{ at: number; n: number }>(3).fill({ at: 100, n: 2 }),
          ...new Array<{ at: number; n: number }>(3).fill({ at: 200, n: 2 }),
        ]);
        for (const s of subs) s.unsubscribe();
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    });

    it('rejects a window that is not a finite positive number', () => {
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => conflate(bad, NEVER)).toThrow(RangeError);
      }
    });
  });

  describe('properties, on virtual time with a real TierClock', () => {
    interface Timed {
      at: number;
      tick: Tick;
    }
    interface Emission {
      at: number;
      value: Conflated;
    }
    /** Ticks and emissions in the order they happened (same-time order matters). */
    type LogEntry = { kind: 'tick'; i: number } | { kind: 'emit'; k: number };

    interface Schedule {
      windowMs: number;
      /** The clock's period: windowMs / framesPerWindow, a whole number of ms. */
      periodMs: number;
      ticks: Timed[];
    }

    /**
     * Arbitrary tick schedules on a clock ticking 1 to 4 times per window:
     * gaps from 0 (same instant) to several windows.
     */
    const schedules: fc.Arbitrary<Schedule> = fc
      .record({ periodMs: fc.integer({ min: 1, max: 25 }), k: fc.integer({ min: 1, max: 4 }) })
      .chain(({ periodMs, k }) => {
        const windowMs = periodMs * k;
        return fc.record({
          windowMs: fc.constant(windowMs),
          periodMs: fc.constant(periodMs),
          steps: fc.array(
            fc.record({
              gap: fc.oneof(
                fc.constant(0),
                fc.integer({ min: 0, max: windowMs }),
                fc.integer({ min: 0, max: 4 * windowMs }),
              ),
              price: fc.double({ min: 0.01, max: 10_000, noNaN: true }),
              size: fc.integer({ min: 1, max: 10_000 }),
            }),
            { minLength: 1, maxLength: 120 },
          ),
        });
      })
      .map(({ windowMs, periodMs, steps }) => {
        let at = 0;
        const ticks: Timed[] = steps.map((s, i) => {
          at += s.gap;
          return {
            at,
            tick: {
              symbol: 'P',
              seq: i + 1,
              ts: at,
              price: s.price,
              bid: s.price,
              ask: s.price,
              size: s.size,
            },
          };
        });
        return { windowMs, periodMs, ticks };
      });

    /**
     * Plays the ticks into conflate on a TierClock of `periodMs`. Ends by
     * completing the source at `completeAt` if given, else by unsubscribing
     * 3 windows after the last tick (the clock would otherwise run forever).
     * Fails if an emission happens in the same turn as a tick's arrival.
     */
    function play({ windowMs, periodMs, ticks }: Schedule, completeAt?: number) {
      const scheduler = virtualScheduler();
      const clock = new TierClock(periodMs, scheduler);
      const source = new Subject<Tick>();
      const events: LogEntry[] = [];
      const emissions: Emission[] = [];
      let immediate = 0;
      ticks.forEach(({ at, tick: t }, i) =>
        scheduler.schedule(() => {
          events.push({ kind: 'tick', i });
          const before = emissions.length;
          source.next(t);
          immediate += emissions.length - before;
        }, at),
      );
      if (completeAt !== undefined) scheduler.schedule(() => source.complete(), completeAt);
      let completedAt: number | undefined;
      const sub = source.pipe(conflate(windowMs, clock.ticks$, scheduler)).subscribe({
        next: (value) => {
          events.push({ kind: 'emit', k: emissions.length });
          emissions.push({ at: scheduler.now(), value });
        },
        complete: () => (completedAt = scheduler.now()),
      });
      if (completeAt === undefined) {
        scheduler.schedule(() => sub.unsubscribe(), ticks[ticks.length - 1].at + 3 * windowMs);
      }
      scheduler.flush();
      expect(immediate).toBe(0);
      return { emissions, events, completedAt, leftover: scheduler.actions.length };
    }

    /** Splits the ticks into the runs each emission stands for (emissions keep tick order). */
    function coveredTicks(ticks: Timed[], emissions: Emission[]): Timed[][] {
      const runs: Timed[][] = [];
      let i = 0;
      for (const { value } of emissions) {
        const run: Timed[] = [];
        while (i < ticks.length && ticks[i].tick.seq <= value.last.seq) run.push(ticks[i++]);
        runs.push(run);
      }
      return runs;
    }

    /** For each tick, the emission that happened last before it arrived, if any. */
    function emissionBefore(events: LogEntry[], emissions: Emission[], count: number) {
      const before: Array<Emission | undefined> = new Array<Emission | undefined>(count);
      let latest: Emission | undefined;
      for (const ev of events) {
        if (ev.kind === 'emit') latest = emissions[ev.k];
        else before[ev.i] = latest;
      }
      return before;
    }

    /**
     * The contract, written as plainly as possible: on each grid time g (the
     * clock starts at 0, so the first is `periodMs`), the ticks that arrived up
     * to g join the pending ones, which leave if g is ≥ windowMs after the
     * previous emission.
     */
    function model({ windowMs, periodMs, ticks }: Schedule): Array<{ at: number; n: number }> {
      const out: Array<{ at: number; n: number }> = [];
      let lastEmitAt = Number.NEGATIVE_INFINITY;
      let pending = 0;
      let i = 0;
      for (let g = periodMs; i < ticks.length || pending > 0; g += periodMs) {
        while (i < ticks.length && ticks[i].at <= g) {
          pending++;
          i++;
        }
        if (pending > 0 && g - lastEmitAt >= windowMs) {
          out.push({ at: g, n: pending });
          pending = 0;
          lastEmitAt = g;
        }
      }
      return out;
    }

    it('matches the reference model: pending ticks leave on the first clock tick ≥ windowMs after the last emission', () => {
      fc.assert(
        fc.property(schedules, (schedule) => {
          const { emissions } = play(schedule);
          expect(emissions.map((e) => ({ at: e.at, n: e.value.win.n }))).toEqual(model(schedule));
        }),
      );
    });

    it('never emits two updates closer than windowMs', () => {
      fc.assert(
        fc.property(schedules, (schedule) => {
          const { emissions } = play(schedule);
          for (let k = 1; k < emissions.length; k++) {
            expect(emissions[k].at - emissions[k - 1].at).toBeGreaterThanOrEqual(schedule.windowMs);
          }
        }),
      );
    });

    it('counts every tick in exactly one emission: Σn and Σv conserved, o/h/l/last exact', () => {
      fc.assert(
        fc.property(schedules, (schedule) => {
          const { ticks } = schedule;
          const { emissions } = play(schedule);
          expect(emissions.reduce((sum, e) => sum + e.value.win.n, 0)).toBe(ticks.length);
          expect(emissions.reduce((sum, e) => sum + e.value.win.v, 0)).toBe(
            ticks.reduce((sum, t) => sum + t.tick.size, 0),
          );
          const runs = coveredTicks(ticks, emissions);
          expect(runs.flat()).toHaveLength(ticks.length);
          emissions.forEach((e, k) => {
            expect(runs[k].length).toBeGreaterThan(0);
            expect(e.value).toEqual(aggregate(...runs[k].map((r) => r.tick)));
          });
        }),
      );
    });

    it('emits only on grid times, never before a tick it stands for arrived', () => {
      fc.assert(
        fc.property(schedules, (schedule) => {
          const { emissions } = play(schedule);
          const runs = coveredTicks(schedule.ticks, emissions);
          emissions.forEach((e, k) => {
            expect(e.at % schedule.periodMs).toBe(0);
            expect(e.at).toBeGreaterThanOrEqual(runs[k][runs[k].length - 1].at);
          });
        }),
      );
    });

    it('delivers every tick within windowMs, and a tick after a quiet spell within one clock period', () => {
      // "Quiet": the tick arrived ≥ windowMs after the previous emission (or before any).
      // The clock starts at 0 but first ticks at periodMs (TierClock never ticks on
      // the instant it starts), so a tick at 0 waits a whole period: ≤, not <.
      fc.assert(
        fc.property(schedules, (schedule) => {
          const { windowMs, periodMs, ticks } = schedule;
          const { emissions, events } = play(schedule);
          const runs = coveredTicks(ticks, emissions);
          const before = emissionBefore(events, emissions, ticks.length);
          const index = new Map<Tick, number>(ticks.map((t, i) => [t.tick, i]));
          emissions.forEach((e, k) => {
            for (const r of runs[k]) {
              const latency = e.at - r.at;
              expect(latency).toBeGreaterThanOrEqual(0);
              expect(latency).toBeLessThanOrEqual(windowMs);
              if (r.at > 0) expect(latency).toBeLessThan(windowMs);
              const previous = before[index.get(r.tick)!];
              if (previous === undefined || r.at - previous.at >= windowMs) {
                expect(latency).toBeLessThanOrEqual(periodMs);
                if (r.at > 0) expect(latency).toBeLessThan(periodMs);
              }
            }
          });
        }),
      );
    });

    it('emits a busy symbol exactly once per window: windowMs after the last emission when a tick was pending then', () => {
      fc.assert(
        fc.property(schedules, (schedule) => {
          const { windowMs } = schedule;
          const { emissions } = play(schedule);
          const runs = coveredTicks(schedule.ticks, emissions);
          for (let k = 1; k < emissions.length; k++) {
            const due = emissions[k - 1].at + windowMs;
            if (runs[k][0].at <= due) expect(emissions[k].at).toBe(due);
            else expect(emissions[k].at).toBeGreaterThan(due);
          }
        }),
      );
    });

    it('always delivers the final tick of a burst (one followed by > windowMs of silence)', () => {
      fc.assert(
        fc.property(schedules, (schedule) => {
          const { windowMs, ticks } = schedule;
          const { emissions } = play(schedule);
          const lasts = new Set(emissions.map((e) => e.value.last));
          ticks.forEach(({ at, tick: t }, i) => {
            const next = ticks[i + 1];
            if (next === undefined || next.at - at > windowMs) expect(lasts.has(t)).toBe(true);
          });
          expect(emissions.at(-1)?.value.last).toBe(ticks.at(-1)?.tick);
        }),
      );
    });

    it('flushes on completion, then completes, with no scheduled action left behind', () => {
      fc.assert(
        fc.property(schedules, fc.integer({ min: 0, max: 100 }), (schedule, extra) => {
          const { ticks } = schedule;
          const completeAt = ticks[ticks.length - 1].at + extra;
          const { emissions, completedAt, leftover } = play(schedule, completeAt);
          expect(completedAt).toBe(completeAt);
          expect(leftover).toBe(0);
          expect(emissions.at(-1)?.value.last).toBe(ticks.at(-1)?.tick);
          expect(emissions.reduce((sum, e) => sum + e.value.win.n, 0)).toBe(ticks.length);
          // Only the flush may come sooner than windowMs after the emission before it.
          for (let k = 1; k < emissions.length - 1; k++) {
            expect(emissions[k].at - emissions[k - 1].at).toBeGreaterThanOrEqual(schedule.windowMs);
          }
        }),
      );
    });

    it('leaves no scheduled action after unsubscribing at any moment', () => {
      fc.assert(
        fc.property(schedules, fc.integer({ min: 0, max: 400 }), (schedule, cut) => {
          const { windowMs, periodMs, ticks } = schedule;
          const scheduler = virtualScheduler();
          const clock = new TierClock(periodMs, scheduler);
          const source = new Subject<Tick>();
          for (const { at, tick: t } of ticks) scheduler.schedule(() => source.next(t), at);
          const sub = source.pipe(conflate(windowMs, clock.ticks$, scheduler)).subscribe();
          // Half a frame off the integer times, so nothing ties with the cut.
          const unsubscribeAt = cut + 0.5;
          let leftAfterCut = -1;
          scheduler.schedule(() => {
            sub.unsubscribe();
            leftAfterCut = scheduler.actions.length;
          }, unsubscribeAt);
          scheduler.flush();
          expect(leftAfterCut).toBe(ticks.filter((t) => t.at > unsubscribeAt).length);
          expect(clock.running).toBe(false);
        }),
      );
    });

    it('delivers the last tick of a burst that throttleTime (default config) drops', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 100 }),
          fc.integer({ min: 0, max: 1000 }),
          fc.array(fc.double({ min: 0.01, max: 10_000, noNaN: true }), {
            minLength: 2,
            maxLength: 20,
          }),
          (windowMs, start, prices) => {
            // The whole burst fits strictly inside one window after its first tick.
            const ticks: Timed[] = prices.map((price, i) => ({
              at: start + Math.floor((i * (windowMs - 1)) / prices.length),
              tick: { symbol: 'T', seq: i + 1, ts: i, price, bid: price, ask: price, size: 1 },
            }));
            const last = ticks[ticks.length - 1].tick;

            const scheduler = virtualScheduler();
            const clock = new TierClock(windowMs, scheduler);
            const source = new Subject<Tick>();
            for (const { at, tick: t } of ticks) scheduler.schedule(() => source.next(t), at);
            const throttled: Tick[] = [];
            const conflated: Conflated[] = [];
            source.pipe(throttleTime(windowMs, scheduler)).subscribe((t) => throttled.push(t));
            const sub = source
              .pipe(conflate(windowMs, clock.ticks$, scheduler))
              .subscribe((c) => conflated.push(c));
            scheduler.schedule(() => sub.unsubscribe(), start + 3 * windowMs);
            scheduler.flush();

            expect(throttled).toEqual([ticks[0].tick]);
            expect(throttled).not.toContain(last);
            // The burst straddles at most one grid time: one or two emissions, the last one last.
            expect(conflated.length).toBeGreaterThanOrEqual(1);
            expect(conflated.length).toBeLessThanOrEqual(2);
            expect(conflated.at(-1)?.last).toBe(last);
            expect(conflated.reduce((sum, c) => sum + c.win.n, 0)).toBe(prices.length);
          },
        ),
      );
    });
  });
});
