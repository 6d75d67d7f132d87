import fc from 'fast-check';
import { Subject, VirtualAction, VirtualTimeScheduler, map, take, throttleTime } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import type { Tick } from '../shared/market.js';
import { type Conflated, conflate } from './conflate.operator.js';

let seq = 0;
function tick(price: number, size = 100): Tick {
  seq += 1;
  return { symbol: 'ACME', seq, ts: seq, price, bid: price - 0.01, ask: price + 0.01, size };
}

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

describe(conflate.name, () => {
  describe('marbles', () => {
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
      testScheduler().run(({ hot, expectObservable }) => {
        const source = hot('-a-------', values);
        expectObservable(source.pipe(conflate(5))).toBe('-x', { x: aggregate(a) });
      });
    });

    it('emits what the window held back at its end, aggregated, with the latest tick', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        const source = hot('-a-b-c-----', values);
        expectObservable(source.pipe(conflate(5))).toBe('-x----y', {
          x: aggregate(a),
          y: aggregate(b, c),
        });
      });
    });

    it('emits once per window through a sustained burst and delivers its last tick', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        // Ticks landing exactly on a window's end are still counted in that window.
        const source = hot('-abcdefgh-------', values);
        expectObservable(source.pipe(conflate(3))).toBe('-x--y--z--w', {
          x: aggregate(a),
          y: aggregate(b, c, d),
          z: aggregate(e, f, g),
          w: aggregate(h),
        });
      });
    });

    it('closes an empty window so a tick after a quiet gap is a leading edge again', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        const source = hot('-a-b--------c---', values);
        expectObservable(source.pipe(conflate(3))).toBe('-x--y-------z', {
          x: aggregate(a),
          y: aggregate(b),
          z: aggregate(c),
        });
      });
    });

    it('flushes the pending aggregate when the source completes', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c|', values);
        expectObservable(source.pipe(conflate(10))).toBe('-x----(y|)', {
          x: aggregate(a),
          y: aggregate(b, c),
        });
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
    });

    it('completes without an extra emission when nothing is pending', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        const source = hot('-a---|', values);
        expectObservable(source.pipe(conflate(2))).toBe('-x---|', { x: aggregate(a) });
      });
    });

    it('propagates errors and drops the pending aggregate', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b#', values, new Error('feed down'));
        expectObservable(source.pipe(conflate(5))).toBe(
          '-x--#',
          { x: aggregate(a) },
          new Error('feed down'),
        );
        expectSubscriptions(source.subscriptions).toBe('^---!');
      });
    });

    it('stops emitting and releases the source when unsubscribed mid-window', () => {
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c-d-e', values);
        expectObservable(source.pipe(conflate(5)), '^--!').toBe('-x-', { x: aggregate(a) });
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('shows throttleTime (default config) dropping the trailing tick conflate delivers', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        const source = hot('-a-b-c-----', values);
        expectObservable(source.pipe(throttleTime(5))).toBe('-a', values);
        expectObservable(
          source.pipe(
            conflate(5),
            map((x) => x.last),
          ),
        ).toBe('-a----c', values);
      });
    });
  });

  describe('scheduling', () => {
    it('cancels the open window timer on unsubscribe, leaving no scheduled action', () => {
      const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
      const source = new Subject<Tick>();
      const sub = source.pipe(conflate(100, scheduler)).subscribe();
      source.next(tick(1));
      source.next(tick(2));
      expect(scheduler.actions).toHaveLength(1);
      sub.unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
      expect(source.observed).toBe(false);
    });

    it('cancels a recursively rescheduled window timer on unsubscribe', () => {
      const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
      const source = new Subject<Tick>();
      const sub = source.pipe(conflate(100, scheduler)).subscribe();
      for (let t = 0; t < 450; t += 10) {
        scheduler.schedule(() => source.next(tick(t)), t);
      }
      scheduler.schedule(() => sub.unsubscribe(), 455);
      scheduler.flush();
      expect(scheduler.actions).toHaveLength(0);
      expect(scheduler.now()).toBe(455);
    });

    it('schedules one action for a whole burst, not one per tick', () => {
      const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      source.pipe(conflate(100, scheduler)).subscribe((x) => out.push(x));
      for (let i = 0; i < 1000; i++) {
        scheduler.schedule(() => source.next(tick(100 + (i % 7))), i);
      }
      // Windows after the first are rescheduled on the action, not through the scheduler.
      const schedule = vi.spyOn(scheduler, 'schedule');
      scheduler.flush();
      expect(schedule).toHaveBeenCalledTimes(1);
      expect(out).toHaveLength(11);
      expect(out.reduce((sum, x) => sum + x.win.n, 0)).toBe(1000);
    });

    it('treats a tick pushed from downstream during an emission as part of the next window', () => {
      const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      const echo = tick(5);
      source.pipe(conflate(10, scheduler)).subscribe((x) => {
        out.push(x);
        if (out.length === 1) source.next(echo);
      });
      source.next(tick(4));
      expect(out).toHaveLength(1);
      scheduler.flush();
      expect(out).toEqual([expect.anything(), aggregate(echo)]);
    });

    it('stops at once when downstream unsubscribes from inside an emission', () => {
      const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
      const source = new Subject<Tick>();
      const out: Conflated[] = [];
      source.pipe(conflate(10, scheduler), take(1)).subscribe((x) => out.push(x));
      source.next(tick(1));
      source.next(tick(2));
      expect(out).toHaveLength(1);
      expect(scheduler.actions).toHaveLength(0);
      expect(source.observed).toBe(false);
    });

    it('keeps one real interval per burst on the default scheduler and clears it after', () => {
      vi.useFakeTimers();
      try {
        const source = new Subject<Tick>();
        const out: Conflated[] = [];
        const sub = source.pipe(conflate(100)).subscribe((x) => out.push(x));
        source.next(tick(1));
        expect(vi.getTimerCount()).toBe(1);
        for (let i = 0; i < 5; i++) {
          vi.advanceTimersByTime(50);
          source.next(tick(2 + i));
          expect(vi.getTimerCount()).toBe(1);
        }
        vi.advanceTimersByTime(300);
        expect(out.map((x) => x.win.n)).toEqual([1, 1, 2, 2]);
        expect(vi.getTimerCount()).toBe(0);

        source.next(tick(9));
        expect(vi.getTimerCount()).toBe(1);
        sub.unsubscribe();
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    });

    it('rejects a window that is not a finite positive number', () => {
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => conflate(bad)).toThrow(RangeError);
      }
    });
  });

  describe('properties', () => {
    interface Timed {
      at: number;
      tick: Tick;
    }
    interface Emission {
      at: number;
      value: Conflated;
    }

    /** Arbitrary tick schedules: gaps from 0 (same instant) to well past a window. */
    const schedules = fc
      .record({
        windowMs: fc.integer({ min: 1, max: 50 }),
        steps: fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 160 }),
            price: fc.double({ min: 0.01, max: 10_000, noNaN: true }),
            size: fc.integer({ min: 1, max: 10_000 }),
          }),
          { minLength: 1, maxLength: 120 },
        ),
      })
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

    /** Plays `ticks` into conflate on virtual time; completes the source at `completeAt` if given. */
    function play(ticks: Timed[], windowMs: number, completeAt?: number) {
      const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
      const source = new Subject<Tick>();
      for (const { at, tick: t } of ticks) scheduler.schedule(() => source.next(t), at);
      if (completeAt !== undefined) scheduler.schedule(() => source.complete(), completeAt);
      const emissions: Emission[] = [];
      let completedAt: number | undefined;
      source.pipe(conflate(windowMs, scheduler)).subscribe({
        next: (value) => emissions.push({ at: scheduler.now(), value }),
        complete: () => (completedAt = scheduler.now()),
      });
      scheduler.flush();
      return { emissions, completedAt, leftover: scheduler.actions.length };
    }

    /** Splits the ticks into the runs each emission stands for (emissions preserve tick order). */
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

    it('always delivers the final tick', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions } = play(ticks, windowMs);
          expect(emissions.at(-1)?.value.last).toBe(ticks.at(-1)?.tick);
        }),
      );
    });

    it('counts every tick in exactly one emission with the right o/h/l/v', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions } = play(ticks, windowMs);
          expect(emissions.reduce((sum, e) => sum + e.value.win.n, 0)).toBe(ticks.length);
          const runs = coveredTicks(ticks, emissions);
          expect(runs.flat()).toHaveLength(ticks.length);
          emissions.forEach((e, k) => {
            expect(e.value).toEqual(aggregate(...runs[k].map((r) => r.tick)));
          });
        }),
      );
    });

    it('delivers every tick no later than windowMs after it arrived', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions } = play(ticks, windowMs);
          const runs = coveredTicks(ticks, emissions);
          emissions.forEach((e, k) => {
            for (const r of runs[k]) {
              expect(e.at).toBeGreaterThanOrEqual(r.at);
              expect(e.at - r.at).toBeLessThanOrEqual(windowMs);
            }
          });
        }),
      );
    });

    it('emits the first tick after more than windowMs of silence at once, alone', () => {
      fc.assert(
        fc.property(schedules, ({ windowMs, ticks }) => {
          const { emissions } = play(ticks, windowMs);
          ticks.forEach(({ at, tick: t }, i) => {
            if (i > 0 && ticks[i - 1].at === at) return;
            const before = emissions.filter((e) => e.at < at).at(-1);
            if (before !== undefined && at - before.at <= windowMs) return;
            const own = emissions.find((e) => e.value.last.seq >= t.seq);
            expect(own?.at).toBe(at);
            expect(own?.value.win.n).toBe(1);
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
          const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
          const source = new Subject<Tick>();
          for (const { at, tick: t } of ticks) scheduler.schedule(() => source.next(t), at);
          const sub = source.pipe(conflate(windowMs, scheduler)).subscribe();
          // Half a frame off the integer tick times, so nothing ties with the cut.
          const unsubscribeAt = cut + 0.5;
          let leftAfterCut = -1;
          scheduler.schedule(() => {
            sub.unsubscribe();
            leftAfterCut = scheduler.actions.length;
          }, unsubscribeAt);
          scheduler.flush();
          expect(leftAfterCut).toBe(ticks.filter((t) => t.at > unsubscribeAt).length);
        }),
      );
    });

    it('delivers the last tick of a burst that throttleTime (default config) drops', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 100 }),
          fc.array(fc.double({ min: 0.01, max: 10_000, noNaN: true }), {
            minLength: 2,
            maxLength: 20,
          }),
          (windowMs, prices) => {
            // The whole burst fits strictly inside one window after its first tick.
            const ticks: Timed[] = prices.map((price, i) => ({
              at: Math.floor((i * (windowMs - 1)) / prices.length),
              tick: { symbol: 'T', seq: i + 1, ts: i, price, bid: price, ask: price, size: 1 },
            }));
            const last = ticks[ticks.length - 1].tick;

            const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
            const source = new Subject<Tick>();
            for (const { at, tick: t } of ticks) scheduler.schedule(() => source.next(t), at);
            const throttled: Tick[] = [];
            const conflated: Tick[] = [];
            source.pipe(throttleTime(windowMs, scheduler)).subscribe((t) => throttled.push(t));
            source.pipe(conflate(windowMs, scheduler)).subscribe((c) => conflated.push(c.last));
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
