import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  fromQuery,
  ignoredSymbolsMessage,
  loadSettings,
  parseSymbolList,
  saveSettings,
  STORAGE_KEY,
  toQuery,
  type KeyValueStorage,
  type Settings,
  type UrlState,
} from './settings.js';

class MemoryStorage implements KeyValueStorage {
  readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
}

class MemoryUrl implements UrlState {
  replaced = 0;
  constructor(public search = '') {}
  replaceSearch(search: string): void {
    this.search = search;
    this.replaced++;
  }
}

const sample: Settings = {
  symbols: ['AAPL', 'MSFT', 'BRK.B'],
  intervalMs: 500,
  chart: '1m',
  range: '15m',
  theme: 'dark',
  selected: 'MSFT',
};

describe('settings persistence', () => {
  it('uses the defaults on a first visit', () => {
    expect(loadSettings(new MemoryUrl(), new MemoryStorage()).settings).toEqual(DEFAULT_SETTINGS);
  });

  it('round-trips through localStorage', () => {
    const storage = new MemoryStorage();
    saveSettings(sample, new MemoryUrl(), storage);
    expect(loadSettings(new MemoryUrl(), storage).settings).toEqual(sample);
  });

  it('round-trips through the URL, except the theme (a personal choice)', () => {
    const url = new MemoryUrl();
    saveSettings(sample, url, undefined);
    expect(url.search).toBe('?symbols=AAPL,MSFT,BRK.B&interval=500&chart=1m&range=15m&sel=MSFT');
    expect(loadSettings(new MemoryUrl(url.search), undefined).settings).toEqual({
      ...sample,
      theme: 'system',
    });
  });

  it('lets a shared link win over what is stored, key by key', () => {
    const storage = new MemoryStorage();
    saveSettings(sample, new MemoryUrl(), storage);
    const loaded = loadSettings(new MemoryUrl('?symbols=tsla,nvda&interval=250'), storage).settings;
    expect(loaded.symbols).toEqual(['TSLA', 'NVDA']);
    expect(loaded.intervalMs).toBe(250);
    expect(loaded.chart).toBe('1m');
    expect(loaded.theme).toBe('dark');
    // The stored selection is not in the shared list.
    expect(loaded.selected).toBeUndefined();
  });

  it('rounds an interval up to a tier and ignores malformed values', () => {
    expect(fromQuery(new URLSearchParams('interval=300')).values.intervalMs).toBe(500);
    expect(fromQuery(new URLSearchParams('interval=99999')).values.intervalMs).toBe(5000);
    expect(fromQuery(new URLSearchParams('interval=fast&chart=pie&range=2d')).values).toEqual({});
    expect(fromQuery(new URLSearchParams('interval=0')).values).toEqual({});
  });

  it('cleans, de-duplicates and caps the symbol list', () => {
    const many = Array.from({ length: 150 }, (_, i) => `S${i}`).join(',');
    expect(
      fromQuery(new URLSearchParams('symbols= aapl ,AAPL,,msft,<script>')).values.symbols,
    ).toEqual(['AAPL', 'MSFT']);
    expect(fromQuery(new URLSearchParams(`symbols=${many}`)).values.symbols).toHaveLength(100);
  });

  it('survives corrupt or hostile storage', () => {
    const storage = new MemoryStorage();
    storage.setItem(STORAGE_KEY, '{not json');
    expect(loadSettings(new MemoryUrl(), storage).settings).toEqual(DEFAULT_SETTINGS);
    storage.setItem(STORAGE_KEY, JSON.stringify({ symbols: 'AAPL', intervalMs: '100', theme: 7 }));
    expect(loadSettings(new MemoryUrl(), storage).settings).toEqual(DEFAULT_SETTINGS);
    const throwing: KeyValueStorage = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('quota');
      },
    };
    expect(loadSettings(new MemoryUrl(), throwing).settings).toEqual(DEFAULT_SETTINGS);
    expect(() => saveSettings(sample, new MemoryUrl(), throwing)).not.toThrow();
  });

  it('keeps unrelated URL parameters and does not rewrite an unchanged URL', () => {
    const url = new MemoryUrl('?debug=1');
    saveSettings(sample, url, undefined);
    expect(new URLSearchParams(url.search).get('debug')).toBe('1');
    const writes = url.replaced;
    saveSettings(sample, url, undefined);
    expect(url.replaced).toBe(writes);
  });

  it('drops from a link what the server would refuse, and says which', () => {
    const loaded = loadSettings(
      new MemoryUrl('?symbols=AAPL,^GSPC,brk.b,ABCDEFGHIJKLM,ABCDEFGHIJKL,msft&sel=^GSPC'),
      undefined,
    );
    expect(loaded.settings.symbols).toEqual(['AAPL', 'BRK.B', 'ABCDEFGHIJKL', 'MSFT']);
    expect(loaded.settings.selected).toBeUndefined();
    expect(loaded.ignoredSymbols).toEqual(['^GSPC', 'ABCDEFGHIJKLM']);
  });

  it('drops stored symbols the server would refuse, unless a link replaces the list', () => {
    const storage = new MemoryStorage();
    storage.setItem(STORAGE_KEY, JSON.stringify({ symbols: ['^GSPC', 'aapl', 7, ' BRK.B '] }));
    const loaded = loadSettings(new MemoryUrl(), storage);
    expect(loaded.settings.symbols).toEqual(['AAPL', 'BRK.B']);
    expect(loaded.ignoredSymbols).toEqual(['^GSPC']);
    expect(loadSettings(new MemoryUrl('?symbols=MSFT'), storage).ignoredSymbols).toEqual([]);
  });

  it('rewrites a link without the symbols it ignored', () => {
    const url = new MemoryUrl('?symbols=^GSPC,AAPL');
    const { settings } = loadSettings(url, undefined);
    saveSettings(settings, url, undefined);
    expect(new URLSearchParams(url.search).get('symbols')).toBe('AAPL');
  });

  it('writes an empty watchlist as an empty list, not the defaults', () => {
    const query = toQuery({ ...sample, symbols: [], selected: undefined });
    expect(loadSettings(new MemoryUrl(`?${query}`), undefined).settings.symbols).toEqual([]);
  });
});

