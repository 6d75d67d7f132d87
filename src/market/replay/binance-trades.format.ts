import { basename } from 'node:path';
import { quoteField, ReplayFileError, RowError } from './replay-file.error.js';
import type { FormatContext, ReplayFormat } from './replay-format.js';
import {
  parsePrice,
  parseSize,
  type ReplayRow,
  type RowParser,
  toWireSymbol,
} from './replay-row.js';

/**
 * Epoch times from here up are µs, below ms. Binance's spot files switched
 * from ms (13 digits, ~1.7e12) to µs (16 digits, ~1.7e15) on 2025-01-01; 1e14
 * ms would be the year 5138 and 1e14 µs is 1973, so no date of either is
 * mistaken for the other.
 */
export const MICROS_FROM = 1e14;
/** From here up a time would be ns (19 digits), which Binance does not write. */
const NANOS_FROM = 1e17;

/** `BTCUSDT-trades-2025-01-01.csv(.gz)`: Binance public data's name for a day of spot trades. */
const FILE_NAME = /^([A-Za-z0-9]+)-trades-/;
const BOOLEAN = /^(?:true|false)$/i;
const INTEGER = /^\d+$/;

/**
 * Binance public-data spot trades (data.binance.vision): no header, the columns
 * `trade id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch` (futures files
 * have a header and no isBestMatch: both read). The file holds one symbol,
 * named by FEED_SYMBOLS or by the file name; bid and ask are the trade price.
 */
export const BINANCE_TRADES_FORMAT: ReplayFormat = {
  name: 'binance-trades',
  sector: 'Crypto',
  looksLike(first) {
    if (isHeader(first)) return true;
    return (
      (first.length === 6 || first.length === 7) &&
      INTEGER.test(first[0]) &&
      INTEGER.test(first[4]) &&
      BOOLEAN.test(first[5]) &&
      Number.isFinite(Number(first[1])) &&
      Number.isFinite(Number(first[2]))
    );
  },
  open(first, context) {
    return { parser: new BinanceTradesParser(binanceSymbol(context)), header: isHeader(first) };
  },
};

function isHeader(first: readonly string[]): boolean {
  const names = first.map((name) => name.trim().toLowerCase());
  return names[0] === 'id' && names[1] === 'price' && names[4] === 'time';
}

/**
 * The symbol of a Binance file: the one FEED_SYMBOLS entry (which may rename
 * it, `BTC-USDT` for `BTCUSDT`), else the file name's, which FEED_SYMBOLS
 * (when it lists several) must include.
 */
export function binanceSymbol(context: FormatContext): string {
  const match = FILE_NAME.exec(basename(context.file));
  const fromName = match ? toWireSymbol(match[1]) : undefined;
  if (context.symbols.length === 1) return context.symbols[0];
  if (fromName === undefined) {
    throw new ReplayFileError(context.file, [
      {
        message:
          'a binance-trades file does not say its symbol: name it like BTCUSDT-trades-2025-01-01.csv or set FEED_SYMBOLS to the one symbol',
      },
    ]);
  }
  if (context.symbols.length > 1 && !context.symbols.includes(fromName)) {
    throw new ReplayFileError(context.file, [
      {
        message: `a binance-trades file holds one symbol (${fromName}, from its name), which FEED_SYMBOLS does not list`,
      },
    ]);
  }
  return fromName;
}

class BinanceTradesParser implements RowParser {
  constructor(private readonly symbol: string) {}

  parse(fields: readonly string[]): ReplayRow | undefined {
    if (fields.length !== 7 && fields.length !== 6) {
      throw new RowError(
        `expected 7 fields (trade id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch), got ${fields.length}`,
      );
    }
    const price = parsePrice(fields[1]);
    const { ms, ns } = parseEpochMsOrMicros(fields[4]);
    return {
      symbol: this.symbol,
      ms,
      ns,
      price,
      size: parseSize(fields[2], 'qty'),
      bid: price,
      ask: price,
    };
  }
}

/** A Binance `time`: ms or µs since the epoch, told apart by magnitude ({@link MICROS_FROM}). */
export function parseEpochMsOrMicros(text: string): { ms: number; ns: number } {
  const value = INTEGER.test(text) ? Number(text) : NaN;
  if (!(value < NANOS_FROM)) {
    throw new RowError(`time: expected ms or µs since the epoch, got ${quoteField(text)}`);
  }
  if (value < MICROS_FROM) return { ms: value, ns: 0 };
  // Below 1e17 < 2^53·10: exact as a double, and so are its quotient and remainder.
  const ms = Math.floor(value / 1000);
  return { ms, ns: (value - ms * 1000) * 1000 };
}
