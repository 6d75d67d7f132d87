import { toTier, type IntervalTierMs } from './market-types.js';

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
const SYMBOL_RE = /^[A-Z0-9][A-Z0-9.\-^]{0,14}$/;

/** Upper-cases, trims and validates a symbol; undefined when it cannot be one. */
export function cleanSymbol(raw: string): string | undefined {
  const symbol = raw.trim().toUpperCase();
  return SYMBOL_RE.test(symbol) ? symbol : undefined;
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
 * a shared link with one bad parameter still opens.
 */
export function loadSettings(url: UrlState, storage: KeyValueStorage | undefined): Settings {
  const stored = storage ? fromStored(safeGet(storage)) : {};
  const fromUrl = fromQuery(new URLSearchParams(url.search));
  const merged = { ...DEFAULT_SETTINGS, ...stored, ...fromUrl };
  merged.symbols = [...merged.symbols];
  if (merged.selected !== undefined && !merged.symbols.includes(merged.selected)) {
    merged.selected = undefined;
  }
  return merged;
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
export function fromQuery(params: URLSearchParams): Partial<Settings> {
  const out: Partial<Settings> = {};
  const symbols = params.get('symbols');
  if (symbols !== null) out.symbols = parseSymbolList(symbols.split(','));
  const interval = parseInterval(params.get('interval'));
  if (interval !== undefined) out.intervalMs = interval;
  const chart = params.get('chart');
  if (isOneOf(CHART_MODES, chart)) out.chart = chart;
  const range = params.get('range');
  if (range !== null && Object.hasOwn(RANGES, range)) out.range = range as RangeKey;
  const sel = params.get('sel');
  if (sel !== null) out.selected = cleanSymbol(sel);
  return out;
}

function fromStored(text: string | null): Partial<Settings> {
  if (text === null) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof raw !== 'object' || raw === null) return {};
  const r = raw as Record<string, unknown>;
  const out: Partial<Settings> = {};
  if (Array.isArray(r.symbols)) out.symbols = parseSymbolList(r.symbols);
  const interval = parseInterval(typeof r.intervalMs === 'number' ? String(r.intervalMs) : null);
  if (interval !== undefined) out.intervalMs = interval;
  if (isOneOf(CHART_MODES, r.chart)) out.chart = r.chart;
  if (typeof r.range === 'string' && Object.hasOwn(RANGES, r.range))
    out.range = r.range as RangeKey;
  if (isOneOf(THEMES, r.theme)) out.theme = r.theme;
  if (typeof r.selected === 'string') out.selected = cleanSymbol(r.selected);
  return out;
}

/** Cleans, de-duplicates and caps a symbol list, keeping its order. */
export function parseSymbolList(items: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') continue;
    const symbol = cleanSymbol(item);
    if (symbol && !out.includes(symbol)) out.push(symbol);
    if (out.length >= MAX_SYMBOLS) break;
  }
  return out;
}

/** An interval must be a whole positive number of ms; it rounds up to a tier like the server does. */
function parseInterval(text: string | null): IntervalTierMs | undefined {
  if (text === null || !/^\d{1,6}$/.test(text.trim())) return undefined;
  const ms = Number(text);
  return ms > 0 ? toTier(ms) : undefined;
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