describe(parseSymbolList.name, () => {
  it('upper-cases lower-case input and keeps share classes', () => {
    expect(parseSymbolList(['aapl', 'brk.b', 'Rds-A'])).toEqual({
      symbols: ['AAPL', 'BRK.B', 'RDS-A'],
      ignored: [],
    });
  });

  it('ignores index symbols and symbols longer than 12 characters, by name', () => {
    expect(parseSymbolList(['^GSPC', 'ABCDEFGHIJKLM', 'ABCDEFGHIJKL'])).toEqual({
      symbols: ['ABCDEFGHIJKL'],
      ignored: ['^GSPC', 'ABCDEFGHIJKLM'],
    });
  });

  it('drops blanks and non-strings without naming them', () => {
    expect(parseSymbolList(['', '  ', null, 42, 'V'])).toEqual({ symbols: ['V'], ignored: [] });
  });
});

describe(ignoredSymbolsMessage.name, () => {
  it('says nothing when nothing was ignored', () => {
    expect(ignoredSymbolsMessage([])).toBeUndefined();
  });

  it('names what was ignored and the rule it broke', () => {
    expect(ignoredSymbolsMessage(['^GSPC', 'ABCDEFGHIJKLM'])).toBe(
      "Ignored invalid symbols: ^GSPC, ABCDEFGHIJKLM (a symbol is 1-12 letters, digits, '.' or '-').",
    );
  });

  it('stays one line for a pasted paragraph or a long list', () => {
    const message = ignoredSymbolsMessage([
      'x'.repeat(500),
      ...Array.from({ length: 9 }, () => '^X'),
    ]);
    expect(message).toContain(`${'x'.repeat(19)}…`);
    expect(message).not.toContain('x'.repeat(20));
    expect(message).toContain('and 5 more');
  });
});
