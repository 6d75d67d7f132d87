import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe(TokenBucket.name, () => {
  it('lets a full burst through at once, then refuses', () => {
    const bucket = new TokenBucket(20, 40, 0);
    const passed = Array.from({ length: 50 }, () => bucket.take(0)).filter(Boolean).length;
    expect(passed).toBe(40);
  });

  it('refills at the sustained rate', () => {
    const bucket = new TokenBucket(20, 40, 0);
    for (let i = 0; i < 40; i++) bucket.take(0);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.take(49)).toBe(false); // 0.98 tokens
    expect(bucket.take(50)).toBe(true); // one token after 50 ms at 20/s
    expect(bucket.take(50)).toBe(false);
  });

  it('never passes more than burst + rate × elapsed over any schedule', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 500 }),
        (rate, burst, gaps) => {
          const bucket = new TokenBucket(rate, burst, 0);
          let now = 0;
          let passed = 0;
          for (const gap of gaps) {
            now += gap;
            if (bucket.take(now)) passed++;
          }
          expect(passed).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-9);
        },
      ),
    );
  });
});
