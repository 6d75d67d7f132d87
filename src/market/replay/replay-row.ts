import { normalizeSymbol } from '../../shared/symbols.js';
import { quoteField, RowError } from './replay-file.error.js';

/**
 * One trade of a replay file, as read: not yet numbered (`seq`) nor stamped on
 * the clock (`ts`); the feed does both.
 *
 * The time is split in two so that a nanosecond timestamp (beyond 2^53) keeps
 * every digit: `ms` is milliseconds since the Unix epoch (whole for ns and µs
 * sources; ms sources may carry a fraction), `ns` the nanoseconds past it
 * (0 ≤ ns < 1e6). Two numbers compare and subtract exactly where one would not.
 */
export interface ReplayRow {
  symbol: string;
  ms: number;
  ns: number;
  price: number;
  size: number;
  bid: number;
  ask: number;
}

/** Turns the fields of one data record into a row, or undefined for a row of a symbol left out. */
export interface RowParser {
  parse(fields: readonly string[]): ReplayRow | undefined;
}

/** True unless row `a` is earlier than row `b`: rows must come in this order. */
export function notBefore(a: ReplayRow, b: ReplayRow): boolean {
  return a.ms > b.ms || (a.ms === b.ms && a.ns >= b.ns);
}

/** Milliseconds from `from` to `to`, exact to the ns even for epoch-ns times. */
export function offsetMs(to: ReplayRow, from: ReplayRow): number {
  return to.ms - from.ms + (to.ns - from.ns) / 1e6;
}

/** A row's time for a message: ISO 8601 with its sub-millisecond digits. */
export function describeTime(row: ReplayRow): string {
  const whole = Math.floor(row.ms);
  const date = new Date(whole);
  if (Number.isNaN(date.getTime())) return `${row.ms} ms`;
  const subNs = Math.round((row.ms - whole) * 1e6) + row.ns;
  const iso = date.toISOString();
  return subNs === 0 ? iso : `${iso.slice(0, -1)}${String(subNs).padStart(6, '0')}Z`;
}

/** A decimal number: what `Number` reads, but not blank and finite. */
export function parseNumber(text: string, field: string): number {
  let value = parsePlainDecimal(text);
  if (value !== value) value = Number(text);
  // Number('') and Number(' ') are 0: a blank field is missing, not zero.
  if (!Number.isFinite(value) || (value === 0 && text.trim().length === 0)) {
    throw new RowError(`${field}: expected a number, got ${quoteField(text)}`);
  }
  return value;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * The value of a plain decimal (`-?[digits][.digits]`, 1 to 15 digits), or
 * NaN for any other text, which `Number` then reads. The hot path of a replay:
 * about a third faster than `Number` on the short sliced strings of a CSV
 * field, and exactly equal to it: a mantissa below 10^15 is exact in a
 * double and so is 10^k for k ≤ 22, and one IEEE division of two exact values
 * is the correctly rounded quotient (Clinger's fast path).
 */
export function parsePlainDecimal(text: string): number {
  const n = text.length;
  let i = 0;
  let negative = false;
  if (n > 0 && text.charCodeAt(0) === 45 /* - */) {
    negative = true;
    i = 1;
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 46 /* . */ && fraction < 0) {
      fraction = 0;
    } else {
      return NaN;
    }
  }
  if (digits === 0 || digits > 15 || fraction === 0) return NaN;
  const value = fraction > 0 ? mantissa / POW10[fraction] : mantissa;
  return negative ? -value : value;
}

/** A trade price: a number > 0. */
export function parsePrice(text: string, field = 'price'): number {
  const price = parseNumber(text, field);
  if (!(price > 0)) throw new RowError(`${field}: expected a number > 0, got ${quoteField(text)}`);
  return price;
}

/** A traded quantity: a number ≥ 0, decimals allowed (fractional shares, crypto). */
export function parseSize(text: string, field = 'size'): number {
  const size = parseNumber(text, field);
  if (!(size >= 0)) throw new RowError(`${field}: expected a number ≥ 0, got ${quoteField(text)}`);
  return size;
}

/**
 * The symbols of a file, normalised once per distinct spelling: upper-case
 * wire syntax (src/shared/symbols.ts), native pair forms such as `BTC/USD`
 * mapped to `BTC-USD`. With `accept`, other symbols are left out (undefined)
 * without being checked, so a file of every ticker can be replayed for a few.
 */
export class SymbolTable {
  private readonly cache = new Map<string, string | null>();

  constructor(private readonly accept?: ReadonlySet<string>) {}

  /** The wire symbol of `raw`, undefined when left out; throws {@link RowError} for a bad one. */
  resolve(raw: string): string | undefined {
    const cached = this.cache.get(raw);
    if (cached !== undefined) return cached ?? undefined;
    const symbol = toWireSymbol(raw);
    if (this.accept) {
      const kept = symbol !== undefined && this.accept.has(symbol) ? symbol : null;
      this.remember(raw, kept);
      return kept ?? undefined;
    }
    if (symbol === undefined) {
      throw new RowError(
        `symbol: ${quoteField(raw)} is not a ticker (1-12 letters, digits, '.' or '-')`,
      );
    }
    this.remember(raw, symbol);
    return symbol;
  }

  private remember(raw: string, symbol: string | null): void {
    // Bounded: a file of random junk in its symbol column must not grow this without end.
    if (this.cache.size < 100_000) this.cache.set(raw, symbol);
  }
}

/** `btc/usd` → `BTC-USD`; undefined when not a valid wire symbol. */
export function toWireSymbol(raw: string): string | undefined {
  return normalizeSymbol(raw.replaceAll('/', '-'));
}
