import { describe, expect, it } from 'vitest';
import { TierClock } from '../streaming/tier-clock.js';
import { FeedTimeScheduler } from './feed-time.scheduler.js';

describe(FeedTimeScheduler.name, () => {
  it('runs an action only once the feed time reaches its due time, seeing that time', () => {
    const scheduler = new FeedTimeScheduler(1000);
    const seen: number[] = [];
    scheduler.schedule(() => seen.push(scheduler.now()), 100);
    scheduler.advanceTo(1075);
    expect(seen).toEqual([]);
    scheduler.advanceTo(1100);
    expect(seen).toEqual([1100]);
    expect(scheduler.pending).toBe(0);
  });

  it('runs due actions in due order, same-time ones in the order scheduled', () => {
    const scheduler = new FeedTimeScheduler(0);
    const order: string[] = [];
    scheduler.schedule(() => order.push('b'), 50);
    scheduler.schedule(() => order.push('a'), 25);
    scheduler.schedule(() => order.push('c'), 50);
    scheduler.advanceTo(500);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('never goes back in time, and a cancelled action never runs', () => {
    const scheduler = new FeedTimeScheduler(1000);
    let ran = false;
    scheduler.schedule(() => (ran = true), 10).unsubscribe();
    scheduler.advanceTo(900);
    expect(scheduler.now()).toBe(1000);
    scheduler.advanceTo(2000);
    expect(ran).toBe(false);
    expect(scheduler.pending).toBe(0);
  });

  it('runs actions scheduled by an action when they are due by the same time', () => {
    const scheduler = new FeedTimeScheduler(0);
    const seen: number[] = [];
    scheduler.schedule(() => {
      seen.push(1);
      scheduler.schedule(() => seen.push(2), 0);
      scheduler.schedule(() => seen.push(3), 1000);
    }, 10);
    scheduler.advanceTo(100);
    expect(seen).toEqual([1, 2]);
    expect(scheduler.pending).toBe(1);
  });

  it('keeps running the others when one throws, then rethrows the first error', () => {
    const scheduler = new FeedTimeScheduler(0);
    const seen: string[] = [];
    scheduler.schedule(() => {
      throw new Error('boom');
    }, 1);
    scheduler.schedule(() => seen.push('after'), 2);
    expect(() => scheduler.advanceTo(10)).toThrow('boom');
    expect(seen).toEqual(['after']);
  });

  it('drives a TierClock on feed time: a late burst of slots closes one window, not one per missed period', () => {
    const scheduler = new FeedTimeScheduler(10_000);
    const clock = new TierClock(100, scheduler);
    const ticks: number[] = [];
    const subscription = clock.ticks$.subscribe((t) => ticks.push(t));
    for (let t = 10_025; t <= 10_300; t += 25) scheduler.advanceTo(t);
    expect(ticks).toEqual([10_100, 10_200, 10_300]);
    // Redis stalled for 3 s: the slots arrive at once, time jumps to the last one.
    scheduler.advanceTo(13_300);
    expect(ticks).toEqual([10_100, 10_200, 10_300, 13_300]);
    subscription.unsubscribe();
    expect(scheduler.pending).toBe(0);
  });
});
