import fc from 'fast-check';
import {
  type Subscription,
  VirtualAction,
  VirtualTimeScheduler,
  asyncScheduler,
  config,
} from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TierClock } from './tier-clock.js';

function virtualScheduler(): VirtualTimeScheduler {
  return new VirtualTimeScheduler(VirtualAction, Infinity);
}

/** Runs every action due up to `t` and leaves the clock at `t`, even if nothing was due then. */
function advanceTo(scheduler: VirtualTimeScheduler, t: number): void {
  scheduler.schedule(() => undefined, t - scheduler.frame);
  scheduler.maxFrames = t;
  scheduler.flush();
}

/**
 * A virtual scheduler whose clock reads `lag` ms ahead of the frame its timers
 * fire on: to the code using it, every timer looks `lag` ms late (a blocked
 * event loop), or early if `lag` goes down (the wall clock stepped back).
 */
class LaggingScheduler extends VirtualTimeScheduler {
  lag = 0;
  constructor() {
    super(VirtualAction, Infinity);
    this.now = () => this.frame + this.lag;
  }
}

describe(TierClock.name, () => {
  afterEach(() => {
    vi.useRealTimers();
    config.onUnhandledError = null;
  });

  it('rejects a period that is not a finite positive number', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new TierClock(bad, virtualScheduler())).toThrow(RangeError);
    }
  });

  describe('grid', () => {
    it('ticks on the multiples of the period after the first subscribe, emitting them', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      advanceTo(scheduler, 130);
      const seen: Array<[number, number]> = [];
      const sub = clock.ticks$.subscribe((g) => seen.push([g, scheduler.now()]));
      advanceTo(scheduler, 500);
      sub.unsubscribe();
      expect(seen).toEqual([
        [200, 200],
        [300, 300],
        [400, 400],
        [500, 500],
      ]);
    });

    it('starts on the next grid time, not the current one, when subscribed right on it', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(250, scheduler);
      advanceTo(scheduler, 500);
      const seen: number[] = [];
      const sub = clock.ticks$.subscribe((g) => seen.push(g));
      advanceTo(scheduler, 1000);
      sub.unsubscribe();
      expect(seen).toEqual([750, 1000]);
    });

    it('emits nominal grid times when its timer fires late, skipping (not replaying) missed ones', () => {
      const lagging = new LaggingScheduler();
      const clock = new TierClock(100, lagging);
      const seen: Array<{ grid: number; now: number }> = [];
      const sub = clock.ticks$.subscribe((grid) => seen.push({ grid, now: lagging.now() }));
      // 7 ms late for the tick of 200; then 260 ms late (a blocked loop) for 400.
      lagging.schedule(() => (lagging.lag = 7), 150);
      lagging.schedule(() => (lagging.lag = 267), 350);
      advanceTo(lagging, 700);
      sub.unsubscribe();

      expect(seen).toEqual([
        { grid: 100, now: 100 },
        { grid: 200, now: 207 },
        { grid: 300, now: 300 },
        // Due at 400, fired at 660: it reports the latest grid time reached, once.
        { grid: 600, now: 660 },
        { grid: 700, now: 700 },
        { grid: 800, now: 800 },
        { grid: 900, now: 900 },
      ]);
    });

    it('emits the due grid time once when its timer fires early (the wall clock stepped back)', () => {
      const lagging = new LaggingScheduler();
      const clock = new TierClock(100, lagging);
      const seen: Array<{ grid: number; now: number }> = [];
      const sub = clock.ticks$.subscribe((grid) => seen.push({ grid, now: lagging.now() }));
      lagging.schedule(() => (lagging.lag = -30), 150);
      advanceTo(lagging, 500);
      sub.unsubscribe();
      expect(seen).toEqual([
        { grid: 100, now: 100 },
        { grid: 200, now: 170 },
        { grid: 300, now: 300 },
        { grid: 400, now: 400 },
      ]);
    });

    it('only ever emits increasing multiples of the period, never stale, however late it fires', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 10, max: 500 }),
          fc.array(
            fc.record({
              at: fc.integer({ min: 0, max: 2500 }),
              late: fc.integer({ min: 0, max: 1000 }),
            }),
            { maxLength: 20 },
          ),
          (period, jumps) => {
            const lagging = new LaggingScheduler();
            const clock = new TierClock(period, lagging);
            const seen: Array<{ grid: number; now: number }> = [];
            const sub = clock.ticks$.subscribe((grid) => seen.push({ grid, now: lagging.now() }));
            for (const { at, late } of jumps) lagging.schedule(() => (lagging.lag += late), at);
            advanceTo(lagging, 3000);
            sub.unsubscribe();

            expect(seen.length).toBeGreaterThan(0);
            seen.forEach(({ grid, now }, k) => {
              expect(grid % period).toBe(0);
              // The latest grid time reached: at most one period stale.
              expect(now - grid).toBeGreaterThanOrEqual(0);
              expect(now - grid).toBeLessThan(period);
              if (k > 0) expect(grid).toBeGreaterThan(seen[k - 1].grid);
            });
            expect(lagging.actions).toHaveLength(0);
          },
        ),
      );
    });
  });

  describe('lifetime', () => {
    it('runs its timer only from the first subscribe to the last unsubscribe', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      expect(scheduler.actions).toHaveLength(0);
      expect(clock.running).toBe(false);

      const a = clock.ticks$.subscribe();
      expect(scheduler.actions).toHaveLength(1);
      const b = clock.ticks$.subscribe();
      expect(scheduler.actions).toHaveLength(1);
      advanceTo(scheduler, 350);
      expect(scheduler.actions).toHaveLength(1);

      a.unsubscribe();
      expect(clock.running).toBe(true);
      expect(scheduler.actions).toHaveLength(1);
      b.unsubscribe();
      expect(clock.running).toBe(false);
      expect(scheduler.actions).toHaveLength(0);
    });

    it('restarts on the grid when subscribed again after stopping', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      clock.ticks$.subscribe().unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
      advanceTo(scheduler, 1234);
      const seen: number[] = [];
      const sub = clock.ticks$.subscribe((g) => seen.push(g));
      advanceTo(scheduler, 1500);
      sub.unsubscribe();
      expect(seen).toEqual([1300, 1400, 1500]);
      expect(scheduler.actions).toHaveLength(0);
    });

    it('keeps one scheduled action however many listeners', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const subs: Subscription[] = [];
      let calls = 0;
      for (let i = 0; i < 1000; i++) subs.push(clock.ticks$.subscribe(() => calls++));
      expect(scheduler.actions).toHaveLength(1);
      const probes = [50, 150, 550, 950];
      const others: number[] = [];
      probes.forEach((at, k) =>
        scheduler.schedule(() => {
          // Everything scheduled but the clock: the probes still to run and advanceTo's marker.
          const probesLeft = probes.length - k - 1;
          others.push(scheduler.actions.length - probesLeft - 1);
        }, at),
      );
      advanceTo(scheduler, 1000);
      expect(others).toEqual([1, 1, 1, 1]);
      expect(calls).toBe(10 * 1000);
      expect(scheduler.actions).toHaveLength(1);
      for (const s of subs) s.unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
    });

    it('stops when its last listener leaves from inside a tick', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const after = vi.fn();
      clock.onAfterTick = after;
      const seen: number[] = [];
      const sub: Subscription = clock.ticks$.subscribe((g) => {
        seen.push(g);
        if (g === 300) sub.unsubscribe();
      });
      scheduler.flush();
      expect(seen).toEqual([100, 200, 300]);
      // The tick that was being delivered still completes with its flush hook.
      expect(after.mock.calls).toEqual([[100], [200], [300]]);
      expect(scheduler.actions).toHaveLength(0);
      expect(scheduler.now()).toBe(300);
    });

    it('keeps exactly one timer when the last listener leaves and another joins within a tick', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const seen: Array<[string, number]> = [];
      let next: Subscription | undefined;
      const first: Subscription = clock.ticks$.subscribe((g) => {
        seen.push(['first', g]);
        first.unsubscribe();
        next = clock.ticks$.subscribe((h) => seen.push(['next', h]));
      });
      advanceTo(scheduler, 400);
      expect(seen).toEqual([
        ['first', 100],
        ['next', 200],
        ['next', 300],
        ['next', 400],
      ]);
      expect(scheduler.actions).toHaveLength(1);
      next?.unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
    });

    it('does not chain a subscription per tick on a VirtualTimeScheduler over a long run', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(1, scheduler);
      const sub = clock.ticks$.subscribe();
      advanceTo(scheduler, 200_000);
      // A recursive reschedule would nest 200 000 subscriptions and overflow the stack here.
      expect(() => sub.unsubscribe()).not.toThrow();
      expect(scheduler.actions).toHaveLength(0);
    });

    it('keeps one real timer on asyncScheduler and clears it when the last listener leaves', () => {
      vi.useFakeTimers({ now: 1_000_050 });
      const clock = new TierClock(100, asyncScheduler);
      const seen: Array<[number, number]> = [];
      const a = clock.ticks$.subscribe((g) => seen.push([g, Date.now()]));
      const b = clock.ticks$.subscribe();
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(250);
      expect(seen).toEqual([
        [1_000_100, 1_000_100],
        [1_000_200, 1_000_200],
        [1_000_300, 1_000_300],
      ]);
      expect(vi.getTimerCount()).toBe(1);
      a.unsubscribe();
      b.unsubscribe();
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe('delivery', () => {
    it('calls onAfterTick once a tick has reached every listener', () => {
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const log: string[] = [];
      clock.onAfterTick = (g) => log.push(`after ${g}`);
      const subs = ['a', 'b', 'c'].map((name) =>
        clock.ticks$.subscribe((g) => log.push(`${name} ${g}`)),
      );
      advanceTo(scheduler, 200);
      for (const s of subs) s.unsubscribe();
      expect(log).toEqual([
        'a 100',
        'b 100',
        'c 100',
        'after 100',
        'a 200',
        'b 200',
        'c 200',
        'after 200',
      ]);
    });

    it('keeps ticking when onAfterTick throws, and reports the error as RxJS does', () => {
      vi.useFakeTimers();
      const reported: unknown[] = [];
      config.onUnhandledError = (err) => reported.push(err);
      const scheduler = virtualScheduler();
      const clock = new TierClock(100, scheduler);
      const boom = new Error('flush failed');
      clock.onAfterTick = (g) => {
        if (g === 200) throw boom;
      };
      const seen: number[] = [];
      const sub = clock.ticks$.subscribe((g) => seen.push(g));
      advanceTo(scheduler, 400);
      sub.unsubscribe();
      expect(seen).toEqual([100, 200, 300, 400]);
      vi.runAllTimers();
      expect(reported).toEqual([boom]);
    });
  });
});
