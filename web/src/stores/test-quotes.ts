import type { Quote } from './market-types.js';

/** Builds a quote for specs: sensible defaults, override what the test is about. */
export function makeQuote(overrides: Partial<Quote> & { symbol?: string } = {}): Quote {
  const price = overrides.price ?? 100;
  return {
    symbol: 'AAPL',
    price,
    bid: price - 0.01,
    ask: price + 0.01,
    ts: 1_700_000_000_000,
    seq: 1,
    open: 99,
    high: 101,
    low: 98,
    prevClose: 99,
    change: price - 99,
    changePct: ((price - 99) / 99) * 100,
    volume: 1000,
    win: { o: price, h: price, l: price, v: 100, n: 1 },
    ...overrides,
  };
}
