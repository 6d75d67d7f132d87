import { describe, expect, it } from 'vitest';
import { LatencyTracker, RateMeter } from './stream-metrics.js';

describe(LatencyTracker.name, () => {
  it('reports the median of the latest samples only', () => {
    const t = new LatencyTracker(4);
    expect(t.median()).toBeUndefined();
    for (const v of [1000, 1000, 5, 7, 9]) t.record(v);
    // Holds 1000, 5, 7, 9.
    expect(t.median()).toBe(8);
    t.record(6);
    expect(t.median()).toBe(6.5);
  });

  it('ignores non-finite samples', () => {
    const t = new LatencyTracker(4);
    t.record(Number.NaN);
    t.record(3);
    expect(t.median()).toBe(3);
  });
});

describe(RateMeter.name, () => {
  it('counts events per second over its window', () => {
    const m = new RateMeter(2000, 20);
    for (let t = 0; t < 4000; t += 100) m.add(5, t);
    expect(m.perSecond(3999)).toBeCloseTo(50, 0);
  });

  it('forgets events older than the window', () => {
    const m = new RateMeter(2000, 20);
    m.add(100, 0);
    expect(m.perSecond(500)).toBe(50);
    expect(m.perSecond(2500)).toBe(0);
  });

  it('reuses a slot once its time has passed', () => {
    const m = new RateMeter(1000, 10);
    m.add(10, 0);
    m.add(1, 1000);
    expect(m.perSecond(1000)).toBe(1);
  });
});
