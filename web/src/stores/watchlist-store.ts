import { MAX_SYMBOLS } from './settings.js';
import { normalizeSymbol, type Quote, type SymbolInfo } from './market-types.js';

/** Sortable columns of the watchlist. */
export const SORT_KEYS = [
  'symbol',
  'name',
  'price',
  'change',
  'changePct',
  'bid',
  'ask',
  'high',
  'low',
  'volume',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDirection = 'asc' | 'desc';
export interface SortState {
  key: SortKey;
  dir: SortDirection;
}

/** Outcome of {@link WatchlistStore.add}, each with a message the UI can show as is. */
export type AddResult =
  | { ok: true; symbol: string }
  | { ok: false; reason: 'invalid' | 'unknown' | 'duplicate' | 'full'; message: string };

/** What changed, so listeners redo only what they must. */
export type WatchlistChange = 'symbols' | 'selection' | 'sort';

/**
 * The watchlist: which symbols, in the user's order, which one is selected and
 * how the table is sorted. Pure state with listeners; no DOM, no network.
 */
export class WatchlistStore {
  private list: string[];
  private selectedSymbol: string | undefined;
  private sortState: SortState | undefined;
  private known = new Map<string, SymbolInfo>();
  private readonly listeners = new Set<(change: WatchlistChange) => void>();

  constructor(symbols: readonly string[], selected?: string) {
    this.list = [...symbols];
    this.selectedSymbol = selected && symbols.includes(selected) ? selected : symbols[0];
  }

  get symbols(): readonly string[] {
    return this.list;
  }

  get selected(): string | undefined {
    return this.selectedSymbol;
  }

  get sort(): SortState | undefined {
    return this.sortState;
  }

  /** Sets the instrument universe (from `/api/symbols`) used to validate and name symbols. */
  setUniverse(symbols: readonly SymbolInfo[]): void {
    this.known = new Map(symbols.map((s) => [s.symbol, s]));
  }

  /** The universe in the server's order. */
  universe(): SymbolInfo[] {
    return [...this.known.values()];
  }

  info(symbol: string): SymbolInfo | undefined {
    return this.known.get(symbol);
  }

  /** Universe entries whose symbol starts with `text`, then those with a name word that does; at most `limit`. */
  suggest(text: string, limit = 8): SymbolInfo[] {
    const q = text.trim().toUpperCase();
    if (q === '') return [];
    const prefix: SymbolInfo[] = [];
    const byName: SymbolInfo[] = [];
    for (const info of this.known.values()) {
      if (info.symbol.startsWith(q)) prefix.push(info);
      else if (
        info.name
          .toUpperCase()
          .split(/[\s,.]+/)
          .some((w) => w.startsWith(q))
      )
        byName.push(info);
    }
    prefix.sort((a, b) => a.symbol.length - b.symbol.length || a.symbol.localeCompare(b.symbol));
    return [...prefix, ...byName].slice(0, limit);
  }

  add(raw: string): AddResult {
    const symbol = normalizeSymbol(raw);
    if (!symbol) {
      return { ok: false, reason: 'invalid', message: `“${raw.trim()}” is not a symbol.` };
    }
    if (this.known.size > 0 && !this.known.has(symbol)) {
      return { ok: false, reason: 'unknown', message: `Unknown symbol ${symbol}.` };
    }
    if (this.list.includes(symbol)) {
      return { ok: false, reason: 'duplicate', message: `${symbol} is already in the watchlist.` };
    }
    if (this.list.length >= MAX_SYMBOLS) {
      return { ok: false, reason: 'full', message: `The watchlist is full (${MAX_SYMBOLS}).` };
    }
    this.list = [...this.list, symbol];
    this.emit('symbols');
    this.select(symbol);
    return { ok: true, symbol };
  }

  /**
   * Removes a symbol. If it was selected, the selection moves to the row that
   * took its place in `displayOrder` (else the one above), as in a file list.
   */
  remove(symbol: string, displayOrder: readonly string[] = this.list): boolean {
    const index = this.list.indexOf(symbol);
    if (index < 0) return false;
    const shown = displayOrder.indexOf(symbol);
    this.list = this.list.filter((s) => s !== symbol);
    this.emit('symbols');
    if (this.selectedSymbol === symbol) {
      const rest = displayOrder.filter((s) => s !== symbol && this.list.includes(s));
      this.select(rest[Math.min(Math.max(shown, 0), rest.length - 1)]);
    }
    return true;
  }

  /** Drops symbols the universe does not list (e.g. from an old link); returns them. */
  retainKnown(): string[] {
    if (this.known.size === 0) return [];
    const dropped = this.list.filter((s) => !this.known.has(s));
    for (const symbol of dropped) this.remove(symbol);
    return dropped;
  }

  /** Replaces the whole list (first visit defaults). */
  replace(symbols: readonly string[]): void {
    this.list = [...symbols];
    this.emit('symbols');
    if (!this.selectedSymbol || !this.list.includes(this.selectedSymbol)) this.select(this.list[0]);
  }

  select(symbol: string | undefined): void {
    const next = symbol !== undefined && this.list.includes(symbol) ? symbol : undefined;
    if (next === this.selectedSymbol) return;
    this.selectedSymbol = next;
    this.emit('selection');
  }

  /** Moves the selection by `delta` rows in `displayOrder`, clamped at the ends. */
  moveSelection(delta: number, displayOrder: readonly string[]): void {
    if (displayOrder.length === 0) return;
    const at = this.selectedSymbol ? displayOrder.indexOf(this.selectedSymbol) : -1;
    const next = at < 0 ? 0 : Math.min(Math.max(at + delta, 0), displayOrder.length - 1);
    this.select(displayOrder[next]);
  }

  /** Header click: ascending, then descending (numbers start descending), then the user's order. */
  cycleSort(key: SortKey): void {
    const first: SortDirection = key === 'symbol' || key === 'name' ? 'asc' : 'desc';
    const current = this.sortState;
    if (!current || current.key !== key) this.sortState = { key, dir: first };
    else if (current.dir === first) this.sortState = { key, dir: first === 'asc' ? 'desc' : 'asc' };
    else this.sortState = undefined;
    this.emit('sort');
  }

  /**
   * The display order: the user's order, or sorted by the current column.
   * Rows without a quote yet sort last; ties keep the user's order.
   */
  ordered(quoteOf: (symbol: string) => Quote | undefined): string[] {
    const sort = this.sortState;
    if (!sort) return [...this.list];
    const sign = sort.dir === 'asc' ? 1 : -1;
    const rank = new Map(this.list.map((s, i) => [s, i]));
    const byRank = (a: string, b: string) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0);
    const keyed = this.list.map((symbol) => ({
      symbol,
      value: sortValue(sort.key, symbol, quoteOf(symbol), this.known.get(symbol)),
    }));
    keyed.sort((a, b) => {
      if (a.value === undefined || b.value === undefined) {
        if (a.value === b.value) return byRank(a.symbol, b.symbol);
        return a.value === undefined ? 1 : -1;
      }
      const c =
        typeof a.value === 'string'
          ? a.value.localeCompare(b.value as string)
          : a.value - (b.value as number);
      return c !== 0 ? sign * c : byRank(a.symbol, b.symbol);
    });
    return keyed.map((k) => k.symbol);
  }

  onChange(listener: (change: WatchlistChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: WatchlistChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

function sortValue(
  key: SortKey,
  symbol: string,
  quote: Quote | undefined,
  info: SymbolInfo | undefined,
): number | string | undefined {
  switch (key) {
    case 'symbol':
      return symbol;
    case 'name':
      return info?.name;
    case 'price':
      return quote?.price;
    case 'change':
      return quote?.change;
    case 'changePct':
      return quote?.changePct;
    case 'bid':
      return quote?.bid;
    case 'ask':
      return quote?.ask;
    case 'high':
      return quote?.high;
    case 'low':
      return quote?.low;
    case 'volume':
      return quote?.volume;
  }
}
