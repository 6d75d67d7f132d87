import { describe, expect, it, vi } from 'vitest';
import { WatchlistStore } from './watchlist-store.js';
import { makeQuote } from './test-quotes.js';
import type { Quote } from './market-types.js';

const universe = [
  { symbol: 'AAPL', name: 'Apple Inc.', sector: 'Technology' },
  { symbol: 'AMZN', name: 'Amazon.com, Inc.', sector: 'Consumer' },
  { symbol: 'MSFT', name: 'Microsoft Corporation', sector: 'Technology' },
  { symbol: 'META', name: 'Meta Platforms, Inc.', sector: 'Technology' },
  { symbol: 'A', name: 'Agilent Technologies', sector: 'Health' },
];

function store(symbols = ['AAPL', 'MSFT', 'META']): WatchlistStore {
  const s = new WatchlistStore(symbols);
  s.setUniverse(universe);
  return s;
}

describe(WatchlistStore.name, () => {
  it('selects the first symbol by default', () => {
    expect(store().selected).toBe('AAPL');
    expect(new WatchlistStore([]).selected).toBeUndefined();
  });

  it('adds a known symbol, selects it and tells listeners', () => {
    const s = store();
    const listener = vi.fn();
    s.onChange(listener);
    expect(s.add(' amzn ')).toEqual({ ok: true, symbol: 'AMZN' });
    expect(s.symbols).toEqual(['AAPL', 'MSFT', 'META', 'AMZN']);
    expect(s.selected).toBe('AMZN');
    expect(listener.mock.calls.map((c) => c[0] as string)).toEqual(['symbols', 'selection']);
  });

  it('refuses unknown, duplicate and malformed symbols with a message', () => {
    const s = store();
    expect(s.add('ZZZZ')).toMatchObject({
      ok: false,
      reason: 'unknown',
      message: 'Unknown symbol ZZZZ.',
    });
    expect(s.add('aapl')).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(s.add('$$$')).toMatchObject({ ok: false, reason: 'invalid' });
    // What the server would refuse is refused here, even before the universe is known.
    const empty = new WatchlistStore([]);
    expect(empty.add('^GSPC')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(empty.add('ABCDEFGHIJKLM')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(empty.add('brk.b')).toEqual({ ok: true, symbol: 'BRK.B' });
    expect(s.symbols).toEqual(['AAPL', 'MSFT', 'META']);
  });

  it('moves the selection to the next row when the selected one is removed', () => {
    const s = store();
    s.select('MSFT');
    s.remove('MSFT');
    expect(s.selected).toBe('META');
    s.remove('META');
    expect(s.selected).toBe('AAPL');
    s.remove('AAPL');
    expect(s.selected).toBeUndefined();
  });

  it('moves the selection with the arrow keys, clamped at the ends', () => {
    const s = store();
    const order = ['META', 'AAPL', 'MSFT'];
    s.moveSelection(1, order);
    expect(s.selected).toBe('MSFT');
    s.moveSelection(1, order);
    expect(s.selected).toBe('MSFT');
    s.moveSelection(-Infinity, order);
    expect(s.selected).toBe('META');
  });

  it('suggests by symbol prefix first, then by name', () => {
    expect(
      store()
        .suggest('a')
        .map((i) => i.symbol),
    ).toEqual(['A', 'AAPL', 'AMZN']);
    expect(
      store()
        .suggest('micro')
        .map((i) => i.symbol),
    ).toEqual(['MSFT']);
    expect(store().suggest('  ')).toEqual([]);
  });

  it('drops symbols the universe does not know', () => {
    const s = new WatchlistStore(['AAPL', 'GONE']);
    s.setUniverse(universe);
    expect(s.retainKnown()).toEqual(['GONE']);
    expect(s.symbols).toEqual(['AAPL']);
  });

  it('cycles a column’s sort: numbers descending first, then ascending, then the user’s order', () => {
    const s = store();
    const quotes: Record<string, Quote> = {
      AAPL: makeQuote({ symbol: 'AAPL', price: 200, changePct: 1 }),
      MSFT: makeQuote({ symbol: 'MSFT', price: 400, changePct: -2 }),
    };
    const quoteOf = (sym: string) => quotes[sym];
    s.cycleSort('price');
    expect(s.sort).toEqual({ key: 'price', dir: 'desc' });
    // META has no quote yet: last either way.
    expect(s.ordered(quoteOf)).toEqual(['MSFT', 'AAPL', 'META']);
    s.cycleSort('price');
    expect(s.ordered(quoteOf)).toEqual(['AAPL', 'MSFT', 'META']);
    s.cycleSort('price');
    expect(s.sort).toBeUndefined();
    expect(s.ordered(quoteOf)).toEqual(['AAPL', 'MSFT', 'META']);
    s.cycleSort('symbol');
    expect(s.sort).toEqual({ key: 'symbol', dir: 'asc' });
    expect(s.ordered(quoteOf)).toEqual(['AAPL', 'META', 'MSFT']);
  });
});
