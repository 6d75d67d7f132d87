import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanQuotes } from './quote-scanner.js';
import type { TrackedQuote } from './quote-tracker.js';

/** A quote as a server could send it: the three tracked fields among others, in any order. */
const quoteArb = fc
  .record({
    symbol: fc.string({ maxLength: 12 }),
    seq: fc.integer({ min: 1, max: 2 ** 40 }),
    ts: fc.integer({ min: 0, max: 2 ** 45 }),
    price: fc.double({ noNaN: true, noDefaultInfinity: true }),
    note: fc.string(),
    win: fc.record({
      o: fc.double({ noNaN: true, noDefaultInfinity: true }),
      n: fc.nat(),
      tag: fc.string(),
    }),
    flags: fc.array(fc.oneof(fc.boolean(), fc.constant(null), fc.string())),
  })
  .chain((q) =>
    fc.shuffledSubarray(Object.keys(q), { minLength: Object.keys(q).length }).map((order) => {
      const out: Record<string, unknown> = {};
      for (const key of order) out[key] = q[key as keyof typeof q];
      return out;
    }),
  );

describe('scanQuotes', () => {
  it('reads symbol, seq and ts exactly as JSON.parse does, whatever the key order and content', () => {
    fc.assert(
      fc.property(fc.array(quoteArb, { maxLength: 8 }), fc.boolean(), (quotes, pretty) => {
        const text = JSON.stringify(quotes, null, pretty ? 1 : undefined);
        const out: TrackedQuote[] = [];
        const count = scanQuotes(text, out);
        const expected = (JSON.parse(text) as TrackedQuote[]).map(({ symbol, seq, ts }) => ({
          symbol,
          seq,
          ts,
        }));
        expect(out.slice(0, count)).toEqual(expected);
      }),
    );
  });

  it('reuses the output objects from one frame to the next', () => {
    const out: TrackedQuote[] = [];
    scanQuotes('[{"symbol":"A","seq":1,"ts":5},{"symbol":"B","seq":2,"ts":6}]', out);
    const first = out[0];
    expect(scanQuotes('[{"ts":7,"seq":3,"symbol":"C"}]', out)).toBe(1);
    expect(out[0]).toBe(first);
    expect(out[0]).toEqual({ symbol: 'C', seq: 3, ts: 7 });
  });

  it('rejects malformed frames and quotes without the tracked fields', () => {
    const out: TrackedQuote[] = [];
    expect(scanQuotes('[]', out)).toBe(0);
    expect(() => scanQuotes('{"symbol":"A"}', out)).toThrow(SyntaxError);
    expect(() => scanQuotes('[{"symbol":"A","seq":1}]', out)).toThrow(/lacks/);
    expect(() => scanQuotes('[{"symbol":"A","seq":1,"ts":2', out)).toThrow(SyntaxError);
    expect(() => scanQuotes('[{"symbol":"A,"seq":1,"ts":2}]', out)).toThrow(SyntaxError);
  });
});
