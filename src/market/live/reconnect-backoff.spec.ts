import { describe, expect, it } from 'vitest';
import { Prng } from '../prng.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

describe(ReconnectBackoff.name, () => {
  it('doubles the ceiling from 1 s up to the 30 s cap', () => {
    const backoff = new ReconnectBackoff({ random: () => 0.999_999 });
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(delays).toEqual([999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  });

  it('draws each delay uniformly below its ceiling (full jitter)', () => {
    const backoff = new ReconnectBackoff({ random: () => 0.5 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([500, 1000, 2000]);
    expect(new ReconnectBackoff({ random: () => 0 }).next()).toBe(0);
  });

  it('stays within [0, ceiling) for a seeded random, and is reproducible', () => {
    const draw = (seed: number) => {
      const prng = new Prng(seed);
      const backoff = new ReconnectBackoff({ random: () => prng.next() });
      return Array.from({ length: 50 }, () => {
        const ceiling = backoff.ceilingMs;
        const delay = backoff.next();
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
        expect(Number.isInteger(delay)).toBe(true);
        return delay;
      });
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('starts again from the first ceiling after reset', () => {
    const backoff = new ReconnectBackoff({ random: () => 0.999_999 });
    backoff.next();
    backoff.next();
    backoff.next();
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(999);
  });

  it('takes its own bounds, and a broken random as 0', () => {
    const backoff = new ReconnectBackoff({ initialMs: 100, maxMs: 250, random: () => 0.999_999 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([99, 199, 249]);
    expect(new ReconnectBackoff({ random: () => Number.NaN }).next()).toBe(0);
    expect(new ReconnectBackoff({ random: () => 1 }).next()).toBe(0);
  });

  it('refuses bounds that make no sense', () => {
    expect(() => new ReconnectBackoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new ReconnectBackoff({ initialMs: 2000, maxMs: 1000 })).toThrow(RangeError);
  });

  it('never overflows to Infinity after many failures', () => {
    const backoff = new ReconnectBackoff({ random: () => 0.5 });
    for (let i = 0; i < 2000; i++) backoff.next();
    expect(backoff.next()).toBe(15_000);
  });
});
