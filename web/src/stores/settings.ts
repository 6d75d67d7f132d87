import {
  normalizeSymbol,
  SYMBOL_RULE,
  toIntervalTier,
  type IntervalTierMs,
} from './market-types.js';

export const CHART_MODES = ['line', '1s', '1m'] as const;
/** Price line, or candlesticks at 1 s / 1 min. */
export type ChartMode = (typeof CHART_MODES)[number];

export const RANGES = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000 } as const;
export type RangeKey = keyof typeof RANGES;

export const THEMES = ['system', 'light', 'dark'] as const;
export type ThemeChoice = (typeof THEMES)[number];

/** Everything a user can set; all of it persists, and all but the theme is in the URL. */
export interface Settings {
  symbols: string[];
  intervalMs: IntervalTierMs;
  chart: ChartMode;
  range: RangeKey;
  theme: ThemeChoice;
  /** Selected row, if any. */
  selected: string | undefined;
}

/** Symbols on a first visit; those the server does not list are dropped at startup. */
export const DEFAULT_SYMBOLS = [
  'AAPL',
  'MSFT',
  'NVDA',
  'AMZN',
  'GOOGL',
  'META',
  'TSLA',
  'JPM',
  'V',
  'NFLX',
] as const;

export const DEFAULT_SETTINGS: Readonly<Settings> = {
  symbols: [...DEFAULT_SYMBOLS],
  intervalMs: 250,
  chart: 'line',
  range: '5m',
  theme: 'system',
  selected: undefined,
};

/** A watchlist longer than the server's default per-client limit could not stream. */
export const MAX_SYMBOLS = 100;

/** Settings as read, with the symbol entries left out because the server would refuse them. */
export interface LoadedSettings {
  settings: Settings;
  /**
   * Entries of the symbol list in use (the URL's, else the stored one) that
   * are not ticker symbols, trimmed, in order: the user is told which.
   */
  ignoredSymbols: string[];
}

/** What one source (the URL or storage) names, and the symbol entries it had to leave out. */
export interface SettingsSource {
  values: Partial<Settings>;
  ignoredSymbols: string[];
}

/** The parts of `localStorage` used here, so tests can pass a Map-backed fake. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** The parts of `window.location` / `history` used here. */
export interface UrlState {
  /** Current query string, e.g. `?symbols=AAPL&interval=250`. */
  readonly search: string;
  /** Replaces the query string without a navigation or a history entry. */
  replaceSearch(search: string): void;
}

export const STORAGE_KEY = 'tickstream.settings.v1';

/**
 * Reads settings: each URL parameter wins over the stored value, which wins
 * over the default. Anything malformed is ignored key by key, never thrown:
 * a shared link with one bad parameter still opens. A symbol the server would
 * refuse is dropped here, before any subscribe: the server refuses a whole
 * request for one malformed symbol.
 */
export function loadSettings(url: UrlState, storage: KeyValueStorage | undefined): LoadedSettings {
  const stored = storage ? fromStored(safeGet(storage)) : { values: {}, ignoredSymbols: [] };
  const fromUrl = fromQuery(new URLSearchParams(url.search));
  const settings = { ...DEFAULT_SETTINGS, ...stored.values, ...fromUrl.values };
  settings.symbols = [...settings.symbols];
  if (settings.selected !== undefined && !settings.symbols.includes(settings.selected)) {
    settings.selected = undefined;
  }
  // Only the list in use counts: stored entries a shared link overrides do not matter.
  const source = fromUrl.values.symbols ? fromUrl : stored;
  return { settings, ignoredSymbols: source.ignoredSymbols };
}

/** Writes settings to both places; storage failures (quota, private mode) are ignored. */
export function saveSettings(
  settings: Settings,
  url: UrlState,
  storage: KeyValueStorage | undefined,
): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(settings));
  } catch {
    // The URL still carries the view; losing the stored copy is harmless.
  }
  const search = `?${toQuery(settings, new URLSearchParams(url.search))}`;
  if (search !== url.search) url.replaceSearch(search);
}

/**
 * The query string of a view. Unrelated parameters already in the URL are kept.
 * Commas are left unescaped so a shared link stays readable (`symbols=AAPL,MSFT`).
 */
