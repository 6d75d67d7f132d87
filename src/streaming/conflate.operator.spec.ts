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

/** What conflate must emit for `ticks` (in arrival order) as one trailing emission. */
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
    edge: 'trailing',
  };
}

/** What conflate emits for a tick after a quiet window: at once, alone. */
function leading(tick: Tick): Conflated {
  return { ...aggregate(tick), edge: 'leading' };
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

    it('emits the first tick after a quiet period at once, as a window of one', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-a-------', values);
        const clock = new TierClock(5, ts);
        expectObservable(source.pipe(conflate(5, clock.ticks$, ts)), '^--------!').toBe('-x', {
          x: leading(a),
        });
      });
    });

    it('emits what was held back on the first grid time ≥ windowMs after the leading edge', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-a-b-c------', values);
        const clock = new TierClock(5, ts);
        // Grid 5 is only 4 after the leading edge at 1: the first window runs to 10.
        expectObservable(source.pipe(conflate(5, clock.ticks$, ts)), '^-----------!').toBe(
          '-x--------y',
          { x: leading(a), y: aggregate(b, c) },
        );
      });
    });

    it('emits once per grid window through a sustained burst and delivers its last tick', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-abcdefgh-------', values);
        const clock = new TierClock(3, ts);
        expectObservable(source.pipe(conflate(3, clock.ticks$, ts)), '^---------------!').toBe(
          '-x----y--z',
          { x: leading(a), y: aggregate(b, c, d, e, f), z: aggregate(g, h) },
        );
      });
    });

    it('counts a tick arriving exactly on a grid time in the window closing there', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        // a leads on the grid (3), so the very next grid time closes its window.
        const source = hot('---abcdefgh-----', values);
        const clock = new TierClock(3, ts);
        expectObservable(source.pipe(conflate(3, clock.ticks$, ts)), '^---------------!').toBe(
          '---x--y--z--w',
          { x: leading(a), y: aggregate(b, c, d), z: aggregate(e, f, g), w: aggregate(h) },
        );
      });
    });

    it('closes an empty window, so a tick windowMs after the last emission leads again', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        // b trails at 6; nothing follows until c at 9 = 6 + windowMs: a leading edge.
        const source = hot('-a-b-----c---d--', values);
        const clock = new TierClock(3, ts);
        expectObservable(source.pipe(conflate(3, clock.ticks$, ts)), '^---------------!').toBe(
          '-x----y--z---v',
          { x: leading(a), y: aggregate(b), z: leading(c), v: leading(d) },
        );
      });
    });

    it('flushes the pending aggregate when the source completes, and stops the clock', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c|', values);
        const clock = new TierClock(10, ts);
        expectObservable(source.pipe(conflate(10, clock.ticks$, ts))).toBe('-x----(y|)', {
          x: leading(a),
          y: aggregate(b, c),
        });
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
    });

    it('completes without an extra emission when nothing is pending', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const source = hot('-a---|', values);
        const clock = new TierClock(2, ts);
        expectObservable(source.pipe(conflate(2, clock.ticks$, ts))).toBe('-x---|', {
          x: leading(a),
        });
      });
    });

    it('propagates errors and drops the pending aggregate', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b#', values, new Error('feed down'));
        const clock = new TierClock(5, ts);
        expectObservable(source.pipe(conflate(5, clock.ticks$, ts))).toBe(
          '-x--#',
          { x: leading(a) },
          new Error('feed down'),
        );
        expectSubscriptions(source.subscriptions).toBe('^---!');
      });
    });

    it('stops emitting and releases the source when unsubscribed mid-window', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c-d-e', values);
        const clock = new TierClock(5, ts);
        expectObservable(source.pipe(conflate(5, clock.ticks$, ts)), '^--!').toBe('-x-', {
          x: leading(a),
        });
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('shows throttleTime (default config) dropping the trailing tick conflate delivers', () => {
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
        ).toBe('-a--------c', values);
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

    it('closes a window only on a clock value at least windowMs after the last emission', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        const source = hot('-a-b-c-------', values);
        const clock = hot('---A---B---C-', { A: 3, B: 7, C: 11 });
        expectObservable(source.pipe(conflate(5, clock))).toBe('-x-----y', {
          x: leading(a),
          y: aggregate(b, c),
        });
      });
    });

    it('measures windows on the nominal time the clock reports, not when it arrived', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        // Grid times 5 and 10 each arrive late (at 8 and 12). 5 is only 4 after the
        // leading edge: no emission. 10 closes the window, and d at 15 is 5 after
        // grid time 10, so it leads (3 after the arrival at 12 would not).
        const source = hot('-a-b-c---------d', values);
        const clock = hot('--------F---T', { F: 5, T: 10 });
        expectObservable(source.pipe(conflate(5, clock))).toBe('-x----------y--z', {
          x: leading(a),
          y: aggregate(b, c),
          z: leading(d),
        });
      });
    });

    it('propagates a clock error, dropping the pending aggregate and releasing the source', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-----', values);
        const clock = hot<number>('-----#', undefined, new Error('clock broke'));
        expectObservable(source.pipe(conflate(5, clock))).toBe(
          '-x---#',
          { x: leading(a) },
          new Error('clock broke'),
        );
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('flushes and completes when the clock completes: no window can close any more', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-----', values);
        const clock = hot<number>('-----|');
        expectObservable(source.pipe(conflate(5, clock))).toBe('-x---(y|)', {
          x: leading(a),
          y: aggregate(b),
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
      expect(out.map((x) => x.win.n)).toEqual([1, 10, 10, 10, 10]);
    });

    it('shares one clock action between many pipelines, one call each per tick', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const sources = Array.from({ length: 50 }, () => new Subject<Tick>());
      const out: number[] = [];
      const subs = sources.map((s, i) =>
        s.pipe(conflate(100, clock.ticks$, scheduler)).subscribe(() => out.push(i)),
      );
      for (let t = 0; t < 1000; t += 5) {
        scheduler.schedule(() => sources.forEach((s, i) => s.next(tick(100 + i))), t);
      }
      expect(scheduler.actions).toHaveLength(201);
      scheduler.maxFrames = 1000;
      scheduler.flush();
      // Each pipeline: the leading edge at 0, then one trailing edge at each of 100…1000.
      expect(out).toHaveLength(50 * 11);
      expect(scheduler.actions).toHaveLength(1);
      for (const s of subs) s.unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
    });

    it('puts a tick pushed from downstream during a leading edge into the next window', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(10, scheduler);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      const first = tick(4);
      const echo = tick(5);
      const sub = source.pipe(conflate(10, clock.ticks$, scheduler)).subscribe((x) => {
        out.push(x);
        if (out.length === 1) source.next(echo);
      });
      source.next(first);
      expect(out).toEqual([leading(first)]);
      scheduler.maxFrames = 10;
      scheduler.flush();
      sub.unsubscribe();
      expect(out).toEqual([leading(first), aggregate(echo)]);
    });

    it('puts a tick pushed from downstream during a trailing edge into the next window', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(10, scheduler);
      const source = new Subject<Tick>();
      const out: Array<{ at: number; x: Conflated }> = [];
      const [t1, t2, echo] = [tick(1), tick(2), tick(3)];
      const sub = source.pipe(conflate(10, clock.ticks$, scheduler)).subscribe((x) => {
        out.push({ at: scheduler.now(), x });
        if (out.length === 2) source.next(echo);
      });
      source.next(t1);
      scheduler.schedule(() => source.next(t2), 5);
      scheduler.maxFrames = 30;
      scheduler.flush();
      sub.unsubscribe();
      expect(out).toEqual([
        { at: 0, x: leading(t1) },
        { at: 10, x: aggregate(t2) },
        { at: 20, x: aggregate(echo) },
      ]);
    });

    it('stops at once when downstream unsubscribes from inside a leading edge', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(10, scheduler);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      source.pipe(conflate(10, clock.ticks$, scheduler), take(1)).subscribe((x) => out.push(x));
      source.next(tick(1));
      source.next(tick(2));
      expect(out).toHaveLength(1);
      expect(scheduler.actions).toHaveLength(0);
      expect(source.observed).toBe(false);
    });

    it('stops the clock when the last pipeline unsubscribes from inside a trailing edge', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(10, scheduler);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      source.pipe(conflate(10, clock.ticks$, scheduler), take(2)).subscribe((x) => out.push(x));
      source.next(tick(1));
      source.next(tick(2));
      scheduler.flush();
      expect(out.map((x) => x.win.n)).toEqual([1, 1]);
      expect(scheduler.now()).toBe(10);
      expect(scheduler.actions).toHaveLength(0);
      expect(source.observed).toBe(false);
    });

    it('keeps a busy symbol on the grid when the clock fires more than a window late', () => {
      const scheduler = new LaggingScheduler();
      const clock = new TierClock(100, scheduler);
      const source = new Subject<Tick>();
      const out: Array<{ now: number; trailing: boolean; n: number }> = [];
      const sub = source
        .pipe(conflate(100, clock.ticks$, scheduler))
        .subscribe((x) =>
          out.push({ now: scheduler.now(), trailing: x.edge === 'trailing', n: x.win.n }),
        );
      scheduler.schedule(() => source.next(tick(1)), 0);
      scheduler.schedule(() => source.next(tick(2)), 50);
      // The loop blocks for 250 ms: the timer due at 100 fires at 350.
      scheduler.schedule(() => (scheduler.lag = 250), 60);
      scheduler.schedule(() => source.next(tick(3)), 110);
      scheduler.schedule(() => sub.unsubscribe(), 1000);
      scheduler.flush();
      // The late tick counts as grid time 300, not a stale 100: the tick at 360
      // is then only 60 after it and waits for 400, instead of leading off the grid.
      expect(out).toEqual([
        { now: 0, trailing: false, n: 1 },
        { now: 350, trailing: true, n: 1 },
        { now: 400, trailing: true, n: 1 },
      ]);
      expect(scheduler.actions).toHaveLength(0);
    });

    it('keeps one real timer per tier on the default scheduler and clears it after', () => {
      vi.useFakeTimers({ now: 0 });
      try {
        const clock = new TierClock(100);
        const sources = [new Subject<Tick>(), new Subject<Tick>(), new Subject<Tick>()];
        const out: Conflated[] = [];
        const subs = sources.map((s) =>
          s.pipe(conflate(100, clock.ticks$)).subscribe((x) => out.push(x)),
        );
        expect(vi.getTimerCount()).toBe(1);
        for (let i = 0; i < 5; i++) {
          for (const s of sources) s.next(tick(2 + i));
          vi.advanceTimersByTime(50);
          expect(vi.getTimerCount()).toBe(1);
        }
        expect(out.map((x) => x.win.n)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2]);
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
      /** Emitted while the clock was ticking: a trailing edge. */
      trailing: boolean;
      value: Conflated;
    }
    /** Ticks and emissions in the order they happened (same-time order matters). */
    type LogEntry = { kind: 'tick'; i: number } | { kind: 'emit'; k: number };

    /** Arbitrary tick schedules: gaps from 0 (same instant) to several windows. */
    const schedules = fc
      .integer({ min: 1, max: 50 })
      .chain((windowMs) =>
        fc.record({
          windowMs: fc.constant(windowMs),
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
        }),
      )
      .map(({ windowMs, steps }) => {
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
        return { windowMs, ticks };
      });

    /**
     * Plays `ticks` into conflate on a TierClock of the same period. Ends by
     * completing the source at `completeAt` if given, else by unsubscribing
     * 3 windows after the last tick (the clock would otherwise run forever).
     */
    function play(ticks: Timed[], windowMs: number, completeAt?: number) {
      const scheduler = virtualScheduler();
      const clock = new TierClock(windowMs, scheduler);
      const source = new Subject<Tick>();
      const events: LogEntry[] = [];
      ticks.forEach(({ at, tick: t }, i) =>
        scheduler.schedule(() => {
          events.push({ kind: 'tick', i });
          source.next(t);
        }, at),
      );
      if (completeAt !== undefined) scheduler.schedule(() => source.complete(), completeAt);
      const emissions: Emission[] = [];
      let completedAt: number | undefined;
      const sub = source.pipe(conflate(windowMs, clock.ticks$, scheduler)).subscribe({
        next: (value) => {
          events.push({ kind: 'emit', k: emissions.length });
          emissions.push({ at: scheduler.now(), trailing: value.edge === 'trailing', value });
        },
        complete: () => (completedAt = scheduler.now()),
      });
      if (completeAt === undefined) {
        scheduler.schedule(() => sub.unsubscribe(), ticks[ticks.length - 1].at + 3 * windowMs);
      }
      scheduler.flush();
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

    it('emits at most once per window: consecutive emissions are ≥ windowMs apart', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions } = play(ticks, windowMs);
          for (let k = 1; k < emissions.length; k++) {
            expect(emissions[k].at - emissions[k - 1].at).toBeGreaterThanOrEqual(windowMs);
          }
        }),
      );
    });

    it('always delivers the final tick of a burst (one followed by ≥ 2 × windowMs of silence)', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions } = play(ticks, windowMs);
          const lasts = new Set(emissions.map((e) => e.value.last));
          ticks.forEach(({ at, tick: t }, i) => {
            const next = ticks[i + 1];
            if (next === undefined || next.at - at >= 2 * windowMs) expect(lasts.has(t)).toBe(true);
          });
          expect(emissions.at(-1)?.value.last).toBe(ticks.at(-1)?.tick);
        }),
      );
    });

    it('counts every tick in exactly one emission with exactly its o/h/l/v/n', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions } = play(ticks, windowMs);
          expect(emissions.reduce((sum, e) => sum + e.value.win.n, 0)).toBe(ticks.length);
          const runs = coveredTicks(ticks, emissions);
          expect(runs.flat()).toHaveLength(ticks.length);
          emissions.forEach((e, k) => {
            const covered = aggregate(...runs[k].map((r) => r.tick));
            expect(e.value).toEqual({ ...covered, edge: e.value.edge });
          });
        }),
      );
    });

    it('emits trailing edges only on grid times, and leading edges only as single ticks', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions } = play(ticks, windowMs);
          for (const e of emissions) {
            if (e.trailing) expect(e.at % windowMs).toBe(0);
            else expect(e.value.win.n).toBe(1);
          }
        }),
      );
    });

    it('emits a tick at once, alone, when nothing is pending and the last emission is ≥ windowMs old', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions, events } = play(ticks, windowMs);
          let delivered = 0;
          let previous: Emission | undefined;
          events.forEach((ev, idx) => {
            if (ev.kind === 'emit') {
              previous = emissions[ev.k];
              delivered += previous.value.win.n;
              return;
            }
            const { at, tick: t } = ticks[ev.i];
            const nothingPending = delivered === ev.i;
            const quiet = previous === undefined || at - previous.at >= windowMs;
            if (!nothingPending || !quiet) return;
            const next = events[idx + 1];
            expect(next?.kind).toBe('emit');
            const own = emissions[(next as { k: number }).k];
            expect(own).toMatchObject({ at, trailing: false, value: { last: t } });
            expect(own.value.win.n).toBe(1);
          });
        }),
      );
    });

    it('delivers every tick within 2 × windowMs, and within windowMs once the symbol is busy', () => {
      // "Busy": the last emission before the tick arrived was a trailing edge, so
      // the tick's window is one grid window. After a leading edge off the grid,
      // the window runs to the first grid time ≥ windowMs later: < 2 × windowMs.
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions, events } = play(ticks, windowMs);
          const runs = coveredTicks(ticks, emissions);
          const before = emissionBefore(events, emissions, ticks.length);
          const index = new Map<Tick, number>(ticks.map((t, i) => [t.tick, i]));
          emissions.forEach((e, k) => {
            for (const r of runs[k]) {
              const latency = e.at - r.at;
              expect(latency).toBeGreaterThanOrEqual(0);
              expect(latency).toBeLessThan(2 * windowMs);
              if (before[index.get(r.tick)!]?.trailing === true) {
                expect(latency).toBeLessThanOrEqual(windowMs);
              }
            }
          });
        }),
      );
    });

    it('flushes on completion, then completes, with no scheduled action left behind', () => {
      fc.assert(
        fc.property(schedules, fc.integer({ min: 0, max: 100 }), ({ windowMs, ticks }, extra) => {
          const completeAt = ticks[ticks.length - 1].at + extra;
          const { emissions, completedAt, leftover } = play(ticks, windowMs, completeAt);
          expect(completedAt).toBe(completeAt);
          expect(leftover).toBe(0);
          expect(emissions.at(-1)?.value.last).toBe(ticks.at(-1)?.tick);
          expect(emissions.reduce((sum, e) => sum + e.value.win.n, 0)).toBe(ticks.length);
        }),
      );
    });

    it('leaves no scheduled action after unsubscribing at any moment', () => {
      fc.assert(
        fc.property(schedules, fc.integer({ min: 0, max: 400 }), ({ windowMs, ticks }, cut) => {
          const scheduler = virtualScheduler();
          const clock = new TierClock(windowMs, scheduler);
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
            const conflated: Tick[] = [];
            source.pipe(throttleTime(windowMs, scheduler)).subscribe((t) => throttled.push(t));
            const sub = source
              .pipe(conflate(windowMs, clock.ticks$, scheduler))
              .subscribe((c) => conflated.push(c.last));
            scheduler.schedule(() => sub.unsubscribe(), start + 3 * windowMs);
            scheduler.flush();

            expect(throttled).toEqual([ticks[0].tick]);
            expect(throttled).not.toContain(last);
            expect(conflated).toEqual([ticks[0].tick, last]);
          },
        ),
      );
    });
  });
});
