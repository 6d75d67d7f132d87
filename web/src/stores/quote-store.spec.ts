import { describe, expect, it } from 'vitest';
import { QuoteStore } from './quote-store.js';
import { makeQuote } from './test-quotes.js';

describe(QuoteStore.name, () => {
  it('keeps the latest quote per symbol and marks it dirty', () => {
    const store = new QuoteStore();
    store.ingest(makeQuote({ symbol: 'AAPL', seq: 1, price: 100 }));
    store.ingest(makeQuote({ symbol: 'MSFT', seq: 1, price: 300 }));
    expect(store.get('AAPL')?.quote.price).toBe(100);
    expect([...store.takeDirty()].sort()).toEqual(['AAPL', 'MSFT']);
    expect(store.takeDirty().size).toBe(0);
  });

  it('drops a quote whose seq is not newer', () => {
    const store = new QuoteStore();
    expect(store.ingest(makeQuote({ seq: 5, price: 100 }))).toBe(true);
    expect(store.ingest(makeQuote({ seq: 5, price: 101 }))).toBe(false);
    expect(store.ingest(makeQuote({ seq: 4, price: 102 }))).toBe(false);
    expect(store.get('AAPL')?.quote.price).toBe(100);
  });

  it('accepts a snapshot with a lower seq (the server restarted)', () => {
    const store = new QuoteStore();
    store.ingest(makeQuote({ seq: 500, price: 100 }));
    store.ingestSnapshot(makeQuote({ seq: 3, price: 90 }));
    expect(store.get('AAPL')?.quote.seq).toBe(3);
    expect(store.ingest(makeQuote({ seq: 4, price: 91 }))).toBe(true);
  });

  it('records the direction of each move, keeping it through unchanged ticks', () => {
    const store = new QuoteStore();
    store.ingest(makeQuote({ seq: 1, price: 100 }));
    expect(store.get('AAPL')?.direction).toBe(0);
    store.ingest(makeQuote({ seq: 2, price: 101 }));
    expect(store.get('AAPL')?.direction).toBe(1);
    store.ingest(makeQuote({ seq: 3, price: 101 }));
    expect(store.get('AAPL')?.direction).toBe(1);
    store.ingest(makeQuote({ seq: 4, price: 99.5 }));
    expect(store.get('AAPL')?.direction).toBe(-1);
  });

  it('bounds the sparkline to its capacity', () => {
    const store = new QuoteStore(5);
    for (let seq = 1; seq <= 50; seq++) store.ingest(makeQuote({ seq, price: 100 + seq }));
    const spark = store.get('AAPL')!.spark;
    expect(spark.length).toBe(5);
    expect(spark.at(-1)).toBe(150);
    expect(spark.at(0)).toBe(146);
  });

  it('forgets a removed symbol, including its pending repaint', () => {
    const store = new QuoteStore();
    store.ingest(makeQuote());
    store.remove('AAPL');
    expect(store.has('AAPL')).toBe(false);
    expect(store.takeDirty().size).toBe(0);
  });
});