export function toQuery(settings: Settings, existing = new URLSearchParams()): string {
  const params = new URLSearchParams(existing);
  params.set('symbols', settings.symbols.join(','));
  params.set('interval', String(settings.intervalMs));
  params.set('chart', settings.chart);
  params.set('range', settings.range);
  if (settings.selected) params.set('sel', settings.selected);
  else params.delete('sel');
  return params.toString().replace(/%2C/gi, ',');
}

/** Parses a query string into the settings it names (missing or bad keys are left out). */
export function fromQuery(params: URLSearchParams): SettingsSource {
  const out: Partial<Settings> = {};
  const symbols = params.get('symbols');
  const list = symbols === null ? undefined : parseSymbolList(symbols.split(','));
  if (list) out.symbols = list.symbols;
  const interval = parseInterval(params.get('interval'));
  if (interval !== undefined) out.intervalMs = interval;
  const chart = params.get('chart');
  if (isOneOf(CHART_MODES, chart)) out.chart = chart;
  const range = params.get('range');
  if (range !== null && Object.hasOwn(RANGES, range)) out.range = range as RangeKey;
  const sel = params.get('sel');
  if (sel !== null) out.selected = normalizeSymbol(sel);
  return { values: out, ignoredSymbols: list?.ignored ?? [] };
}

function fromStored(text: string | null): SettingsSource {
  const raw = parseJson(text);
  if (typeof raw !== 'object' || raw === null) return { values: {}, ignoredSymbols: [] };
  const r = raw as Record<string, unknown>;
  const out: Partial<Settings> = {};
  const list = Array.isArray(r.symbols) ? parseSymbolList(r.symbols) : undefined;
  if (list) out.symbols = list.symbols;
  const interval = parseInterval(typeof r.intervalMs === 'number' ? String(r.intervalMs) : null);
  if (interval !== undefined) out.intervalMs = interval;
  if (isOneOf(CHART_MODES, r.chart)) out.chart = r.chart;
  if (typeof r.range === 'string' && Object.hasOwn(RANGES, r.range))
    out.range = r.range as RangeKey;
  if (isOneOf(THEMES, r.theme)) out.theme = r.theme;
  if (typeof r.selected === 'string') out.selected = normalizeSymbol(r.selected);
  return { values: out, ignoredSymbols: list?.ignored ?? [] };
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Normalises, de-duplicates and caps a symbol list, keeping its order. Entries
 * that are not ticker symbols come back in `ignored` (trimmed); blanks and
 * non-strings are dropped silently (`AAPL,,MSFT` is a typo, not a symbol).
 */
export function parseSymbolList(items: readonly unknown[]): {
  symbols: string[];
  ignored: string[];
} {
  const symbols: string[] = [];
  const ignored: string[] = [];
  for (const item of items) {
    if (symbols.length >= MAX_SYMBOLS) break;
    if (typeof item !== 'string' || item.trim() === '') continue;
    const symbol = normalizeSymbol(item);
    if (symbol === undefined) ignored.push(item.trim());
    else if (!symbols.includes(symbol)) symbols.push(symbol);
  }
  return { symbols, ignored };
}

/** Longest ignored entry quoted back in full; a longer one is cut (a pasted paragraph stays one line). */
const SHOWN_ENTRY_CHARS = 20;
/** Ignored entries named one by one; the rest are counted. */
const SHOWN_ENTRIES = 5;

/** The message telling the user which symbols were left out, or undefined when none were. */
export function ignoredSymbolsMessage(ignored: readonly string[]): string | undefined {
  if (ignored.length === 0) return undefined;
  const named = ignored
    .slice(0, SHOWN_ENTRIES)
    .map((s) => (s.length > SHOWN_ENTRY_CHARS ? `${s.slice(0, SHOWN_ENTRY_CHARS - 1)}…` : s));
  const more = ignored.length - named.length;
  const list = more > 0 ? `${named.join(', ')} and ${more} more` : named.join(', ');
  return `Ignored invalid symbols: ${list} (a symbol is ${SYMBOL_RULE}).`;
}

/** An interval must be a whole positive number of ms; it rounds up to a tier like the server does. */
function parseInterval(text: string | null): IntervalTierMs | undefined {
  if (text === null || !/^\d{1,6}$/.test(text.trim())) return undefined;
  const ms = Number(text);
  return ms > 0 ? toIntervalTier(ms) : undefined;
}

function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}

function safeGet(storage: KeyValueStorage): string | null {
  try {
    return storage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}
